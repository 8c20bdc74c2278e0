# SPDX-License-Identifier: GPL-3.0-or-later
"""_common.files: writes inside a user's home that no symlink, hard link or foreign file can redirect.

These run on real files; as root the tree belongs to uid 65534 so that ownership is tested for real
(the real-host proof with a hostile user is the Molecule scenario `hostile`).
"""

from __future__ import annotations

import os
import pathlib
import stat

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils._common import files

ROOT = os.geteuid() == 0
UID, GID = (65534, 65534) if ROOT else (os.geteuid(), os.getegid())


@pytest.fixture
def home(tmp_path: pathlib.Path) -> pathlib.Path:
    h = tmp_path / "home" / "alice"
    h.mkdir(parents=True)
    os.chown(h, UID, GID)
    return h


@pytest.fixture
def outside(tmp_path: pathlib.Path) -> pathlib.Path:
    """Root's files that a user would like to reach."""
    o = tmp_path / "etc"
    (o / "docker").mkdir(parents=True)
    (o / "docker" / "daemon.json").write_text('{"root": true}\n')
    (o / "shadow").write_text("root:secret\n")
    return o


def tree(home: pathlib.Path) -> files.UserTree:
    return files.UserTree("alice", UID, GID, str(home))


def snapshot(path: pathlib.Path) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    for p in sorted(path.rglob("*")):
        st = p.lstat()
        out[str(p)] = (stat.S_IFMT(st.st_mode), st.st_uid, st.st_mode, p.read_bytes() if p.is_file() else None)
    return out


def test_write_creates_missing_directories_owned_by_the_user(home: pathlib.Path) -> None:
    ut = tree(home)
    ut.write(".config/docker/daemon.json", "{}\n")
    for p in (home / ".config", home / ".config/docker", home / ".config/docker/daemon.json"):
        assert (p.stat().st_uid, p.stat().st_gid) == (UID, GID)
    assert stat.S_IMODE((home / ".config/docker/daemon.json").stat().st_mode) == 0o644
    assert ut.read_text(".config/docker/daemon.json") == "{}\n"
    assert ut.created == [str(home / ".config"), str(home / ".config/docker")]


@pytest.mark.parametrize(
    ("link", "target"),
    [
        (".config", "etc"),  # a symlinked directory high up
        (".config/docker", "etc/docker"),  # the directory that holds the file
        (".config/docker/daemon.json", "etc/docker/daemon.json"),  # the file itself
        (".config/docker/daemon.json", "etc/shadow"),
    ],
)
def test_a_symlink_anywhere_on_the_path_is_refused_and_named(
    home: pathlib.Path, outside: pathlib.Path, link: str, target: str
) -> None:
    (home / link).parent.mkdir(parents=True, exist_ok=True)
    (home / link).symlink_to(outside.parent / target)
    before = snapshot(outside)
    with pytest.raises(files.UnsafePathError, match=rf"{home / link} is a symlink \(to "):
        tree(home).write(".config/docker/daemon.json", '{"debug": true}\n')
    with pytest.raises(files.UnsafePathError):
        tree(home).read(".config/docker/daemon.json")
    assert snapshot(outside) == before


def test_a_hard_link_is_refused_for_reading_and_writing(home: pathlib.Path, outside: pathlib.Path) -> None:
    (home / ".docker").mkdir()
    os.link(outside / "shadow", home / ".docker" / "key.pem")
    with pytest.raises(files.UnsafePathError, match="is a hard link"):
        tree(home).read(".docker/key.pem")
    with pytest.raises(files.UnsafePathError, match="is a hard link"):
        tree(home).write(".docker/key.pem", "x")
    assert (outside / "shadow").read_text() == "root:secret\n"


@pytest.mark.skipif(not ROOT, reason="another owner needs root")
def test_a_directory_of_another_user_is_refused(home: pathlib.Path) -> None:
    (home / ".config").mkdir()
    os.chown(home / ".config", 4242, 4242)
    with pytest.raises(files.UnsafePathError, match="belongs to uid 4242, neither user alice nor root"):
        tree(home).write(".config/docker/daemon.json", "{}")


def test_an_existing_file_is_replaced_never_chowned(home: pathlib.Path) -> None:
    (home / "f").write_text("old")
    os.chown(home / "f", UID, GID)
    ino = (home / "f").stat().st_ino
    backup = tree(home).write("f", "new", backup=True)
    assert (home / "f").read_text() == "new"
    assert (home / "f").stat().st_ino != ino  # a new file renamed over the old name
    assert backup is not None and pathlib.Path(backup).read_text() == "old"


@pytest.mark.parametrize("kind", ["missing", "symlink", "foreign"])
def test_a_home_that_is_missing_a_link_or_not_theirs_is_refused(tmp_path: pathlib.Path, kind: str) -> None:
    home = tmp_path / "home" / "bob"
    home.parent.mkdir(parents=True)
    if kind == "symlink":
        (tmp_path / "real").mkdir()
        os.chown(tmp_path / "real", UID, GID)
        home.symlink_to(tmp_path / "real")
    elif kind == "foreign":
        home.mkdir()
        os.chown(home, UID + 1 if ROOT else 0, GID)
        if not ROOT:
            pytest.skip("another owner needs root")
    message = {"missing": "does not exist", "symlink": "is a symlink", "foreign": "belongs to uid"}[kind]
    with pytest.raises(files.UnsafePathError, match=message):
        files.UserTree("bob", UID, GID, str(home)).write(".config/docker/daemon.json", "{}")
    assert not (tmp_path / "real" / ".config").exists()
    assert kind != "missing" or not home.exists()  # never creates a home


@pytest.mark.parametrize("rel", ["/etc/shadow", "../alice2/x", ".config/../../x", ""])
def test_paths_that_leave_the_home_are_refused(home: pathlib.Path, rel: str) -> None:
    with pytest.raises(files.UnsafePathError):
        tree(home).write(rel, "x")


def test_atomic_write_refuses_a_symlink_and_raises_instead_of_fail_json(tmp_path: pathlib.Path) -> None:
    class Module:
        def backup_local(self, path: str) -> str:
            raise AssertionError("no backup of a file that is refused")

        def selinux_enabled(self) -> bool:
            return False

    (tmp_path / "real").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(files.UnsafePathError, match="is a symlink"):
        files.atomic_write(Module(), str(tmp_path / "link"), "x")
    assert (tmp_path / "real").read_text() == "keep"
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "f").write_text("keep")
    os.chmod(tmp_path / "ro", 0o555)
    try:
        if not ROOT:
            with pytest.raises(files.FileError, match="cannot write"):
                files.atomic_write(Module(), str(tmp_path / "ro" / "f"), "x")
    finally:
        os.chmod(tmp_path / "ro", 0o755)


def test_read_text_is_bounded(tmp_path: pathlib.Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 2048)
    with pytest.raises(files.FileError, match="2048 bytes, more than the 1024"):
        files.read_text(str(tmp_path / "big"), limit=1024)
    assert files.read_text(str(tmp_path / "missing"), missing_ok=True) is None
