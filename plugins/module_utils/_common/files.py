# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Files: reads with a size bound, atomic writes, and writes inside a tree a user controls.

Two kinds of place get written:

* Trees only root controls (/etc/docker, /etc/systemd/system, /etc/subuid):
  atomic_write() writes a temporary file beside the target, fsyncs it, and
  renames it over the target; a symlinked target is refused.
* Trees an ordinary user controls (their home): UserTree walks from the home
  directory one component at a time with O_NOFOLLOW|O_DIRECTORY (openat
  style), so no component can be redirected by a symlink; it refuses hard
  links and files owned by somebody else, creates only the directories that
  are missing (and chowns only those it created), and renames inside the
  directory it holds open. A user's home must exist and be theirs.

Every failure raises UnsafePathError or FileError (DockguardError), naming the
path; nothing here calls fail_json.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

# A configuration file the collection reads is small; a bigger one is refused
# instead of being carried into results, diffs and memory.
READ_LIMIT = 1024 * 1024

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class FileError(DockguardError):
    """A file could not be read or written."""


class UnsafePathError(FileError):
    """A path the collection would write or read could be redirected by someone other than root."""


def describe_oserror(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_text(path: str, limit: int = READ_LIMIT, missing_ok: bool = False) -> str | None:
    """Text of a root-controlled file (never a symlink), at most limit bytes; None when missing and missing_ok."""
    try:
        fd = _open_regular(path, None, follow=False, shown=path)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise FileError(f"{path} does not exist") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(
                f"{path} is a symlink (to {_readlink(path)!r}); refusing to follow it: replace it with a regular file"
            ) from None
        raise FileError(f"cannot read {path}: {describe_oserror(exc)}") from None
    with os.fdopen(fd, "rb") as fh:
        return _read_bounded(fh, os.fstat(fd), path, limit).decode("utf-8", "surrogateescape")


def read_as(user: str, uid: int, gid: int, path: str, why: str, limit: int = READ_LIMIT) -> str | None:
    """Text of a file an ordinary user names, read with that user's own credentials; None when missing.

    A child process takes the user's uid, gid and groups and opens the file (a
    regular file only): the kernel refuses what the user could not read, so root
    never reads a root-only file for them, however the path is swapped meanwhile.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its answer is checked in the parent
        code = 0
        try:
            os.close(r)
            os.initgroups(user, gid)
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            try:
                # as the user, so the kernel checks their rights; a FIFO or device is refused before it is opened
                # (a swap meanwhile only opens what the user could open)
                if not stat.S_ISREG(os.stat(path).st_mode):
                    raise FileError(f"{path} is not a regular file; refusing to open it")
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    os.close(fd)
                    raise FileError(f"{path} is not a regular file; refusing to read it")
                with os.fdopen(fd, "rb") as fh:
                    answer = b"D" + _read_bounded(fh, os.fstat(fd), path, limit)
            except FileNotFoundError:
                answer = b"M"
            except FileError as exc:
                answer = b"E" + exc.msg.encode("utf-8", "replace")
            except OSError as exc:
                answer = b"E" + describe_oserror(exc).encode("utf-8", "replace")
            _write_all(w, answer)
        except BaseException:  # nothing may escape a forked child
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as fh:
        while True:
            chunk = fh.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    _pid, status = os.waitpid(pid, 0)
    answer = b"".join(chunks)
    if status != 0 or not answer:
        raise FileError(f"cannot read {path} as user {user}: the reading process failed")
    if answer[:1] == b"M":
        return None
    if answer[:1] == b"E":
        raise UnsafePathError(f"{path} cannot be read by user {user} ({answer[1:].decode()}); {why}, so it is not read")
    return answer[1:].decode("utf-8", "surrogateescape")


def _open_regular(name: str, dir_fd: int | None, follow: bool, shown: str) -> int:
    """Open name for reading only once it is known to be a regular file.

    It is first opened with O_PATH (no I/O: a FIFO's writer is not released, a
    device is not opened), inspected, then reopened through /proc/self/fd.
    """
    flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    pfd = os.open(name, flags, dir_fd=dir_fd)
    try:
        st = os.fstat(pfd)
        if stat.S_ISLNK(st.st_mode):
            raise OSError(errno.ELOOP, "is a symlink")
        if not stat.S_ISREG(st.st_mode):
            raise FileError(f"{shown} is not a regular file; refusing to open it")
        return os.open(f"/proc/self/fd/{pfd}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(pfd)


def check_root_controlled(path: str) -> None:
    """Refuse a path that anyone but root could redirect: every directory above it and every link on the way
    is root's."""
    parts = [p for p in os.path.normpath(path).split("/") if p][:-1]
    cur = "/"
    for part in parts:
        nxt = os.path.join(cur, part)
        try:
            st = os.lstat(nxt)
        except FileNotFoundError:
            return  # root creates the rest
        except OSError as exc:
            raise FileError(f"cannot look at {nxt}: {describe_oserror(exc)}") from None
        if stat.S_ISLNK(st.st_mode):
            if st.st_uid != 0:
                raise UnsafePathError(
                    f"{path} goes through {nxt}, a symlink of uid {st.st_uid}; refusing: this module writes root's "
                    "files only where only root can change the path"
                )
            nxt = os.path.realpath(nxt)
            check_root_controlled(os.path.join(nxt, "x"))
            st = os.stat(nxt)
        # a directory of root's that others may write (a planted 0777 /etc/docker, which the daemon role then
        # fixes) cannot redirect this write: the temp file is O_EXCL|O_NOFOLLOW, the rename replaces a planted
        # link, and a subdirectory someone else made is theirs, so it is refused here
        if st.st_uid != 0:
            raise UnsafePathError(
                f"{path} lies in {nxt}, which belongs to uid {st.st_uid}, not root; refusing: this module writes "
                "root's files only where only root can change the path (for a user's daemon, use the user option)"
            )
        cur = nxt


def make_backup(path: str) -> str:
    """A copy of path beside it, named like Ansible's backups; FileError naming why when it cannot be made."""
    dest = f"{path}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S')}~"
    try:
        fd = _open_regular(path, None, follow=False, shown=path)
        with os.fdopen(fd, "rb") as src:
            st = os.fstat(src.fileno())
            data = src.read()
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            _write_all(out, data)
            os.fchown(out, st.st_uid, st.st_gid)
            os.fchmod(out, stat.S_IMODE(st.st_mode))
            os.fsync(out)
        finally:
            os.close(out)
    except OSError as exc:
        raise FileError(f"cannot back up {path} to {dest}: {describe_oserror(exc)}; nothing was changed") from None
    return dest


def _read_bounded(fh: t.BinaryIO, st: os.stat_result, path: str, limit: int) -> bytes:
    if not stat.S_ISREG(st.st_mode):
        raise FileError(f"{path} is not a regular file")
    if st.st_size > limit:
        raise FileError(f"{path} is {st.st_size} bytes, more than the {limit} bytes a configuration file may have here")
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileError(f"{path} is more than the {limit} bytes a configuration file may have here")
    return data


def _readlink(path: str, dir_fd: int | None = None) -> str:
    try:
        return os.readlink(path, dir_fd=dir_fd)
    except OSError:
        return "?"


def make_dirs(path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> list[str]:
    """Create the missing directories of a root-controlled path; the ones created, outermost first."""
    created = []
    missing = path
    while missing and missing != "/" and not os.path.isdir(missing):
        if os.path.islink(missing):
            raise UnsafePathError(f"{missing} is a symlink to a missing directory; refusing to create through it")
        created.append(missing)
        missing = os.path.dirname(missing)
    for d in reversed(created):
        os.mkdir(d, mode)
        os.chown(d, uid, gid, follow_symlinks=False)
    return list(reversed(created))


def atomic_write(
    module: t.Any,
    path: str,
    data: str | bytes,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    backup: bool = False,
) -> str | None:
    """Write data to a root-controlled path atomically (temp file, fsync, rename); the backup file or None.

    A symlink at path is refused. The SELinux context of the file replaced is
    kept. Raises FileError (never fail_json), so a caller can roll back.
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    directory = os.path.dirname(path) or "."
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{path} is a symlink (to {_readlink(path)!r}); refusing to write through it")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise FileError(f"{path} exists but is not a regular file; nothing was written")
    check_root_controlled(path)
    backup_file = make_backup(path) if backup and st is not None else None
    try:
        make_dirs(directory)
        tmp = os.path.join(directory, f".{os.path.basename(path)}.dockguard-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise FileError(f"cannot write {path}: {describe_oserror(exc)}; nothing was changed") from None
    try:
        try:
            _write_all(fd, raw)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if st is not None and module.selinux_enabled():
            module.set_context_if_different(tmp, module.selinux_context(path), False)
        os.rename(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise FileError(f"cannot write {path}: {describe_oserror(exc)}; {path} was left as it was") from None
    _fsync_dir(directory)
    return backup_file


def _write_all(fd: int, raw: bytes) -> None:
    view = memoryview(raw)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: str | int) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if isinstance(directory, str) else None
    except OSError:
        return
    try:
        os.fsync(fd if fd is not None else t.cast(int, directory))
    except OSError:
        pass
    finally:
        if fd is not None:
            os.close(fd)


def remove(path: str) -> bool:
    """Remove a root-controlled file (a symlink itself, never its target); True when something was removed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise FileError(f"cannot remove {path}: {describe_oserror(exc)}") from None
    return True


class UserTree:
    """A user's home, written and read so that nothing the user controls redirects root.

    Paths are given relative to the home (``.config/docker/daemon.json``). The
    home itself must be an existing directory (not a symlink) owned by the user.
    """

    def __init__(self, name: str, uid: int, gid: int, home: str) -> None:
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = os.path.normpath(home) if home else home
        self.created: list[str] = []

    # -- paths -------------------------------------------------------------------------

    def path(self, rel: str) -> str:
        return os.path.join(self.home, rel)

    def relative(self, path: str) -> str:
        """path as a path inside the home; UnsafePathError when it is outside."""
        norm = os.path.normpath(path)
        if not norm.startswith(self.home.rstrip("/") + "/"):
            raise UnsafePathError(f"{path} is not inside the home {self.home} of user {self.name}")
        return norm[len(self.home.rstrip("/")) + 1 :]

    def contains(self, path: str) -> bool:
        return os.path.normpath(path).startswith(self.home.rstrip("/") + "/")

    @staticmethod
    def _parts(rel: str) -> list[str]:
        if not rel or rel.startswith("/"):
            raise UnsafePathError(f"{rel!r} is not a path relative to a home directory")
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            raise UnsafePathError(f"{rel!r} leaves the home directory")
        return parts

    # -- walking -------------------------------------------------------------------------

    def open_home(self) -> int:
        """An fd of the home directory; refuses a home that is missing, a symlink or not the user's."""
        home = self.home
        if not home or not os.path.isabs(home) or home == "/":
            raise UnsafePathError(f"user {self.name} has home {home!r}: not a directory of its own; refusing")
        parent, base = os.path.split(home)
        try:
            parent_fd = os.open(os.path.realpath(parent), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise UnsafePathError(
                f"the home {home} of user {self.name} does not exist ({parent}: {describe_oserror(exc)}); "
                "refusing: this module never creates a home or the directories above it"
            ) from None
        try:
            pst = os.fstat(parent_fd)
            if pst.st_uid not in (0, self.uid):
                raise UnsafePathError(
                    f"{parent}, above the home of user {self.name}, belongs to uid {pst.st_uid}; refusing"
                )
            try:
                fd = os.open(base, _DIR_FLAGS, dir_fd=parent_fd)
            except FileNotFoundError:
                raise UnsafePathError(
                    f"the home {home} of user {self.name} does not exist; refusing: create the home first "
                    "(this module never creates a home or the directories above it)"
                ) from None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(os.path.join(parent, base)):
                    raise UnsafePathError(
                        f"the home {home} of user {self.name} is a symlink (to {_readlink(base, parent_fd)!r}); "
                        "refusing: point the account at the real directory"
                    ) from None
                raise UnsafePathError(f"the home {home} of user {self.name}: {describe_oserror(exc)}") from None
        finally:
            os.close(parent_fd)
        st = os.fstat(fd)
        if st.st_uid != self.uid:
            os.close(fd)
            raise UnsafePathError(
                f"the home {home} of user {self.name} belongs to uid {st.st_uid}, not to the user (uid {self.uid}); "
                "refusing to write there for them"
            )
        return fd

    def _step(self, dir_fd: int, name: str, shown: str, create: bool, mode: int) -> int | None:
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            if not create:
                return None
            try:
                os.mkdir(name, mode, dir_fd=dir_fd)
                fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                raise self._unsafe(exc, dir_fd, name, shown) from None
            st = os.fstat(fd)
            if st.st_uid == os.geteuid():  # the directory this call made, not one swapped in since
                os.fchown(fd, self.uid, self.gid)
                os.fchmod(fd, mode)
                self.created.append(shown)
            return fd
        except OSError as exc:
            raise self._unsafe(exc, dir_fd, name, shown) from None
        st = os.fstat(fd)
        if st.st_uid not in (0, self.uid):
            os.close(fd)
            raise UnsafePathError(
                f"{shown} belongs to uid {st.st_uid}, neither user {self.name} nor root; refusing to write in it"
            )
        return fd

    def _unsafe(self, exc: OSError, dir_fd: int, name: str, shown: str) -> FileError:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST):
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                st = None
            if st is not None and stat.S_ISLNK(st.st_mode):
                return UnsafePathError(
                    f"{shown} is a symlink (to {_readlink(name, dir_fd)!r}) in the home of user {self.name}; "
                    "refusing to follow it. Nothing was written; remove the link and run again."
                )
            return UnsafePathError(f"{shown} is not a directory; refusing to write below it")
        return FileError(f"{shown}: {describe_oserror(exc)}")

    @contextlib.contextmanager
    def directory(self, rel_dir: str, create: bool = False, mode: int = 0o755) -> t.Iterator[int | None]:
        """An fd of rel_dir ('' for the home) walked without following links; None when missing and not create."""
        fd: int | None = self.open_home()
        shown = self.home
        try:
            for part in self._parts(rel_dir) if rel_dir else []:
                shown = os.path.join(shown, part)
                nxt = self._step(t.cast(int, fd), part, shown, create, mode)
                os.close(t.cast(int, fd))
                fd = nxt
                if fd is None:
                    break
            yield fd
        finally:
            if fd is not None:
                os.close(fd)

    # -- files ---------------------------------------------------------------------------

    def _check_entry(self, dir_fd: int, name: str, shown: str) -> os.stat_result | None:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePathError(
                f"{shown} is a symlink (to {_readlink(name, dir_fd)!r}) in the home of user {self.name}; refusing to "
                "follow it. Nothing was written; remove the link and run again."
            )
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError(f"{shown} is not a regular file; refusing")
        if st.st_nlink > 1:
            raise UnsafePathError(
                f"{shown} is a hard link ({st.st_nlink} names for one file) in the home of user {self.name}; "
                "refusing to read or replace it: remove it and run again"
            )
        if st.st_uid not in (0, self.uid):
            raise UnsafePathError(f"{shown} belongs to uid {st.st_uid}, neither user {self.name} nor root; refusing")
        if st.st_uid != self.uid and not st.st_mode & 0o004:
            raise UnsafePathError(
                f"{shown} belongs to root and user {self.name} may not read it (mode {stat.S_IMODE(st.st_mode):04o}); "
                "refusing to read or replace it for them: remove it or make it theirs"
            )
        return st

    def stat(self, rel: str) -> os.stat_result | None:
        """lstat of a file in the tree, after the same checks as a write; None when it or its directory is missing."""
        self._parts(rel)
        rel_dir, name = os.path.split(rel)
        with self.directory(rel_dir) as dfd:
            if dfd is None:
                return None
            return self._check_entry(dfd, name, self.path(rel))

    def read(self, rel: str, limit: int = READ_LIMIT) -> bytes | None:
        """Bytes of a file in the tree; None when it or its directory is missing."""
        self._parts(rel)
        rel_dir, name = os.path.split(rel)
        shown = self.path(rel)
        with self.directory(rel_dir) as dfd:
            if dfd is None or self._check_entry(dfd, name, shown) is None:
                return None
            try:
                fd = _open_regular(name, dfd, follow=False, shown=shown)
            except OSError as exc:
                raise self._unsafe(exc, dfd, name, shown) from None
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fd)
                swapped = st.st_nlink > 1 or st.st_uid not in (0, self.uid)
                if swapped or (st.st_uid != self.uid and not st.st_mode & 0o004):  # swapped since the check
                    raise UnsafePathError(f"{shown} changed while it was read; refusing")
                return _read_bounded(fh, st, shown, limit)

    def read_text(self, rel: str, limit: int = READ_LIMIT) -> str | None:
        data = self.read(rel, limit)
        return None if data is None else data.decode("utf-8", "surrogateescape")

    def write(self, rel: str, data: str | bytes, mode: int = 0o644, backup: bool = False) -> str | None:
        """Replace a file of the tree atomically, owned by the user; the backup's path or None.

        The file written is always one this call created (a temporary file
        renamed over the old name), so no existing file is ever chowned.
        """
        self._parts(rel)
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        rel_dir, name = os.path.split(rel)
        shown = self.path(rel)
        with self.directory(rel_dir, create=True) as dfd:
            dir_fd = t.cast(int, dfd)
            old = self._check_entry(dir_fd, name, shown)
            backup_file = None
            if backup and old is not None:
                previous = self.read(rel)
                stamp = time.strftime("%Y-%m-%d@%H:%M:%S")
                bname = f"{name}.{os.getpid()}.{stamp}~"
                self._create(
                    dir_fd, bname, previous or b"", stat.S_IMODE(old.st_mode), self.path(os.path.join(rel_dir, bname))
                )
                backup_file = self.path(os.path.join(rel_dir, bname))
            tmp = f".{name}.dockguard-{secrets.token_hex(4)}"
            self._create(dir_fd, tmp, raw, mode, shown)
            try:
                os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise FileError(f"cannot write {shown}: {describe_oserror(exc)}") from None
            with contextlib.suppress(OSError):
                os.fsync(dir_fd)
            return backup_file

    def _create(self, dir_fd: int, name: str, raw: bytes, mode: int, shown: str) -> None:
        try:
            fd = os.open(
                name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd
            )
        except OSError as exc:
            raise FileError(f"cannot write {shown}: {describe_oserror(exc)}") from None
        try:
            _write_all(fd, raw)
            os.fchown(fd, self.uid, self.gid)
            os.fchmod(fd, mode)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
            raise FileError(f"cannot write {shown}: {describe_oserror(exc)}") from None
        os.close(fd)

    def remove(self, rel: str) -> bool:
        """Remove a file of the tree (a link itself, never what it points to); True when removed."""
        self._parts(rel)
        rel_dir, name = os.path.split(rel)
        with self.directory(rel_dir) as dfd:
            if dfd is None:
                return False
            try:
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                return False
            except OSError as exc:
                raise FileError(f"cannot remove {self.path(rel)}: {describe_oserror(exc)}") from None
            return True


def user_tree(name: str) -> UserTree:
    """The UserTree of a local account; FileError when there is no such user."""
    import pwd

    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        raise FileError(f"user={name!r}: no such user on this host") from None
    return UserTree(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir)
