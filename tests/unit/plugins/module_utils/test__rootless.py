# SPDX-License-Identifier: GPL-3.0-or-later
"""Rootless Docker: prerequisites from host facts, the user unit, and what a daemon reports."""

from __future__ import annotations

import dataclasses
import stat

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils._rootless import model as rl

SETUID = stat.S_IFREG | stat.S_ISUID | 0o755
PLAIN = stat.S_IFREG | 0o755
TUN_OK = stat.S_IFCHR | 0o666

GOOD = rl.HostFacts(
    newuidmap=(SETUID, False),
    newgidmap=(SETUID, False),
    tun=TUN_OK,
    max_user_namespaces=63000,
    unprivileged_userns_clone=1,
    rootless_script="/usr/share/docker.io/contrib/dockerd-rootless.sh",
    binaries={
        "rootlesskit": "/usr/bin/rootlesskit",
        "slirp4netns": "/usr/bin/slirp4netns",
        "dockerd": "/usr/sbin/dockerd",
    },
    systemd=True,
)


def failing(facts: rl.HostFacts) -> list[str]:
    return [p.describe() for p in rl.host_prereqs(facts) if not p.ok]


def test_a_good_host_meets_every_prerequisite() -> None:
    prereqs = rl.host_prereqs(GOOD)
    assert [p.name for p in prereqs] == [
        "newuidmap",
        "newgidmap",
        "/dev/net/tun",
        "user namespaces",
        "dockerd-rootless.sh",
        "rootlesskit",
        "slirp4netns",
        "dockerd",
        "systemd",
    ]
    assert all(p.ok for p in prereqs)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"newuidmap": None},
            ["newuidmap: not installed; fix: install the uidmap package (or chmod u+s /usr/bin/newuidmap)"],
        ),
        (
            {"newgidmap": (PLAIN, False)},
            [
                "newgidmap: neither setuid root nor given file capabilities, so it cannot write another ID map; "
                "fix: install the uidmap package (or chmod u+s /usr/bin/newgidmap)"
            ],
        ),
        ({"newuidmap": (PLAIN, True)}, []),  # file capabilities instead of setuid
        (
            {"tun": None},
            [
                "/dev/net/tun: missing; fix: modprobe tun, and chmod 0666 /dev/net/tun "
                "(the mode a stock kernel gives it)"
            ],
        ),
        (
            {"tun": stat.S_IFCHR | 0o600},
            [
                "/dev/net/tun: mode 0600: slirp4netns cannot open it as a user; fix: modprobe tun, and chmod 0666 "
                "/dev/net/tun (the mode a stock kernel gives it)"
            ],
        ),
        ({"tun": stat.S_IFREG | 0o666}, ["/dev/net/tun: mode 0666: slirp4netns cannot open it as a user"]),
        ({"max_user_namespaces": 0}, ["user namespaces: user.max_user_namespaces=0"]),
        ({"max_user_namespaces": None}, ["user namespaces: user.max_user_namespaces=None"]),
        (
            {"unprivileged_userns_clone": 0},
            ["user namespaces: user.max_user_namespaces=63000, kernel.unprivileged_userns_clone=0"],
        ),
        ({"unprivileged_userns_clone": None}, []),  # kernels without Debian's knob
        ({"rootless_script": None}, ["dockerd-rootless.sh: not found in /usr/bin/dockerd-rootless.sh, "]),
        ({"systemd": False}, ["systemd: PID 1 is not systemd; fix: rootless Docker here runs as a systemd user"]),
    ],
)
def test_each_missing_prerequisite_is_named_with_its_fix(change: dict[str, object], expected: list[str]) -> None:
    found = failing(dataclasses.replace(GOOD, **change))  # type: ignore[arg-type]
    assert len(found) == len(expected)
    for got, want in zip(found, expected, strict=True):
        assert got.startswith(want), got


@pytest.mark.parametrize(
    ("binary", "package"), [("rootlesskit", "rootlesskit"), ("slirp4netns", "slirp4netns"), ("dockerd", "docker.io")]
)
def test_missing_binaries_name_their_package(binary: str, package: str) -> None:
    facts = dataclasses.replace(GOOD, binaries={**GOOD.binaries, binary: None})
    assert failing(facts) == [f"{binary}: not on PATH; fix: install the {package} package"]


@pytest.mark.parametrize(
    ("subuid", "subgid", "bad"),
    [
        ("alice:100000:65536\n", "alice:100000:65536\n", []),
        ("1001:100000:65536\n", "alice:100000:65536\n", []),  # numeric owner
        ("", "alice:100000:65536\n", ["/etc/subuid range of alice: no range"]),
        ("alice:100000:1000\n", "alice:100000:65536\n", ["/etc/subuid range of alice: only 1000 IDs"]),
        ("bob:100000:65536\n", "", ["/etc/subuid range of alice: no range", "/etc/subgid range of alice: no range"]),
    ],
)
def test_subordinate_ranges(subuid: str, subgid: str, bad: list[str]) -> None:
    found = [p.describe() for p in rl.subid_prereqs("alice", 1001, subuid, subgid) if not p.ok]
    assert len(found) == len(bad)
    for got, want in zip(found, bad, strict=True):
        assert got.startswith(want)
        assert "fix: dockguard.hardening.subid name=alice" in got


def test_render_unit() -> None:
    unit = rl.render_unit("/usr/share/docker.io/contrib/dockerd-rootless.sh", ["--iptables=false", "a b"])
    lines = unit.splitlines()
    assert (
        "Environment=PATH=/usr/share/docker.io/contrib:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        in lines
    )
    assert 'ExecStart=/usr/share/docker.io/contrib/dockerd-rootless.sh --iptables=false "a b"' in lines
    assert "Type=notify" in lines
    assert "Delegate=yes" in lines
    assert lines[-1] == "WantedBy=default.target"
    assert rl.render_unit("/usr/bin/dockerd-rootless.sh", []) == rl.render_unit("/usr/bin/dockerd-rootless.sh", [])


@pytest.mark.parametrize(
    ("arg", "quoted"),
    [("--iptables=false", "--iptables=false"), ("a b", '"a b"'), ('say "hi"', '"say \\"hi\\""'), ("", '""')],
)
def test_quote(arg: str, quoted: str) -> None:
    assert rl.quote(arg) == quoted


@pytest.mark.parametrize(
    ("arg", "msg"),
    [
        ("--data-root=$HOME/x", "'[$]' and '%' would be expanded by systemd"),
        ("--label=a%b", "'[$]' and '%' would be expanded by systemd"),
        ("a\nb", "newlines"),
        ("-H", "socket is fixed"),
        ("--host=tcp://0.0.0.0:2375", "socket is fixed"),
    ],
)
def test_bad_dockerd_args(arg: str, msg: str) -> None:
    with pytest.raises(rl.RootlessError, match=msg):
        rl.validate_args([arg])


def test_good_dockerd_args() -> None:
    rl.validate_args(["--iptables=false", "--debug"])


OPTIONS = {"users": ["alice"], "state": "present", "linger": True, "dockerd_rootless": None, "dockerd_args": []}


@pytest.mark.parametrize("timeout", [0, -1, -90])
def test_a_timeout_must_be_positive(timeout: int) -> None:
    with pytest.raises(rl.RootlessError, match=rf"^timeout={timeout}: must be a positive number of seconds"):
        rl.validate_options({**OPTIONS, "timeout": timeout})


def test_good_options() -> None:
    rl.validate_options({**OPTIONS, "timeout": 1})


def test_options_are_checked_with_dockerd_args() -> None:
    with pytest.raises(rl.RootlessError, match="socket is fixed"):
        rl.validate_options({**OPTIONS, "timeout": 90, "dockerd_args": ["-H"]})


def test_errors_are_dockguard_errors() -> None:
    from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

    assert issubclass(rl.RootlessError, DockguardError)


def test_summarize() -> None:
    info = {
        "Driver": "vfs",
        "SecurityOptions": ["name=seccomp,profile=builtin", "name=rootless"],
        "ServerVersion": "26.1.5+dfsg1",
        "CgroupDriver": "none",
    }
    assert rl.summarize(info) == {
        "storage_driver": "vfs",
        "rootless": True,
        "security_options": ["name=seccomp,profile=builtin", "name=rootless"],
        "server_version": "26.1.5+dfsg1",
        "cgroup_driver": "none",
    }
    assert rl.summarize({})["rootless"] is False
    assert rl.docker_host(1001) == "unix:///run/user/1001/docker.sock"
