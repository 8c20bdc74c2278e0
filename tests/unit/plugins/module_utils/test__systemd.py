# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pathlib

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
DEBIAN_UNIT = (FIXTURES / "docker.service").read_text()  # Debian 12's docker.io 20.10.24


def files(tree: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    dirs: dict[str, list[str]] = {}
    for path in tree:
        parent, name = path.rsplit("/", 1)
        dirs.setdefault(parent, []).append(name)
    found = sd.unit_files("docker.service", ("/etc/systemd/system", "/lib/systemd/system"), lambda d: dirs.get(d, []))
    return found, tree


def model(tree: dict[str, str], env_files: dict[str, str] | None = None) -> tuple[list[sd.Token], list[sd.Flag]]:
    found, texts = files(tree)
    service = sd.read_service(found, texts.__getitem__)
    tokens = sd.expand_command(service, env_files or {})
    return tokens, sd.parse_dockerd_flags(tokens)


def test_debian_unit_hosts_conflict_names_the_unit_line() -> None:
    _tokens, flags = model({"/lib/systemd/system/docker.service": DEBIAN_UNIT})
    found = sd.conflicts(flags, {"hosts": ["tcp://0.0.0.0:2376"], "icc": False})
    assert [(c.key, c.flag) for c in found] == [("hosts", "-H fd://")]
    assert found[0].origin.startswith("/lib/systemd/system/docker.service:")
    assert found[0].in_unit_line
    assert "'hosts' is set in /etc/docker/daemon.json and as dockerd flag -H fd://" in found[0].describe(
        "/etc/docker/daemon.json"
    )


def test_flag_from_environment_file_names_that_file() -> None:
    _tokens, flags = model(
        {"/lib/systemd/system/docker.service": DEBIAN_UNIT},
        {"/etc/default/docker": 'DOCKER_OPTS="--icc=false --dns 8.8.8.8"\n'},
    )
    found = sd.conflicts(flags, {"icc": False, "dns": ["1.1.1.1"]})
    assert {c.key for c in found} == {"icc", "dns"}
    assert all(c.origin.startswith("/etc/default/docker ($DOCKER_OPTS)") for c in found)
    assert not any(c.in_unit_line for c in found)


def test_dropin_reset_makes_the_dropin_effective() -> None:
    dropin = "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock\n"
    _tokens, flags = model(
        {
            "/lib/systemd/system/docker.service": DEBIAN_UNIT,
            "/etc/systemd/system/docker.service.d/override.conf": dropin,
        }
    )
    assert sd.conflicts(flags, {"hosts": ["fd://"]}) == []
    assert [f.name for f in flags] == ["containerd"]


def test_dropin_name_in_etc_masks_the_same_name_in_lib() -> None:
    found, _ = files(
        {
            "/lib/systemd/system/docker.service": DEBIAN_UNIT,
            "/lib/systemd/system/docker.service.d/10-x.conf": "",
            "/etc/systemd/system/docker.service.d/10-x.conf": "",
            "/lib/systemd/system/docker.service.d/20-y.conf": "",
        }
    )
    assert found == [
        "/lib/systemd/system/docker.service",
        "/etc/systemd/system/docker.service.d/10-x.conf",
        "/lib/systemd/system/docker.service.d/20-y.conf",
    ]


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ("/usr/sbin/dockerd -Hfd://", [("H", "fd://", "hosts")]),
        ("/usr/sbin/dockerd --host=unix:///x.sock", [("host", "unix:///x.sock", "hosts")]),
        (
            "/usr/sbin/dockerd --icc=false --live-restore -D",
            [("icc", "false", "icc"), ("live-restore", None, "live-restore"), ("D", None, "debug")],
        ),
        (
            "/usr/sbin/dockerd --live-restore --log-opt max-size=1m",
            [("live-restore", None, "live-restore"), ("log-opt", "max-size=1m", "log-opts")],
        ),
        ("/usr/sbin/dockerd --config-file /srv/d.json", [("config-file", "/srv/d.json", None)]),
        ("-/usr/sbin/dockerd --insecure-registry r:5000", [("insecure-registry", "r:5000", "insecure-registries")]),
    ],
)
def test_parse_dockerd_flags(cmdline: str, expected: list[tuple[str, str | None, str | None]]) -> None:
    unit = f"[Service]\nExecStart={cmdline}\n"
    _tokens, flags = model({"/lib/systemd/system/docker.service": unit})
    assert [(f.name, f.value, f.key) for f in flags] == expected


def test_config_file_flag() -> None:
    _tokens, flags = model(
        {"/lib/systemd/system/docker.service": "[Service]\nExecStart=/usr/sbin/dockerd --config-file=/srv/d.json\n"}
    )
    assert sd.config_file_flag(flags) == "/srv/d.json"


def test_braced_variable_stays_one_word() -> None:
    # systemd splits Environment= on spaces unless the assignment is quoted
    unit = '[Service]\nEnvironment="OPTS=--icc=false --debug"\nExecStart=/usr/sbin/dockerd ${OPTS} $OPTS\n'
    tokens, _flags = model({"/lib/systemd/system/docker.service": unit})
    assert [t.text for t in tokens] == ["/usr/sbin/dockerd", "--icc=false --debug", "--icc=false", "--debug"]


def test_continuation_lines_are_joined() -> None:
    unit = "[Service]\nExecStart=/usr/sbin/dockerd \\\n  -H fd:// \\\n  --icc=false\n"
    _tokens, flags = model({"/lib/systemd/system/docker.service": unit})
    assert [f.key for f in flags] == ["hosts", "icc"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Service\nExecStart=/x\n", "docker.service:1: malformed section header"),
        ("[Service]\nExecStart /x\n", "docker.service:2: expected KEY=VALUE"),
        ("ExecStart=/x\n", "docker.service:1: assignment outside any [Section]"),
        ("[Service]\nExecStart=/x \\\n", "file ends inside a continued line"),
    ],
)
def test_unparseable_unit_is_an_error_with_the_place(text: str, message: str) -> None:
    with pytest.raises(sd.UnitError, match=message.replace("[", r"\[")):
        sd.parse_unit(text, "/lib/systemd/system/docker.service")


def test_required_environment_file_missing() -> None:
    unit = "[Service]\nEnvironmentFile=/etc/default/docker\nExecStart=/usr/sbin/dockerd $DOCKER_OPTS\n"
    with pytest.raises(sd.UnitError, match="EnvironmentFile=/etc/default/docker is required"):
        model({"/lib/systemd/system/docker.service": unit})


def test_resolve_dropin_strips_only_the_conflicting_flag() -> None:
    found, texts = files({"/lib/systemd/system/docker.service": DEBIAN_UNIT})
    service = sd.read_service(found, texts.__getitem__)
    flags = sd.parse_dockerd_flags(sd.expand_command(service, {}))
    drop = [f for f in flags if f.key == "hosts"]
    words = sd.strip_flags(sd.command_words(service), drop)
    assert words == ["/usr/sbin/dockerd", "--containerd=/run/containerd/containerd.sock", "$DOCKER_OPTS"]
    text = sd.dropin_text(words, "why")
    assert "ExecStart=\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n" in text
    # the drop-in, read back as systemd would, leaves no conflict
    _t, flags2 = model(
        {
            "/lib/systemd/system/docker.service": DEBIAN_UNIT,
            "/etc/systemd/system/docker.service.d/99-dockguard-daemon-config.conf": text,
        }
    )
    assert sd.conflicts(flags2, {"hosts": ["fd://"]}) == []
