# SPDX-License-Identifier: GPL-3.0-or-later
"""The authz_policy module run for real (main(), AnsibleModule) on a file in a temporary directory."""

from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockguard.hardening.plugins.modules import authz_policy as mod


@pytest.fixture(autouse=True)
def module_side(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another test may have imported controller code, which sends module.warn() to the display.
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


def run(capsys: pytest.CaptureFixture[str], args: dict[str, t.Any], check: bool = False) -> dict[str, t.Any]:
    with (
        patch_module_args({**args, "_ansible_check_mode": check, "_ansible_diff": True}),
        pytest.raises(SystemExit),
    ):
        mod.main()
    return t.cast("dict[str, t.Any]", json.loads(capsys.readouterr().out))


def test_validate_write_and_idempotence(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    path = tmp_path / "authz" / "policy.json"
    args = {"path": str(path), "policy": {"mode": "enforce", "rules": {"root_user": "deny"}}}
    planned = run(capsys, args, check=True)
    assert planned["changed"] and not path.exists()
    done = run(capsys, args)
    assert done["changed"] and done["diff"]["after"] == path.read_text()
    assert done["enforced"]["root_user"] == "4.1" and done["enforced"]["privileged"] == "5.5"
    assert path.stat().st_mode & 0o777 == 0o644
    assert not run(capsys, args)["changed"]


def test_invalid_policy_leaves_the_file(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    path = tmp_path / "policy.json"
    run(capsys, {"path": str(path), "policy": {"mode": "warn"}})
    before = path.read_text()
    out = run(capsys, {"path": str(path), "policy": {"rules": {"privileged": "maybe"}}})
    assert out["failed"] and "rules.privileged.action: 'maybe' is not one of deny, warn, off" in out["msg"]
    assert path.read_text() == before


def test_expired_exceptions_are_reported(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    exc = {"user": "a", "rules": ["all"], "justification": "old", "expires": "2020-01-01"}
    out = run(capsys, {"path": str(tmp_path / "p.json"), "policy": {"exceptions": [exc]}})
    assert out["expired_exceptions"] == [0]
    assert "have expired" in json.dumps(out["warnings"])
