# SPDX-License-Identifier: GPL-3.0-or-later
"""The cis_audit module run for real (main(), AnsibleModule): options refused before anything is read."""

from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockguard.hardening.plugins.modules import cis_audit as mod


def run(capsys: pytest.CaptureFixture[str], args: dict[str, t.Any]) -> dict[str, t.Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return t.cast("dict[str, t.Any]", json.loads(capsys.readouterr().out))


@pytest.fixture
def no_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may be read from the host: an option error is reported before."""

    def refuse(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise AssertionError("the audit started")

    monkeypatch.setattr(mod.facts, "LocalHost", refuse)


@pytest.mark.parametrize("timeout", [0, -1, -30])
def test_timeout_must_be_positive(capsys: pytest.CaptureFixture[str], no_host: None, timeout: int) -> None:
    out = run(capsys, {"timeout": timeout})
    assert out["failed"] is True
    assert out["msg"] == (
        f"timeout={timeout}: the seconds to wait for each Engine API answer must be positive (the default is 10)"
    )


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (
            {"docker_host": "tcp://10.0.0.1:2376"},
            "docker_host='tcp://10.0.0.1:2376': only unix:// sockets can be audited",
        ),
        (
            {"docker_host": "unix://relative.sock"},
            "docker_host='unix://relative.sock': only unix:// sockets can be audited",
        ),
        ({"user": "dg-no-such-user-xyz"}, "user='dg-no-such-user-xyz': no such user on this host"),
    ],
)
def test_bad_target_is_refused(
    capsys: pytest.CaptureFixture[str], no_host: None, args: dict[str, t.Any], msg: str
) -> None:
    out = run(capsys, args)
    assert out["failed"] is True
    assert out["msg"] == msg


def test_an_unknown_control_is_refused_with_the_fix(capsys: pytest.CaptureFixture[str], tmp_path: t.Any) -> None:
    out = run(capsys, {"controls": ["9.9"], "docker_host": str(tmp_path / "absent.sock"), "timeout": 1})
    assert out["failed"] is True
    assert out["msg"] == (
        "unknown control '9.9' for CIS v1.6.0 ids: use an id such as 2.2 or a slug such as icc-disabled"
    )


def test_a_positive_timeout_reaches_the_engine_client(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: t.Any
) -> None:
    seen: list[float] = []
    real = mod.facts.LocalHost

    def local_host(run: t.Any, sock: str, timeout: float) -> t.Any:
        seen.append(timeout)
        return real(run, sock, timeout)

    monkeypatch.setattr(mod.facts, "LocalHost", local_host)
    out = run(capsys, {"timeout": 3, "controls": ["2.2"], "docker_host": f"unix://{tmp_path}/absent.sock"})
    assert seen == [3.0]
    assert out["changed"] is False
    result = out["audit"]["results"][0]
    assert (result["id"], result["status"]) == ("2.2", "error")
    assert result["evidence"][0].startswith(f"{tmp_path}/absent.sock: the Engine API does not answer: ")
