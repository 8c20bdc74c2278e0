# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Judging helpers the checks of several sections share.

The docstrings here follow the format stated in _cis.checks: a helper's
"Not applicable:" paragraph counts for every check that calls it.
"""

from __future__ import annotations

import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import Container, Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict


def tcp_hosts(hosts: list[str]) -> list[str]:
    """The TCP addresses among the daemon's hosts (tcp://..., or an address without a scheme)."""
    out = []
    for h in hosts:
        h = h.strip()
        if h.startswith("tcp://") or (":" in h and not h.startswith(("unix://", "fd://", "ssh://", "npipe://"))):
            out.append(h)
    return out


# how Docker reads a boolean (Go's strconv.ParseBool)
TRUE_WORDS = ("1", "t", "T", "TRUE", "true", "True")
FALSE_WORDS = ("0", "f", "F", "FALSE", "false", "False")


def per_container(f: Facts, judge: t.Callable[[Container], str | None], what: str) -> Verdict:
    """Judge each running container; judge returns a problem text, or None when the container is fine.

    Not applicable: no running containers.
    """
    containers = f.containers()
    vanished = list(f.vanished)
    if not containers and not vanished:
        return Verdict("not_applicable", ["no running containers"])
    items = [{"name": v, "status": "error", "detail": "vanished during the audit"} for v in vanished]
    for c in containers:
        problem = judge(c)
        items.append({"name": c.name, "status": "fail" if problem else "pass", "detail": problem or what})
    failed = [i for i in items if i["status"] == "fail"]
    if failed:
        names = ", ".join(i["name"] for i in failed[:10]) + (" ..." if len(failed) > 10 else "")
        return Verdict("fail", [f"{len(failed)} of {len(items)} containers: {names}"], tuple(items))
    if vanished:
        return Verdict("error", [f"containers vanished during the audit: {', '.join(vanished)}"], tuple(items))
    return Verdict("pass", [f"all {len(items)} running containers: {what}"], tuple(items))


def none_running(f: Facts) -> Verdict | None:
    """The not_applicable verdict when no container runs; None when some do.

    Not applicable: no running containers.
    """
    return None if f.containers() else Verdict("not_applicable", ["no running containers"])


def security_opts(c: Container) -> list[str]:
    return [str(o) for o in c.host_config.get("SecurityOpt") or []]


def opt(o: str) -> str:
    """A --security-opt in its KEY=VALUE spelling (Docker still takes the legacy KEY:VALUE)."""
    key, sep, value = o.partition("=") if "=" in o else o.partition(":")
    return f"{key}={value}" if sep else key
