#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_rules
short_description: Kernel audit rules for Docker's files and binaries (CIS Docker Benchmark 1.1.3-1.1.18)
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Writes one rules file in C(/etc/audit/rules.d) with an audit rule for every path the collection's CIS catalogue
    audits (controls 1.1.3 to 1.1.18), loads it with C(augenrules --load) and verifies with C(auditctl -l) that every
    rule is loaded.
  - The rules are generated from the catalogue, and each path is found on the host exactly as
    M(dockguard.hardening.cis_audit) looks for it - the data-root from C(docker info), the configuration file from
    dockerd's command line, the unit files from systemd's directories, each binary where it is installed (Debian puts
    C(dockerd) and C(runc) in C(/usr/sbin)). A binary whose name is a symlink (Debian's C(/usr/bin/runc)) is watched
    both as the link and as the file it leads to; only the latter sees the binary run or changed.
  - Only paths that exist get a rule; the others are returned in RV(without_rule), each with the reason, and named in
    the file as comments.
  - Watches record O(permissions) (changes, by default), binaries their execution too. C(/run/containerd) gets the
    syscall rule the benchmark asks for (C(-F path=), the directory itself with C(perm=rwa), not a recursive watch).
  - Every rule carries O(key), so C(ausearch -k docker) finds the events.
  - When the kernel's rules are immutable (C(-e 2); C(auditctl -s) says C(enabled 2)) the file is written and the
    result says RV(reboot_required); nothing is loaded.
  - Inside a container (C(systemd-detect-virt --container), C(/.dockerenv), C(/run/.containerenv)) the file is
    written and never loaded - audit rules belong to the host's kernel, and a container with C(CAP_AUDIT_CONTROL)
    would change them for the whole machine. RV(load_skipped) says so.
  - A load or a verification that fails restores the previous file, reloads it, and fails naming the rule
    C(auditctl) stopped at. Bad options fail before anything is written. dockerd is never restarted.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  controls:
    description:
      - The audit rule controls to serve, by CIS id (V(1.1.3)) or slug (V(audit-dockerd)). Empty means all of them.
      - A control that is not an audit rule control of the catalogue is refused.
    type: list
    elements: str
    default: []
  key:
    description: The key of every rule, for C(ausearch -k).
    type: str
    default: docker
  permissions:
    description:
      - What the watches record - some of V(r) (read), V(w) (write), V(x) (execute), V(a) (attribute change).
      - Binaries are watched for execution too. V(r) on the data-root records every read of every image layer;
        the default records changes only.
    type: str
    default: wa
  path:
    description: The rules file; it must be a C(.rules) file directly in C(/etc/audit/rules.d).
    type: path
    default: /etc/audit/rules.d/50-dockguard-docker.rules
  load:
    description:
      - Load the rules into the kernel (C(augenrules --load)) and verify them. With V(false) only the file is written.
      - Never done inside a container, whatever this says.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the rules file before changing it.
    type: bool
    default: false
  docker_host:
    description: The daemon's UNIX socket, asked for its data-root.
    type: str
    default: /var/run/docker.sock
  timeout:
    description: Seconds to wait for the Engine API.
    type: int
    default: 10
notes:
  - Requires auditd (C(auditctl), C(augenrules)) unless inside a container or with O(load=false).
  - When the Engine API does not answer, the data-root cannot be asked for; the benchmark's C(/var/lib/docker) is
    watched and a warning says so.
seealso:
  - module: dockguard.hardening.cis_audit
  - name: auditctl(8)
    description: The rule syntax.
    link: https://man7.org/linux/man-pages/man8/auditctl.8.html
"""

EXAMPLES = r"""
---
- name: Audit rules for every Docker path the benchmark names
  dockguard.hardening.audit_rules:
  register: rules

- name: Say which paths have no rule here
  ansible.builtin.debug:
    msg: "{{ rules.without_rule | map(attribute='reason') | list }}"

- name: Only the level 1 controls, under another key
  dockguard.hardening.audit_rules:
    controls: ["1.1.3", "1.1.4", "1.1.5", "1.1.6"]
    key: docker-l1
"""

RETURN = r"""
path:
  description: The rules file.
  returned: always
  type: str
  sample: /etc/audit/rules.d/50-dockguard-docker.rules
key:
  description: The key of every rule.
  returned: always
  type: str
  sample: docker
rules:
  description: The rules written, each with the CIS controls it serves.
  returned: always
  type: list
  elements: dict
  sample:
    - {"controls": ["1.1.3"], "rule": "-w /usr/sbin/dockerd -p wxa -k docker"}
    - {"controls": ["1.1.4"], "rule": "-a always,exit -F path=/run/containerd -F perm=rwa -k docker"}
without_rule:
  description: The controls with no rule on this host, and why.
  returned: always
  type: list
  elements: dict
  sample:
    - control: "1.1.13"
      what: /etc/sysconfig/docker
      reason: /etc/sysconfig/docker does not exist on this host
loaded:
  description: Whether every rule is loaded in the kernel after the task (predicted in check mode).
  returned: always
  type: bool
  sample: true
load_skipped:
  description: Why the rules were not loaded (inside a container, immutable rules, O(load=false)).
  returned: when the rules were not loaded
  type: str
  sample: "inside a container (/.dockerenv exists): the rules file is written, and loading it is the host's business"
in_container:
  description: Why the host is a container, or null.
  returned: always
  type: str
  sample: systemd-detect-virt --container says docker
reboot_required:
  description: The kernel's rules are immutable (C(-e 2)) and lack some of these rules; they load at the next boot.
  returned: always
  type: bool
  sample: false
enabled:
  description: The kernel's audit state from C(auditctl -s) - 0 off, 1 on, 2 on and immutable.
  returned: when the kernel was asked
  type: int
  sample: 1
backup_file:
  description: The copy of the rules file made before changing it.
  returned: when the file changed and O(backup=true)
  type: str
  sample: /etc/audit/rules.d/50-dockguard-docker.rules.2201.2026-12-01@11:02:03~
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _auditd as ad
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import facts
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute

ARGUMENT_SPEC: dict[str, t.Any] = {
    "controls": {"type": "list", "elements": "str", "default": []},
    "key": {"type": "str", "default": "docker", "no_log": False},
    "permissions": {"type": "str", "default": "wa"},
    "path": {"type": "path", "default": ad.DEFAULT_PATH},
    "load": {"type": "bool", "default": True},
    "backup": {"type": "bool", "default": False},
    "docker_host": {"type": "str", "default": "/var/run/docker.sock"},
    "timeout": {"type": "int", "default": 10},
}


def run(module: AnsibleModule) -> dict[str, t.Any]:
    p = module.params
    sock = p["docker_host"][len("unix://") :] if p["docker_host"].startswith("unix://") else p["docker_host"]
    if not sock.startswith("/") or p["timeout"] <= 0:
        raise ad.AuditRulesError(
            f"docker_host={p['docker_host']!r}, timeout={p['timeout']}: the daemon's UNIX socket path and a positive "
            "number of seconds (defaults /var/run/docker.sock and 10)"
        )
    ops = ad.LocalOps(module)
    host = facts.LocalHost(ops.run, sock, float(p["timeout"]))
    opts = ad.Options(p["controls"], p["key"], p["permissions"], p["path"], p["load"], p["backup"])
    try:
        gathered = facts.Facts(host, facts.system_target(sock))
        return ad.AuditRules(ops, gathered, opts, module.check_mode, module._diff).run()
    finally:
        host.close()


def main() -> None:
    execute(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), run)


if __name__ == "__main__":
    main()
