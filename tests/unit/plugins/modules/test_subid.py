# SPDX-License-Identifier: GPL-3.0-or-later
"""The subid module run for real (main(), AnsibleModule) on files in a temporary directory.

The accounts are this machine's own (root, nobody), read through pwd/grp as on a managed host.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import stat
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockguard.hardening.plugins.modules import subid as mod

CROWDED = (
    "# subordinate ids, kept by hand\n"
    "root:100000:65536\n"
    "nobody:165536:65536\n"
    "this line is junk\n"
    "\n"
    "carol:231072:1\n"
    "dave:231073:65536:extra\n"
    "erin:231073:65536\n"
    "  frank:1:2  \n"
    "gina:400000:1000000\r\n"
)


class Files:
    def __init__(self, tmp: pathlib.Path) -> None:
        self.subuid = tmp / "subuid"
        self.subgid = tmp / "subgid"
        self.login_defs = tmp / "login.defs"
        self.dir = tmp

    def args(self, **kw: t.Any) -> dict[str, t.Any]:
        return {
            "subuid_path": str(self.subuid),
            "subgid_path": str(self.subgid),
            "login_defs_path": str(self.login_defs),
            **kw,
        }


@pytest.fixture(autouse=True)
def module_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as on a managed host: once a controller-side module is imported in this pytest process (another
    test file may do so), AnsibleModule.warn() would print through the controller's Display instead of
    returning the warnings with the result."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


@pytest.fixture
def files(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Files:
    locks = tmp_path / "locks"
    monkeypatch.setattr(mod, "LOCK_DIR", str(locks))
    (tmp_path / "etc").mkdir()
    return Files(tmp_path / "etc")


def test_a_run_holds_the_lock_of_its_two_files(
    capsys: pytest.CaptureFixture[str], files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs on the same files are serialized: a held lock makes the second wait, then fail naming the files."""
    from ansible_collections.dockguard.hardening.plugins.module_utils._common import lock

    monkeypatch.setattr(mod, "LOCK_TIMEOUT", 0.3)
    key = f"subid:{os.path.realpath(files.subuid)}\0{os.path.realpath(files.subgid)}"
    with lock.exclusive(key, "test", 1, lock_dir=mod.LOCK_DIR):
        out = run(capsys, files.args(name="root"))
    assert out["failed"] is True
    assert f"another run is changing {files.subuid} and {files.subgid}" in out["msg"]
    assert not files.subuid.exists()


def run(
    capsys: pytest.CaptureFixture[str], args: dict[str, t.Any], check: bool = False, diff: bool = True
) -> dict[str, t.Any]:
    with (
        patch_module_args({**args, "_ansible_check_mode": check, "_ansible_diff": diff}),
        pytest.raises(SystemExit) as exit_,
    ):
        mod.main()
    out = json.loads(capsys.readouterr().out)
    assert (exit_.value.code == 0) is not bool(out.get("failed")), out
    return t.cast("dict[str, t.Any]", out)


def backups(files: Files) -> list[str]:
    return sorted(p.name for p in files.dir.iterdir() if p.name.endswith("~"))


def test_allocates_the_same_free_range_in_both_files(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.subuid.write_text("nobody:100000:65536\n")
    files.subgid.write_text("nobody:100000:65536\nnogroup:165536:65536\n")
    out = run(capsys, files.args(name="root"))
    assert out["changed"] is True
    assert out["subuid"] == {
        "path": str(files.subuid),
        "owner": "root",
        "start": 231072,
        "count": 65536,
        "changed": True,
    }
    assert out["subgid"]["start"] == 231072
    assert files.subuid.read_bytes().decode() == "nobody:100000:65536\nroot:231072:65536\n"
    assert files.subgid.read_bytes().decode() == "nobody:100000:65536\nnogroup:165536:65536\nroot:231072:65536\n"
    for path in (files.subuid, files.subgid):
        st_ = path.stat()
        assert (stat.S_IMODE(st_.st_mode), st_.st_uid, st_.st_gid) == (0o644, 0, 0)
    assert len(backups(files)) == 2
    assert [d["before_header"] for d in out["diff"]] == [str(files.subuid), str(files.subgid)]
    assert out["diff"][0]["after"].endswith("root:231072:65536\n")
    # again: nothing to do
    again = run(capsys, files.args(name="root"))
    assert again["changed"] is False
    assert again["diff"] == []
    assert len(backups(files)) == 2


def test_missing_files_are_created(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    out = run(capsys, files.args(name="root", backup=True))
    assert out["changed"] is True
    assert files.subuid.read_bytes().decode() == files.subgid.read_bytes().decode() == "root:100000:65536\n"
    assert "backup_files" not in out


def test_check_mode_predicts_and_writes_nothing(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.subuid.write_text(CROWDED)
    predicted = run(capsys, files.args(name="root", start=2000000), check=True)
    assert predicted["changed"] is True
    assert files.subuid.read_bytes().decode() == CROWDED
    assert not files.subgid.exists()
    done = run(capsys, files.args(name="root", start=2000000))
    assert {k: done[k] for k in ("changed", "subuid", "subgid", "removed")} == {
        k: predicted[k] for k in ("changed", "subuid", "subgid", "removed")
    }
    assert done["diff"] == predicted["diff"]


def test_a_crowded_subuid_keeps_every_other_line_byte_for_byte(
    capsys: pytest.CaptureFixture[str], files: Files
) -> None:
    files.subuid.write_bytes(CROWDED.encode() + b"\xff\xfe binary junk:1:2\n")
    files.subgid.write_text("")
    out = run(capsys, files.args(name="root", on_invalid="replace"))
    after = files.subuid.read_bytes()
    # root's valid line is kept: nothing at all changes in subuid
    assert out["subuid"] == {
        "path": str(files.subuid),
        "owner": "root",
        "start": 100000,
        "count": 65536,
        "changed": False,
    }
    assert after == CROWDED.encode() + b"\xff\xfe binary junk:1:2\n"
    assert files.subgid.read_bytes().decode() == "root:100000:65536\n"
    assert out["docker_unreadable"] == [
        f"{files.subuid}:4 'this line is junk'",
        f"{files.subuid}:7 'dave:231073:65536:extra'",
    ]


def test_a_crowded_subuid_new_user_lands_in_the_first_real_gap(
    capsys: pytest.CaptureFixture[str], files: Files
) -> None:
    crowded = CROWDED.replace("root:100000:65536\n", "")
    files.subuid.write_text(crowded)
    out = run(capsys, files.args(name="root"))
    # 100000-165535 is free (nobody's account ID 65534 is below)
    assert out["subuid"]["start"] == 100000
    assert files.subuid.read_bytes().decode() == crowded + "root:100000:65536\n"
    # dave's line has a fourth field: dockerd refuses the file over it, but shadow-utils reads dave's range
    # 231073-296608 from it; a start that overlaps it is refused with the line and its readers named
    failed = run(capsys, files.args(name="root", start=250000))
    assert failed["failed"] is True
    assert failed["msg"].startswith(
        f"the requested range 250000-315535 overlaps dave's range 231073-296608 at {files.subuid}:6 "
        "'dave:231073:65536:extra' (as shadow-utils and dockerd (moby/sys/user) read it)"
    )
    # gina's CRLF line is a range for dockerd: a start inside it is refused too
    failed = run(capsys, files.args(name="root", start=700000))
    assert "overlaps gina's range 400000-1399999" in failed["msg"]
    assert "(as dockerd (pkg/idtools) and dockerd (moby/sys/user) read it)" in failed["msg"]
    assert files.subuid.read_bytes().decode() == crowded + "root:100000:65536\n"


def test_an_overlap_of_the_users_own_line_fails_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], files: Files
) -> None:
    text = "nobody:100000:65536\nroot:150000:65536\n"
    files.subuid.write_text(text)
    out = run(capsys, files.args(name="root"))
    assert out["failed"] is True
    assert f"{files.subuid}:2 'root:150000:65536': the range 150000-215535 overlaps nobody's range" in out["msg"]
    assert files.subuid.read_bytes().decode() == text
    assert not files.subgid.exists()


def test_a_too_small_range_is_refused(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    out = run(capsys, files.args(name="root", count=1000))
    assert out["failed"] is True
    assert out["msg"].startswith("count=1000 is too small for Docker")
    assert not files.subuid.exists()


def test_login_defs_bounds_are_honoured(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.login_defs.write_text("SUB_UID_MIN 500000\nSUB_UID_MAX 600000\nSUB_GID_MIN 700000\n")
    out = run(capsys, files.args(name="root"))
    assert (out["subuid"]["start"], out["subgid"]["start"]) == (500000, 700000)
    files.subuid.write_text("nobody:500000:65536\n")
    files.subgid.unlink()
    out = run(capsys, files.args(name="root"))
    assert out["failed"] is True
    assert "no free range of 65536 IDs" in out["msg"]
    assert "between 500000 and 600000" in out["msg"]


def test_a_numeric_owner_is_the_users(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.subuid.write_text("0:300000:65536\n")
    files.subgid.write_text("0:300000:65536\n")
    out = run(capsys, files.args(name="root"))
    assert out["changed"] is False
    assert out["subuid"]["start"] == 300000


def test_absent_removes_only_the_users_lines(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.subuid.write_text("root:100000:65536\n# root:1:1\nnobody:165536:65536\n0:300000:65536\n")
    files.subgid.write_text("nobody:165536:65536\n")
    out = run(capsys, files.args(name="root", state="absent"))
    assert out["changed"] is True
    assert out["subuid"] is None
    assert out["removed"] == [
        f"{files.subuid}:1 'root:100000:65536'",
        f"{files.subuid}:4 '0:300000:65536'",
    ]
    assert files.subuid.read_bytes().decode() == "# root:1:1\nnobody:165536:65536\n"
    assert files.subgid.read_bytes().decode() == "nobody:165536:65536\n"
    assert run(capsys, files.args(name="root", state="absent"))["changed"] is False


def test_absent_for_a_user_that_no_longer_exists(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.subuid.write_text("gone:100000:65536\nnobody:165536:65536\n")
    out = run(capsys, files.args(name="gone", state="absent"))
    assert out["changed"] is True
    assert files.subuid.read_bytes().decode() == "nobody:165536:65536\n"


def test_group_owns_the_subgid_entry(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    out = run(capsys, files.args(name="root", group="nogroup"))
    assert out["subgid"]["owner"] == "nogroup"
    assert files.subgid.read_bytes().decode() == "nogroup:100000:65536\n"


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        ({"name": "no-such-user-here"}, "name='no-such-user-here': no such user on this host; create the user first"),
        ({"name": "root", "group": "no-such-group"}, "group='no-such-group': no such group on this host"),
        ({"name": "root", "count": -5}, "count=-5 must be a positive number of IDs"),
        ({"name": "root", "count": 0}, "count=0 must be a positive number of IDs"),
        ({"name": "root", "min_count": 0}, "min_count=0 must be a positive number of IDs"),
        ({"name": "root", "start": -1}, "start=-1 must be 0 or more"),
        ({"name": "root", "start": 4294967295}, "start=4294967295 lies beyond the ID space"),
        ({"name": "root", "pool_start": 0}, "pool_start=0 must be a positive ID"),
        ({"name": "root", "state": "gone"}, "value of state must be one of: present, absent, got: gone"),
        ({"name": "root", "count": "many"}, "cannot be converted to an int"),
        ({}, "missing required arguments: name"),
    ],
)
def test_bad_input_fails_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], files: Files, args: dict[str, t.Any], msg: str
) -> None:
    out = run(capsys, files.args(**args))
    assert out["failed"] is True
    assert msg in out["msg"]
    assert not files.subuid.exists()
    assert not files.subgid.exists()


def test_overlaps_of_others_are_warnings(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.subuid.write_text("a:100000:100000\nb:150000:65536\n")
    out = run(capsys, files.args(name="root"))
    assert out["changed"] is True
    # ansible-core 2.19 returns warnings as structured events
    warnings = [json.dumps(w) for w in out["warnings"]]
    assert any("'a:100000:100000'" in w and "'b:150000:65536'" in w and "overlap" in w for w in warnings)


def test_no_diff_without_diff_mode(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    out = run(capsys, files.args(name="root"), diff=False)
    assert "diff" not in out
    assert os.path.exists(files.subuid)


def test_check_mode_plans_for_a_user_an_earlier_task_creates(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    out = run(capsys, files.args(name="dg-not-yet", group="dg-not-yet"), check=True)
    assert out["changed"] is True
    assert out["subuid"]["start"] == 100000
    assert "no such user yet" in json.dumps(out["warnings"])
    assert not files.subuid.exists()


def test_crlf_ranges_of_another_owner_are_taken_in_both_files(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    """Issue 9 item 4: with bob:100000:65536\\r\\n in both files, the new user was given bob's range too."""
    files.subuid.write_bytes(b"bob:100000:65536\r\n")
    files.subgid.write_bytes(b"bob:100000:65536\r\n")
    out = run(capsys, files.args(name="root"))
    assert (out["subuid"]["start"], out["subgid"]["start"]) == (165536, 165536)
    assert files.subuid.read_bytes() == files.subgid.read_bytes() == b"bob:100000:65536\r\nroot:165536:65536\n"


def refuse_rename_onto(monkeypatch: pytest.MonkeyPatch, target: pathlib.Path, err: int) -> None:
    real_rename = os.rename

    def rename(src: t.Any, dst: t.Any, *args: t.Any, **kw: t.Any) -> None:
        if os.fsdecode(dst) == str(target):
            raise OSError(err, os.strerror(err), os.fsdecode(dst))
        real_rename(src, dst, *args, **kw)

    monkeypatch.setattr(os, "rename", rename)


def test_a_failed_subgid_write_restores_subuid(
    capsys: pytest.CaptureFixture[str], files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 item 5: subuid was rewritten, subgid not, nothing rolled back, and the result said changed=false."""
    files.subuid.write_text("nobody:100000:65536\n")
    files.subgid.write_text("nobody:100000:65536\n")
    files.subuid.chmod(0o640)
    refuse_rename_onto(monkeypatch, files.subgid, errno.EBUSY)
    out = run(capsys, files.args(name="root", backup=False))
    assert out["failed"] is True
    assert out["msg"] == (
        f"cannot write {files.subgid}: Device or resource busy; {files.subgid} was left as it was; "
        f"{files.subuid} restored as it was; neither file was changed"
    )
    assert "unexpected" not in out["msg"]
    assert (out["changed"], out["written"], out["restored"]) == (False, [], [str(files.subuid)])
    assert files.subuid.read_text() == files.subgid.read_text() == "nobody:100000:65536\n"
    assert stat.S_IMODE(files.subuid.stat().st_mode) == 0o640  # restored with its own mode
    assert sorted(p.name for p in files.dir.iterdir()) == ["subgid", "subuid"]  # no temporary files left


def test_a_read_only_subgid_stops_the_run_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.subuid.write_text("nobody:100000:65536\n")
    files.subgid.write_text("nobody:100000:65536\n")
    real_open = os.open

    def read_only_subgid(path: t.Any, flags: int, *args: t.Any, **kw: t.Any) -> int:
        if os.fsdecode(path) == str(files.subgid) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", read_only_subgid)
    out = run(capsys, files.args(name="root"))
    assert out["failed"] is True
    assert out["msg"] == f"cannot write {files.subgid}: Read-only file system; neither file was changed"
    assert out["changed"] is False
    assert files.subuid.read_text() == files.subgid.read_text() == "nobody:100000:65536\n"
    assert backups(files) == []  # nothing backed up either: the check comes first


def test_a_check_mode_run_says_which_file_would_change(capsys: pytest.CaptureFixture[str], files: Files) -> None:
    files.subuid.write_text("root:100000:65536\n")
    out = run(capsys, files.args(name="root"), check=True)
    assert out["changed"] is True
    assert (out["subuid"]["changed"], out["subgid"]["changed"]) == (False, True)
    assert [d["before_header"] for d in out["diff"]] == [str(files.subgid)]
