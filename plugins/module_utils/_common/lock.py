# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""One run at a time per managed thing: an flock held for a whole read-modify-write-restart-verify."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import time
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

LOCK_DIR = "/run/dockguard"


class LockTimeout(DockguardError):
    """Another run held the lock for longer than the caller would wait."""


def _lock_dir(path: str) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise DockguardError(f"{path} is not a directory only this user can write; refusing to lock in it")


@contextlib.contextmanager
def exclusive(key: str, what: str, timeout: float, lock_dir: str = LOCK_DIR) -> t.Iterator[str]:
    """Hold an exclusive lock named by key; LockTimeout naming what after timeout seconds."""
    _lock_dir(lock_dir)
    path = os.path.join(lock_dir, hashlib.sha256(key.encode()).hexdigest()[:20] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                raise LockTimeout(
                    f"another run is changing {what} (lock {path}, held by pid {holder}) and did not finish within "
                    f"{timeout:g}s; nothing was changed. Run again when it is done, or raise lock_timeout."
                )
            time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)
