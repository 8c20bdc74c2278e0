# SPDX-License-Identifier: GPL-3.0-or-later
"""The module's refusals: each bad input is a clear error and nothing is written."""

from __future__ import annotations

import json
import os
import pathlib
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd
from ansible_collections.dockguard.hardening.plugins.modules import daemon_config as mod

FIXTURE_UNIT = (pathlib.Path(__file__).parents[1] / "module_utils" / "fixtures" / "docker.service").read_text()


class FakeModule:
    """Just enough of AnsibleModule: commands answer from a table, writes are real files."""

    def __init__(self, tmp: pathlib.Path, check_mode: bool = False, dockerd: bool = True, **params: t.Any) -> None:
        self.params: dict[str, t.Any] = {
            "path": str(tmp / "daemon.json"),
            "user": None,
            "settings": {},
            "remove_keys": [],
            "exclusive": False,
            "allow_unknown_keys": [],
            "allow_insecure_tcp": False,
            "validate": "never",
            "conflicts": "fail",
            "dropin_path": str(tmp / "units" / "docker.service.d" / mod.DROPIN_NAME),
            "restart": "never",
            "service": "docker.service",
            "socket_unit": "docker.socket",
            "docker_host": None,
            "timeout": 5,
            "backup": True,
        }
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = True
        self.tmpdir = str(tmp)
        self._dockerd = dockerd
        self.commands: list[list[str]] = []

    def get_bin_path(self, name: str, required: bool = False) -> str | None:
        if name == "dockerd" and not self._dockerd:
            return None
        return f"/usr/bin/{name}"

    def run_command(self, argv: list[str], **_kw: t.Any) -> tuple[int, str, str]:
        self.commands.append(argv)
        if "show" in argv:
            return 0, "not-found\n" if "LoadState" in argv else "0\n", ""
        return 0, "", ""

    def backup_local(self, path: str) -> str:
        return path + ".bak"

    def atomic_move(self, src: str, dest: str) -> None:
        os.replace(src, dest)

    def fail_json(self, **kw: t.Any) -> None:
        raise AssertionError(kw)


@pytest.fixture
def host(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    units = tmp_path / "units"
    units.mkdir()
    (units / "docker.service").write_text(FIXTURE_UNIT)
    monkeypatch.setattr(sd, "SYSTEM_UNIT_DIRS", (str(units),))
    monkeypatch.setattr(mod.DaemonConfig, "host_limits", lambda self: ({}, True))
    return tmp_path


def run(tmp: pathlib.Path, **kw: t.Any) -> dict[str, t.Any]:
    return mod.DaemonConfig(FakeModule(tmp, **kw)).run()  # type: ignore[arg-type]


def snapshot(tmp: pathlib.Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize(
    ("existing", "params", "message"),
    [
        ('{"icc": false,', {"settings": {"icc": False}}, "is not valid JSON"),
        ("[]", {"settings": {"icc": False}}, "must hold a JSON object, found list"),
        ("{}", {"settings": {"icc": "false"}}, "icc must be a boolean"),
        ("{}", {"settings": {"log-opts": {"max-file": 3}}}, "log-opts.max-file must be a string"),
        ("{}", {"settings": {"live_restore": True}}, "did you mean 'live-restore'?"),
        ('{"graph": "/srv"}', {"settings": {"icc": False}}, "key 'graph' is removed"),
        ("{}", {"settings": {"hosts": ["tcp://0.0.0.0:2375"]}}, "without tlsverify"),
        ("{}", {"settings": {"hosts": ["unix:///var/run/docker.sock"]}}, "as dockerd flag -H fd:// at"),
        ("{}", {"settings": {"icc": False}, "dockerd": False, "validate": "auto"}, "dockerd is not installed"),
        ("{}", {"settings": {"icc": False}, "restart": "on_change"}, "docker.service is not a loaded unit"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    host: pathlib.Path, existing: str, params: dict[str, t.Any], message: str
) -> None:
    (host / "daemon.json").write_text(existing)
    before = snapshot(host)
    with pytest.raises(dj.DaemonConfigError) as err:
        run(host, **params)
    assert message in str(err.value)
    assert snapshot(host) == before


def test_symlinked_daemon_json_is_refused(host: pathlib.Path) -> None:
    real = host / "elsewhere.json"
    real.write_text("{}")
    (host / "daemon.json").symlink_to(real)
    with pytest.raises(dj.DaemonConfigError, match="is a symlink"):
        run(host, settings={"icc": False})
    assert real.read_text() == "{}"


def test_unparseable_unit_is_refused(host: pathlib.Path) -> None:
    (host / "units" / "docker.service").write_text("[Service\nExecStart=/usr/sbin/dockerd\n")
    (host / "daemon.json").write_text("{}")
    with pytest.raises(sd.UnitError, match="malformed section header"):
        run(host, settings={"icc": False})
    assert (host / "daemon.json").read_text() == "{}"


def test_config_file_flag_elsewhere_is_refused(host: pathlib.Path) -> None:
    (host / "units" / "docker.service").write_text("[Service]\nExecStart=/usr/sbin/dockerd --config-file /srv/d.json\n")
    with pytest.raises(dj.DaemonConfigError, match=r"--config-file /srv/d\.json"):
        run(host, settings={"icc": False})


def test_check_mode_predicts_and_writes_nothing(host: pathlib.Path) -> None:
    (host / "daemon.json").write_text('{"debug": true}')
    result = run(host, check_mode=True, settings={"icc": False})
    assert result["changed"] is True
    assert result["changes"]["added"] == {"icc": False}
    assert result["config"] == {"debug": True, "icc": False}
    assert result["diff"][0]["after"] == {"debug": True, "icc": False}
    assert (host / "daemon.json").read_text() == '{"debug": true}'


def test_apply_then_idempotent(host: pathlib.Path) -> None:
    (host / "daemon.json").write_text('{"debug": true, "insecure-registries": ["b", "a"]}')
    first = run(host, settings={"icc": False, "insecure-registries": ["a", "b"]})
    assert first["changed"] is True
    assert json.loads((host / "daemon.json").read_text()) == {
        "debug": True,
        "icc": False,
        "insecure-registries": ["b", "a"],
    }
    assert oct(os.stat(host / "daemon.json").st_mode & 0o777) == "0o644"
    second = run(host, settings={"icc": False, "insecure-registries": ["a", "b"]})
    assert second["changed"] is False


def test_conflict_resolved_with_a_dropin(host: pathlib.Path) -> None:
    result = run(host, settings={"hosts": ["fd://", "tcp://127.0.0.1:2376"], "tlsverify": True}, conflicts="resolve")
    dropin = pathlib.Path(result["dropin"]).read_text()
    assert (
        "ExecStart=\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n" in dropin
    )
    assert result["conflicts"][0]["key"] == "hosts"


def test_notable_journal_lines() -> None:
    journal = ["Starting up", "failed to start daemon: error initializing graphdriver", "Stopped docker.service"]
    assert mod.notable(journal) == ["failed to start daemon: error initializing graphdriver"]
    assert mod.notable(["a", "b"]) == ["a", "b"]
