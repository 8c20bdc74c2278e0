# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""What the checks of every section share: the Verdict, registration, and judging helpers.

The docstrings here follow the format stated in _cis.checks: a helper's
"Not applicable:" paragraph counts for every check that calls it.
"""

from __future__ import annotations

import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import Container, Facts


class Verdict(t.NamedTuple):
    status: str  # pass, fail, manual, not_applicable (error comes from the audit)
    evidence: list[str]
    items: tuple[dict[str, str], ...] = ()


Check = t.Callable[[Facts, str], Verdict]


def registry(checks: dict[str, Check]) -> t.Callable[[str], t.Callable[[Check], Check]]:
    """A decorator that registers a check in checks under the name the catalogue uses."""

    def check(name: str) -> t.Callable[[Check], Check]:
        def register(fn: Check) -> Check:
            if name in checks:
                raise ValueError(f"check {name!r} is registered twice")
            checks[name] = fn
            return fn

        return register

    return check


def yesno(ok: bool, evidence: list[str]) -> Verdict:
    return Verdict("pass" if ok else "fail", evidence)


def describe(value: t.Any, source: str) -> str:
    """A daemon setting as evidence: its value and where it comes from."""
    return f"{value!r} from {source}" if source != "default" else "not set (default)"


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


def security_opts(c: Container) -> list[str]:
    return [str(o) for o in c.host_config.get("SecurityOpt") or []]


def opt(o: str) -> str:
    """A --security-opt in its KEY=VALUE spelling (Docker still takes the legacy KEY:VALUE)."""
    key, sep, value = o.partition("=") if "=" in o else o.partition(":")
    return f"{key}={value}" if sep else key
