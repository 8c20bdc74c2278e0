# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The authorization policy: the rules a security team reads, validated before anything uses them.

A policy is a mapping (written as YAML by people, stored as canonical JSON on the host):

    mode: enforce            # or warn: log what would be refused, refuse nothing
    rules:
      privileged: deny       # an action: deny, warn or off
      capabilities: {action: deny, allow: [NET_BIND_SERVICE]}
    exceptions:
      - user: ci-deployer    # the TLS client certificate's CN, as dockerd reports it
        image: registry.example.com/ops/*
        rules: [privileged]
        justification: the node agent needs the host's devices (ticket OPS-12)
        expires: 2027-03-31

Rules not named keep their default action. Every error names the key, the value and the fix.
Stdlib only: the plugin loads this on the host without Ansible.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import re
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._authz import predicates as pr
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

ACTIONS = ("deny", "warn", "off")
# a policy file larger than this is refused rather than read
MAX_POLICY = 1024 * 1024
MODES = ("enforce", "warn")


class PolicyError(DockguardError):
    """A policy that cannot be used; nothing is loaded or written."""


class Spec(t.NamedTuple):
    """One rule as the code knows it: its control, what it guards, how to comply, and its parameters."""

    control: str
    title: str
    comply: str
    default: str = "deny"
    params: tuple[tuple[str, t.Any], ...] = ()


def _strings(*items: str) -> tuple[str, ...]:
    return tuple(items)


# The rules, by name. A data table: one record per rule.
# fmt: off
RULES: dict[str, Spec] = {
    "privileged": Spec("5.5", "privileged containers (and systempaths=unconfined)",
                       "drop --privileged; add the one capability you need with --cap-add, the one device with "
                       "--device, if the policy allows it"),
    "capabilities": Spec("5.4", "capabilities added beyond an allowlist",
                         "remove --cap-add for capabilities outside the allowlist", params=(("allow", ()),)),
    "host_network": Spec("5.10", "the host's network namespace", "drop --network host; publish the ports you need"),
    "host_pid": Spec("5.16", "the host's PID namespace", "drop --pid host"),
    "host_ipc": Spec("5.17", "the host's IPC namespace", "drop --ipc host"),
    "host_uts": Spec("5.21", "the host's UTS namespace", "drop --uts host"),
    "host_userns": Spec("5.31", "the host's user namespace", "drop --userns host"),
    "host_cgroupns": Spec("5.25", "the host's cgroup namespace", "drop --cgroupns host"),
    "sensitive_mounts": Spec("5.6", "bind mounts of sensitive host paths (after links and ..)",
                             "mount a named volume or a directory of your own instead",
                             params=(("paths", tuple(sorted(pr.SENSITIVE))),)),
    "writable_mounts": Spec("5.6", "host paths mounted writable",
                            "add :ro to -v (or readonly to --mount), or use a named volume"),
    "docker_socket": Spec("5.32", "the Docker (or containerd) socket mounted into a container",
                          "do not mount the daemon's socket: it is root on the host",
                          params=(("sockets", _strings("/run/docker.sock", "/run/containerd/containerd.sock")),)),
    "mount_propagation": Spec("5.20", "shared mount propagation", "use the default (rprivate) propagation"),
    "devices": Spec("5.18", "host devices (--device, device cgroup rules, device requests, device volumes)",
                    "do not pass host devices to containers"),
    "seccomp_unconfined": Spec("5.22", "seccomp turned off", "drop --security-opt seccomp=unconfined"),
    "apparmor_unconfined": Spec("5.2", "AppArmor turned off", "drop --security-opt apparmor=unconfined"),
    "selinux_disabled": Spec("5.3", "SELinux labels turned off", "drop --security-opt label=disable"),
    "no_new_privileges_off": Spec("5.26", "no-new-privileges turned off",
                                  "drop --security-opt no-new-privileges=false"),
    "memory_limit": Spec("5.11", "containers without a memory limit", "set --memory (e.g. --memory 512m)"),
    "pids_limit": Spec("5.29", "containers without a PIDs limit", "set --pids-limit (e.g. --pids-limit 200)"),
    "privileged_ports": Spec("5.8", "host ports below 1024", "publish on a host port of 1024 or above"),
    "all_interfaces": Spec("5.14", "ports published on every interface",
                           "publish on one address: -p 127.0.0.1:8080:80"),
    "root_user": Spec("4.1", "containers running as root (the image's default user is not looked up)",
                      "run as a named non-root user: --user 1000:1000", default="off"),
    "restart_policy": Spec("5.15", "unbounded restart policies", "use --restart on-failure:5 (or no policy)",
                           params=(("max_retries", 5),)),
    "exec_privileged": Spec("5.23", "docker exec --privileged", "run exec without --privileged"),
    "exec_root": Spec("5.24", "docker exec --user root", "exec as a non-root user (--user 1000)"),
    "image_digest": Spec("4.2", "images not pinned by digest", "run IMAGE@sha256:DIGEST", default="off"),
    "image_registries": Spec("4.2", "images from registries outside an allowlist",
                             "use an image from an allowed registry", default="off", params=(("allow", ()),)),
    "image_signature": Spec("4.5", "images without a valid signature", "run a signed image, pinned by digest",
                            default="off", params=(("public_keys", ()), ("ca_file", None), ("insecure_http", False),
                                                   ("timeout", 10.0))),
    "plugin_install": Spec("5.5", "plugins (they ask for host privileges)",
                           "ask an administrator to allowlist the plugin", params=(("allow", ()),)),
    "build_host_network": Spec("5.10", "builds on the host network", "build without --network host"),
}
# fmt: on

_PARAM_TYPES: dict[str, t.Any] = {
    "allow": list,
    "paths": list,
    "sockets": list,
    "public_keys": list,
    "max_retries": int,
    "ca_file": (str, type(None)),
    "insecure_http": bool,
    "timeout": (int, float),
}


class Rule(t.NamedTuple):
    name: str
    action: str
    params: dict[str, t.Any]

    @property
    def spec(self) -> Spec:
        return RULES[self.name]


class Exception_(t.NamedTuple):
    """One exception: who (user and/or image pattern), to which rules, why, and until when."""

    number: int
    rules: tuple[str, ...]
    justification: str
    expires: datetime.datetime
    user: str | None = None
    image: str | None = None

    def expired(self, now: datetime.datetime) -> bool:
        return now >= self.expires

    def matches(self, rule: str, user: str, images: t.Sequence[str]) -> bool:
        if rule not in self.rules and "all" not in self.rules:
            return False
        if self.user is not None and self.user != user:
            return False
        pattern = self.image
        return pattern is None or any(fnmatch.fnmatchcase(i, pattern) for i in images)


class Policy(t.NamedTuple):
    mode: str
    rules: dict[str, Rule]
    exceptions: tuple[Exception_, ...]

    def rule(self, name: str) -> Rule:
        return self.rules[name]

    def canonical(self) -> dict[str, t.Any]:
        """The policy as stored on the host: every rule with its control, action and parameters."""
        return {
            "version": 1,
            "mode": self.mode,
            "rules": {
                n: {"control": r.spec.control, "guards": r.spec.title, "action": r.action, **r.params}
                for n, r in sorted(self.rules.items())
            },
            "exceptions": [
                {
                    k: v
                    for k, v in (
                        ("user", e.user),
                        ("image", e.image),
                        ("rules", list(e.rules)),
                        ("justification", e.justification),
                        ("expires", e.expires.isoformat()),
                    )
                    if v is not None
                }
                for e in self.exceptions
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.canonical(), indent=2, sort_keys=True) + "\n"


def _where(key: str, value: t.Any, fix: str) -> PolicyError:
    return PolicyError(f"policy {key}: {value!r} {fix}")


def _rule(name: str, raw: t.Any) -> Rule:
    spec = RULES.get(name)
    if spec is None:
        raise _where(f"rules.{name}", raw, f"is not a rule; the rules are: {', '.join(sorted(RULES))}")
    if isinstance(raw, str):
        raw = {"action": raw}
    if not isinstance(raw, dict):
        raise _where(f"rules.{name}", raw, "must be an action (deny, warn, off) or a mapping with action:")
    # "control" and "guards" are what the stored policy shows; accepted back when they agree
    control = raw.get("control", spec.control)
    if str(control) != spec.control:
        raise _where(f"rules.{name}.control", control, f"is wrong: this rule serves CIS {spec.control}")
    action = raw.get("action", spec.default)
    if action not in ACTIONS:
        raise _where(f"rules.{name}.action", action, f"is not one of {', '.join(ACTIONS)}")
    known = dict(spec.params)
    unknown = sorted(set(raw) - set(known) - {"action", "control", "guards"})
    if unknown:
        allowed = ", ".join(["action", *known]) or "action"
        raise _where(f"rules.{name}", unknown, f"are not options of this rule; it takes: {allowed}")
    params = {}
    for key, default in known.items():
        value = raw.get(key, default)
        if isinstance(value, tuple):
            value = list(value)
        want = _PARAM_TYPES[key]
        if isinstance(value, bool) and want in (int, (int, float)):
            raise _where(f"rules.{name}.{key}", value, "must be a number")
        if not isinstance(value, want):
            raise _where(f"rules.{name}.{key}", value, f"has the wrong type; the default is {default!r}")
        if want is list and not all(isinstance(v, str) and v for v in value):
            raise _where(f"rules.{name}.{key}", value, "must be a list of non-empty strings")
        params[key] = value
    _check_params(name, params)
    return Rule(name, action, params)


def _check_params(name: str, params: dict[str, t.Any]) -> None:
    for key in ("paths", "sockets"):
        for p in params.get(key, ()):
            if not p.startswith("/"):
                raise _where(f"rules.{name}.{key}", p, "must be an absolute path")
    for cap in params.get("allow", ()) if name == "capabilities" else ():
        if not re.fullmatch(r"[A-Z_]+", pr.capability(cap)) or pr.capability(cap) == "ALL":
            raise _where(f"rules.{name}.allow", cap, "is not a capability name (e.g. NET_BIND_SERVICE; ALL is refused)")
    if params.get("max_retries", 1) < 0:
        raise _where(f"rules.{name}.max_retries", params["max_retries"], "must be 0 or more")
    if params.get("timeout", 1) <= 0:
        raise _where(f"rules.{name}.timeout", params["timeout"], "must be positive")
    if name == "image_signature":
        for i, key in enumerate(params["public_keys"]):
            if "-----BEGIN PUBLIC KEY-----" not in key:
                raise _where(f"rules.{name}.public_keys[{i}]", key[:40], "is not a PEM public key")


def _expiry(value: t.Any, key: str) -> datetime.datetime:
    """A date (valid through that day, UTC) or an ISO date-time (naive means UTC)."""
    if isinstance(value, datetime.datetime):
        when = value
    elif isinstance(value, datetime.date):
        when = datetime.datetime.combine(value + datetime.timedelta(days=1), datetime.time())
    else:
        text = str(value or "").strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return _expiry(datetime.date.fromisoformat(text), key)
            when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _where(key, value, "is not a date (YYYY-MM-DD) or a date-time (YYYY-MM-DDTHH:MM:SSZ)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def _exception(i: int, raw: t.Any) -> Exception_:
    key = f"exceptions[{i}]"
    if not isinstance(raw, dict):
        raise _where(key, raw, "must be a mapping with rules, justification, expires and a user and/or an image")
    unknown = sorted(set(raw) - {"user", "image", "rules", "justification", "expires"})
    if unknown:
        raise _where(key, unknown, "are not exception keys (user, image, rules, justification, expires)")
    user, image = raw.get("user"), raw.get("image")
    if user is None and image is None:
        raise _where(key, raw, "names neither a user nor an image: an exception for everyone is a rule turned off")
    for k, v in (("user", user), ("image", image)):
        if v is not None and (not isinstance(v, str) or not v.strip()):
            raise _where(f"{key}.{k}", v, "must be a non-empty string")
    rules = raw.get("rules")
    if not isinstance(rules, list) or not rules:
        raise _where(f"{key}.rules", rules, "must list the rules excepted (or [all])")
    for r in rules:
        if r != "all" and r not in RULES:
            raise _where(f"{key}.rules", r, f"is not a rule; the rules are: {', '.join(sorted(RULES))}")
    justification = str(raw.get("justification") or "").strip()
    if not justification:
        raise _where(f"{key}.justification", raw.get("justification"), "is required: say why, and who decided")
    if "expires" not in raw:
        raise _where(f"{key}.expires", None, "is required: every exception ends (YYYY-MM-DD)")
    return Exception_(i, tuple(rules), justification, _expiry(raw["expires"], f"{key}.expires"), user, image)


def load(raw: t.Any) -> Policy:
    """A validated Policy from a mapping; PolicyError naming the first problem."""
    if not isinstance(raw, dict):
        raise PolicyError(f"the policy must be a mapping with mode, rules and exceptions; got {type(raw).__name__}")
    unknown = sorted(set(raw) - {"version", "mode", "rules", "exceptions"})
    if unknown:
        raise _where("keys", unknown, "are unknown; a policy has version, mode, rules and exceptions")
    if raw.get("version", 1) != 1:
        raise _where("version", raw.get("version"), "is not supported; this plugin reads version 1")
    mode = raw.get("mode", "enforce")
    if mode not in MODES:
        raise _where("mode", mode, f"is not one of {', '.join(MODES)}")
    rules_raw = raw.get("rules") or {}
    if not isinstance(rules_raw, dict):
        raise _where("rules", rules_raw, "must be a mapping of rule names to actions")
    for name in rules_raw:
        if name not in RULES:
            raise _where(f"rules.{name}", rules_raw[name], f"is not a rule; the rules are: {', '.join(sorted(RULES))}")
    rules = {name: _rule(name, rules_raw.get(name, {})) for name in RULES}
    exc_raw = raw.get("exceptions") or []
    if not isinstance(exc_raw, list):
        raise _where("exceptions", exc_raw, "must be a list")
    return Policy(mode, rules, tuple(_exception(i, e) for i, e in enumerate(exc_raw)))


def loads(text: str) -> Policy:
    """A validated Policy from its stored JSON."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise PolicyError(f"the policy file is not JSON: {exc}") from None
    return load(raw)
