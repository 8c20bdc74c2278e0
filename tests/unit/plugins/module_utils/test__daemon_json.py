# SPDX-License-Identifier: GPL-3.0-or-later
"""The daemon.json model: validation, structural compare, merge, diff, parse and render."""

from __future__ import annotations

import copy
import itertools
import json
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj

# -- validate ----------------------------------------------------------------


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
        {"default-network-opts": {"bridge": {"com.docker.network.driver.mtu": "1450"}}},
        {"proxies": {"http-proxy": "http://proxy:3128", "no-proxy": "localhost"}},
        {"builder": {"gc": {"enabled": True, "defaultKeepStorage": "20GB"}}},
        {"hosts": ["fd://", "tcp://0.0.0.0:2376"], "tlsverify": True},
    ],
)
def test_valid_configs_pass(config: dict[str, t.Any]) -> None:
    dj.validate(config)  # raises on any problem


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"icc": "false"}, 'daemon.json: icc must be a boolean, got string "false"'),
        ({"icc": 0}, "daemon.json: icc must be a boolean, got integer 0"),
        ({"max-concurrent-downloads": True}, "max-concurrent-downloads must be an integer, got boolean true"),
        ({"mtu": 1500.0}, "daemon.json: mtu must be an integer, got number 1500.0"),
        ({"log-opts": {"max-file": 3}}, "log-opts.max-file must be a string, got integer 3"),
        ({"log-opts": ["max-file=3"]}, 'log-opts must be an object whose values are a string, got list ["max-file=3"]'),
        ({"log-level": "verbose"}, "log-level must be one of 'debug', 'info', 'warn', 'error', 'fatal'"),
        ({"default-cgroupns-mode": "shared"}, "default-cgroupns-mode must be one of 'host', 'private', got string"),
        ({"insecure-registries": "reg:5000"}, "insecure-registries must be a list of strings"),
        ({"labels": None}, "labels must be a list of strings, got null"),
        ({"hosts": ["fd://", 2375]}, "hosts[1] must be a string, got integer 2375"),
        ({"features": {"buildkit": "true"}}, 'features.buildkit must be a boolean, got string "true"'),
        ({"runtimes": {"runsc": {"path": 1}}}, "runtimes.runsc.path must be a string, got integer 1"),
        ({"default-network-opts": {"bridge": {"mtu": 1500}}}, "default-network-opts.bridge.mtu must be a string"),
        ({"default-address-pools": [{"base": "10.0.0.0/8", "size": "24"}]}, "default-address-pools[0].size must be"),
        ({"default-ulimits": {"nofile": {"Name": "nofile", "Hard": "64000"}}}, "default-ulimits.nofile.Hard must be"),
        ({"default-ulimits": {"nofile": {"hard": 1}}}, "default-ulimits.nofile has unknown field 'hard'"),
        ({"proxies": {"ftp-proxy": "x"}}, "proxies has unknown field 'ftp-proxy'; known fields: http-proxy"),
        ({"host-gateway-ip": 5}, "host-gateway-ip must be a string or a list of strings"),
        ({"host-gateway-ip": [1]}, "host-gateway-ip must be a string or a list of strings, got list [1]"),
        ({"no-such-thing": 1}, "unknown key 'no-such-thing'; dockerd refuses to start with it"),
        ({"cluster-store": "consul://x"}, "removed in Engine 23"),
    ],
)
def test_invalid_configs_name_the_key(config: dict[str, t.Any], message: str) -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate(config)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("live_restore", "live-restore"),
        ("log_opts", "log-opts"),
        ("insecure-registry", "insecure-registries"),
        ("tls-verify", "tlsverify"),
        ("no_new_privileges", "no-new-privileges"),
        ("data_root", "data-root"),
        ("default-ulimit", "default-ulimits"),
        ("icc_enable", "icc"),
        ("live-restore-on", "live-restore"),
    ],
)
def test_unknown_key_suggests_the_documented_one(key: str, hint: str) -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate({key: True})
    assert f"unknown key {key!r} (did you mean {hint!r}?)" in str(err.value)
    assert "allow_unknown_keys" in str(err.value)


def test_unknown_key_without_a_close_match_has_no_hint() -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate({"zzzz-qqqq": 1})
    assert "did you mean" not in str(err.value)
    assert str(err.value).startswith("daemon.json: unknown key 'zzzz-qqqq'; dockerd refuses")


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("graph", "removed in Engine 23; use data-root"),
        ("cluster-store", "removed in Engine 23 (legacy overlay networks); use Swarm mode"),
        ("cluster-store-opts", "removed in Engine 23 (legacy overlay networks); use Swarm mode"),
        ("cluster-advertise", "removed in Engine 23 (legacy overlay networks); use Swarm mode"),
        ("disable-legacy-registry", "removed in Engine 17.12; delete the key"),
    ],
)
def test_removed_keys_say_what_replaces_them(key: str, why: str) -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate({key: "x"})
    assert str(err.value) == f"daemon.json: key {key!r} is {why}"


@pytest.mark.parametrize("config", [[1, 2], "icc", None, 3])
def test_validate_refuses_a_non_object(config: t.Any) -> None:
    with pytest.raises(dj.DaemonConfigError, match=r"^daemon\.json must hold a JSON object, got "):
        dj.validate(config)


def test_first_problem_in_key_order_is_reported() -> None:
    # keys are checked sorted, so the message does not depend on dict order
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate({"zzzz-qqqq": 1, "icc": "no"})
    assert "icc must be a boolean" in str(err.value)


def test_allow_unknown_keys() -> None:
    dj.validate({"future-key": {"x": 1}}, allow_unknown=["future-key"])
    with pytest.raises(dj.DaemonConfigError, match="unknown key 'other-future'"):
        dj.validate({"future-key": 1, "other-future": 2}, allow_unknown=["future-key"])


def test_allow_unknown_accepts_any_value_even_for_known_and_removed_keys() -> None:
    dj.validate({"icc": "legacy", "graph": "/srv"}, allow_unknown=("icc", "graph"))


def test_list_of_objects_type_is_described_readably() -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate({"default-address-pools": "10.0.0.0/8"})
    assert "default-address-pools must be a list of objects with fields base, size," in str(err.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"labels": None}, "daemon.json: labels must be a list of strings, got null"),
        ({"icc": None}, "daemon.json: icc must be a boolean, got null"),
        (
            {"default-address-pools": None},
            "daemon.json: default-address-pools must be a list of objects with fields base, size, got null",
        ),
        (
            {"default-address-pools": [None]},
            "daemon.json: default-address-pools[0] must be an object with fields base, size, got null",
        ),
        (
            {"runtimes": {"r": {"runtimeArgs": "x"}}},
            'daemon.json: runtimes.r.runtimeArgs must be a list of strings, got string "x"',
        ),
        (
            {"default-ulimits": []},
            "daemon.json: default-ulimits must be an object whose values are an object with "
            "fields Name, Hard, Soft, got list []",
        ),
        ({"host-gateway-ip": None}, "daemon.json: host-gateway-ip must be a string or a list of strings, got null"),
        (
            {"log-level": None},
            "daemon.json: log-level must be one of 'debug', 'info', 'warn', 'error', 'fatal', got null",
        ),
    ],
)
def test_type_messages_read_as_sentences(config: dict[str, t.Any], message: str) -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.validate(config)
    assert str(err.value) == message


# -- security ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"hosts": ["tcp://0.0.0.0:2375"]}, True),
        ({"hosts": ["fd://", "tcp://127.0.0.1:2375"], "tlsverify": False}, True),
        ({"hosts": ["tcp://0.0.0.0:2376"], "tls": True}, True),  # tls without verify: no client auth
        ({"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": "true"}, True),  # not a boolean: not trusted
        ({"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": True}, False),
        ({"hosts": ["fd://", "unix:///var/run/docker.sock"]}, False),
        ({}, False),
    ],
)
def test_plain_tcp_is_a_security_problem(config: dict[str, t.Any], problem: bool) -> None:
    assert bool(dj.security_problems(config)) is problem


def test_security_problem_names_the_hosts_and_the_ways_out() -> None:
    (msg,) = dj.security_problems({"hosts": ["fd://", "tcp://0.0.0.0:2375"]})
    assert msg.startswith("hosts ['tcp://0.0.0.0:2375'] expose the Docker API over TCP without tlsverify")
    assert "allow_insecure_tcp=true" in msg


@pytest.mark.parametrize("host", ["0.0.0.0:2375", ":2375", " tcp://0.0.0.0:2375", "\ttcp://x:2375\n", "localhost"])
def test_tcp_hosts_without_scheme_are_a_security_problem(host: str) -> None:
    # dockerd's ParseHost trims whitespace and reads an address without a scheme as tcp
    (msg,) = dj.security_problems({"hosts": ["fd://", host]})
    assert msg.startswith(f"hosts [{host!r}] expose the Docker API over TCP without tlsverify")
    assert dj.security_problems({"hosts": [host], "tlsverify": True}) == []


@pytest.mark.parametrize(
    ("host", "tls", "tcp"),
    [
        ("tcp://0.0.0.0:2376", False, True),
        ("0.0.0.0:2375", False, True),
        (" :2375 ", False, True),
        ("unix:///var/run/docker.sock", False, False),
        (" unix:///x.sock", True, False),
        ("fd://", False, False),
        ("fd://", True, False),
        ("TCP://0.0.0.0:2375", False, False),  # dockerd refuses it: "unsupported proto 'TCP'"
        ("ssh://me@host", False, False),  # not a listener dockerd supports either
        ("://x", False, False),
        ("", False, False),  # the default UNIX socket
        ("  ", True, True),  # with TLS the default is tcp://localhost:2376
    ],
)
def test_listens_on_tcp_reads_hosts_as_dockerd_does(host: str, tls: bool, tcp: bool) -> None:
    assert dj.listens_on_tcp(host, tls) is tcp


def test_default_host_with_tls_but_no_verify_is_a_security_problem() -> None:
    assert dj.security_problems({"hosts": [""], "tls": True}) != []
    assert dj.security_problems({"hosts": [""]}) == []
    assert dj.security_problems({"hosts": [""], "tls": True, "tlsverify": True}) == []


@pytest.mark.parametrize("hosts", ["tcp://0.0.0.0:2375", None, {"tcp://x": 1}])
def test_security_problems_leaves_a_malformed_hosts_to_validate(hosts: t.Any) -> None:
    assert dj.security_problems({"hosts": hosts}) == []


# -- ulimits -------------------------------------------------------------------

LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             95157                95157                processes
Max open files            1024                 20000                files
Max locked memory         8388608              8388608              bytes
"""


def test_parse_proc_limits_reads_the_hard_column() -> None:
    limits = dj.parse_proc_limits(LIMITS)
    assert limits == {"cpu": None, "nproc": 95157, "nofile": 20000, "memlock": 8388608}


def test_ulimits_above_the_hard_limit_are_refused_without_cap_sys_resource() -> None:
    config = {"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}}}
    limits = dj.parse_proc_limits(LIMITS)
    problems = dj.ulimit_problems(config, limits, can_raise=False)
    assert len(problems) == 1
    assert "default-ulimits.nofile Hard=64000 exceeds the hard limit 20000" in problems[0]
    assert "Use Hard and Soft of at most 20000." in problems[0]
    assert dj.ulimit_problems(config, limits, can_raise=True) == []
    ok = {"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 1024}}}
    assert dj.ulimit_problems(ok, limits, can_raise=False) == []
    unlimited = {"default-ulimits": {"cpu": {"Name": "cpu", "Hard": 10**9, "Soft": 1}}}
    assert dj.ulimit_problems(unlimited, limits, can_raise=False) == []


# -- compare -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "left", "right", "same"),
    [
        ("log-opts", {"max-size": "10m", "max-file": "3"}, {"max-file": "3", "max-size": "10m"}, True),
        ("insecure-registries", ["a:5000", "b:5000"], ["b:5000", "a:5000"], True),
        ("hosts", ["fd://", "tcp://0.0.0.0:2376"], ["tcp://0.0.0.0:2376", "fd://"], True),
        ("labels", ["a=1", "b=2"], ["b=2", "a=1"], True),
        ("exec-opts", ["native.cgroupdriver=systemd"], ["native.cgroupdriver=systemd"], True),
        ("insecure-registries", ["a:5000"], ["a:5000", "b:5000"], False),
        ("dns", ["1.1.1.1", "8.8.8.8"], ["8.8.8.8", "1.1.1.1"], False),  # order is resolver priority
        ("dns-search", ["a.example", "b.example"], ["b.example", "a.example"], False),
        ("registry-mirrors", ["https://a", "https://b"], ["https://b", "https://a"], False),
        ("default-address-pools", [{"base": "10.0.0.0/8", "size": 24}], [{"size": 24, "base": "10.0.0.0/8"}], True),
        ("icc", False, 0, False),
        ("live-restore", True, 1, False),
        ("mtu", 1500, 1500.0, False),
        ("log-opts", {"max-file": "3"}, {"max-file": 3}, False),
    ],
)
def test_structural_compare(key: str, left: t.Any, right: t.Any, same: bool) -> None:
    assert dj.same_value(key, left, right) is same
    assert dj.same_value(key, right, left) is same


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("icc", False, "false"),
        ("icc", 0, "0"),
        ("log-opts", {"b": "1", "a": "2"}, '{"a": "2", "b": "1"}'),
        ("dns", ["8.8.8.8", "1.1.1.1"], '["8.8.8.8", "1.1.1.1"]'),
        ("hosts", ["tcp://x", "fd://"], '["\\"fd://\\"", "\\"tcp://x\\""]'),
    ],
)
def test_canonical_form(key: str, value: t.Any, expected: str) -> None:
    assert dj.canonical(key, value) == expected


ITEMS = ["a.example:5000", "b.example", "10.0.0.1:5000", "c"]


@pytest.mark.parametrize("perm", list(itertools.permutations(ITEMS)))
def test_permutation_is_a_change_only_for_ordered_lists(perm: tuple[str, ...]) -> None:
    shuffled = list(perm)
    for key in sorted(dj.UNORDERED_KEYS):
        assert dj.same_value(key, ITEMS, shuffled)
    for key in ("dns", "dns-search", "dns-opts", "registry-mirrors"):
        assert dj.same_value(key, ITEMS, shuffled) is (shuffled == ITEMS)


# -- merge and diff ------------------------------------------------------------


def test_merge_keeps_unmanaged_keys_and_replaces_whole_values() -> None:
    current = {"debug": True, "log-opts": {"max-size": "1m", "labels": "a"}}
    out = dj.desired_config(current, {"log-opts": {"max-size": "10m"}, "icc": False})
    assert out == {"debug": True, "log-opts": {"max-size": "10m"}, "icc": False}


def test_merge_does_not_mutate_its_inputs() -> None:
    current = {"debug": True, "log-opts": {"max-size": "1m"}}
    settings_ = {"log-opts": {"max-size": "10m"}}
    before = copy.deepcopy((current, settings_))
    dj.desired_config(current, settings_, remove_keys=["debug"])
    assert (current, settings_) == before


@pytest.mark.parametrize(
    ("current", "settings_", "remove", "exclusive", "expected"),
    [
        ({"debug": True, "icc": True}, {}, ["debug", "absent"], False, {"icc": True}),
        ({"debug": True, "icc": True}, {"icc": False}, [], True, {"icc": False}),
        ({"debug": True, "icc": True}, {}, [], True, {}),
        ({"labels": ["b", "a"], "debug": True}, {"labels": ["a", "b"]}, [], True, {"labels": ["b", "a"]}),
        ({}, {"icc": False}, ["debug"], False, {"icc": False}),
    ],
)
def test_remove_and_exclusive(
    current: dict[str, t.Any],
    settings_: dict[str, t.Any],
    remove: list[str],
    exclusive: bool,
    expected: dict[str, t.Any],
) -> None:
    assert dj.desired_config(current, settings_, remove_keys=remove, exclusive=exclusive) == expected


def test_a_key_both_set_and_removed_is_refused() -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.desired_config({"icc": True}, {"icc": False, "debug": True}, remove_keys=["icc", "debug"])
    assert str(err.value) == "keys ['debug', 'icc'] are both set in settings and listed in remove_keys; choose one"


@pytest.mark.parametrize(
    ("current", "settings_", "kept"),
    [
        ({"insecure-registries": ["b", "a"]}, {"insecure-registries": ["a", "b"]}, ["b", "a"]),
        ({"hosts": ["unix:///x", "fd://"]}, {"hosts": ["fd://", "unix:///x"]}, ["unix:///x", "fd://"]),
        ({"log-opts": {"max-size": "1m", "max-file": "3"}}, {"log-opts": {"max-file": "3", "max-size": "1m"}}, None),
    ],
)
def test_equal_values_are_kept_as_written_so_nothing_is_rewritten(
    current: dict[str, t.Any], settings_: dict[str, t.Any], kept: t.Any
) -> None:
    (key,) = current
    out = dj.desired_config(current, settings_)
    assert out[key] is current[key]
    if kept is not None:
        assert out[key] == kept
    assert dj.is_empty_diff(dj.diff(current, out))


def test_reordered_dns_replaces_the_value() -> None:
    current = {"dns": ["1.1.1.1", "8.8.8.8"]}
    out = dj.desired_config(current, {"dns": ["8.8.8.8", "1.1.1.1"]})
    assert out == {"dns": ["8.8.8.8", "1.1.1.1"]}
    assert dj.diff(current, out)["changed"] == {
        "dns": {"before": ["1.1.1.1", "8.8.8.8"], "after": ["8.8.8.8", "1.1.1.1"]}
    }


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
    ("before", "after", "empty"),
    [
        ({}, {}, True),
        ({"labels": ["a", "b"]}, {"labels": ["b", "a"]}, True),
        ({"icc": False}, {"icc": 0}, False),
        ({"icc": False}, {}, False),
        ({}, {"icc": False}, False),
    ],
)
def test_is_empty_diff(before: dict[str, t.Any], after: dict[str, t.Any], empty: bool) -> None:
    assert dj.is_empty_diff(dj.diff(before, after)) is empty


# -- parse and render ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"icc": false,}', "/etc/docker/daemon.json is not valid JSON ("),
        ("{'icc': false}", "/etc/docker/daemon.json is not valid JSON ("),
        ("[1, 2]", "/etc/docker/daemon.json must hold a JSON object, found list; nothing was written"),
        ('"icc"', "/etc/docker/daemon.json must hold a JSON object, found string"),
        ("null", "/etc/docker/daemon.json must hold a JSON object, found null"),
        ("3", "/etc/docker/daemon.json must hold a JSON object, found integer"),
    ],
)
def test_parse_refuses_what_dockerd_cannot_read(text: str, message: str) -> None:
    with pytest.raises(dj.DaemonConfigError) as err:
        dj.parse(text, "/etc/docker/daemon.json")
    assert str(err.value).startswith(message)


def test_parse_invalid_json_says_nothing_was_written() -> None:
    with pytest.raises(dj.DaemonConfigError, match="nothing was written"):
        dj.parse("{", "/x.json")


@pytest.mark.parametrize("text", ["", "  \n", "\n\t\n"])
def test_parse_empty_file_is_empty_config(text: str) -> None:
    assert dj.parse(text, "/x") == {}


def test_parse_returns_the_object() -> None:
    assert dj.parse('{"icc": false, "log-opts": {"max-file": "3"}}', "/x") == {
        "icc": False,
        "log-opts": {"max-file": "3"},
    }


def test_render_is_stable() -> None:
    assert dj.render({"b": 1, "a": {"d": 1, "c": 2}}) == '{\n  "a": {\n    "c": 2,\n    "d": 1\n  },\n  "b": 1\n}\n'
    assert dj.render({}) == "{}\n"


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"icc": False, "mtu": 1500, "labels": ["b", "a"], "note": None},
        {"log-opts": {"max-file": "3", "labels": "x,y"}, "runtimes": {"r": {"path": "/r", "runtimeArgs": []}}},
        {"x": [{"b": [1, {"c": True}], "a": ""}], "unicode": "caf\u00e9 \u2603", "quote": 'a"b\\c'},
    ],
)
def test_render_then_parse_round_trips(config: dict[str, t.Any]) -> None:
    text = dj.render(config)
    assert dj.parse(text, "/x") == config
    assert list(json.loads(text)) == sorted(config)
    assert text.endswith("}\n")
