# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The managed host as daemon_config sees it: commands, files, the Engine API and the clock.

One seam: the manager (apply.py) asks this object for everything it reads or
does, so that unit tests drive the manager with a fake host object. Files in a
rootless user's home are read and written through UserTree (no component of
the path can be redirected by the user); files elsewhere through the
root-controlled helpers.
"""

from __future__ import annotations

import os
import stat
import time
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils._common import commands, files


class Target(t.NamedTuple):
    """Which daemon: its daemon.json, owner, API, unit directories and managed drop-in."""

    path: str
    uid: int
    gid: int
    home: str
    user: str | None
    docker_host: str
    unit_dirs: tuple[str, ...]
    dropin: str


class SystemHost:
    """The real host, through an AnsibleModule."""

    def __init__(self, module: t.Any) -> None:
        self.module = module
        self._trees: dict[str, files.UserTree] = {}

    # -- commands --------------------------------------------------------------------

    def bin(self, name: str) -> str | None:
        return t.cast("str | None", self.module.get_bin_path(name, opt_dirs=["/usr/sbin", "/sbin"]))

    def systemctl(self, user: str | None, *args: str, bound: float = 60.0) -> tuple[int, str, str]:
        """systemctl (in the user's manager when user), killed after bound seconds (rc 124 then).

        A user's unit can make a stop or start job last forever (ExecStop= that never returns, with
        TimeoutStopSec=infinity); systemctl waits for the job, so the call itself is bounded.
        """
        argv = [self.module.get_bin_path("systemctl", required=True)]
        if user:
            argv += ["--user", "-M", f"{user}@"]
        timeout = self.module.get_bin_path("timeout")
        if timeout:
            argv = [timeout, "--kill-after=5", f"{max(1, int(bound))}", *argv]
        return commands.run(self.module, [*argv, *args])

    def journal(self, tgt: Target, service: str, since: float) -> list[str]:
        journalctl = self.module.get_bin_path("journalctl")
        if not journalctl:
            return ["(journalctl not found)"]
        argv = [journalctl, "--no-pager", "-o", "cat", "-n", "400", "--since", f"@{int(since)}"]
        argv += [f"_UID={tgt.uid}", "--user-unit", service] if tgt.user else ["-u", service]
        _rc, out, _err = commands.run(self.module, argv)
        return out.splitlines()

    def dockerd_validate(self, dockerd: str, text: str) -> tuple[int, str, str]:
        tmp = os.path.join(self.module.tmpdir, "daemon.json")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        return commands.run(self.module, [dockerd, "--validate", "--config-file", tmp])

    def engine_get(self, docker_host: str, path: str, timeout: float = 5.0) -> t.Any:
        return _engine.get(docker_host, path, timeout=timeout)

    # -- kernel and processes ------------------------------------------------------------

    def host_limits(self) -> tuple[dict[str, int | None], bool]:
        """Hard resource limits this host can grant, and whether root can raise them."""
        try:
            limits = dj.parse_proc_limits(t.cast(str, files.read_text("/proc/self/limits")))
            status = t.cast(str, files.read_text("/proc/self/status"))
        except files.FileError:
            return {}, True
        cap_bnd = next((line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), "")
        can_raise = not cap_bnd or bool(int(cap_bnd, 16) & (1 << 24))  # CAP_SYS_RESOURCE
        return limits, can_raise

    def started_at(self, pid: str) -> float | None:
        """When process pid started, in seconds since the epoch."""
        if not pid.isdigit() or pid == "0":
            return None
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open("/proc/stat") as fh:
                btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        except (OSError, StopIteration, IndexError, ValueError):
            return None
        return btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> float:
        return time.time()

    # -- files ---------------------------------------------------------------------------

    def tree(self, tgt: Target, path: str) -> files.UserTree | None:
        """The user's tree when path lies in the home of a rootless target."""
        if not tgt.user:
            return None
        tree = self._trees.get(tgt.user)
        if tree is None:
            tree = self._trees[tgt.user] = files.UserTree(tgt.user, tgt.uid, tgt.gid, tgt.home)
        return tree if tree.contains(path) else None

    def check_home(self, tgt: Target) -> None:
        """Refuse a rootless target whose home is missing, a symlink or not theirs."""
        if tgt.user:
            tree = files.UserTree(tgt.user, tgt.uid, tgt.gid, tgt.home)
            os.close(tree.open_home())

    def read(self, tgt: Target, path: str) -> tuple[str | None, os.stat_result | None]:
        """Text and lstat of a file; (None, None) when it does not exist. Never follows a link."""
        tree = self.tree(tgt, path)
        if tree is not None:
            rel = tree.relative(path)
            st = tree.stat(rel)
            return (tree.read_text(rel), st) if st is not None else (None, None)
        files.check_root_controlled(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            raise files.FileError(f"cannot read {path}: {files.describe_oserror(exc)}") from None
        if stat.S_ISLNK(st.st_mode):
            raise files.UnsafePathError(
                f"{path} is a symlink (to {os.readlink(path)!r}); refusing to follow it: whoever controls the "
                "target controls the daemon. Replace it with a regular file; nothing was written."
            )
        if not stat.S_ISREG(st.st_mode):
            raise files.FileError(f"{path} exists but is not a regular file; nothing was written")
        return files.read_text(path), st

    def write(self, tgt: Target, path: str, text: str, backup: bool = False) -> str | None:
        """Write path atomically, owned by the target's owner, mode 0644; the backup file or None."""
        tree = self.tree(tgt, path)
        if tree is not None:
            return tree.write(tree.relative(path), text, 0o644, backup=backup)
        owner = (tgt.uid, tgt.gid) if tgt.user else (0, 0)
        return files.atomic_write(self.module, path, text, 0o644, *owner, backup=backup)

    def fix_attributes(self, tgt: Target, path: str, text: str) -> None:
        """Give an existing file mode 0644 and its owner; in a user's tree by rewriting, never by chown."""
        tree = self.tree(tgt, path)
        if tree is not None:
            tree.write(tree.relative(path), text, 0o644)
            return
        os.chown(path, tgt.uid, tgt.gid, follow_symlinks=False)
        os.chmod(path, 0o644)

    def remove(self, tgt: Target, path: str) -> None:
        tree = self.tree(tgt, path)
        if tree is not None:
            tree.remove(tree.relative(path))
        else:
            files.remove(path)

    def mtime(self, tgt: Target, path: str) -> float | None:
        try:
            tree = self.tree(tgt, path)
            st = tree.stat(tree.relative(path)) if tree is not None else os.lstat(path)
        except (OSError, files.FileError):
            return None
        return st.st_mtime if st is not None else None

    def listdir(self, tgt: Target, path: str) -> list[str]:
        tree = self.tree(tgt, path)
        try:
            if tree is not None:
                with tree.directory(tree.relative(path)) as fd:
                    return os.listdir(fd) if fd is not None else []
            return os.listdir(path)
        except (OSError, files.FileError):
            return []

    def read_unit(self, tgt: Target, path: str) -> str:
        """A unit file, drop-in or environment file ('' when missing); a user's through their tree."""
        tree = self.tree(tgt, path)
        if tree is not None:
            return tree.read_text(tree.relative(path)) or ""
        try:  # root's unit directories: a link there (a masked unit, a linked unit file) is root's choice
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.read(files.READ_LIMIT)
        except OSError:
            return ""

    def read_env(self, tgt: Target, path: str) -> str | None:
        """An EnvironmentFile= of the unit; None when it does not exist.

        For a user's daemon the file is read as the user could: in their home
        through their tree (a link is refused, named), elsewhere by a process
        with the user's credentials. Root never reads a root-only file for a user.
        """
        path = os.path.normpath(path)
        tree = self.tree(tgt, path)
        if tree is not None:
            return tree.read_text(tree.relative(path))
        if tgt.user:
            why = f"it is named by EnvironmentFile= in the unit of user {tgt.user}"
            return files.read_as(tgt.user, tgt.uid, tgt.gid, path, why)
        if not os.path.isfile(path):
            return None
        return self.read_unit(tgt, path)
