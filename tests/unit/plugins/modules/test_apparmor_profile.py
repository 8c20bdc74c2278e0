# SPDX-License-Identifier: GPL-3.0-or-later
"""The apparmor_profile module run for real (main(), AnsibleModule, the host's real apparmor_parser).

This machine's kernel has no AppArmor (docs/test-hosts.md), which is what these tests need: the
refusal to load, and the write-only path with the parser's real compile and its real refusals.
Loading and verifying in a kernel is proved in the VM (molecule/lsm).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import stat
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockguard.hardening.plugins.modules import apparmor_profile as mod

PARSER = shutil.which("apparmor_parser") or shutil.which("apparmor_parser", path="/sbin:/usr/sbin")
KERNEL_HAS_APPARMOR = os.path.exists("/sys/module/apparmor/parameters/enabled")

pytestmark = pytest.mark.skipif(
    PARSER is None or not os.path.isdir("/etc/apparmor.d/tunables"),
    reason="needs the apparmor package (apparmor_parser and /etc/apparmor.d)",
)

GOOD = """\
abi <abi/3.0>,
include <tunables/global>
profile dgtest flags=(attach_disconnected) {
  file,
  network,
  audit deny network alg,
  audit deny mount,
  audit deny @{PROC}/sys/** wl,
}
"""


@pytest.fixture(autouse=True)
def module_side(monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


def run(capsys: pytest.CaptureFixture[str], args: dict[str, t.Any], check: bool = False) -> dict[str, t.Any]:
    with (
        patch_module_args({**args, "_ansible_check_mode": check, "_ansible_diff": True}),
        pytest.raises(SystemExit) as exit_,
    ):
        mod.main()
    out = json.loads(capsys.readouterr().out)
    assert (exit_.value.code == 0) is not bool(out.get("failed")), out
    return t.cast("dict[str, t.Any]", out)


@pytest.mark.skipif(KERNEL_HAS_APPARMOR, reason="this kernel has AppArmor; the refusal is for kernels without it")
def test_a_kernel_without_apparmor_is_refused_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "dgtest"
    out = run(capsys, {"name": "dgtest", "content": GOOD, "path": str(path)})
    assert out["failed"] is True
    assert out["msg"].startswith("AppArmor cannot enforce profile 'dgtest' on this host: this kernel has no AppArmor")
    assert "Nothing was written" in out["msg"] and "load=false" in out["msg"]
    assert not path.exists()


def test_write_only_checks_writes_and_is_idempotent(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    path = tmp_path / "dgtest"
    args = {"name": "dgtest", "content": GOOD, "path": str(path), "load": False}
    predicted = run(capsys, args, check=True)
    assert predicted["changed"] is True and predicted["reasons"] == ["file"]
    assert not path.exists()
    out = run(capsys, args)
    assert out["changed"] is True
    assert out["profiles"] == ["dgtest"]
    assert len(out["policy_sha1"]) == 40
    assert out["diff"]["after"] == GOOD and out["diff"]["before"] == ""
    assert path.read_text() == GOOD
    st = path.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o644, 0)
    again = run(capsys, args)
    assert again["changed"] is False and again["reasons"] == []
    assert again["policy_sha1"] == out["policy_sha1"]  # the parser's binary is deterministic
    assert run(capsys, args, check=True)["changed"] is False


def test_a_profile_the_parser_rejects_is_refused_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "dgtest"
    path.write_text(GOOD)
    bad = GOOD.replace("  audit deny mount,\n", "  audit deny mount\n")  # missing comma
    out = run(capsys, {"name": "dgtest", "content": bad, "path": str(path), "load": False})
    assert out["failed"] is True
    assert f"apparmor_parser refuses the profile for {path}" in out["msg"]
    assert "at line 8" in out["msg"] and "(line 8: 'audit deny @{PROC}/sys/** wl,')" in out["msg"]
    assert "Nothing was written" in out["msg"]
    assert str(tmp_path) not in out["msg"].replace(str(path), "")  # the temporary copy is not named
    assert path.read_text() == GOOD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dgtest"]  # no backup, no temp file


def test_an_unknown_rule_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    bad = GOOD.replace("  file,\n", "  file,\n  teleport /x,\n")
    out = run(capsys, {"name": "dgtest", "content": bad, "path": str(tmp_path / "p"), "load": False})
    assert out["failed"] is True
    assert "(line 5: 'teleport /x,')" in out["msg"]
    assert not (tmp_path / "p").exists()


def test_a_text_declaring_another_profile_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    out = run(capsys, {"name": "docker-default", "content": GOOD, "path": str(tmp_path / "p"), "load": False})
    assert out["failed"] is True
    assert "declares dgtest, not 'docker-default'" in out["msg"]
    assert not (tmp_path / "p").exists()


def test_absent_removes_the_file_with_a_backup(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    path = tmp_path / "dgtest"
    path.write_text(GOOD)
    args = {"name": "dgtest", "path": str(path), "state": "absent", "load": False}
    assert run(capsys, args, check=True)["changed"] is True
    assert path.exists()
    out = run(capsys, args)
    assert out["changed"] is True and not path.exists()
    assert pathlib.Path(out["backup_file"]).read_text() == GOOD
    assert run(capsys, args)["changed"] is False
