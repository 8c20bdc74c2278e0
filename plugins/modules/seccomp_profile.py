#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: seccomp_profile
short_description: A daemon-wide seccomp profile for Docker, built from the collection's policy, applied safely
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Builds a seccomp profile in Docker's JSON format from the collection's own description of the engine's default
    policy (Engine 26.1's, measured on 20.10 and 26.1; see docs/confinement.md) plus named hardening deltas, writes it
    root:root V(0644) as C(DIRECTORY/dockguard-SHA.json), and points daemon.json's C(seccomp-profile) at it.
  - The daemon.json change goes through M(dockguard.hardening.daemon_config)'s manager and locks - validation,
    atomic write with a backup, restart, wait for the Engine API - and then the module confirms that C(docker info)
    names the new profile. When the daemon does not come back, daemon.json is restored; it still names the previous
    profile file, which is only removed once the daemon runs the new one.
  - Before anything is written the profile is checked - Docker's profile schema, every syscall name known for the
    listed architectures (a table generated from Linux's headers), no rule with two conditions on one argument (the
    runtime ORs them), no deny that an unconditional allow would override, and every syscall without which no
    container could start (C(execve), C(exit_group), ...) allowed. Unknown names and such denials are refused.
  - O(state=builtin) returns the daemon to the engine's own profile - C(seccomp-profile) is V(builtin) on Engine 23
    and later, and the key is removed on Engine 20.10, which would read V(builtin) as a path and not start.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  state:
    description:
      - V(present) builds, writes and applies the collection's profile.
      - V(builtin) applies the engine's own default profile and removes the collection's profile files.
    type: str
    choices: [present, builtin]
    default: present
  deltas:
    description:
      - Named hardening changes to the default policy, each documented with its reason and cost in docs/confinement.md.
      - V(af_alg_vsock) denies C(socket(AF_ALG)) and C(socket(AF_VSOCK)) (CVE-2026-31431, Copy Fail); kept in the
        default.
      - V(socketcall) denies the 32-bit x86 socket multiplexer, whose arguments seccomp cannot read; breaks 32-bit
        programs that use it.
      - V(ptrace) denies tracing and cross-process memory access, even with C(CAP_SYS_PTRACE).
      - V(bpf_perf) denies C(bpf) and C(perf_event_open), even with C(CAP_SYS_ADMIN).
      - V(namespaces) denies new namespaces and mounts, even with C(CAP_SYS_ADMIN).
    type: list
    elements: str
    choices: [af_alg_vsock, socketcall, ptrace, bpf_perf, namespaces]
    default: [af_alg_vsock]
  deny_syscalls:
    description:
      - More syscalls to deny to every container, whatever its capabilities. Each must be a syscall of an architecture
        the profile lists; the ones no container can start without are refused.
    type: list
    elements: str
    default: []
  directory:
    description: Where the profile files live (created root:root V(0755)).
    type: path
    default: /etc/docker/seccomp
  apply:
    description:
      - Point daemon.json at the profile and restart the daemon safely. With V(false) the file is only written (and
        superseded files that daemon.json does not name are removed).
    type: bool
    default: true
  daemon_json:
    description: The daemon's configuration file.
    type: path
    default: /etc/docker/daemon.json
  restart:
    description: As M(dockguard.hardening.daemon_config)'s O(dockguard.hardening.daemon_config#module:restart).
    type: str
    choices: [on_change, never]
    default: on_change
  validate:
    description: As M(dockguard.hardening.daemon_config)'s O(dockguard.hardening.daemon_config#module:validate).
    type: str
    choices: [auto, always, never]
    default: auto
  conflicts:
    description: As M(dockguard.hardening.daemon_config)'s O(dockguard.hardening.daemon_config#module:conflicts).
    type: str
    choices: [fail, resolve]
    default: fail
  service:
    description: The systemd service of the daemon.
    type: str
    default: docker.service
  timeout:
    description: Seconds to wait for the Engine API after a restart. Must be positive.
    type: int
    default: 60
  lock_timeout:
    description: Seconds to wait for another run changing the same daemon (shared with daemon_config).
    type: int
    default: 300
notes:
  - Only x86_64 hosts are supported (the syscall table covers the 64-bit, 32-bit and x32 x86 ABIs); elsewhere the
    module refuses O(state=present).
  - A profile is read by dockerd when it starts; each new profile is a new file, so a change always restarts the
    daemon (unless O(restart=never)). Running containers keep the profile they started with.
  - Requires Python 3.9 or later on the managed host.
seealso:
  - name: Seccomp security profiles for Docker
    description: The engine's documentation of its default profile.
    link: https://docs.docker.com/engine/security/seccomp/
  - module: dockguard.hardening.daemon_config
"""

EXAMPLES = r"""
---
- name: The collection's profile, closing Copy Fail (AF_ALG) and AF_VSOCK
  dockguard.hardening.seccomp_profile:

- name: Also deny socketcall (no 32-bit x86 programs run here) and tracing
  dockguard.hardening.seccomp_profile:
    deltas: [af_alg_vsock, socketcall, ptrace]
    deny_syscalls: [name_to_handle_at]

- name: Back to the engine's own profile
  dockguard.hardening.seccomp_profile:
    state: builtin
"""

RETURN = r"""
path:
  description: The profile file (null with O(state=builtin)).
  returned: always
  type: str
  sample: /etc/docker/seccomp/dockguard-3f2a9c01b7de.json
daemon_setting:
  description: daemon.json's C(seccomp-profile) after the task (predicted in check mode); null when the key is absent.
  returned: always
  type: str
  sample: /etc/docker/seccomp/dockguard-3f2a9c01b7de.json
deltas:
  description: The deltas in the profile.
  returned: with O(state=present)
  type: list
  elements: str
  sample: [af_alg_vsock]
deny_syscalls:
  description: The extra denials in the profile.
  returned: with O(state=present)
  type: list
  elements: str
  sample: []
rules:
  description: How many rules the profile has.
  returned: with O(state=present)
  type: int
  sample: 62
denied:
  description: The x86_64 syscalls a container with Docker's default capabilities cannot make under the profile.
  returned: with O(state=present)
  type: list
  elements: str
  sample: [add_key, bpf, io_uring_setup, keyctl]
restarted:
  description: The daemon was restarted (or would be, in check mode) and reports the new profile.
  returned: always
  type: bool
  sample: true
restart_pending:
  description: daemon.json changed and the daemon was not restarted (O(restart=never)).
  returned: always
  type: bool
  sample: false
validated_by:
  description: The checks daemon.json passed (daemon_config's).
  returned: when O(apply=true) or O(state=builtin)
  type: list
  elements: str
  sample: ["model", "dockerd --validate"]
pruned:
  description: The collection's superseded profile files removed (predicted in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/docker/seccomp/dockguard-0d1e2f3a4b5c.json]
engine_version:
  description: The engine's major.minor, which decides how V(builtin) is written.
  returned: with O(state=builtin)
  type: str
  sample: "26.1"
backup_file:
  description: The copy of daemon.json before the change.
  returned: when daemon.json changed
  type: str
  sample: /etc/docker/daemon.json.2201.2026-12-01@11:51:12~
"""

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon.host import SystemHost
from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp import manage, policy


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "builtin"], "default": "present"},
            "deltas": {"type": "list", "elements": "str", "choices": list(policy.DELTAS), "default": ["af_alg_vsock"]},
            "deny_syscalls": {"type": "list", "elements": "str", "default": []},
            "directory": {"type": "path", "default": "/etc/docker/seccomp"},
            "apply": {"type": "bool", "default": True},
            "daemon_json": {"type": "path", "default": "/etc/docker/daemon.json"},
            "restart": {"type": "str", "choices": ["on_change", "never"], "default": "on_change"},
            "validate": {"type": "str", "choices": ["auto", "always", "never"], "default": "auto"},
            "conflicts": {"type": "str", "choices": ["fail", "resolve"], "default": "fail"},
            "service": {"type": "str", "default": "docker.service"},
            "timeout": {"type": "int", "default": 60},
            "lock_timeout": {"type": "int", "default": 300},
        },
        supports_check_mode=True,
    )
    execute(
        module,
        lambda m: manage.Manager(m.params, SystemHost(m), platform.machine(), m.check_mode, m._diff).run(),
    )


if __name__ == "__main__":
    main()
