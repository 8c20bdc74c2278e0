# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""A seccomp profile in Docker's JSON format, built from _seccomp.policy: build, check, render, probe.

Pure Python: every function takes plain data and raises SeccompError with a
message that names the problem and the fix.

Two facts about how the runtime (runc over libseccomp) compiles a profile, both
measured on Engine 20.10 and 26.1 (docs/confinement.md), shape the builder:

* Two conditions on the same argument in one rule are not both applied: runc
  adds each as a rule of its own, so they are ORed. An allow rule for socket
  with ``arg0 != AF_ALG`` and ``arg0 != AF_VSOCK`` allows both families.
* An unconditional allow of a syscall wins over any conditional errno rule for
  it, whatever their order. A deny must therefore be the absence of an allow.

So a denied address family is expressed as allow rules that together match
every other value of the argument, one masked comparison each. The kernel reads
socket's family as a 32-bit int and ignores the upper half of the register;
the masks look at the lower 32 bits only, so 0x100000026 is AF_ALG to the
filter as it is to the kernel.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp import policy
from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp.syscalls import TABLE


class SeccompError(DockguardError):
    """A profile that cannot be built or would not work; nothing was written."""


# The host's machine (platform.machine()) -> the native architecture and those it also runs.
ARCH_MAP: dict[str, tuple[str, tuple[str, ...]]] = {
    "x86_64": ("SCMP_ARCH_X86_64", ("SCMP_ARCH_X86", "SCMP_ARCH_X32")),
}
ALLOW = "SCMP_ACT_ALLOW"
ERRNO = "SCMP_ACT_ERRNO"
ACTIONS = frozenset(
    {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", ERRNO,
     "SCMP_ACT_TRACE", ALLOW, "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"}
)  # fmt: skip
OPS = frozenset(
    {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
)
U64 = 2**64
LOW32 = 0xFFFFFFFF
RULE_KEYS = frozenset({"names", "name", "action", "args", "comment", "includes", "excludes", "errnoRet"})
FILTER_KEYS = frozenset({"caps", "arches", "minKernel"})
TOP_KEYS = frozenset({"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "listenerPath",
                      "listenerMetadata", "flags"})  # fmt: skip


def known_names(arches: t.Iterable[str]) -> set[str]:
    names: set[str] = set()
    for arch in arches:
        names |= set(TABLE.get(arch, {}))
    return names


def architectures(machine: str) -> tuple[str, ...]:
    """The libseccomp architectures of a host, native first; SeccompError for a machine the table lacks."""
    if machine not in ARCH_MAP:
        raise SeccompError(
            f"this host is {machine}: the collection's syscall table covers {', '.join(sorted(ARCH_MAP))} only "
            "(tools/gen_syscalls.py), so no syscall name could be checked. Use the engine's builtin profile here "
            "(state=builtin)."
        )
    native, subs = ARCH_MAP[machine]
    return (native, *subs)


def check_names(option: str, names: t.Iterable[str], arches: t.Sequence[str]) -> None:
    known = known_names(arches)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SeccompError(
                f"{option}: {name!r} is not a syscall of {', '.join(arches)}{hint}; names come from Linux's headers "
                f"({_source()}). Nothing was written."
            )


def _source() -> str:
    from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp import syscalls

    return syscalls.SOURCE


def check_request(deltas: t.Sequence[str], deny: t.Sequence[str], arches: t.Sequence[str]) -> None:
    """Refuse unknown deltas, unknown syscall names and denials no container could start with."""
    unknown = [d for d in deltas if d not in policy.DELTAS]
    if unknown:
        raise SeccompError(f"deltas: unknown {unknown}; known: {', '.join(policy.DELTAS)}")
    check_names("deny_syscalls", deny, arches)
    fatal = [n for n in deny if n in policy.ESSENTIAL]
    if fatal:
        why = "; ".join(f"{n}: {policy.ESSENTIAL[n]}" for n in fatal)
        raise SeccompError(
            f"deny_syscalls: denying {fatal} would stop every container from starting or ending ({why}). "
            "Remove them from deny_syscalls; nothing was written."
        )


def family_rules(denied: t.Iterable[int]) -> list[tuple[int, int]]:
    """(mask, value) pairs whose masked matches on the low 32 bits cover every value except denied.

    Aligned power-of-two blocks, as a routing table covers an address space: a
    block with no denied value is one rule, a block with one is split in two.
    """
    deny = sorted({d & LOW32 for d in denied})
    out: list[tuple[int, int]] = []

    def cover(value: int, bits: int) -> None:  # the block of values whose top `bits` bits equal value's
        size = 1 << (32 - bits)
        inside = [d for d in deny if value <= d < value + size]
        if not inside:
            out.append(((LOW32 << (32 - bits)) & LOW32, value))
        elif bits < 32:
            cover(value, bits + 1)
            cover(value + size // 2, bits + 1)

    cover(0, 0)
    return out


def _rule(names: t.Iterable[str], comment: str, action: str = ALLOW, **extra: t.Any) -> dict[str, t.Any]:
    rule: dict[str, t.Any] = {"names": sorted(set(names)), "action": action, "comment": comment}
    rule.update({k: v for k, v in extra.items() if v is not None})
    return rule


def _arg(index: int, op: str, value: int, value_two: int = 0) -> dict[str, t.Any]:
    return {"index": index, "value": value, "valueTwo": value_two, "op": op}


def _denied(deltas: t.Sequence[str], deny: t.Sequence[str]) -> set[str]:
    names = set(deny)
    for name in deltas:
        names |= set(policy.DELTAS[name].deny)
    return names


def _argument_rules(deltas: t.Sequence[str], denied: set[str]) -> list[dict[str, t.Any]]:
    """personality, clone, clone3 and socket: allowed with some arguments only."""
    rules = []
    no_namespaces = any(policy.DELTAS[d].clone_namespaces for d in deltas)
    admin = None if no_namespaces else {"caps": ["CAP_SYS_ADMIN"]}
    if "personality" not in denied:
        rules += [
            _rule(["personality"], f"base: personality {p:#x}", args=[_arg(0, "SCMP_CMP_EQ", p)])
            for p in policy.PERSONALITIES
        ]
    if "clone" not in denied:
        rules.append(
            _rule(["clone"], "base: clone without namespace flags (CAP_SYS_ADMIN: any flags)", excludes=admin,
                  args=[_arg(0, "SCMP_CMP_MASKED_EQ", policy.CLONE_NAMESPACE_FLAGS, 0)])
        )  # fmt: skip
    if "clone3" not in denied:
        rules.append(
            _rule(["clone3"], "base: clone3 fails with ENOSYS so the C library falls back to clone", ERRNO,
                  excludes=admin, errnoRet=policy.ENOSYS)
        )  # fmt: skip
    if "socket" in denied:
        return rules
    families = sorted({f for d in deltas for f in policy.DELTAS[d].families})
    if not families:
        rules.append(_rule(["socket"], "base: sockets of every address family"))
        return rules
    names = ", ".join(str(f) for f in families)
    rules += [
        _rule(["socket"], f"delta: socket of every address family but {names} (low 32 bits of the argument)",
              args=[_arg(0, "SCMP_CMP_MASKED_EQ", mask, value)])
        for mask, value in family_rules(families)
    ]  # fmt: skip
    return rules


def build(machine: str, deltas: t.Sequence[str] = ("af_alg_vsock",), deny: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """The profile for a host of this machine with these deltas and extra denials (checked first)."""
    arches = architectures(machine)
    check_request(deltas, deny, arches)
    denied = _denied(deltas, deny)
    native, subs = ARCH_MAP[machine]
    rules = [
        _rule(set(names) - denied, f"base: {purpose}")
        for purpose, names in policy.ALLOWED.items()
        if set(names) - denied
    ]
    rules += _argument_rules(deltas, denied)
    no_namespaces = any(policy.DELTAS[d].clone_namespaces for d in deltas)
    for cap, names in policy.BY_CAPABILITY.items():
        keep = set(names) - denied - ({"clone", "clone3"} if no_namespaces else set())
        if keep:
            rules.append(_rule(keep, f"base: with {cap}", includes={"caps": [cap]}))
    profile = {
        "defaultAction": ERRNO,
        "defaultErrnoRet": policy.EPERM,
        "archMap": [{"architecture": native, "subArchitectures": list(subs)}],
        "syscalls": rules,
    }
    check_profile(profile, arches)
    return profile


def render(profile: dict[str, t.Any]) -> str:
    return json.dumps(profile, indent=2) + "\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# -- checking a profile ---------------------------------------------------------------------------------


def _fail(where: str, problem: str) -> SeccompError:
    return SeccompError(f"seccomp profile: {where} {problem}; nothing was written")


def _check_int(where: str, value: t.Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise _fail(where, f"must be an integer from {low} to {high - 1}, got {value!r}")


def _check_filter(where: str, value: t.Any) -> None:
    if not isinstance(value, dict) or set(value) - FILTER_KEYS:
        raise _fail(where, f"must be an object with fields {sorted(FILTER_KEYS)}, got {value!r}")
    for key in ("caps", "arches"):
        if key in value and not (isinstance(value[key], list) and all(isinstance(c, str) for c in value[key])):
            raise _fail(f"{where}.{key}", "must be a list of strings")


def _check_args(where: str, args: t.Any) -> None:
    if not isinstance(args, list):
        raise _fail(where, "must be a list")
    seen: set[int] = set()
    for i, arg in enumerate(args):
        at = f"{where}[{i}]"
        if not isinstance(arg, dict) or set(arg) - {"index", "value", "valueTwo", "op"}:
            raise _fail(at, "must be an object with index, value, valueTwo and op")
        _check_int(f"{at}.index", arg.get("index"), 0, 6)
        _check_int(f"{at}.value", arg.get("value"), 0, U64)
        _check_int(f"{at}.valueTwo", arg.get("valueTwo", 0), 0, U64)
        if arg.get("op") not in OPS:
            raise _fail(f"{at}.op", f"must be one of {sorted(OPS)}, got {arg.get('op')!r}")
        if arg["index"] in seen:
            raise _fail(
                at,
                f"is a second condition on argument {arg['index']}: the runtime adds each such condition as a rule "
                "of its own (ORed, not ANDed), so the rule would match far more than intended. Write one rule per "
                "value instead",
            )
        seen.add(arg["index"])


def _check_rule(where: str, rule: t.Any, known: set[str]) -> None:
    if not isinstance(rule, dict) or set(rule) - RULE_KEYS:
        raise _fail(where, f"must be an object with fields from {sorted(RULE_KEYS)}")
    names = rule.get("names", [rule["name"]] if "name" in rule else None)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _fail(f"{where}.names", "must be a non-empty list of syscall names")
    unknown = sorted(set(names) - known)
    if unknown:
        raise _fail(f"{where}.names", f"has names no listed architecture knows: {unknown}")
    if rule.get("action") not in ACTIONS:
        raise _fail(f"{where}.action", f"must be one of {sorted(ACTIONS)}, got {rule.get('action')!r}")
    _check_args(f"{where}.args", rule.get("args", []))
    for key in ("includes", "excludes"):
        if key in rule:
            _check_filter(f"{where}.{key}", rule[key])
    if "errnoRet" in rule:
        _check_int(f"{where}.errnoRet", rule["errnoRet"], 0, 4096)


def check_profile(profile: t.Any, arches: t.Sequence[str]) -> None:
    """Docker's profile schema (the fields Engine 20.10 and 26.1 read), known names, and the rules that would
    not do what they say or would keep every container from starting."""
    if not isinstance(profile, dict) or set(profile) - TOP_KEYS:
        raise _fail("the top level", f"must be an object with fields from {sorted(TOP_KEYS)}")
    if profile.get("defaultAction") not in ACTIONS:
        raise _fail("defaultAction", f"must be one of {sorted(ACTIONS)}")
    if "architectures" in profile and "archMap" in profile:
        raise _fail("the top level", "has both architectures and archMap; the engine accepts one")
    _check_int("defaultErrnoRet", profile.get("defaultErrnoRet", 1), 0, 4096)
    rules = profile.get("syscalls")
    if not isinstance(rules, list):
        raise _fail("syscalls", "must be a list")
    known = known_names(arches)
    for i, rule in enumerate(rules):
        _check_rule(f"syscalls[{i}]", rule, known)
    for caps in (policy.DEFAULT_CAPS, policy.DEFAULT_CAPS | set(policy.BY_CAPABILITY)):
        view = effective(profile, caps)
        missing = sorted(n for n in policy.ESSENTIAL if n not in view.unconditional)
        if missing and profile["defaultAction"] != ALLOW:
            raise _fail("syscalls", f"do not allow {missing}: no container could start. Allow them")
        dead = sorted(view.unconditional & view.denying)
        if dead:
            raise _fail(
                "syscalls",
                f"both allow {dead} unconditionally and deny them in another rule: the allow wins, whatever the "
                "order, so the deny would do nothing. Drop the name from the allow rule instead",
            )


class View(t.NamedTuple):
    """What a profile does for a container with some capabilities."""

    unconditional: set[str]  # allowed whatever the arguments
    conditional: dict[str, list[list[dict[str, t.Any]]]]  # allowed with these arguments (one list per rule)
    denying: set[str]  # named by an applicable rule whose action is not allow


def _applies(rule: dict[str, t.Any], caps: t.AbstractSet[str]) -> bool:
    need = set((rule.get("includes") or {}).get("caps") or [])
    without = set((rule.get("excludes") or {}).get("caps") or [])
    return need <= caps and not (without & caps)


def effective(profile: dict[str, t.Any], caps: t.AbstractSet[str] = policy.DEFAULT_CAPS) -> View:
    view = View(set(), {}, set())
    for rule in profile.get("syscalls") or []:
        if not _applies(rule, caps):
            continue
        names = rule.get("names") or [rule.get("name")]
        for name in names:
            if rule.get("action") != ALLOW:
                view.denying.add(name)
            elif rule.get("args"):
                view.conditional.setdefault(name, []).append(rule["args"])
            else:
                view.unconditional.add(name)
    return view


def _satisfying(args: list[dict[str, t.Any]]) -> list[int]:
    """Argument values (six) that meet a rule's conditions; -1 elsewhere (an invalid value for most calls)."""
    values = [-1] * 6
    for arg in args:
        op, value, two = arg["op"], arg["value"], arg.get("valueTwo", 0)
        values[arg["index"]] = two if op == "SCMP_CMP_MASKED_EQ" else value
    return values


def probes(profile: dict[str, t.Any], arch: str = "SCMP_ARCH_X86_64") -> list[tuple[str, int, list[int]]]:
    """One call per syscall that this profile lets a container with Docker's default capabilities make on arch:
    (name, number, six arguments). Generated from the profile, so a test of them cannot drift from it."""
    view = effective(profile, policy.DEFAULT_CAPS)
    table = TABLE[arch]
    calls = [(name, table[name], [-1] * 6) for name in sorted(view.unconditional) if name in table]
    for name, rules in sorted(view.conditional.items()):
        if name in table and name not in view.unconditional:
            calls.append((name, table[name], _satisfying(rules[0])))
    return calls


def denied_names(profile: dict[str, t.Any], arch: str = "SCMP_ARCH_X86_64") -> list[str]:
    """The syscalls of arch that a container with the default capabilities cannot make at all."""
    view = effective(profile, policy.DEFAULT_CAPS)
    allowed = view.unconditional | set(view.conditional)
    return sorted(n for n in TABLE[arch] if n not in allowed)
