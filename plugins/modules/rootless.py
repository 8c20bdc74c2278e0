#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rootless
short_description: A rootless Docker daemon per user, as a systemd user service
version_added: 0.2.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - For each user of O(users), runs Docker's daemon as that user (rootless mode), so that a breakout from a container
    reaches only that user's privileges, never root's.
  - Looks at every user before doing anything for any of them, and refuses (naming the user and the path, with
    nothing done for anybody) a user who does not exist, root, a user whose home is missing or not theirs, and a
    user with a symlink, a hard link or a file of somebody else on a path this module reads or writes in the home
    (C(~/.config), C(~/.config/systemd), C(~/.config/systemd/user), the unit, its enable link).
  - Checks the prerequisites next and fails naming each missing one with its fix. newuidmap and newgidmap setuid
    root (or with file capabilities), a subordinate UID and GID range of at least 65536 IDs per user, a usable
    C(/dev/net/tun), user namespaces enabled in the kernel, C(dockerd-rootless.sh), C(rootlesskit), C(slirp4netns)
    and systemd.
  - Enables lingering for the user so their systemd user manager runs without a login, writes the user's
    C(~/.config/systemd/user/docker.service), enables and starts it, and waits until the daemon answers on
    C(/run/user/UID/docker.sock).
  - Files in the user's home are reached by walking from the home one directory at a time without following
    links; directories it creates there belong to the user, and the unit is written to a new file (fsynced) that
    is renamed over the old one, so no existing file is ever chowned or written through.
  - Reports per user, as facts, what the task did (V(linger_enabled), V(unit_written), V(enabled), V(started),
    V(restarted), ...) and what the daemon reports (socket, storage driver, rootless).
  - The user's C(daemon.json) is managed with M(dockguard.hardening.daemon_config) and its
    O(dockguard.hardening.daemon_config#module:user) option.
extends_documentation_fragment:
  - dockguard.hardening.attributes
attributes:
  check_mode:
    support: full
    details: Missing prerequisites are warnings in check mode, since earlier tasks of a real run may provide them.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  users:
    description: The users who get a rootless daemon (or lose it, with O(state=absent)).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) installs, enables and starts each user's daemon.
      - V(absent) stops and disables it and removes the unit file; the user's images, containers and
        C(daemon.json) stay in their home, and lingering is left as it is.
    type: str
    choices: [present, absent]
    default: present
  linger:
    description:
      - Enable lingering (C(loginctl enable-linger)) so the user manager, and the daemon, start at boot without
        a login. Without lingering the task fails when the user manager is not running.
    type: bool
    default: true
  dockerd_rootless:
    description:
      - The C(dockerd-rootless.sh) launcher. Found in C(/usr/bin) or Debian's C(/usr/share/docker.io/contrib) when
        unset.
    type: path
  dockerd_args:
    description:
      - Extra dockerd flags on the unit's C(ExecStart). Prefer the user's daemon.json for settings.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the user manager and for each daemon to answer; more than 0.
    type: int
    default: 90
requirements:
  - Python 3.9 or newer on the managed host.
  - systemd, and the packages named by the prerequisites (the rootless role installs them).
notes:
  - On kernels without C(ip_tables) modules (containers, some VMs) the rootless daemon cannot set up its own
    iptables rules; set C(iptables) to C(false) in the user's daemon.json (the rootless role's default on such hosts).
  - Under cgroup v1 the rootless daemon cannot limit containers' resources (no C(--memory), C(--cpus)); cgroup v2
    with the user's controllers delegated lifts this.
seealso:
  - name: Rootless mode
    description: Docker's documentation of rootless mode and its prerequisites.
    link: https://docs.docker.com/engine/security/rootless/
  - module: dockguard.hardening.subid
  - module: dockguard.hardening.daemon_config
"""

EXAMPLES = r"""
---
- name: Rootless daemons for two users
  dockguard.hardening.rootless:
    users: [alice, bob]
  register: rootless

- name: Show where alice's daemon listens
  ansible.builtin.debug:
    msg: "{{ rootless.daemons.alice.docker_host }}"

- name: Something only when this task started alice's daemon
  ansible.builtin.debug:
    msg: alice's daemon was started now, so it read its current daemon.json
  when: rootless.daemons.alice.started

- name: Remove bob's daemon
  dockguard.hardening.rootless:
    users: [bob]
    state: absent
"""

RETURN = r"""
daemons:
  description:
    - Per user, facts about the daemon after the task (predicted in check mode).
    - The booleans V(linger_enabled) to V(unit_removed) say what this task did (or would do, in check mode);
      V(running) says whether the daemon runs afterwards. Read these, never V(changes), which is for people.
  returned: always
  type: dict
  contains:
    uid:
      description: The user's UID.
      type: int
      sample: 1001
    home:
      description: The user's home directory.
      type: str
      sample: /home/alice
    unit:
      description: The user's unit file.
      type: str
      sample: /home/alice/.config/systemd/user/docker.service
    socket:
      description: The daemon's socket.
      type: str
      sample: /run/user/1001/docker.sock
    docker_host:
      description: The C(DOCKER_HOST) value for the user's daemon.
      type: str
      sample: unix:///run/user/1001/docker.sock
    running:
      description: The daemon runs after the task (in check mode, would run).
      type: bool
      sample: true
    linger_enabled:
      description: This task enabled lingering for the user.
      type: bool
      sample: false
    unit_written:
      description: This task wrote (created or replaced) the user's unit file.
      type: bool
      sample: true
    enabled:
      description: This task enabled the unit (it was not enabled before).
      type: bool
      sample: true
    started:
      description: This task started the daemon (it was not running), so it runs with its current C(daemon.json).
      type: bool
      sample: true
    restarted:
      description: This task restarted the running daemon because its unit changed.
      type: bool
      sample: false
    stopped:
      description: With O(state=absent), this task stopped the daemon.
      type: bool
      sample: false
    disabled:
      description: With O(state=absent), this task disabled the unit.
      type: bool
      sample: false
    unit_removed:
      description: With O(state=absent), this task removed the unit file.
      type: bool
      sample: false
    changed:
      description: Anything was done (or would be, in check mode) for this user.
      type: bool
      sample: true
    changes:
      description: What was done, in words, for people to read.
      type: list
      elements: str
      sample: ["enabled lingering", "wrote /home/alice/.config/systemd/user/docker.service", "started docker.service"]
    storage_driver:
      description: The daemon's storage driver.
      type: str
      returned: when the daemon answered (always after a real run with O(state=present))
      sample: overlay2
    rootless:
      description: The daemon reports rootless in its security options.
      type: bool
      returned: when the daemon answered
      sample: true
    security_options:
      description: The daemon's security options.
      type: list
      elements: str
      returned: when the daemon answered
      sample: ["name=seccomp,profile=builtin", "name=rootless"]
    server_version:
      description: The daemon's version.
      type: str
      returned: when the daemon answered
      sample: "26.1.5+dfsg1"
    cgroup_driver:
      description: The daemon's cgroup driver.
      type: str
      returned: when the daemon answered
      sample: none
  sample:
    alice:
      uid: 1001
      home: /home/alice
      unit: /home/alice/.config/systemd/user/docker.service
      socket: /run/user/1001/docker.sock
      docker_host: unix:///run/user/1001/docker.sock
      running: true
      linger_enabled: true
      unit_written: true
      enabled: true
      started: true
      restarted: false
      stopped: false
      disabled: false
      unit_removed: false
      changed: true
      changes: ["enabled lingering", "wrote /home/alice/.config/systemd/user/docker.service", "started docker.service"]
      storage_driver: overlay2
      rootless: true
      security_options: ["name=seccomp,profile=builtin", "name=rootless"]
      server_version: "26.1.5+dfsg1"
      cgroup_driver: none
prerequisites:
  description: Per user, each prerequisite with whether it is met, what was found and the fix (O(state=present)).
  returned: always
  type: dict
  sample:
    alice:
      - {"name": "newuidmap", "ok": true, "detail": "setuid root", "fix": "install the uidmap package"}
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute
from ansible_collections.dockguard.hardening.plugins.module_utils._rootless.daemons import Rootless
from ansible_collections.dockguard.hardening.plugins.module_utils._rootless.host import SystemHost

ARGUMENT_SPEC: dict[str, t.Any] = {
    "users": {"type": "list", "elements": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "linger": {"type": "bool", "default": True},
    "dockerd_rootless": {"type": "path"},
    "dockerd_args": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "int", "default": 90},
}


def run(module: AnsibleModule) -> dict[str, t.Any]:
    """The whole task: every user looked at first, then each daemon set up (or removed) through the real host."""
    return Rootless(module.params, SystemHost(module), module.check_mode, module._diff).run()


def main() -> None:
    execute(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run)


if __name__ == "__main__":
    main()
