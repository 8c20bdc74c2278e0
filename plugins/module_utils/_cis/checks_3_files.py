# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""CIS section 3, the daemon's files: owners and modes of its units, sockets, configuration and TLS material.

Docstrings follow the format stated in _cis.checks.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _tls
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.common import tcp_hosts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import FactError, Facts, FileInfo
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict, section

CHECKS, check = section()


def _file_targets(f: Facts, arg: str) -> tuple[list[str], str | None]:
    """Paths a file control covers, or ([], reason) when it does not apply."""
    if arg.startswith("unit:"):
        unit = arg[len("unit:") :]
        path = f.unit_file(unit)
        if not path and f.target.rootless and unit == "docker.socket":
            return [], "rootless daemon: started by the user's docker.service, there is no socket unit"
        return ([path], None) if path else ([], f"{unit} is not installed")
    if arg == "/etc/docker" and f.target.rootless:
        return [os.path.join(f.target.home, ".config/docker")], None
    if arg == "certs.d":
        base = "/etc/docker/certs.d" if not f.target.rootless else os.path.join(f.target.home, ".config/docker/certs.d")
        paths = []
        for reg in f.host.listdir(base):
            for name in f.host.listdir(os.path.join(base, reg)):
                paths.append(os.path.join(base, reg, name))
        return (paths, None) if paths else ([], f"no registry certificates under {base}")
    if arg.startswith("tls:"):
        key = arg[len("tls:") :]
        value = f.setting(key)[0]
        if not tcp_hosts(f.hosts()) and not value:
            return [], "TLS is not configured (no TCP listener)"
        return ([str(value)], None) if value else ([], f"{key} is not configured")
    if arg == "socket":
        return [f.target.socket], None
    if arg == "daemon.json":
        return [f.config_file()], None
    if arg == "containerd.sock":
        if f.target.rootless:
            return [], "rootless daemon: containerd runs inside the user's namespace"
        return ["/run/containerd/containerd.sock"], None
    return [arg], None


def _expected_owner(f: Facts, arg: str, owner: str) -> str:
    if f.target.rootless and arg.startswith(("unit:", "socket", "daemon.json", "certs.d", "tls:", "/etc/docker")):
        return f"{f.target.user}:{f.target.user}" if arg != "socket" else f"{f.target.user}:*"
    return owner


def _follow(f: Facts, path: str) -> FileInfo:
    """The file a path names: a symlink's own mode and owner grant nothing, its target's do."""
    info = f.host.stat(path)
    for _hop in range(8):
        if info.kind != "link":
            return info
        try:
            target = os.path.normpath(os.path.join(os.path.dirname(info.path), f.host.readlink(info.path)))
        except OSError as exc:
            raise FactError(f"cannot read the symlink {info.path}: {exc}") from exc
        info = f.host.stat(target)
    raise FactError(f"{path}: too many levels of symbolic links")


def _file_check(f: Facts, arg: str, judge: t.Callable[[FileInfo], str | None]) -> Verdict:
    """Judge each file of a file control; judge returns a problem text, or None when the file is fine.

    Not applicable: the file is not on the host or not configured (unit not installed, no TLS on TCP,
    no registry certificates, containerd's socket or the socket unit under a rootless daemon).
    """
    paths, reason = _file_targets(f, arg)
    if reason:
        return Verdict("not_applicable", [reason])
    infos = [_follow(f, p) for p in paths]
    present = [i for i in infos if i.exists]
    if not present:
        return Verdict("not_applicable", [f"{', '.join(paths)} does not exist on this host"])
    items = []
    for info in present:
        problem = judge(info)
        items.append({"name": info.path, "status": "fail" if problem else "pass", "detail": problem or info.describe()})
    failed = [i for i in items if i["status"] == "fail"]
    evidence = [i["detail"] for i in (failed or items)][:5]
    return Verdict("fail" if failed else "pass", evidence, tuple(items) if len(items) > 1 else ())


# the daemon setting that names a TLS file (tls:KEY) -> the kind of file _tls judges
TLS_KINDS = {"tlscacert": "ca", "tlscert": "cert", "tlskey": "key"}


def _attrs(info: FileInfo) -> _tls.FileAttrs:
    """A file's owner ids and the mode bits that grant something: the permission bits, and setuid/setgid
    on a regular file (the sticky bit, which rootlesskit sets on its socket, grants nothing)."""
    return _tls.FileAttrs(info.uid, info.gid, info.mode & (0o6777 if info.kind == "file" else 0o777))


def _attr_finding(info: FileInfo, what: str, path_arg: str, widest: int, owner: tuple[int, int]) -> _tls.Finding:
    """_tls's judgement of one attribute (owner or mode) of the file."""
    kind = TLS_KINDS.get(path_arg[len("tls:") :], "") if path_arg.startswith("tls:") else ""
    findings = _tls.check_attrs(info.path, kind, _attrs(info), widest, owner)
    return next(x for x in findings if x.check == what)


@check("file_owner")
def _file_owner(f: Facts, arg: str) -> Verdict:
    """Pass when each file the argument names (symlinks followed) has the owner and group given; a rootless
    daemon's own files must belong to its user.
    """
    path_arg, owner = arg.rsplit(" ", 1)
    want = _expected_owner(f, path_arg, owner)
    want_user, want_group = want.split(":")

    def judge(info: FileInfo) -> str | None:
        if path_arg.startswith("tls:"):  # the daemon's TLS material: judged by _tls, on the owner's ids
            found = _attr_finding(info, "owner", path_arg, 0o777, f.account_ids(want_user, want_group))
            return None if found.ok else f"{info.describe()}, expected {want} ({found.detail})"
        ok = info.owner == want_user and (want_group == "*" or info.group == want_group)
        return None if ok else f"{info.describe()}, expected {want}"

    return _file_check(f, path_arg, judge)


@check("file_mode")
def _file_mode(f: Facts, arg: str) -> Verdict:
    """Pass when no file the argument names (symlinks followed) has a permission bit beyond the mode given,
    nor setuid or setgid.
    """
    path_arg, mode_text = arg.rsplit(" ", 1)
    limit = int(mode_text, 8)

    def judge(info: FileInfo) -> str | None:
        found = _attr_finding(info, "mode", path_arg, limit, (info.uid, info.gid))
        return None if found.ok else f"{info.describe()}, expected {limit:04o} or stricter ({found.detail})"

    return _file_check(f, path_arg, judge)
