# SPDX-License-Identifier: GPL-3.0-or-later
"""Adversarial review of daemon_config's file handling (issue 9): each test is an attack that got through.

Every test here failed on the code it was written against (see the review report); the real-host
reproductions are in molecule/hostile/tests/test_adversarial.py. The trees are real files; as root
the user's tree belongs to uid 65534 so that ownership is tested for real.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import stat
import threading
import time
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files, lock
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon import apply
from ansible_collections.dockguard.hardening.plugins.modules import daemon_config as mod
from ansible_collections.dockguard.hardening.tests.unit.plugins.modules.test_daemon_config import (
    DEBIAN_UNIT,
    PARAMS,
    FakeEngine,
    Host,
)

ROOT = os.geteuid() == 0
UID, GID = (65534, 65534) if ROOT else (os.geteuid(), os.getegid())
SECRET = "hunter2-root-secret"
needs_root = pytest.mark.skipif(not ROOT, reason="root-owned files and other owners need root")


class Account(t.NamedTuple):
    pw_name: str
    pw_uid: int
    pw_gid: int
    pw_dir: str


@pytest.fixture
def host(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    """The fake host of the module's unit tests (real files under tmp_path, systemd from tables)."""
    root = tmp_path / "host"
    (root / "units").mkdir(parents=True)
    (root / "units" / "docker.service").write_text(DEBIAN_UNIT)
    (tmp_path / "ansible-tmp").mkdir()
    monkeypatch.setattr(sd, "SYSTEM_UNIT_DIRS", (str(root / "units"),))
    return Host(root, tmp_path / "ansible-tmp", FakeEngine())


@pytest.fixture
def home(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """Alice's home; her user unit directories are only the one in her home."""
    h = tmp_path / "home" / "alice"
    h.mkdir(parents=True)
    os.chown(h, UID, GID)
    monkeypatch.setattr(sd, "user_unit_dirs", lambda d: (os.path.join(d, ".config/systemd/user"),))
    return h


@pytest.fixture
def outside(tmp_path: pathlib.Path) -> pathlib.Path:
    """Root's tree: /etc/docker and /etc/systemd/system of the host, and a root-only secret."""
    o = tmp_path / "etc"
    (o / "docker").mkdir(parents=True)
    (o / "docker" / "daemon.json").write_text('{"log-level": "info"}\n')
    (o / "systemd" / "system" / "docker.service.d").mkdir(parents=True)
    (o / "secret.env").write_text(f"PASSWORD={SECRET}\n")
    os.chmod(o / "secret.env", 0o600)
    return o


def snapshot(path: pathlib.Path) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    for p in sorted(path.rglob("*")):
        st = p.lstat()
        out[str(p)] = (stat.S_IFMT(st.st_mode), st.st_uid, st.st_mode, p.read_bytes() if p.is_file() else None)
    return out


def as_alice(path: pathlib.Path, home: pathlib.Path) -> None:
    """chown what alice made herself (the test runs as root): path and its directories up to her home."""
    while path != home:
        os.chown(path, UID, GID, follow_symlinks=False)
        path = path.parent


def user_unit(home: pathlib.Path, text: str) -> None:
    unit = home / ".config/systemd/user/docker.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(text)
    as_alice(unit, home)


def run_for_alice(host: Host, home: pathlib.Path, **params: t.Any) -> dict[str, t.Any]:
    full = dict(PARAMS, **params, user="alice")
    tgt = apply.make_target(full, Account("alice", UID, GID, str(home)))
    return apply.Manager(full, tgt, host, False, True).run()


# -- a path outside the home with user= set ----------------------------------------------------------------


@needs_root
def test_a_path_outside_the_home_is_not_written_for_the_user(
    host: Host, home: pathlib.Path, outside: pathlib.Path
) -> None:
    """user=alice path=/etc/docker/daemon.json rewrote root's file and chowned it to alice."""
    before = snapshot(outside)
    with pytest.raises(DockguardError, match="home"):
        run_for_alice(host, home, path=str(outside / "docker" / "daemon.json"), settings={"debug": True})
    assert snapshot(outside) == before


@needs_root
def test_a_path_through_a_directory_the_user_links_is_not_followed(
    host: Host, home: pathlib.Path, outside: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """path= in a directory alice controls outside her home: her symlinked directory was followed to /etc."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, UID, GID)
    (shared / "docker").symlink_to(outside / "docker")
    os.chown(shared / "docker", UID, GID, follow_symlinks=False)
    before = snapshot(outside)
    with pytest.raises(DockguardError):
        run_for_alice(host, home, path=str(shared / "docker" / "daemon.json"), settings={"debug": True})
    assert snapshot(outside) == before


@needs_root
def test_a_path_that_climbs_out_of_the_home_is_refused(host: Host, home: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """/home/alice/../bob/... is bob's home: it got root-owned directories and an alice-owned file."""
    bob = tmp_path / "home" / "bob"
    bob.mkdir()
    os.chown(bob, UID + 1, GID + 1)
    with pytest.raises(DockguardError):
        run_for_alice(host, home, path=f"{home}/../bob/.config/docker/daemon.json", settings={"debug": True})
    assert list(bob.iterdir()) == []


@needs_root
def test_a_dropin_path_outside_the_home_is_not_written_for_the_user(
    host: Host, home: pathlib.Path, outside: pathlib.Path
) -> None:
    """dropin_path=/etc/systemd/system/docker.service.d/x.conf with user=alice: a system drop-in owned by
    alice, holding the ExecStart= of alice's own unit."""
    user_unit(home, "[Service]\nExecStart=/usr/bin/dockerd -H unix:///tmp/x\n")
    dropin = outside / "systemd" / "system" / "docker.service.d" / "evil.conf"
    before = snapshot(outside)
    with pytest.raises(DockguardError):
        run_for_alice(
            host,
            home,
            settings={"hosts": ["unix:///run/user/1000/docker.sock"]},
            conflicts="resolve",
            dropin_path=str(dropin),
        )
    assert snapshot(outside) == before
    assert not dropin.exists()


# -- root's files named by the user's unit --------------------------------------------------------------


@needs_root
@pytest.mark.parametrize(
    ("execstart", "settings"),
    [
        ("/usr/bin/dockerd --config-file=${PASSWORD}", {"debug": True}),  # any task at all
        ("/usr/bin/dockerd -H ${PASSWORD}", {"hosts": ["unix:///run/user/1000/docker.sock"]}),
    ],
    ids=["config-file", "conflict"],
)
def test_an_environment_file_of_root_never_reaches_a_message_or_result(
    host: Host, home: pathlib.Path, outside: pathlib.Path, execstart: str, settings: dict[str, t.Any]
) -> None:
    """EnvironmentFile=/root/secret.env (0600 root) in alice's unit: root read it for her and put the value in
    the failure message (--config-file hunter2...) or in result.conflicts[].flag."""
    user_unit(home, f"[Service]\nEnvironmentFile={outside / 'secret.env'}\nExecStart={execstart}\n")
    try:
        result: t.Any = run_for_alice(host, home, settings=settings, conflicts="resolve")
    except DockguardError as exc:
        result = {"msg": exc.msg, **exc.details}
    assert SECRET not in repr(result)


@needs_root
def test_an_environment_file_that_climbs_out_of_the_home_is_not_read_as_root(
    host: Host, home: pathlib.Path, outside: pathlib.Path
) -> None:
    user_unit(
        home,
        f"[Service]\nEnvironmentFile={home}/../../etc/secret.env\n"
        "ExecStart=/usr/bin/dockerd --config-file=${PASSWORD}\n",
    )
    try:
        result: t.Any = run_for_alice(host, home, settings={"debug": True})
    except DockguardError as exc:
        result = {"msg": exc.msg}
    assert SECRET not in repr(result)


def test_a_symlinked_environment_file_is_named_as_a_link_not_as_missing(
    host: Host, home: pathlib.Path, outside: pathlib.Path
) -> None:
    """The link is refused (right), but the message said 'is required by the unit but does not exist'."""
    (home / "env").symlink_to(outside / "secret.env")
    user_unit(home, f"[Service]\nEnvironmentFile={home}/env\nExecStart=/usr/bin/dockerd\n")
    with pytest.raises(DockguardError, match=r"env is a symlink"):
        run_for_alice(host, home, settings={"debug": True})


# -- root-owned files in the user's tree ---------------------------------------------------------------


@needs_root
def test_a_backup_never_hands_the_user_a_file_they_could_not_read(home: pathlib.Path) -> None:
    """A root-only file (0600 root: a `sudo docker login` config.json, a .viminfo) that alice renames to
    ~/.config/docker/daemon.json came back as an alice-owned backup (exclusive=true gets that far)."""
    d = home / ".config" / "docker"
    d.mkdir(parents=True)
    as_alice(d, home)
    (d / "daemon.json").write_text('{"auths": {"r": {"auth": "' + SECRET + '"}}}\n')
    os.chmod(d / "daemon.json", 0o600)  # root's, as root left it
    with contextlib.suppress(files.UnsafePathError):  # refusing a file the user does not own is a fix too
        files.UserTree("alice", UID, GID, str(home)).write(".config/docker/daemon.json", "{}\n", backup=True)
    for p in d.iterdir():
        st = p.lstat()
        readable_by_alice = st.st_uid == UID or st.st_mode & 0o004
        assert not (readable_by_alice and SECRET in p.read_text()), f"{p} hands root's content to alice"


# -- the module's own reports ----------------------------------------------------------------------------


def test_invalid_utf8_in_daemon_json_is_refused_before_anything_is_written(host: Host) -> None:
    """Bytes that are not UTF-8 were rewritten as \\udcff escapes (keys the task never named), then the
    controller refused the result: FAILED, changed=false, with the file already rewritten."""
    host.config.write_bytes(b'{"labels": ["a=\xff\xfe"]}\n')
    before = host.snapshot()
    with pytest.raises(DockguardError, match=r"UTF-8"):
        host.run(settings={"debug": True})
    assert host.snapshot() == before


def test_a_masked_unit_is_named_as_masked_as_systemd_masks_it(host: Host) -> None:
    """On a real host `systemctl mask` links the unit to /dev/null; the message was still 'no ExecStart='."""
    host.unit_file.unlink()
    (host.units / "docker.service").symlink_to(os.devnull)
    host.units_state = {"docker.service": {"LoadState": "masked", "MainPID": "0"}}
    with pytest.raises(DockguardError, match=r"docker.service is masked"):
        host.run(settings={"icc": False}, restart="never")


def test_a_dropin_that_cannot_be_written_leaves_daemon_json_as_it_was(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-only /etc/systemd/system/docker.service.d: daemon.json got hosts, the drop-in did not, the message
    said 'nothing was changed', and dockerd refused to start at its next restart (hosts as flag and key)."""
    host.config.write_text("{}\n")
    real_write = type(host).write

    def write(self: Host, tgt: t.Any, path: str, text: str, backup: bool = False) -> str | None:
        if path == tgt.dropin:
            raise files.FileError(f"cannot write {path}: Read-only file system; nothing was changed")
        return real_write(self, tgt, path, text, backup)

    monkeypatch.setattr(type(host), "write", write)
    with pytest.raises(DockguardError):
        host.run(settings={"hosts": ["fd://", "unix:///run/dg.sock"]}, conflicts="resolve")
    assert host.config.read_text() == "{}\n"


def test_one_file_is_one_lock_however_the_service_is_spelled(monkeypatch: pytest.MonkeyPatch) -> None:
    """service=docker and service=docker.service took two locks on one daemon.json: a lost update (2 of 6)."""
    keys: list[str] = []

    class Held:
        def __init__(self, key: str, what: str, timeout: float) -> None:
            keys.append(key)

        def __enter__(self) -> str:
            return ""

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(lock, "exclusive", Held)
    monkeypatch.setattr(apply.Manager, "run", lambda self: {})

    class Module:
        check_mode = False
        _diff = False

        def __init__(self, service: str) -> None:
            self.params = dict(PARAMS, service=service, path="/etc/docker/daemon.json")

    for service in ("docker", "docker.service"):
        mod.run(t.cast(t.Any, Module(service)))
    assert len(keys) == 4  # a lock for the file, then one for the unit, per run
    assert (keys[0], keys[1]) == (keys[2], keys[3])


# -- the Engine API of a user's daemon is the user's socket ------------------------------------------------


def _serve(path: str, head: bytes, trickle_for: float, tail: bytes = b"") -> threading.Thread:
    """A user's socket: answers head at once, then one byte every 0.2 s for trickle_for seconds, then tail."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)

    def handle() -> None:
        conn, _addr = srv.accept()
        with conn, contextlib.suppress(OSError):  # the client may hang up first: that is the point
            conn.recv(65536)
            conn.sendall(head)
            end = time.monotonic() + trickle_for
            while time.monotonic() < end:
                conn.sendall(b"a")
                time.sleep(0.2)
            conn.sendall(tail)
        srv.close()

    th = threading.Thread(target=handle, daemon=True)
    th.start()
    return th


OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def test_a_trickling_user_socket_does_not_outlast_the_timeout(tmp_path: pathlib.Path) -> None:
    """/run/user/UID/docker.sock is the user's: a server that sends a byte every 0.2 s held root's run past
    timeout (on a real host: timeout=5, still hung after 60 s, holding the daemon's lock)."""
    sock = str(tmp_path / "docker.sock")
    th = _serve(sock, OK_HEAD + b"Content-Length: 10000000\r\n\r\n{", trickle_for=6)
    start = time.monotonic()
    with pytest.raises(_engine.EngineError):
        _engine.get(f"unix://{sock}", "/info", timeout=1)
    assert time.monotonic() - start < 4
    th.join(10)


def test_a_huge_answer_from_a_user_socket_is_refused_not_read_whole(tmp_path: pathlib.Path) -> None:
    """resp.read() had no bound: 60 MB sent by the user's socket became 88 MB of root's module."""
    sock = str(tmp_path / "docker.sock")
    body = b'{"x": "' + b"a" * (32 * 1024 * 1024) + b'"}'
    th = _serve(sock, OK_HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body, trickle_for=0)
    with pytest.raises(_engine.EngineError):
        _engine.get(f"unix://{sock}", "/info", timeout=5)
    th.join(10)


def test_a_user_socket_that_trickles_its_headers_does_not_outlast_the_timeout(tmp_path: pathlib.Path) -> None:
    """The deadline covered the body only: a header line sent a byte at a time held a run with timeout=1 for
    as long as the socket liked (8 s here; 100 headers of 64 KiB allow weeks), each recv getting the full timeout."""
    sock = str(tmp_path / "docker.sock")
    th = _serve(sock, b"HTTP/1.1 200 OK\r\nX-Slow: ", trickle_for=6, tail=b"\r\nContent-Length: 2\r\n\r\n{}")
    start = time.monotonic()
    with pytest.raises(_engine.EngineError):
        _engine.get(f"unix://{sock}", "/info", timeout=1)
    assert time.monotonic() - start < 4
    th.join(10)


def test_a_file_a_user_names_is_not_opened_by_root_before_its_type_is_known() -> None:
    """read_public() (now read_as()) opened the path as root and only then looked at what it is: an EnvironmentFile=
    naming a
    device is opened by root for the user (opening /dev/watchdog arms the watchdog; a serial line drops DTR).
    Shown with a FIFO: a writer blocked in open() is released when root opens it for reading."""
    import shutil
    import tempfile

    public = tempfile.mkdtemp(prefix="dg-adv-")  # under /tmp: every directory above may be searched
    os.chmod(public, 0o755)
    fifo = os.path.join(public, "env")
    os.mkfifo(fifo, 0o666)
    writer = threading.Thread(target=lambda: os.close(os.open(fifo, os.O_WRONLY)), daemon=True)
    writer.start()
    time.sleep(0.3)  # the writer is blocked in open() by now
    try:
        with pytest.raises(files.FileError):
            files.read_as("nobody", 65534, 65534, fifo, "it is named by EnvironmentFile= in the unit of user alice")
        writer.join(0.5)
        assert writer.is_alive(), "root opened the FIFO alice named"
    finally:
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # release the writer
        writer.join(5)
        shutil.rmtree(public)
