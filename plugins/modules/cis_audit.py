#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cis_audit
short_description: Judge a Docker host against the CIS Docker Benchmark, control by control
version_added: 0.2.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Audits the host it runs on against every control of the CIS Docker Benchmark v1.6.0 (117 controls,
    sections 1 to 7), or the ones selected with O(sections), O(controls) and O(level).
  - Read-only. Facts come from the host itself, each read once - files and their modes, systemd units,
    C(auditctl -l) and the audit rules files, the daemon's configuration file and its running command line,
    C(/proc), and the Engine API over the daemon's UNIX socket (info, version, containers, images,
    networks, swarm). The cost per container is one API call; no process is started per check.
  - Each control gets one result - V(pass), V(fail), V(manual) (a person must judge; the evidence says what
    was seen, never a pass), V(not_applicable) (with the reason), V(waived) or V(error).
  - A fact that cannot be read (the daemon is down, a file is unreadable, a container vanished mid-audit)
    makes V(error) only on the controls that need it, with the reason; every other control is still judged.
  - With O(user), audits that user's rootless daemon (its socket, its daemon.json, its systemd user units);
    controls that do not apply to a rootless daemon are V(not_applicable) with the reason.
  - Reports (JSON, JUnit XML, HTML) and a fleet summary are rendered from the returned RV(audit) with the
    collection's filters (on the controller); see the playbook C(dockguard.hardening.audit).
requirements:
  - Python 3.9 or newer on the managed host.
  - C(python3-cryptography) on the managed host, only for the server certificate's validity and chain in the
    evidence of CIS 2.7 when the daemon listens on TCP; without it that evidence says so and the verdict is the same.
extends_documentation_fragment:
  - dockguard.hardening.attributes
attributes:
  check_mode:
    support: full
    details: The module never changes the host; it runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  sections:
    description:
      - Only these sections of the benchmark (V(1) to V(7)). Empty means all.
    type: list
    elements: str
    default: []
  controls:
    description:
      - Only these controls, by id (in the O(ids) numbering) or by slug (for example V(icc-disabled)).
        Empty means all.
    type: list
    elements: str
    default: []
  level:
    description:
      - The CIS profile level to audit. V(1) runs level 1 controls only; V(2) runs both levels.
    type: int
    choices: [1, 2]
    default: 2
  ids:
    description:
      - Which benchmark version's numbering results, O(controls) and O(waivers) use. The controls are those
        of v1.6.0; V(1.8.0) renumbers section 2 (a new 2.7, devicemapper, which is then also judged).
    type: str
    choices: ['1.6.0', '1.8.0']
    default: '1.6.0'
  waivers:
    description:
      - Accepted exceptions. A waived control that fails (or needs a manual review) is reported as V(waived),
        with the justification and what it would otherwise be. An expired waiver no longer waives, and is
        still shown.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: The control, by id or slug.
        type: str
        required: true
      justification:
        description: Why the exception is accepted.
        type: str
        required: true
      expires:
        description: The last day the waiver holds, as V(YYYY-MM-DD). None means it does not expire.
        type: str
  user:
    description:
      - Audit this user's rootless daemon instead of the system one.
    type: str
  docker_host:
    description:
      - The daemon's UNIX socket, when it is not the default (C(/var/run/docker.sock), or
        C(/run/user/UID/docker.sock) with O(user)). Only C(unix://) sockets are audited.
    type: str
  timeout:
    description:
      - Seconds to wait for each Engine API answer. Must be positive.
    type: int
    default: 10
  trusted_users:
    description:
      - The users trusted to control the daemon (CIS 1.1.2). Membership of the docker group is root-equivalent.
      - With a list, 1.1.2 passes when every member of the docker group (in C(/etc/group), or by primary group in
        C(/etc/passwd)) is in it, and fails naming the others; an empty list trusts nobody.
      - Unset (the default), 1.1.2 stays V(manual) and lists the members for a person to judge.
      - M(dockguard.hardening.docker_group) keeps the group to such a list.
    type: list
    elements: str
seealso:
  - module: dockguard.hardening.daemon_config
  - name: CIS Docker Benchmark
    description: The benchmark the controls come from.
    link: https://www.cisecurity.org/benchmark/docker
"""

EXAMPLES = r"""
---
- name: Audit the whole benchmark
  dockguard.hardening.cis_audit:
  register: audit

- name: Level 1 of the daemon sections, with an accepted exception
  dockguard.hardening.cis_audit:
    sections: ["2", "3"]
    level: 1
    waivers:
      - id: "2.12"
        justification: No authorization plugin is approved yet; access is limited to two admins (SEC-1234)
        expires: "2027-03-31"

- name: Judge who controls the daemon (CIS 1.1.2) against the trusted administrators
  dockguard.hardening.cis_audit:
    controls: ["1.1.2"]
    trusted_users: [alice, bob]

- name: Audit alice's rootless daemon, in CIS v1.8.0 numbering
  dockguard.hardening.cis_audit:
    user: alice
    ids: "1.8.0"
"""

RETURN = r"""
audit:
  description: The audit, as the report filters read it.
  returned: always
  type: dict
  contains:
    host:
      description: The host name the module ran on.
      type: str
      sample: web-01
    benchmark:
      description: Benchmark name, version of its controls, and the numbering used for ids.
      type: dict
      sample: {"name": "CIS Docker Benchmark", "version": "1.6.0", "ids": "1.6.0"}
    started:
      description: When the audit started (UTC, ISO 8601).
      type: str
      sample: "2026-11-29T05:01:02Z"
    duration:
      description: Seconds the audit took inside the module.
      type: float
      sample: 0.42
    engine:
      description: The daemon audited.
      type: dict
      sample: {"version": "26.1.5", "api": true, "rootless": false, "user": null, "socket": "/var/run/docker.sock"}
    options:
      description: The selection that was audited.
      type: dict
      sample: {"level": 2, "sections": [], "controls": []}
    summary:
      description: Number of controls per status.
      type: dict
      sample: {"pass": 40, "fail": 12, "manual": 30, "not_applicable": 33, "waived": 1, "error": 0, "total": 116}
    results:
      description: One result per selected control, in catalogue order.
      type: list
      elements: dict
      sample:
        - id: "2.2"
          cis_1_6_0: "2.2"
          cis_1_8_0: "2.2"
          slug: icc-disabled
          title: Ensure network traffic is restricted between containers on the default bridge
          section: "2"
          section_title: Docker daemon configuration
          level: 1
          scored: true
          status: fail
          evidence: ["icc not set (default)", "default bridge enable_icc=true"]
          items: []
          remediation: {"role": "dockguard.hardening.daemon", "variable": "daemon_icc", "value": false,
                        "text": "Set icc to false in daemon.json."}
          waiver: null
    unused_waivers:
      description: Waivers that named a control outside the audited selection.
      type: list
      elements: str
      sample: []
summary:
  description: The same counts as RV(audit.summary), for short conditionals.
  returned: always
  type: dict
  sample: {"pass": 40, "fail": 12, "manual": 30, "not_applicable": 33, "waived": 1, "error": 0, "total": 116}
"""

import pwd
import socket
import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import audit, facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat
from ansible_collections.dockguard.hardening.plugins.module_utils._common import commands
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute

ARGUMENT_SPEC: dict[str, t.Any] = {
    "sections": {"type": "list", "elements": "str", "default": []},
    "controls": {"type": "list", "elements": "str", "default": []},
    "level": {"type": "int", "choices": [1, 2], "default": 2},
    "ids": {"type": "str", "choices": ["1.6.0", "1.8.0"], "default": "1.6.0"},
    "waivers": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "id": {"type": "str", "required": True},
            "justification": {"type": "str", "required": True},
            "expires": {"type": "str"},
        },
    },
    "user": {"type": "str"},
    "docker_host": {"type": "str"},
    "timeout": {"type": "int", "default": 10},
    "trusted_users": {"type": "list", "elements": "str"},
}


def check_numbers(params: dict[str, t.Any]) -> None:
    """Numeric options the argument spec cannot bound (level has its choices)."""
    if params["timeout"] <= 0:
        raise audit.AuditError(
            f"timeout={params['timeout']}: the seconds to wait for each Engine API answer must be positive "
            "(the default is 10)"
        )


def target(params: dict[str, t.Any]) -> facts.Target:
    """The daemon to audit: the system one, or the rootless daemon of params['user']."""
    host = params["docker_host"]
    sock = host[len("unix://") :] if host and host.startswith("unix://") else host
    if sock and not sock.startswith("/"):
        raise audit.AuditError(f"docker_host={host!r}: only unix:// sockets can be audited")
    user = params["user"]
    if not user:
        return facts.system_target(sock)
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise audit.AuditError(f"user={user!r}: no such user on this host") from None
    return facts.rootless_target(user, pw.pw_uid, pw.pw_dir, sock)


def run_command(module: AnsibleModule) -> t.Callable[[list[str]], tuple[int, str, str]]:
    """The Host seam's run: argv[0] looked up on PATH and in the sbin directories; rc 127 when missing."""

    def run(argv: list[str]) -> tuple[int, str, str]:
        binary = module.get_bin_path(argv[0], opt_dirs=["/usr/sbin", "/sbin"])
        if binary is None:
            return 127, "", f"{argv[0]}: command not found"
        return commands.run(module, [binary, *argv[1:]])

    return run


def run(module: AnsibleModule) -> dict[str, t.Any]:
    """Audit the host; the RV(audit) document."""
    params = module.params
    check_numbers(params)
    started = time.monotonic()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    tgt = target(params)
    host = facts.LocalHost(run_command(module), tgt.socket, float(params["timeout"]))
    gathered = facts.Facts(host, tgt, params["trusted_users"])
    try:
        outcome = audit.run(
            gathered,
            ids=params["ids"],
            sections=params["sections"],
            controls=params["controls"],
            level=params["level"],
            waivers=params["waivers"],
        )
        try:
            version: t.Any = gathered.version().get("Version")
            api = True
        except facts.FactError:
            version, api = None, False
    finally:
        host.close()
    return {
        "host": socket.gethostname(),
        "benchmark": {"name": cat.BENCHMARK, "version": cat.VERSION, "ids": params["ids"]},
        "started": started_at,
        "duration": round(time.monotonic() - started, 3),
        "engine": {"version": version, "api": api, "rootless": tgt.rootless, "user": tgt.user, "socket": tgt.socket},
        "options": {"level": params["level"], "sections": params["sections"], "controls": params["controls"]},
        **outcome,
    }


def main() -> None:
    def report(module: AnsibleModule) -> dict[str, t.Any]:
        audit = run(module)
        return {"changed": False, "audit": audit, "summary": audit["summary"]}

    execute(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), report)


if __name__ == "__main__":
    main()
