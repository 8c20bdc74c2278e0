# SPDX-License-Identifier: GPL-3.0-or-later
"""The seccomp policy and profile builder: pure logic (the real engines are molecule/confinement's)."""

from __future__ import annotations

import copy
import json
import random
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp import manage, policy, profile
from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp.syscalls import TABLE

ARCHES = profile.architectures("x86_64")
ALL_CAPS = policy.DEFAULT_CAPS | set(policy.BY_CAPABILITY)


def matches(rules: list[tuple[int, int]], value: int) -> bool:
    """What the kernel's filter does with one masked-equal allow rule per (mask, value)."""
    return any(value & mask == datum for mask, datum in rules)


# -- denying address families ------------------------------------------------------------------------------


@pytest.mark.parametrize("denied", [[38, 40], [38], [0], [0xFFFFFFFF], [1, 2, 3, 1000, 0x80000000]])
def test_family_rules_allow_exactly_the_other_values(denied: list[int]) -> None:
    rules = profile.family_rules(denied)
    rng = random.Random(0)
    samples = list(range(4096)) + [rng.getrandbits(32) for _round in range(20000)] + denied
    for low in samples:
        for high in (0, 1, 0xFFFFFFFF):  # the kernel reads an int: the upper half of the register is ignored
            value = high << 32 | low
            assert matches(rules, value) == (low not in denied), hex(value)


def test_af_alg_and_vsock_need_few_rules() -> None:
    assert len(profile.family_rules([policy.AF_ALG, policy.AF_VSOCK])) <= 40


# -- the built profile -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> dict[str, t.Any]:
    return profile.build("x86_64")


def test_socket_has_no_unconditional_allow_and_its_rules_deny_alg_and_vsock(built: dict[str, t.Any]) -> None:
    for caps in (policy.DEFAULT_CAPS, ALL_CAPS):
        view = profile.effective(built, caps)
        assert "socket" not in view.unconditional
        rules = [(a[0]["value"], a[0]["valueTwo"]) for a in view.conditional["socket"]]
        assert all(len(a) == 1 and a[0]["op"] == "SCMP_CMP_MASKED_EQ" for a in view.conditional["socket"])
        for family in range(64):
            assert matches(rules, family) == (family not in (38, 40))
        assert not matches(rules, 1 << 32 | 38)


def test_the_base_policy_denies_what_the_engines_deny_even_with_every_capability(built: dict[str, t.Any]) -> None:
    view = profile.effective(built, ALL_CAPS)
    allowed = view.unconditional | set(view.conditional)
    assert sorted(set(policy.DENIED_ALWAYS) & allowed) == []


def test_capabilities_open_their_syscalls_only_with_the_capability(built: dict[str, t.Any]) -> None:
    plain = profile.effective(built, policy.DEFAULT_CAPS)
    for cap, names in policy.BY_CAPABILITY.items():
        with_cap = profile.effective(built, policy.DEFAULT_CAPS | {cap})
        for name in names:
            assert name in with_cap.unconditional, (cap, name)
            if cap not in policy.DEFAULT_CAPS and name not in ("clone", "clone3"):
                assert name not in plain.unconditional, (cap, name)


def test_clone_without_sys_admin_only_without_namespace_flags(built: dict[str, t.Any]) -> None:
    plain = profile.effective(built, policy.DEFAULT_CAPS)
    assert "clone" not in plain.unconditional
    [[cond]] = plain.conditional["clone"]
    assert (cond["op"], cond["value"], cond["valueTwo"]) == ("SCMP_CMP_MASKED_EQ", 0x7E020000, 0)
    assert "clone3" in plain.denying  # ENOSYS: the C library falls back to clone
    admin = profile.effective(built, policy.DEFAULT_CAPS | {"CAP_SYS_ADMIN"})
    assert {"clone", "clone3"} <= admin.unconditional and "clone3" not in admin.denying


def test_every_name_is_known_and_the_profile_is_deterministic(built: dict[str, t.Any]) -> None:
    names = {n for rule in built["syscalls"] for n in rule["names"]}
    assert names <= profile.known_names(ARCHES)
    assert profile.render(built) == profile.render(profile.build("x86_64"))
    assert built["archMap"] == [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}
    ]


def test_policy_names_are_in_the_generated_table() -> None:
    named = {n for g in policy.ALLOWED.values() for n in g} | {n for g in policy.BY_CAPABILITY.values() for n in g}
    assert sorted(named - profile.known_names(ARCHES)) == []
    assert set(TABLE) == set(ARCHES)
    x32 = TABLE["SCMP_ARCH_X32"]
    assert all(nr >= 0x40000000 for nr in x32.values())


@pytest.mark.parametrize("name", list(policy.DELTAS))
def test_each_delta_denies_its_syscalls_whatever_the_capabilities(name: str) -> None:
    built = profile.build("x86_64", [name])
    delta = policy.DELTAS[name]
    view = profile.effective(built, ALL_CAPS)
    allowed = view.unconditional | set(view.conditional)
    assert sorted(set(delta.deny) & allowed) == []
    if delta.clone_namespaces:
        assert "clone" not in view.unconditional and "clone3" in view.denying
    if name == "socketcall":
        assert "socketcall" not in allowed and "socket" in allowed


def test_probes_follow_the_profile(built: dict[str, t.Any]) -> None:
    calls = {n: args for n, _nr, args in profile.probes(built)}
    assert calls["personality"][0] in policy.PERSONALITIES
    assert calls["clone"][0] & policy.CLONE_NAMESPACE_FLAGS == 0
    assert calls["socket"][0] not in (38, 40)
    assert "io_uring_setup" not in calls and "keyctl" not in calls
    assert "io_uring_setup" in profile.denied_names(built)
    denied = set(profile.denied_names(profile.build("x86_64", ["ptrace"])))
    assert {"ptrace", "process_vm_readv"} <= denied


# -- refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"deny": ["execve"]}, "would stop every container from starting"),
        ({"deny": ["exit_group", "read"]}, "['exit_group', 'read']"),
        ({"deny": ["sockett"]}, "did you mean 'socket'"),
        ({"deny": ["not_a_call"]}, "is not a syscall of SCMP_ARCH_X86_64"),
        ({"deltas": ["io_uring"]}, "deltas: unknown ['io_uring']"),
    ],
)
def test_bad_requests_are_refused(kwargs: dict[str, t.Any], message: str) -> None:
    with pytest.raises(profile.SeccompError) as exc:
        profile.build("x86_64", **kwargs)
    assert message in exc.value.msg


def test_other_machines_are_refused() -> None:
    with pytest.raises(profile.SeccompError, match="aarch64: the collection's syscall table covers x86_64 only"):
        profile.build("aarch64")


def broken(built: dict[str, t.Any], change: t.Callable[[dict[str, t.Any]], None]) -> str:
    prof = copy.deepcopy(built)
    change(prof)
    with pytest.raises(profile.SeccompError) as exc:
        profile.check_profile(prof, ARCHES)
    return exc.value.msg


def test_two_conditions_on_one_argument_are_refused(built: dict[str, t.Any]) -> None:
    ne = [{"index": 0, "value": 38, "op": "SCMP_CMP_NE"}, {"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]
    msg = broken(built, lambda p: p["syscalls"].append({"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": ne}))
    assert "ORed, not ANDed" in msg


def test_a_deny_under_an_unconditional_allow_is_refused(built: dict[str, t.Any]) -> None:
    rule = {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]}
    msg = broken(built, lambda p: p["syscalls"].append(rule))
    assert "the allow wins" in msg and "'read'" in msg


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["syscalls"][0]["names"].remove("execve"), "do not allow ['execve']"),
        (lambda p: p["syscalls"][0]["names"].append("nosuchcall"), "no listed architecture knows: ['nosuchcall']"),
        (lambda p: p["syscalls"][0].update(action="SCMP_ACT_MAYBE"), ".action must be one of"),
        (lambda p: p.update(defaultErrnoRet="1"), "defaultErrnoRet must be an integer"),
        (lambda p: p.update(architectures=["SCMP_ARCH_X86_64"]), "both architectures and archMap"),
        (lambda p: p.update(surprise=1), "the top level must be an object"),
        (lambda p: p["syscalls"][-1].update(args=[{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]), ".index must"),
        (lambda p: p["syscalls"][-1].update(args=[{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]), ".value must"),
        (lambda p: p["syscalls"][-1].update(args=[{"index": 0, "value": 1, "op": "EQ"}]), ".op must be one of"),
        (lambda p: p["syscalls"][-1].update(includes={"caps": "CAP_SYS_ADMIN"}), "must be a list of strings"),
    ],
)
def test_profile_schema_problems_are_named(
    built: dict[str, t.Any], change: t.Callable[[dict[str, t.Any]], None], message: str
) -> None:
    assert message in broken(built, change)


# -- the host side's pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "setting"),
    [("20.10.24+dfsg1", None), ("23.0.1", "builtin"), ("26.1.5+dfsg1", "builtin"), ("", None)],
)
def test_builtin_is_spelled_as_the_engine_reads_it(version: str, setting: str | None) -> None:
    assert manage.builtin_setting(manage.engine_version({"ServerVersion": version})) == setting


@pytest.mark.parametrize(
    ("options", "reported"),
    [
        (
            ["name=seccomp,profile=/etc/docker/seccomp/dockguard-0123456789ab.json"],
            "/etc/docker/seccomp/dockguard-0123456789ab.json",
        ),
        (["name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"], "builtin"),
        (["name=apparmor"], None),
    ],
)
def test_the_running_profile_is_read_from_docker_info(options: list[str], reported: str | None) -> None:
    assert manage.reported_profile({"SecurityOptions": options}) == reported


def test_rendered_profile_is_json_of_the_profile(built: dict[str, t.Any]) -> None:
    text = profile.render(built)
    assert json.loads(text) == built
    assert manage.MANAGED.fullmatch(f"dockguard-{profile.digest(text)}.json")
