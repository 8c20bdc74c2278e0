# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""CIS section 1, the host: a partition for the data-root, the docker group, audit rules, versions.

Docstrings follow the format stated in _cis.checks.
"""

from __future__ import annotations

import os

from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import FactError, Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict, section, yesno

CHECKS, check = section()


@check("partition")
def _partition(f: Facts, arg: str) -> Verdict:
    """Pass when the data-root (docker info `DockerRootDir`) is on a mount of its own, not on `/`."""
    root = str(f.info().get("DockerRootDir") or "/var/lib/docker")
    best = max(
        (m for m in f.mounts() if root == m[0] or root.startswith(m[0].rstrip("/") + "/")), key=lambda m: len(m[0])
    )
    ev = [f"data-root {root} is on the mount at {best[0]} ({best[1]})"]
    return yesno(best[0] != "/", ev)


@check("docker_group")
def _docker_group(f: Facts, arg: str) -> Verdict:
    """Manual: lists the docker group's members (each is root-equivalent) for a person to confirm.

    Not applicable: a rootless daemon (only its user reaches the socket).
    """
    if f.target.rootless:
        return Verdict("not_applicable", [f"rootless daemon: only {f.target.user} reaches its socket"])
    members = f.group_members("docker")
    if members is None:
        return Verdict("manual", ["no docker group: only root reaches the socket"])
    return Verdict("manual", ["docker group members (each is root-equivalent): " + (", ".join(members) or "none")])


BIN_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")


def _resolve_path(f: Facts, arg: str) -> str | None:
    """A control's path argument: unit:NAME (the unit's file), bin:NAME (the installed binary), or a path."""
    if arg.startswith("unit:"):
        return f.unit_file(arg[len("unit:") :])
    if arg.startswith("bin:"):
        name = arg[len("bin:") :]
        if name == "dockerd":
            try:
                return f.host.readlink(f"/proc/{f.dockerd_pid()}/exe")
            except (OSError, FactError):
                pass
        return next((os.path.join(d, name) for d in BIN_DIRS if f.host.stat(os.path.join(d, name)).exists), None)
    return arg


def _slashless(word: str) -> str:
    return word.rstrip("/") or "/" if "/" in word else word


def _has_watch(rules: str, path: str) -> str | None:
    path = _slashless(path)
    for line in rules.splitlines():
        words = [_slashless(w) for w in line.split("#", 1)[0].split()]  # a comment is no rule
        if "-w" in words and words.index("-w") + 1 < len(words) and words[words.index("-w") + 1] == path:
            return line.strip()
        if f"path={path}" in words or f"dir={path}" in words:
            return line.strip()
    return None


def _audit_path(f: Facts, arg: str) -> tuple[str | None, str]:
    """The path a 1.1.x control watches on this host's daemon, or (None, why it does not apply)."""
    if arg == "/var/lib/docker":  # the data-root, wherever it is (the user's own for a rootless daemon)
        return str(f.info().get("DockerRootDir") or arg), ""
    if arg == "/etc/docker/daemon.json":
        return f.config_file(), ""
    if f.target.rootless:
        if arg == "/etc/docker":
            return os.path.join(f.target.home, ".config/docker"), ""
        if arg.startswith("/run/containerd"):
            return None, "rootless daemon: containerd runs inside the user's namespace"
    path = _resolve_path(f, arg)
    return path, "" if path else f"{arg.split(':', 1)[-1]} is not installed"


@check("audit_rule")
def _audit_rule(f: Facts, arg: str) -> Verdict:
    """Pass when an auditd rule watches the path (`-w PATH` or `path=`/`dir=`): the loaded rules from
    `auditctl -l`, or the files in /etc/audit/rules.d when auditctl cannot answer.

    Not applicable: the path is not installed or does not exist on the host; containerd's paths under a
    rootless daemon.
    """
    path, reason = _audit_path(f, arg)
    if path is None:
        return Verdict("not_applicable", [reason])
    if not f.host.stat(path).exists:
        return Verdict("not_applicable", [f"{path} does not exist on this host"])
    rules, source = f.audit_rules()
    found = _has_watch(rules, path)
    if found:
        return Verdict("pass", [f"{source}: {found}"])
    return Verdict("fail", [f"no audit rule watches {path} ({source})"])


@check("manual_host")
def _manual_host(f: Facts, arg: str) -> Verdict:
    """Manual: the host is judged by its own OS benchmark; the evidence names the OS and kernel."""
    try:
        kernel = f.info().get("KernelVersion", "?")
        os_name = f.info().get("OperatingSystem", "?")
    except FactError:
        kernel = os_name = "unknown"
    return Verdict("manual", [f"{os_name}, kernel {kernel}: host hardening is judged by its own benchmark"])


@check("engine_version")
def _engine_version(f: Facts, arg: str) -> Verdict:
    """Manual: the evidence gives the Engine and API versions and the build time, to compare with releases."""
    v = f.version()
    return Verdict(
        "manual", [f"Engine {v.get('Version')} (API {v.get('ApiVersion')}), built {v.get('BuildTime', '?')}"]
    )
