# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"icc": False, "live-restore": True, "log-level": "info"},
        {"log-opts": {"max-size": "10m", "max-file": "3"}},
        {"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}}},
        {"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace"]}}},
        {"default-address-pools": [{"base": "10.200.0.0/16", "size": 24}]},
        {"host-gateway-ip": "172.17.0.1"},
        {"host-gateway-ip": ["172.17.0.1", "fd00::1"]},
        {"features": {"buildkit": True}},
        {"max-concurrent-downloads": 3},
    ],
)
def test_valid_configs_pass(config: dict[str, t.Any]) -> None:
    dj.validate(config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"icc": "false"}, 'icc must be a boolean, got string "false"'),
        ({"max-concurrent-downloads": True}, "max-concurrent-downloads must be an integer, got boolean true"),
        ({"log-opts": {"max-file": 3}}, "log-opts.max-file must be a string, got integer 3"),
        ({"log-level": "verbose"}, "log-level must be one of 'debug', 'info', 'warn', 'error', 'fatal'"),
        ({"insecure-registries": "reg:5000"}, "insecure-registries must be a list of strings"),
        ({"hosts": ["fd://", 2375]}, "hosts[1] must be a string, got integer 2375"),
        ({"default-ulimits": {"nofile": {"Name": "nofile", "Hard": "64000"}}}, "default-ulimits.nofile.Hard must be"),
        ({"default-ulimits": {"nofile": {"hard": 1}}}, "default-ulimits.nofile has unknown field 'hard'"),
        ({"host-gateway-ip": 5}, "host-gateway-ip must be a string or a list of strings"),
        ({"live_restore": True}, "unknown key 'live_restore' (did you mean 'live-restore'?)"),
        ({"no-such-thing": 1}, "unknown key 'no-such-thing'"),
        ({"graph": "/srv/docker"}, "key 'graph' is removed in Engine 23; use data-root"),
        ({"cluster-store": "consul://x"}, "removed in Engine 23"),
    ],
)
def test_invalid_configs_name_the_key(config: dict[str, t.Any], message: str) -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate(config)
    assert message in str(err.value)


def test_allow_unknown_keys() -> None:
    dj.validate({"future-key": {"x": 1}}, allow_unknown=["future-key"])
    with pytest.raises(dj.DaemonConfigError):
        dj.validate({"future-key": 1, "other-future": 2}, allow_unknown=["future-key"])


def test_merge_keeps_unmanaged_keys_and_replaces_whole_values() -> None:
    current = {"debug": True, "log-opts": {"max-size": "1m", "labels": "a"}}
    out = dj.desired_config(current, {"log-opts": {"max-size": "10m"}, "icc": False})
    assert out == {"debug": True, "log-opts": {"max-size": "10m"}, "icc": False}


def test_remove_and_exclusive() -> None:
    current = {"debug": True, "icc": True, "labels": ["a"]}
    assert dj.desired_config(current, {}, remove_keys=["debug", "absent"]) == {"icc": True, "labels": ["a"]}
    assert dj.desired_config(current, {"icc": False}, exclusive=True) == {"icc": False}
    with pytest.raises(dj.DaemonConfigError, match="both set in settings and listed in remove_keys"):
        dj.desired_config(current, {"icc": False}, remove_keys=["icc"])


@pytest.mark.parametrize(
    ("key", "a", "b", "same"),
    [
        ("log-opts", {"max-size": "10m", "max-file": "3"}, {"max-file": "3", "max-size": "10m"}, True),
        ("insecure-registries", ["a:5000", "b:5000"], ["b:5000", "a:5000"], True),
        ("hosts", ["fd://", "tcp://0.0.0.0:2376"], ["tcp://0.0.0.0:2376", "fd://"], True),
        ("dns", ["1.1.1.1", "8.8.8.8"], ["8.8.8.8", "1.1.1.1"], False),  # order is resolver priority
        ("registry-mirrors", ["https://a", "https://b"], ["https://b", "https://a"], False),
        ("icc", False, 0, False),
        ("log-opts", {"max-file": "3"}, {"max-file": 3}, False),
    ],
)
def test_structural_compare(key: str, a: t.Any, b: t.Any, same: bool) -> None:
    assert dj.same_value(key, a, b) is same


def test_equal_values_are_kept_as_written_so_nothing_is_rewritten() -> None:
    current = {"insecure-registries": ["b", "a"]}
    out = dj.desired_config(current, {"insecure-registries": ["a", "b"]})
    assert out["insecure-registries"] == ["b", "a"]
    assert dj.is_empty_diff(dj.diff(current, out))


def test_diff_reports_added_removed_changed() -> None:
    before = {"icc": True, "debug": True, "labels": ["x"]}
    after = {"icc": False, "labels": ["x"], "live-restore": True}
    assert dj.diff(before, after) == {
        "added": {"live-restore": True},
        "removed": {"debug": True},
        "changed": {"icc": {"before": True, "after": False}},
    }
    assert not dj.is_empty_diff(dj.diff(before, after))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"icc": false,}', "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object, found list"),
        ('"icc"', "must hold a JSON object, found string"),
    ],
)
def test_parse_refuses_what_dockerd_cannot_read(text: str, message: str) -> None:
    with pytest.raises(dj.DaemonConfigError, match=message):
        dj.parse(text, "/etc/docker/daemon.json")


def test_parse_empty_file_is_empty_config() -> None:
    assert dj.parse("  \n", "/x") == {}


def test_render_is_stable() -> None:
    assert dj.render({"b": 1, "a": {"d": 1, "c": 2}}) == '{\n  "a": {\n    "c": 2,\n    "d": 1\n  },\n  "b": 1\n}\n'


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"hosts": ["tcp://0.0.0.0:2375"]}, True),
        ({"hosts": ["tcp://0.0.0.0:2376"], "tls": True}, True),  # tls without verify: no client auth
        ({"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": True}, False),
        ({"hosts": ["fd://", "unix:///var/run/docker.sock"]}, False),
    ],
)
def test_plain_tcp_is_a_security_problem(config: dict[str, t.Any], problem: bool) -> None:
    assert bool(dj.security_problems(config)) is problem


LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             95157                95157                processes
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
"""


def test_parse_proc_limits() -> None:
    limits = dj.parse_proc_limits(LIMITS)
    assert limits["nofile"] == 20000
    assert limits["nproc"] == 95157
    assert limits["cpu"] is None


def test_ulimits_above_the_hard_limit_are_refused_without_cap_sys_resource() -> None:
    config = {"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}}}
    limits = dj.parse_proc_limits(LIMITS)
    problems = dj.ulimit_problems(config, limits, can_raise=False)
    assert len(problems) == 1
    assert "default-ulimits.nofile Hard=64000 exceeds the hard limit 20000" in problems[0]
    assert dj.ulimit_problems(config, limits, can_raise=True) == []
    ok = {"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 1024}}}
    assert dj.ulimit_problems(ok, limits, can_raise=False) == []
