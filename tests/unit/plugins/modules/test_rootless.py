# SPDX-License-Identifier: GPL-3.0-or-later
"""The rootless module run for real (main(), AnsibleModule) on this machine.

This machine is a controller, not a rootless Docker host: no systemd as PID 1, no uidmap.
What can be proven here is that bad input and missing prerequisites are refused, named
with their fix, before anything changes. The daemons themselves are proven on real
hosts by molecule/rootless.
"""

from __future__ import annotations

import json
import os
import pwd
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockguard.hardening.plugins.modules import rootless as mod


@pytest.fixture(autouse=True)
def module_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as on a managed host: once a controller-side module is imported in this pytest process (another
    test file may do so), AnsibleModule.warn() would print through the controller's Display instead of
    returning the warnings with the result."""
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


def an_ordinary_user() -> pwd.struct_passwd:
    for pw in pwd.getpwall():
        if pw.pw_uid >= 1000 and pw.pw_name != "nobody" and os.path.isdir(pw.pw_dir):
            return pw
    pytest.skip("no ordinary user with a home on this machine")


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        ({"users": ["root"]}, "users: 'root' is root; rootless Docker is for unprivileged users"),
        ({"users": ["no-such-user-here"]}, "users: 'no-such-user-here' is no user on this host; create the user first"),
        ({"users": ["nobody"], "dockerd_args": ["-H", "tcp://0.0.0.0:2375"]}, "dockerd_args entry '-H'"),
        ({"users": ["nobody"], "dockerd_args": ["--data-root=$HOME"]}, "would be expanded by systemd"),
        ({"users": ["nobody"], "state": "gone"}, "value of state must be one of: present, absent, got: gone"),
        ({}, "missing required arguments: users"),
    ],
)
def test_bad_input_is_refused(capsys: pytest.CaptureFixture[str], args: dict[str, t.Any], msg: str) -> None:
    out = run(capsys, args)
    assert out["failed"] is True
    assert msg in out["msg"]


def test_missing_prerequisites_are_all_named_with_their_fix_and_nothing_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pw = an_ordinary_user()
    if os.path.isdir("/run/systemd/system") and os.path.exists("/usr/bin/newuidmap"):
        pytest.skip("this machine meets the prerequisites; molecule/rootless covers it")
    unit = os.path.join(pw.pw_dir, ".config/systemd/user/docker.service")
    existed = os.path.exists(unit)
    out = run(capsys, {"users": [pw.pw_name]})
    assert out["failed"] is True
    assert out["msg"].startswith("rootless Docker prerequisites missing: ")
    msg = out["msg"]
    if not os.path.isdir("/run/systemd/system"):
        assert f"{pw.pw_name}: systemd: PID 1 is not systemd; fix: " in msg
    if not os.path.exists("/usr/bin/newuidmap"):
        assert f"{pw.pw_name}: newuidmap: not installed; fix: install the uidmap package" in msg
    assert f"fix: dockguard.hardening.subid name={pw.pw_name}" in msg or "/etc/subuid" not in msg
    assert os.path.exists(unit) == existed
    assert not os.path.exists(f"/var/lib/systemd/linger/{pw.pw_name}") or existed


def test_check_mode_warns_instead_and_predicts(capsys: pytest.CaptureFixture[str]) -> None:
    pw = an_ordinary_user()
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("needs a machine without systemd as PID 1, where nothing can really start")
    unit = os.path.join(pw.pw_dir, ".config/systemd/user/docker.service")
    if os.path.exists(unit):
        pytest.skip(f"{unit} exists here")
    out = run(capsys, {"users": [pw.pw_name]}, check=True)
    assert out["changed"] is True
    daemon = out["daemons"][pw.pw_name]
    assert daemon["uid"] == pw.pw_uid
    assert daemon["socket"] == f"/run/user/{pw.pw_uid}/docker.sock"
    assert f"wrote {unit}" in daemon["changes"]
    assert "started docker.service" in daemon["changes"]
    assert out["diff"][0]["after_header"] == unit
    assert "ExecStart=" in out["diff"][0]["after"]
    assert "missing now" in json.dumps(out["warnings"])
    assert not os.path.exists(unit)
    names = [p["name"] for p in out["prerequisites"][pw.pw_name]]
    assert names[:2] == ["newuidmap", "newgidmap"]
    assert names[-2:] == ["/etc/subuid range of " + pw.pw_name, "/etc/subgid range of " + pw.pw_name]
