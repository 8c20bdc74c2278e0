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
import typing as t

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
    """Pass when every member of the docker group (listed in /etc/group, or with it as primary group in
    /etc/passwd) is one of the audit's trusted_users, fail naming the others. Manual without a trusted_users
    list: the members (each is root-equivalent) are listed for a person to confirm.

    Not applicable: a rootless daemon (only its user reaches the socket).
    """
    if f.target.rootless:
        return Verdict("not_applicable", [f"rootless daemon: only {f.target.user} reaches its socket"])
    members = f.group_members("docker")
    trusted = f.trusted_users
    if trusted is None:
        if members is None:
            return Verdict("manual", ["no docker group: only root reaches the socket"])
        return Verdict("manual", ["docker group members (each is root-equivalent): " + (", ".join(members) or "none")])
    if members is None:
        return Verdict("pass", ["no docker group: only root reaches the socket"])
    everyone = sorted(set(members) | set(f.primary_members("docker")))
    untrusted = [m for m in everyone if m not in trusted]
    listed = f"trusted_users: {', '.join(trusted) or 'none'}"
    if untrusted:
        return Verdict("fail", [f"docker group members not in trusted_users: {', '.join(untrusted)}", listed])
    return Verdict("pass", [f"docker group members (each is root-equivalent): {', '.join(everyone) or 'none'}", listed])


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


def _link_target(f: Facts, path: str) -> str:
    """The file a name leads to when its last component is a symlink (Debian's /usr/bin/runc -> ../sbin/runc).

    A kernel watch on a symlink sees the link replaced, never the binary run or changed through it. A link
    whose target cannot be read is kept as it is.
    """
    for _hop in range(40):
        if f.host.stat(path).kind != "link":
            break
        try:
            target = f.host.readlink(path)
        except OSError:
            break
        path = os.path.normpath(os.path.join(os.path.dirname(path), target))
    return path


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


def _recursive_watch(rules: str, directory: str) -> str | None:
    """A rule that watches DIRECTORY and everything under it: `-w DIRECTORY` or `dir=DIRECTORY` (not `path=`)."""
    for line in rules.splitlines():
        words = [_slashless(w) for w in line.split("#", 1)[0].split()]
        if "-w" in words and words.index("-w") + 1 < len(words) and words[words.index("-w") + 1] == directory:
            return line.strip()
        if f"dir={directory}" in words:
            return line.strip()
    return None


# A control argument syscall:PATH asks for a syscall rule on PATH (-F path=, the directory itself, not a
# recursive watch), as the benchmark does for /run/containerd; a watch on PATH satisfies the check as well.
SYSCALL = "syscall:"


class AuditPath(t.NamedTuple):
    path: str | None  # what a rule must watch on this host
    reason: str = ""  # why nothing, when path is None
    name: str | None = None  # the benchmark's name for a binary, when that name is a link to path


def audit_path(f: Facts, arg: str) -> AuditPath:
    """The path a 1.1.x control watches on this host's daemon, or None with why it does not apply.

    The role that writes the rules (dockguard.hardening.audit_rules) resolves its paths through this same
    function, so what it writes and what the audit looks for cannot drift apart.
    """
    if arg.startswith(SYSCALL):
        arg = arg[len(SYSCALL) :]
    if arg == "/var/lib/docker":  # the data-root, wherever it is (the user's own for a rootless daemon)
        root = str(f.info().get("DockerRootDir") or arg)
        # userns-remap: dockerd keeps its state in DATA_ROOT/UID.GID. The watch goes on DATA_ROOT (a directory
        # watch is recursive): right whether remapping is on or off, so turning it on rewrites no rule.
        remapped = any("name=userns" in str(o) for o in f.info().get("SecurityOptions") or [])
        base = os.path.basename(root.rstrip("/"))
        if remapped and base.count(".") == 1 and base.replace(".", "").isdigit():
            root = os.path.dirname(root.rstrip("/"))
        return AuditPath(root)
    if arg == "/etc/docker/daemon.json":
        return AuditPath(f.config_file())
    if f.target.rootless:
        if arg == "/etc/docker":
            return AuditPath(os.path.join(f.target.home, ".config/docker"))
        if arg.startswith("/run/containerd"):
            return AuditPath(None, "rootless daemon: containerd runs inside the user's namespace")
    path = _resolve_path(f, arg)
    if path is None:
        return AuditPath(None, f"{arg.split(':', 1)[-1]} is not installed")
    if arg.startswith("bin:"):
        target = _link_target(f, path)
        return AuditPath(target, "", path if target != path else None)
    return AuditPath(path)


@check("audit_rule")
def _audit_rule(f: Facts, arg: str) -> Verdict:
    """Pass when an auditd rule watches the path (`-w PATH` or `path=`/`dir=`): the loaded rules from
    `auditctl -l`, or the files in /etc/audit/rules.d when auditctl cannot answer. A binary whose name is a
    symlink (Debian's /usr/bin/runc) must be watched where the link leads: a watch on the link itself never
    sees the binary run or changed. The data-root is a tree: only a recursive rule on it (`-w DIR`, `dir=DIR`;
    a `path=` rule is not recursive) or on an ancestor counts; under userns-remap the rule's path is the
    configured data-root, not its UID.GID subdirectory.

    Not applicable: the path is not installed or does not exist on the host; containerd's paths under a
    rootless daemon.
    """
    where = audit_path(f, arg)
    path = where.path
    if path is None:
        return Verdict("not_applicable", [where.reason])
    if not f.host.stat(path).exists:
        return Verdict("not_applicable", [f"{path} does not exist on this host"])
    rules, source = f.audit_rules()
    # The data-root is a tree: only a recursive rule (-w DIR, dir=DIR) sees what changes in it.
    found = _recursive_watch(rules, path) if arg == "/var/lib/docker" else _has_watch(rules, path)
    via = f" ({where.name} links to it)" if where.name else ""
    if not found and arg == "/var/lib/docker":
        # userns-remap puts the data-root in a subdirectory (/var/lib/docker/100000.100000): a watch on a
        # directory (-w DIR, dir=DIR) is recursive, so one on an ancestor sees every change under it.
        parent = os.path.dirname(_slashless(path))
        while parent and parent != "/" and not found:
            found = _recursive_watch(rules, parent)
            if found:
                via = f" (recursive watch on {parent})"
            parent = os.path.dirname(parent)
    if found:
        return Verdict("pass", [f"{source}: {found}{via}"])
    return Verdict("fail", [f"no audit rule watches {path}{via} ({source})"])


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
    """Pass when the installed engine package (docker.io, docker-ce or moby-engine) is the newest version the
    host's apt sources offer (`apt-cache policy`, as fresh as the host's apt lists), fail when a newer one is
    offered. Manual when apt cannot answer or offers no candidate: the evidence gives the Engine and API
    versions and the build time, to compare with releases.
    """
    v = f.version()
    engine = f"Engine {v.get('Version')} (API {v.get('ApiVersion')}), built {v.get('BuildTime', '?')}"
    try:
        packages = f.engine_packages()
    except FactError as exc:
        return Verdict("manual", [engine, f"no package manager answer ({exc})"])
    installed = {n: p for n, p in packages.items() if p[0] != "(none)"}
    if not installed:
        return Verdict("manual", [engine, "not installed from an apt package (docker.io, docker-ce, moby-engine)"])
    stale = []
    evidence = [engine]
    for name, (have, offered, from_source) in sorted(installed.items()):
        if offered == "(none)" or not from_source:
            why = "no apt source offers it (only the installed copy is known: apt-get update, or add the source)"
            return Verdict("manual", [*evidence, f"{name} {have}: {why}"])
        newer = compare_debian_versions(offered, have) > 0
        evidence.append(f"{name} {have} installed, {offered} offered by the host's apt sources")
        if newer:
            stale.append(name)
    if stale:
        return Verdict("fail", [*evidence, f"upgrade {', '.join(stale)} (apt-get install --only-upgrade)"])
    return Verdict("pass", evidence)


def _order(c: str) -> int:
    """dpkg's weight of a non-digit character: '~' before everything (even the end), letters before others."""
    if not c or c in "0123456789":
        return 0
    if c == "~":
        return -1
    return ord(c) if c.isascii() and c.isalpha() else ord(c) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's comparison of two upstream versions or two revisions: alternating non-digit and digit runs."""
    i = j = 0

    def at(s: str, k: int) -> str:
        return s[k] if k < len(s) else ""

    while i < len(a) or j < len(b):
        while (at(a, i) and not at(a, i).isdigit()) or (at(b, j) and not at(b, j).isdigit()):
            diff = _order(at(a, i)) - _order(at(b, j))
            if diff:
                return diff
            i, j = i + 1, j + 1
        while at(a, i) == "0":
            i += 1
        while at(b, j) == "0":
            j += 1
        first = 0
        while at(a, i).isdigit() and at(b, j).isdigit():
            first = first or ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if at(a, i).isdigit():
            return 1
        if at(b, j).isdigit():
            return -1
        if first:
            return first
    return 0


def compare_debian_versions(a: str, b: str) -> int:
    """Negative, zero or positive as Debian version a sorts before, with or after b (epoch:upstream-revision)."""

    def split(v: str) -> tuple[int, str, str]:
        epoch, _sep, rest = v.partition(":") if ":" in v else ("0", "", v)
        upstream, _dash, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
        return int(epoch) if epoch.isdigit() else 0, upstream, revision

    ea, ua, ra = split(a.strip())
    eb, ub, rb = split(b.strip())
    return (ea - eb) or _compare_part(ua, ub) or _compare_part(ra, rb)
