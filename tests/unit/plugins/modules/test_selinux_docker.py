# SPDX-License-Identifier: GPL-3.0-or-later
"""The selinux_docker module run for real on this machine, whose kernel runs no SELinux: the refusal."""

from __future__ import annotations

import json
import os
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockguard.hardening.plugins.modules import selinux_docker as mod


@pytest.fixture(autouse=True)
def module_side(monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)


@pytest.mark.skipif(os.path.exists("/sys/fs/selinux/enforce"), reason="this kernel runs SELinux")
@pytest.mark.parametrize("check", [False, True])
def test_a_host_without_selinux_is_refused(capsys: pytest.CaptureFixture[str], check: bool) -> None:
    with patch_module_args({"_ansible_check_mode": check}), pytest.raises(SystemExit) as exit_:
        mod.main()
    out = t.cast("dict[str, t.Any]", json.loads(capsys.readouterr().out))
    assert exit_.value.code == 1
    assert out["msg"].startswith(
        "SELinux cannot label containers on this host: /sys/fs/selinux is missing: the kernel does not run SELinux"
    )
    assert "Nothing was written" in out["msg"] and "selinux=1 security=selinux" in out["msg"]
