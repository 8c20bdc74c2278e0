# SPDX-License-Identifier: GPL-3.0-or-later
"""The module through DaemonConfig.run(): every bad input is a clear error and nothing is written;
check mode, idempotence, conflict resolution, and the safe restart with its rollback."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import stat
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon import apply
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon.host import SystemHost, Target
from ansible_collections.dockguard.hardening.plugins.modules import daemon_config as mod

DEBIAN_UNIT = (pathlib.Path(__file__).parents[1] / "module_utils" / "fixtures" / "docker.service").read_text()
PLAIN_UNIT = "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock\n"
EXEC_LINE = 14  # the ExecStart= line of DEBIAN_UNIT


class FakeEngine:
    """The Engine API: /info before the first restart, then the next of `after` at each restart."""

    def __init__(self) -> None:
        self.up = False
        self.info: dict[str, t.Any] = {}
        self.after: list[dict[str, t.Any]] = []
        self.bridge: dict[str, t.Any] | None = None
        self.reload_enables_live_restore = True
        self.paths: list[str] = []

    def restarted(self) -> None:
        if self.after:
            self.info = self.after.pop(0)

    def reloaded(self) -> None:
        if self.reload_enables_live_restore:
            self.info = {**self.info, "LiveRestoreEnabled": True}

    def get(self, docker_host: str, path: str, timeout: float = 5.0) -> t.Any:
        self.paths.append(path)
        if not self.up:
            raise _engine.EngineError(f"{docker_host}: [Errno 2] No such file or directory")
        if path == "/_ping":
            return "OK"
        if path == "/info":
            return dict(self.info)
        if path == "/networks/bridge" and self.bridge is not None:
            return self.bridge
        raise _engine.EngineError(f"GET {path} answered 404: not found")


class FileModule:
    """What the real host's file helpers ask of AnsibleModule: a backup and no SELinux."""

    def backup_local(self, path: str) -> str:
        dest = path + ".bak"
        pathlib.Path(dest).write_bytes(pathlib.Path(path).read_bytes())
        return dest

    def selinux_enabled(self) -> bool:
        return False


@dataclasses.dataclass
class Host(SystemHost):
    """A fake host object: systemd, journal, dockerd and the Engine API answer from tables; the clock is
    simulated; files are real files under a temporary root (through the real host's file helpers)."""

    root: pathlib.Path
    tmp: pathlib.Path
    engine: FakeEngine
    validate_answer: tuple[int, str, str] = (0, "configuration OK", "")
    journal_lines: list[str] = dataclasses.field(default_factory=list)
    systemctl_rc: dict[str, tuple[int, str, str]] = dataclasses.field(default_factory=dict)
    units_state: dict[str, dict[str, str]] = dataclasses.field(
        default_factory=lambda: {"docker.service": {"LoadState": "not-found", "MainPID": "0"}}
    )
    limits: tuple[dict[str, int | None], bool] = ({}, True)
    has_dockerd: bool = True
    clock: float = 0.0
    tick: float = 0.0  # seconds each look at the clock adds
    calls: list[list[str]] = dataclasses.field(default_factory=list)
    validated_text: str | None = None

    def __post_init__(self) -> None:
        SystemHost.__init__(self, FileModule())

    @property
    def config(self) -> pathlib.Path:
        return self.root / "daemon.json"

    @property
    def units(self) -> pathlib.Path:
        return self.root / "units"

    @property
    def unit_file(self) -> pathlib.Path:
        return self.units / "docker.service"

    @property
    def dropin(self) -> pathlib.Path:
        return self.units / "docker.service.d" / apply.DROPIN_NAME

    # -- the host interface ---------------------------------------------------------------

    def bin(self, name: str) -> str | None:
        return None if name == "dockerd" and not self.has_dockerd else f"/usr/bin/{name}"

    def systemctl(self, user: str | None, *args: str, bound: float = 60.0) -> tuple[int, str, str]:
        call = ["systemctl", *(["--user", "-M", f"{user}@"] if user else []), *args]
        if "show" in args:
            prop = args[args.index("-p") + 1]
            return 0, self.units_state.get(args[-1], {}).get(prop, "") + "\n", ""
        self.calls.append(call)
        verb = args[0]
        if verb == "restart":
            self.engine.restarted()
        if verb == "reload":
            self.engine.reloaded()
        return self.systemctl_rc.get(verb, (0, "", ""))

    def journal(self, tgt: Target, service: str, since: float) -> list[str]:
        return list(self.journal_lines)

    def dockerd_validate(self, dockerd: str, text: str) -> tuple[int, str, str]:
        self.validated_text = text
        self.calls.append([dockerd, "--validate"])
        return self.validate_answer

    def engine_get(self, docker_host: str, path: str, timeout: float = 5.0) -> t.Any:
        return self.engine.get(docker_host, path, timeout)

    def host_limits(self) -> tuple[dict[str, int | None], bool]:
        return self.limits

    def started_at(self, pid: str) -> float | None:
        return None

    def sleep(self, seconds: float) -> None:
        self.clock += seconds

    def monotonic(self) -> float:
        self.clock += self.tick
        return self.clock

    # -- running the manager ---------------------------------------------------------------

    def running(self, info: dict[str, t.Any] | None = None, socket: bool = True) -> None:
        """A loaded, active daemon that answers on its API."""
        self.units_state = {
            "docker.service": {"LoadState": "loaded", "ActiveState": "active", "MainPID": "0"},
            "docker.socket": {"LoadState": "loaded" if socket else "not-found"},
        }
        self.engine.up = True
        self.engine.info = info or {}

    def run(self, check_mode: bool = False, dockerd: bool = True, **params: t.Any) -> dict[str, t.Any]:
        self.has_dockerd = dockerd
        self.calls = []
        full = dict(PARAMS, path=str(self.config), dropin_path=str(self.dropin))
        full.update(params)
        tgt = apply.make_target(full, None)
        return apply.Manager(full, tgt, self, check_mode, True).run()

    def actions(self) -> list[list[str]]:
        """The commands that change something (everything but `systemctl show` and dockerd --validate)."""
        return [c for c in self.calls if c[0] == "systemctl"]

    def snapshot(self) -> dict[str, tuple[t.Any, ...]]:
        """Every path under the host root with its kind, content, mode and mtime."""
        out: dict[str, tuple[t.Any, ...]] = {}
        for p in sorted(self.root.rglob("*")):
            st_ = p.lstat()
            if p.is_symlink():
                out[str(p)] = ("link", os.readlink(p), st_.st_mtime_ns)
            elif p.is_dir():
                out[str(p)] = ("dir", sorted(os.listdir(p)), stat.S_IMODE(st_.st_mode))
            else:
                out[str(p)] = ("file", p.read_bytes(), stat.S_IMODE(st_.st_mode), st_.st_mtime_ns)
        return out


PARAMS: dict[str, t.Any] = {
    "path": None,
    "user": None,
    "settings": {},
    "remove_keys": [],
    "exclusive": False,
    "allow_unknown_keys": [],
    "allow_insecure_tcp": False,
    "validate": "never",
    "conflicts": "fail",
    "dropin_path": None,
    "restart": "never",
    "service": "docker.service",
    "socket_unit": "docker.socket",
    "docker_host": None,
    "timeout": 5,
    "lock_timeout": 5,
    "backup": True,
}


@pytest.fixture
def host(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Host:
    root = tmp_path / "host"
    (root / "units").mkdir(parents=True)
    (root / "units" / "docker.service").write_text(DEBIAN_UNIT)
    (tmp_path / "ansible-tmp").mkdir()
    monkeypatch.setattr(sd, "SYSTEM_UNIT_DIRS", (str(root / "units"),))
    return Host(root, tmp_path / "ansible-tmp", FakeEngine())


def mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- refusals: a clear error, and nothing written ---------------------------------------

REFUSALS: list[tuple[str, str | None, dict[str, t.Any], str]] = [
    ("not JSON", '{"icc": false,', {"settings": {"icc": False}}, "{path} is not valid JSON ("),
    ("array", '["icc"]', {"settings": {"icc": False}}, "{path} must hold a JSON object, found list; nothing was"),
    ("bool as string", "{}", {"settings": {"icc": "false"}}, 'daemon.json: icc must be a boolean, got string "false"'),
    (
        "bool is not int",
        "{}",
        {"settings": {"max-concurrent-downloads": True}},
        "daemon.json: max-concurrent-downloads must be an integer, got boolean true",
    ),
    (
        "log-opts value",
        "{}",
        {"settings": {"log-opts": {"max-size": "10m", "max-file": 3}}},
        "daemon.json: log-opts.max-file must be a string, got integer 3",
    ),
    (
        "bad value already in the file",
        '{"icc": "no"}',
        {"settings": {"debug": True}},
        'daemon.json: icc must be a boolean, got string "no"',
    ),
    (
        "unknown key",
        "{}",
        {"settings": {"live_restore": True}},
        "daemon.json: unknown key 'live_restore' (did you mean 'live-restore'?)",
    ),
    ("removed key in file", '{"graph": "/srv"}', {"settings": {"icc": False}}, "daemon.json: key 'graph' is removed"),
    ("removed key in settings", None, {"settings": {"graph": "/srv"}}, "key 'graph' is removed in Engine 23; use data"),
    (
        "set and removed",
        "{}",
        {"settings": {"icc": False}, "remove_keys": ["icc"]},
        "keys ['icc'] are both set in settings and listed in remove_keys",
    ),
    (
        "plain tcp",
        "{}",
        {"settings": {"hosts": ["fd://", "tcp://0.0.0.0:2375"]}},
        "hosts ['tcp://0.0.0.0:2375'] expose the Docker API over TCP without tlsverify",
    ),
    (
        "tls without verify",
        "{}",
        {"settings": {"hosts": ["tcp://0.0.0.0:2376"], "tls": True}},
        "expose the Docker API over TCP without tlsverify",
    ),
    (
        "key also a unit flag",
        "{}",
        {"settings": {"hosts": ["unix:///var/run/docker.sock"]}},
        "dockerd refuses to start when a setting is given twice: 'hosts' is set in {path} and as dockerd flag "
        "-H fd:// at {unit}:" + str(EXEC_LINE) + ". Remove the flag",
    ),
    (
        "no dockerd, validate auto",
        "{}",
        {"settings": {"icc": False}, "dockerd": False, "validate": "auto"},
        "dockerd is not installed on this host (not found on PATH)",
    ),
    (
        "no dockerd, restart on_change",
        "{}",
        {"settings": {"icc": False}, "dockerd": False, "restart": "on_change"},
        "dockerd is not installed on this host (not found on PATH)",
    ),
    (
        "no dockerd, validate always",
        None,
        {"settings": {"icc": False}, "dockerd": False, "validate": "always"},
        "dockerd is not installed on this host",
    ),
    (
        "unit not loaded",
        "{}",
        {"settings": {"icc": False}, "restart": "on_change"},
        "docker.service is not a loaded unit on this host; install the engine or set restart=never",
    ),
]


@pytest.mark.parametrize(("existing", "params", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_bad_input_is_refused_and_nothing_is_written(
    host: Host, existing: str | None, params: dict[str, t.Any], message: str
) -> None:
    if existing is not None:
        host.config.write_text(existing)
    before = host.snapshot()
    with pytest.raises(dj.DaemonConfigError) as err:
        host.run(**params)
    assert message.format(path=host.config, unit=host.unit_file) in str(err.value)
    assert host.snapshot() == before
    assert host.actions() == []


def test_dockerd_validate_refusal_is_refused_and_nothing_is_written(host: Host) -> None:
    host.config.write_text("{}")
    host.validate_answer = (1, "", "unable to configure the Docker daemon with file x: bad\n")
    before = host.snapshot()
    with pytest.raises(dj.DaemonConfigError) as err:
        host.run(settings={"icc": False}, validate="auto")
    assert (
        str(err.value)
        == "dockerd --validate refused the new configuration: unable to configure the Docker daemon with file x: bad"
    )
    assert host.snapshot() == before


def test_validate_always_needs_a_dockerd_that_validates(host: Host) -> None:
    host.validate_answer = (125, "", "unknown flag: --validate\nSee 'dockerd --help'.")
    before = host.snapshot()
    with pytest.raises(dj.DaemonConfigError, match=r"/usr/bin/dockerd has no --validate \(Engine 23 or later"):
        host.run(settings={"icc": False}, validate="always")
    assert host.snapshot() == before


def test_ulimits_the_host_cannot_grant_are_refused(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    host.limits = ({"nofile": 20000}, False)
    before = host.snapshot()
    settings = {"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}}}
    with pytest.raises(dj.DaemonConfigError, match=r"default-ulimits\.nofile Hard=64000 exceeds the hard limit 20000"):
        host.run(settings=settings)
    assert host.snapshot() == before


def test_symlinked_daemon_json_is_refused(host: Host) -> None:
    real = host.root / "elsewhere.json"
    real.write_text("{}")
    host.config.symlink_to(real)
    before = host.snapshot()
    with pytest.raises(files.UnsafePathError) as err:
        host.run(settings={"icc": False})
    assert str(err.value).startswith(f"{host.config} is a symlink (to {str(real)!r}); refusing to follow it")
    assert host.snapshot() == before


def test_daemon_json_that_is_a_directory_is_refused(host: Host) -> None:
    host.config.mkdir()
    before = host.snapshot()
    with pytest.raises(files.FileError) as err:
        host.run(settings={"icc": False})
    assert str(err.value) == f"{host.config} exists but is not a regular file; nothing was written"
    assert host.snapshot() == before


@pytest.mark.parametrize(
    ("relpath", "text", "message"),
    [
        (
            "docker.service",
            "[Service\nExecStart=/usr/sbin/dockerd\n",
            "{units}/docker.service:1: malformed section header '[Service'",
        ),
        (
            "docker.service.d/10-bad.conf",
            "[Service]\nExecStart /usr/sbin/dockerd\n",
            "{units}/docker.service.d/10-bad.conf:2: expected KEY=VALUE, got 'ExecStart /usr/sbin/dockerd'",
        ),
        (
            "docker.service.d/10-cut.conf",
            "[Service]\nExecStart=/usr/sbin/dockerd \\\n",
            "{units}/docker.service.d/10-cut.conf: file ends inside a continued line",
        ),
        (
            "docker.service.d/10-env.conf",
            "[Service]\nEnvironmentFile=/nonexistent/dg\n",
            "EnvironmentFile=/nonexistent/dg is required by the unit but does not exist",
        ),
    ],
)
def test_unusable_unit_is_refused_and_nothing_is_written(host: Host, relpath: str, text: str, message: str) -> None:
    path = host.units / relpath
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    host.config.write_text("{}")
    before = host.snapshot()
    with pytest.raises(sd.UnitError) as err:
        host.run(settings={"icc": False})
    assert str(err.value) == message.format(units=host.units)
    assert host.snapshot() == before


def test_config_file_flag_elsewhere_is_refused(host: Host) -> None:
    host.unit_file.write_text("[Service]\nExecStart=/usr/sbin/dockerd --config-file /srv/d.json\n")
    before = host.snapshot()
    with pytest.raises(dj.DaemonConfigError) as err:
        host.run(settings={"icc": False})
    assert str(err.value) == (
        f"docker.service starts dockerd with --config-file /srv/d.json, so {host.config} is not read; "
        "manage path=/srv/d.json instead"
    )
    assert host.snapshot() == before


def test_config_file_flag_naming_the_managed_file_is_fine(host: Host) -> None:
    host.unit_file.write_text(f"[Service]\nExecStart=/usr/sbin/dockerd --config-file={host.config}\n")
    result = host.run(settings={"icc": False})
    assert result["changed"] is True
    assert json.loads(host.config.read_text()) == {"icc": False}


@pytest.fixture
def env_host(host: Host) -> Host:
    """The Debian unit, its EnvironmentFile pointing at a file under the host root that sets --icc."""
    env = host.root / "default-docker"
    env.write_text('# Docker Upstart and SysVinit configuration file\nDOCKER_OPTS="--icc=false --dns 8.8.8.8"\n')
    host.unit_file.write_text(DEBIAN_UNIT.replace("/etc/default/docker", str(env)))
    return host


@pytest.mark.parametrize(
    ("conflicts", "message"),
    [
        ("fail", "'icc' is set in {path} and as dockerd flag --icc false at {env} ($DOCKER_OPTS)"),
        (
            "resolve",
            "cannot resolve with a drop-in, the flag comes from a variable (Environment= or EnvironmentFile=), "
            "not from ExecStart= itself: 'icc' is set in {path} and as dockerd flag --icc false at {env} "
            "($DOCKER_OPTS). Remove it where that variable is set.",
        ),
    ],
)
def test_flag_from_environment_file_is_refused_naming_the_file(env_host: Host, conflicts: str, message: str) -> None:
    before = env_host.snapshot()
    with pytest.raises(dj.DaemonConfigError) as err:
        env_host.run(settings={"icc": False}, conflicts=conflicts)
    assert message.format(path=env_host.config, env=env_host.root / "default-docker") in str(err.value)
    assert env_host.snapshot() == before


@pytest.mark.parametrize("conflicts", ["fail", "resolve"])
def test_flag_from_the_units_environment_names_that_line(host: Host, conflicts: str) -> None:
    host.unit_file.write_text(
        '[Service]\nType=notify\nEnvironment="OPTS=--icc=false --debug"\nExecStart=/usr/sbin/dockerd $OPTS\n'
    )
    before = host.snapshot()
    with pytest.raises(dj.DaemonConfigError) as err:
        host.run(settings={"icc": False}, conflicts=conflicts)
    assert f"'icc' is set in {host.config} and as dockerd flag --icc false at {host.unit_file}:3 ($OPTS)" in str(
        err.value
    )
    if conflicts == "resolve":  # stripping $OPTS would drop --debug too: refused, naming the Environment= line
        assert str(err.value).startswith("cannot resolve with a drop-in, the flag comes from a variable")
    assert host.snapshot() == before


def test_unknown_user_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({"user": "no-such-dockguard-user", "settings": {"icc": False}}), pytest.raises(SystemExit):
        mod.main()
    out = json.loads(capsys.readouterr().out)
    assert out["msg"] == "user='no-such-dockguard-user': no such user on this host"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"timeout": 0}, "timeout=0: must be a positive number of seconds"),
        ({"timeout": -5}, "timeout=-5: must be a positive number of seconds"),
        ({"lock_timeout": -1}, "lock_timeout=-1: must be zero or more seconds"),
    ],
)
def test_numeric_options_are_checked(
    params: dict[str, t.Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({"settings": {"icc": False}, **params}), pytest.raises(SystemExit) as exit_:
        mod.main()
    assert exit_.value.code == 1
    assert json.loads(capsys.readouterr().out)["msg"].startswith(message)


# -- targets ------------------------------------------------------------------------------


def test_system_target_defaults(host: Host) -> None:
    tgt = apply.make_target(PARAMS, None)
    assert tgt == Target(
        path="/etc/docker/daemon.json",
        uid=0,
        gid=0,
        home="/root",
        user=None,
        docker_host="unix:///var/run/docker.sock",
        unit_dirs=(str(host.units),),
        dropin="/etc/systemd/system/docker.service.d/99-dockguard-daemon-config.conf",
    )


def test_rootless_target_defaults(host: Host) -> None:
    import pwd

    root = pwd.getpwuid(0)
    tgt = apply.make_target(dict(PARAMS, user=root.pw_name), root)
    assert tgt.path == os.path.join(root.pw_dir, ".config/docker/daemon.json")
    assert tgt.docker_host == "unix:///run/user/0/docker.sock"
    assert tgt.unit_dirs == sd.user_unit_dirs(root.pw_dir)
    assert tgt.dropin == os.path.join(root.pw_dir, ".config/systemd/user/docker.service.d", apply.DROPIN_NAME)
    manager = apply.Manager(dict(PARAMS, user=root.pw_name), tgt, host, False, False)
    rc, _out, _err = manager.systemctl("daemon-reload")
    assert rc == 0
    assert host.calls[-1] == ["systemctl", "--user", "-M", f"{root.pw_name}@", "daemon-reload"]


# -- conflicts resolved with a drop-in ------------------------------------------------------

TLS = {
    "hosts": ["fd://", "tcp://127.0.0.1:2376"],
    "tlsverify": True,
    "tlscacert": "/etc/docker/tls/ca.pem",
    "tlscert": "/etc/docker/tls/server-cert.pem",
    "tlskey": "/etc/docker/tls/server-key.pem",
}


def expected_dropin(host: Host) -> str:
    return (
        "# Managed by dockguard.hardening.daemon_config: do not edit.\n"
        f"# Started without -H fd://: set in {host.config}.\n"
        "[Service]\n"
        "ExecStart=\n"
        "ExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n"
    )


def test_conflict_resolved_with_a_dropin_then_idempotent(host: Host) -> None:
    result = host.run(settings=TLS, conflicts="resolve")
    assert result["changed"] is True
    assert result["dropin"] == str(host.dropin)
    assert host.dropin.read_text() == expected_dropin(host)
    assert "-H fd://" not in host.dropin.read_text().splitlines()[-1]
    assert mode(host.dropin) == 0o644
    assert host.config.read_text() == dj.render(TLS)
    assert result["conflicts"] == [
        {"key": "hosts", "flag": "-H fd://", "origin": f"{host.unit_file}:{EXEC_LINE}", "in_unit_line": True}
    ]
    assert "warnings" not in result
    before = host.snapshot()
    again = host.run(settings=TLS, conflicts="resolve")
    assert again["changed"] is False
    assert again["conflicts"] == []
    assert again["dropin"] == str(host.dropin)
    assert host.snapshot() == before


def test_resolve_without_fd_warns_about_socket_activation(host: Host) -> None:
    result = host.run(settings={"hosts": ["unix:///var/run/docker.sock"]}, conflicts="resolve")
    assert host.dropin.read_text() == expected_dropin(host)
    assert any("hosts has no 'fd://'" in w and "docker.socket" in w for w in result["warnings"])


def test_resolve_in_check_mode_predicts_the_dropin_and_writes_nothing(host: Host) -> None:
    before = host.snapshot()
    result = host.run(settings=TLS, conflicts="resolve", check_mode=True)
    assert host.snapshot() == before
    assert result["changed"] is True
    assert result["diff"][1] == {
        "before": "",
        "after": expected_dropin(host),
        "before_header": str(host.dropin),
        "after_header": str(host.dropin),
    }


# -- check mode -----------------------------------------------------------------------------


def test_check_mode_predicts_and_writes_nothing(host: Host) -> None:
    host.config.write_text('{"debug": true}')
    before = host.snapshot()
    result = host.run(check_mode=True, settings={"icc": False})
    assert host.snapshot() == before
    assert result["changed"] is True
    assert result["changes"] == {"added": {"icc": False}, "removed": {}, "changed": {}}
    assert result["config"] == {"debug": True, "icc": False}
    assert result["diff"] == [
        {
            "before": {"debug": True},
            "after": {"debug": True, "icc": False},
            "before_header": str(host.config),
            "after_header": str(host.config),
        }
    ]
    assert "backup_file" not in result


def test_check_mode_does_not_create_the_file(host: Host) -> None:
    before = host.snapshot()
    result = host.run(check_mode=True, settings={"live-restore": True})
    assert result["changed"] is True
    assert not host.config.exists()
    assert host.snapshot() == before


def test_check_mode_with_a_running_daemon_predicts_the_restart_only(host: Host) -> None:
    host.running()
    host.config.write_text("{}")
    before = host.snapshot()
    result = host.run(check_mode=True, settings={"icc": False}, restart="on_change")
    assert (result["changed"], result["restarted"], result["restart_pending"]) == (True, True, False)
    assert "verified" not in result
    assert host.actions() == []
    assert host.snapshot() == before


# -- idempotence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "params", "written"),
    [
        # no change: structurally equal, whatever the order or the formatting of the file
        (
            '{"log-opts": {"max-size": "10m", "max-file": "3"}}',
            {"settings": {"log-opts": {"max-file": "3", "max-size": "10m"}}},
            None,
        ),
        (
            '{"insecure-registries": ["b:5000", "a:5000"]}',
            {"settings": {"insecure-registries": ["a:5000", "b:5000"]}},
            None,
        ),
        (
            '{"hosts": ["unix:///var/run/docker.sock", "fd://"]}',
            {"settings": {"hosts": ["fd://", "unix:///var/run/docker.sock"]}},
            None,
        ),
        ('{"labels":["b=2","a=1"],"icc":false}', {"settings": {"icc": False, "labels": ["a=1", "b=2"]}}, None),
        ('{"debug": true}', {"remove_keys": ["absent"]}, None),
        ("", {}, None),
        # changes
        (
            '{"dns": ["1.1.1.1", "8.8.8.8"]}',
            {"settings": {"dns": ["8.8.8.8", "1.1.1.1"]}},
            {"dns": ["8.8.8.8", "1.1.1.1"]},
        ),
        ('{"icc": 0}', {"settings": {"icc": False}}, {"icc": False}),
        ('{"mtu": 1500.0}', {"settings": {"mtu": 1500}}, {"mtu": 1500}),
        (
            '{"debug": true, "labels": ["a"]}',
            {"settings": {"icc": False}},
            {"debug": True, "labels": ["a"], "icc": False},
        ),
        ('{"debug": true, "icc": true}', {"settings": {"icc": False}, "exclusive": True}, {"icc": False}),
        ('{"debug": true, "icc": true}', {"remove_keys": ["debug"]}, {"icc": True}),
        ('{"debug": true}', {"remove_keys": ["debug"]}, {}),
        (None, {"settings": {"icc": False}}, {"icc": False}),
    ],
)
def test_apply_then_idempotent(
    host: Host, existing: str | None, params: dict[str, t.Any], written: dict[str, t.Any] | None
) -> None:
    host.unit_file.write_text(PLAIN_UNIT)
    if existing is not None:
        host.config.write_text(existing)
        host.config.chmod(0o644)
    before = host.snapshot()
    first = host.run(**params)
    assert first["changed"] is (written is not None)
    if written is None:
        assert host.snapshot() == before  # not even rewritten
        assert first["changes"] == {"added": {}, "removed": {}, "changed": {}}
    else:
        assert host.config.read_text() == dj.render(written)
        assert json.loads(host.config.read_text()) == written
        assert first["config"] == written
        assert mode(host.config) == 0o644
    settled = host.snapshot()
    second = host.run(**params)
    assert second["changed"] is False
    assert host.snapshot() == settled


def test_no_settings_and_no_file_creates_nothing(host: Host) -> None:
    before = host.snapshot()
    result = host.run()
    assert result["changed"] is False
    assert result["config"] == {}
    assert host.snapshot() == before


def test_file_mode_is_corrected_without_rewriting(host: Host) -> None:
    host.config.write_text('{"icc": false}')
    host.config.chmod(0o600)
    checked = host.run(settings={"icc": False}, check_mode=True)
    assert checked["changed"] is True
    assert mode(host.config) == 0o600
    result = host.run(settings={"icc": False})
    assert result["changed"] is True
    assert "backup_file" not in result
    assert mode(host.config) == 0o644
    assert host.config.read_text() == '{"icc": false}'
    assert host.run(settings={"icc": False})["changed"] is False


@pytest.mark.parametrize("backup", [True, False])
def test_backup_keeps_the_previous_file(host: Host, backup: bool) -> None:
    host.config.write_text('{"icc": true}')
    result = host.run(settings={"icc": False}, backup=backup)
    assert json.loads(host.config.read_text()) == {"icc": False}
    if backup:
        assert pathlib.Path(result["backup_file"]).read_text() == '{"icc": true}'
    else:
        assert "backup_file" not in result


@pytest.mark.parametrize(
    ("answer", "validate", "validated_by"),
    [
        ((0, "configuration OK", ""), "auto", ["model", "dockerd --validate"]),
        ((0, "configuration OK", ""), "always", ["model", "dockerd --validate"]),
        ((125, "", "unknown flag: --validate"), "auto", ["model"]),
        ((0, "configuration OK", ""), "never", ["model"]),
    ],
)
def test_validated_by(host: Host, answer: tuple[int, str, str], validate: str, validated_by: list[str]) -> None:
    host.validate_answer = answer
    result = host.run(settings={"icc": False, "live-restore": True}, validate=validate)
    assert result["validated_by"] == validated_by
    if validate != "never":
        # dockerd validated exactly the text that was then written
        assert host.calls[0] == ["/usr/bin/dockerd", "--validate"]
        assert host.validated_text == host.config.read_text() == dj.render({"icc": False, "live-restore": True})


# -- restart: safe apply and rollback ---------------------------------------------------------


def test_restart_never_reports_pending(host: Host) -> None:
    host.running()
    result = host.run(settings={"icc": False}, restart="never")
    assert (result["changed"], result["restarted"], result["restart_pending"]) == (True, False, True)
    assert host.actions() == []


def test_restart_confirms_the_new_settings(host: Host) -> None:
    host.running({"LiveRestoreEnabled": False})
    host.engine.after = [{"LiveRestoreEnabled": True, "ContainersRunning": 1}]
    result = host.run(settings={"live-restore": True}, restart="on_change")
    assert (result["changed"], result["restarted"]) == (True, True)
    assert result["verified"] == [{"key": "live-restore", "expected": True, "observed": True}]
    assert host.actions() == [
        ["systemctl", "reload", "docker.service"],  # live-restore first, so running containers survive
        ["systemctl", "daemon-reload"],
        ["systemctl", "reset-failed", "docker.socket", "docker.service"],
        ["systemctl", "restart", "docker.socket", "docker.service"],
    ]
    assert json.loads(host.config.read_text()) == {"live-restore": True}


@pytest.mark.parametrize(
    ("reload_rc", "enables", "warning"),
    [
        (
            (1, "", "Job for docker.service failed.\n"),
            True,
            "could not reload docker.service to enable live-restore first",
        ),
        ((0, "", ""), False, "the daemon did not enable live-restore on reload; containers may restart"),
    ],
)
def test_live_restore_not_enabled_by_reload_is_a_warning(
    host: Host, monkeypatch: pytest.MonkeyPatch, reload_rc: tuple[int, str, str], enables: bool, warning: str
) -> None:
    host.tick = 2.0  # each look at the clock is two seconds later
    host.running({"LiveRestoreEnabled": False})
    host.systemctl_rc["reload"] = reload_rc
    host.engine.reload_enables_live_restore = enables
    host.engine.after = [{"LiveRestoreEnabled": True}]
    result = host.run(settings={"live-restore": True}, restart="on_change", timeout=60)
    assert result["verified"] == [{"key": "live-restore", "expected": True, "observed": True}]
    assert [w for w in result["warnings"] if warning in w]


def test_restart_always_restarts_without_a_change(host: Host) -> None:
    host.running(socket=False)
    host.config.write_text('{"icc": false}')
    host.config.chmod(0o644)
    result = host.run(settings={"icc": False}, restart="always")
    assert (result["changed"], result["restarted"], result["verified"]) == (True, True, [])
    assert ["systemctl", "restart", "docker.service"] in host.actions()


def test_bridge_key_held_by_live_restore_is_deferred_not_rolled_back(host: Host) -> None:
    host.running({"LiveRestoreEnabled": True, "ContainersRunning": 2})
    host.engine.after = [{"LiveRestoreEnabled": True, "ContainersRunning": 2}]
    host.engine.bridge = {"Options": {"com.docker.network.bridge.enable_icc": "true"}}
    result = host.run(settings={"icc": False, "live-restore": True}, restart="on_change")
    assert result["deferred"] == ["icc"]
    assert result["verified"] == [{"key": "live-restore", "expected": True, "observed": True}]
    assert any("live-restore kept 2 container(s) running" in w for w in result["warnings"])
    assert json.loads(host.config.read_text()) == {"icc": False, "live-restore": True}


def test_daemon_reporting_other_settings_is_rolled_back(host: Host) -> None:
    host.running({"LiveRestoreEnabled": False})
    host.engine.after = [{"LiveRestoreEnabled": False}, {"LiveRestoreEnabled": False}]
    host.journal_lines = ["Starting up", 'level=error msg="something broke"', "module=grpc noise"]
    host.config.write_text('{"debug": false}')
    original = host.config.read_bytes()
    with pytest.raises(apply.ApplyFailed) as err:
        host.run(settings={"live-restore": True}, restart="on_change")
    msg = err.value.msg
    assert msg.startswith(
        "dockerd did not come back with the new configuration: the daemon came back but reports "
        "live-restore=False where the file sets True. "
        f"Restored {host.config}; the daemon is answering again with the previous configuration."
    )
    assert msg.endswith('Journal: level=error msg="something broke"')
    assert err.value.details["rolled_back"] is True
    assert err.value.details["restored"] == [str(host.config)]
    assert err.value.details["journal"] == ["Starting up", 'level=error msg="something broke"']
    assert host.config.read_bytes() == original
    assert [a[1] for a in host.actions()].count("restart") == 2


def test_daemon_that_does_not_come_back_is_rolled_back_to_no_file(host: Host) -> None:
    host.running()
    host.engine.up = False  # the API never answers
    with pytest.raises(apply.ApplyFailed) as err:
        host.run(settings={"icc": False}, restart="on_change", timeout=0)
    msg = err.value.msg
    assert "the Engine API at unix:///var/run/docker.sock did not answer within 0s (no answer yet)" in msg
    assert f"Restored {host.config} (removed: it did not exist before)" in msg
    assert "the daemon did NOT come back with the previous configuration either" in msg
    assert not host.config.exists()


def test_failed_systemctl_restart_is_rolled_back_with_its_dropin(host: Host) -> None:
    host.running()
    host.systemctl_rc["restart"] = (1, "", "Job for docker.service failed.\nSee journalctl -xeu docker.service.")
    with pytest.raises(apply.ApplyFailed) as err:
        host.run(settings=TLS, conflicts="resolve", restart="on_change")
    assert "systemctl restart docker.socket docker.service failed (rc=1): Job for docker.service failed" in (
        err.value.msg
    )
    assert err.value.details["restored"] == [f"{host.config} (removed: it did not exist before)", str(host.dropin)]
    assert not host.config.exists()
    assert not host.dropin.exists()


# -- main() and notable() -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "msg"),
    [
        (dj.DaemonConfigError("daemon.json: icc must be a boolean"), "daemon.json: icc must be a boolean"),
        (
            sd.UnitError("/x/docker.service:1: malformed section header"),
            "/x/docker.service:1: malformed section header",
        ),
        (apply.ApplyFailed("the daemon did not come back", restored=[]), "the daemon did not come back"),
        (RuntimeError("boom"), "unexpected error: boom"),
    ],
)
def test_main_reports_errors_as_failures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception, msg: str
) -> None:
    from ansible.module_utils.testing import patch_module_args

    def boom(module: t.Any) -> dict[str, t.Any]:
        raise error

    monkeypatch.setattr(mod, "run", boom)
    with patch_module_args({"settings": {"icc": False}}), pytest.raises(SystemExit) as exit_:
        mod.main()
    assert exit_.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] is True
    assert out["msg"] == msg


def test_main_returns_the_result(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ansible.module_utils.testing import patch_module_args

    seen: dict[str, t.Any] = {}

    def run(module: t.Any) -> dict[str, t.Any]:
        seen.update(module.params)
        return {"changed": False, "path": "/etc/docker/daemon.json", "config": {}}

    monkeypatch.setattr(mod, "run", run)
    with patch_module_args({"settings": {"icc": False}}), pytest.raises(SystemExit) as exit_:
        mod.main()
    assert exit_.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["changed"], out["path"]) == (False, "/etc/docker/daemon.json")
    assert (seen["validate"], seen["conflicts"], seen["restart"], seen["timeout"]) == ("auto", "fail", "on_change", 60)


@pytest.mark.parametrize(
    ("journal", "limit", "expected"),
    [
        (["Starting up", "failed to start daemon: graphdriver", "Stopped"], 6, ["failed to start daemon: graphdriver"]),
        (["a", "b"], 6, ["a", "b"]),
        ([f"line {i}" for i in range(10)], 3, ["line 7", "line 8", "line 9"]),
        (["level=fatal x", "ok", "invalid y", "conflict z"], 2, ["invalid y", "conflict z"]),
        ([], 6, []),
    ],
)
def test_notable_journal_lines(journal: list[str], limit: int, expected: list[str]) -> None:
    assert apply.notable(journal, limit) == expected


def test_directories_made_for_a_rootless_user_are_all_theirs(tmp_path: pathlib.Path) -> None:
    """~/.config did not exist: it, ~/.config/docker and the file all belong to the user."""
    home = tmp_path / "home" / "alice"
    home.mkdir(parents=True)
    uid, gid = (65534, 65534) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    os.chown(home, uid, gid)
    path = home / ".config" / "docker" / "daemon.json"
    tgt = Target(str(path), uid, gid, str(home), "alice", "unix:///x", (), str(home / "d.conf"))
    SystemHost(FileModule()).write(tgt, str(path), "{}\n")
    owners = {p: (p.stat().st_uid, p.stat().st_gid) for p in (home, home / ".config", path.parent, path)}
    assert set(owners.values()) == {(uid, gid)}
    assert oct(path.stat().st_mode & 0o777) == "0o644"


# -- issue 9 regressions -------------------------------------------------------------------------


def test_masked_service_is_named_as_masked(host: Host) -> None:
    host.units_state = {"docker.service": {"LoadState": "masked", "MainPID": "0"}}
    before = host.snapshot()
    with pytest.raises(dj.DaemonConfigError, match=r"docker.service is masked on this host.*systemctl unmask"):
        host.run(settings={"icc": False}, restart="on_change")
    assert host.snapshot() == before


def test_unknown_key_suggests_the_key_it_extends(host: Host) -> None:
    with pytest.raises(dj.DaemonConfigError, match=r"unknown key 'icc_enable' \(did you mean 'icc'\?\)"):
        host.run(settings={"icc_enable": False})


def test_a_huge_daemon_json_is_refused_not_carried_into_the_result(host: Host) -> None:
    host.config.write_text('{"labels": ["' + "x" * (2 * 1024 * 1024) + '"]}')
    with pytest.raises(files.FileError, match=r"is \d+ bytes, more than the 1048576 bytes"):
        host.run(settings={"icc": False})


def test_the_journal_line_that_explains_a_failed_start_is_in_the_message(host: Host) -> None:
    host.running()
    host.engine.up = False
    host.journal_lines = (
        ["Starting Docker Application Container Engine..."]
        + ['time="x" level=info msg="Starting up"'] * 30
        + [
            "failed to start daemon: Error initializing network controller",
            "mkdir /proc/dockerdata: no such file or directory",
        ]
        + [f'time="x" level=info msg="shutdown {i}"' for i in range(60)]
        + ["docker.service: Main process exited, code=exited, status=1/FAILURE"]
    )
    with pytest.raises(apply.ApplyFailed) as err:
        host.run(settings={"data-root": "/proc/dockerdata"}, restart="on_change", timeout=3)
    assert "mkdir /proc/dockerdata: no such file or directory" in err.value.msg
    assert len(err.value.details["journal"]) == apply.JOURNAL_LINES


def test_a_run_waits_for_the_lock_and_says_so_when_it_cannot_have_it(tmp_path: pathlib.Path) -> None:
    from ansible_collections.dockguard.hardening.plugins.module_utils._common import lock

    lock_dir = str(tmp_path / "locks")
    with lock.exclusive(
        "daemon_config:file:/etc/docker/daemon.json", "the daemon of /etc/docker/daemon.json", 1, lock_dir
    ):
        with (
            pytest.raises(lock.LockTimeout, match=r"another run is changing the daemon of /etc/docker/daemon.json"),
            lock.exclusive(
                "daemon_config:file:/etc/docker/daemon.json", "the daemon of /etc/docker/daemon.json", 0.3, lock_dir
            ),
        ):
            pass  # pragma: no cover
        with lock.exclusive(
            "daemon_config:file:/home/alice/.config/docker/daemon.json", "another daemon", 0.3, lock_dir
        ):
            pass  # another daemon's lock is independent
    with lock.exclusive("daemon_config:file:/etc/docker/daemon.json", "again", 0.3, lock_dir):
        pass  # released


def test_the_journal_is_read_again_until_the_explaining_line_is_written(host: Host) -> None:
    """journald writes dockerd's last words a moment after systemctl reports the failure."""
    host.running()
    host.systemctl_rc["restart"] = (1, "", "Job for docker.service failed.")
    answers = [["Starting up"], ["Starting up"], ["Starting up", "failed to start daemon: bad data-root"]]

    def journal(tgt: Target, service: str, since: float) -> list[str]:
        return answers.pop(0) if answers else ["Starting up", "failed to start daemon: bad data-root"]

    host.journal = journal  # type: ignore[method-assign]
    with pytest.raises(apply.ApplyFailed) as err:
        host.run(settings={"icc": False}, restart="on_change")
    assert err.value.msg.endswith("Journal: failed to start daemon: bad data-root")


def test_a_systemctl_job_that_hangs_is_bounded_and_rolled_back(host: Host) -> None:
    """A user's unit can make `systemctl restart` wait forever: the call is killed (rc 124) and named."""
    host.running()
    host.systemctl_rc["restart"] = (124, "", "")
    with pytest.raises(apply.ApplyFailed) as err:
        host.run(settings={"icc": False}, restart="on_change", timeout=5)
    assert "systemctl restart docker.socket docker.service did not finish within 35s" in err.value.msg
    assert not host.config.exists()  # rolled back to no file


@pytest.mark.parametrize("service", ["../../../tmp/evil", "docker service", "a/b.service"])
def test_a_service_that_is_no_unit_name_is_refused(service: str, capsys: pytest.CaptureFixture[str]) -> None:
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({"settings": {"icc": False}, "service": service}), pytest.raises(SystemExit):
        mod.main()
    assert "a unit name is letters, digits" in json.loads(capsys.readouterr().out)["msg"]


@pytest.mark.skipif(os.geteuid() != 0, reason="reading as another user needs root")
def test_a_file_a_user_names_is_read_with_their_credentials() -> None:
    import shutil
    import tempfile

    public = pathlib.Path(tempfile.mkdtemp(prefix="dg-readas-"))  # under /tmp: every directory above searchable
    os.chmod(public, 0o755)
    try:
        check_read_as(public)
    finally:
        shutil.rmtree(public)


def check_read_as(public: pathlib.Path) -> None:
    (public / "ok.env").write_text("A=1\n")
    (public / "secret.env").write_text("PASSWORD=x\n")
    os.chmod(public / "secret.env", 0o600)
    assert files.read_as("nobody", 65534, 65534, str(public / "ok.env"), "why") == "A=1\n"
    assert files.read_as("nobody", 65534, 65534, str(public / "missing.env"), "why") is None
    with pytest.raises(files.UnsafePathError, match="cannot be read by user nobody"):
        files.read_as("nobody", 65534, 65534, str(public / "secret.env"), "why")
