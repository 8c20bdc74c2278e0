# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The daemon.json model: documented keys and their types, merge, compare, diff.

Pure Python, no AnsibleModule: every function takes plain data and raises
DaemonConfigError with a message naming the key, the value and the fix.
"""

from __future__ import annotations

import difflib
import json
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError


class DaemonConfigError(DockguardError):
    """A daemon.json problem, with a message fit for a user."""


# Type descriptors: "bool", "str", "int", "dict" (any object), "any",
# ("list", ELEM), ("map", VALUE) (object with free keys), ("object", {FIELD: TYPE})
# (object with known fields), ("choice", (A, B, ...)), ("oneof", (T1, T2)).
TypeSpec = t.Any

_ULIMIT: TypeSpec = ("object", {"Name": "str", "Hard": "int", "Soft": "int"})
_RUNTIME: TypeSpec = (
    "object",
    {"path": "str", "runtimeArgs": ("list", "str"), "runtimeType": "str", "options": "dict"},
)
_POOL: TypeSpec = ("object", {"base": "str", "size": "int"})

# Keys of /etc/docker/daemon.json on Linux, from the dockerd reference
# (https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file),
# Engine 20.10 to 28.
KNOWN_KEYS: dict[str, TypeSpec] = {
    "allow-direct-routing": "bool",
    "allow-nondistributable-artifacts": ("list", "str"),
    "api-cors-header": "str",
    "authorization-plugins": ("list", "str"),
    "bip": "str",
    "bip6": "str",
    "bridge": "str",
    "bridge-accept-fwmark": "str",
    "builder": "dict",
    "cdi-spec-dirs": ("list", "str"),
    "cgroup-parent": "str",
    "containerd": "str",
    "containerd-namespace": "str",
    "containerd-plugins-namespace": "str",
    "cpu-rt-period": "int",
    "cpu-rt-runtime": "int",
    "cri-containerd": "bool",
    "data-root": "str",
    "debug": "bool",
    "default-address-pools": ("list", _POOL),
    "default-cgroupns-mode": ("choice", ("host", "private")),
    "default-gateway": "str",
    "default-gateway-v6": "str",
    "default-ipc-mode": ("choice", ("private", "shareable")),
    "default-network-opts": ("map", ("map", "str")),
    "default-runtime": "str",
    "default-shm-size": "str",
    "default-ulimits": ("map", _ULIMIT),
    "dns": ("list", "str"),
    "dns-opts": ("list", "str"),
    "dns-search": ("list", "str"),
    "exec-opts": ("list", "str"),
    "exec-root": "str",
    "experimental": "bool",
    "features": ("map", "bool"),
    "firewall-backend": ("choice", ("iptables", "nftables")),
    "fixed-cidr": "str",
    "fixed-cidr-v6": "str",
    "group": "str",
    "host-gateway-ip": ("oneof", ("str", ("list", "str"))),
    "hosts": ("list", "str"),
    "http-proxy": "str",
    "https-proxy": "str",
    "icc": "bool",
    "init": "bool",
    "init-path": "str",
    "insecure-registries": ("list", "str"),
    "ip": "str",
    "ip-forward": "bool",
    "ip-forward-no-drop": "bool",
    "ip-masq": "bool",
    "ip6tables": "bool",
    "iptables": "bool",
    "ipv6": "bool",
    "labels": ("list", "str"),
    "live-restore": "bool",
    "log-driver": "str",
    "log-format": ("choice", ("text", "json")),
    "log-level": ("choice", ("debug", "info", "warn", "error", "fatal")),
    "log-opts": ("map", "str"),
    "max-concurrent-downloads": "int",
    "max-concurrent-uploads": "int",
    "max-download-attempts": "int",
    "metrics-addr": "str",
    "min-api-version": "str",
    "mtu": "int",
    "no-new-privileges": "bool",
    "no-proxy": "str",
    "node-generic-resources": ("list", "str"),
    "oom-score-adjust": "int",
    "pidfile": "str",
    "proxies": ("object", {"http-proxy": "str", "https-proxy": "str", "no-proxy": "str"}),
    "raw-logs": "bool",
    "registry-mirrors": ("list", "str"),
    "runtimes": ("map", _RUNTIME),
    "seccomp-profile": "str",
    "selinux-enabled": "bool",
    "shutdown-timeout": "int",
    "storage-driver": "str",
    "storage-opts": ("list", "str"),
    "swarm-default-advertise-addr": "str",
    "tls": "bool",
    "tlscacert": "str",
    "tlscert": "str",
    "tlskey": "str",
    "tlsverify": "bool",
    "userland-proxy": "bool",
    "userland-proxy-path": "str",
    "userns-remap": "str",
}

# Keys the daemon no longer accepts, with what replaces them.
REMOVED_KEYS: dict[str, str] = {
    "cluster-advertise": "removed in Engine 23 (legacy overlay networks); use Swarm mode",
    "cluster-store": "removed in Engine 23 (legacy overlay networks); use Swarm mode",
    "cluster-store-opts": "removed in Engine 23 (legacy overlay networks); use Swarm mode",
    "disable-legacy-registry": "removed in Engine 17.12; delete the key",
    "graph": "removed in Engine 23; use data-root",
}

# Lists whose order carries no meaning: compared as sets.
UNORDERED_KEYS = frozenset(
    {
        "allow-nondistributable-artifacts",
        "cdi-spec-dirs",
        "exec-opts",
        "hosts",
        "insecure-registries",
        "labels",
        "node-generic-resources",
        "storage-opts",
    }
)


_SCALAR_NAMES = {
    "bool": ("a boolean", "booleans"),
    "str": ("a string", "strings"),
    "int": ("an integer", "integers"),
    "dict": ("an object", "objects"),
    "any": ("any value", "any values"),
}


def _type_name(spec: TypeSpec, plural: bool = False) -> str:
    """What spec accepts, in words: "a string", or with plural "strings" (for "a list of ...")."""
    if isinstance(spec, str):
        return _SCALAR_NAMES[spec][plural] if spec in _SCALAR_NAMES else spec
    kind = spec[0]
    if kind == "list":
        return ("lists of " if plural else "a list of ") + _type_name(spec[1], plural=True)
    if kind == "map":
        return ("objects" if plural else "an object") + f" whose values are {_type_name(spec[1])}"
    if kind == "object":
        return ("objects" if plural else "an object") + " with fields " + ", ".join(spec[1])
    if kind == "choice":
        return "one of " + ", ".join(repr(c) for c in spec[1])
    return " or ".join(_type_name(s, plural) for s in spec[1])


_JSON_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python, not in JSON
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "list"),
    (dict, "object"),
    (type(None), "null"),
)


def _json_type(value: t.Any) -> str:
    return next((name for kind, name in _JSON_NAMES if isinstance(value, kind)), type(value).__name__)


_SCALARS: dict[str, t.Callable[[t.Any], bool]] = {
    "any": lambda v: True,
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "dict": lambda v: isinstance(v, dict),
}


def _mismatch(where: str, value: t.Any, spec: TypeSpec) -> DaemonConfigError:
    got = "null" if value is None else f"{_json_type(value)} {json.dumps(value)}"
    return DaemonConfigError(f"daemon.json: {where} must be {_type_name(spec)}, got {got}")


def _check_container(where: str, value: t.Any, spec: TypeSpec) -> None:
    kind, inner = spec
    if kind == "list":
        if not isinstance(value, list):
            raise _mismatch(where, value, spec)
        for i, item in enumerate(value):
            _check(f"{where}[{i}]", item, inner)
        return
    if not isinstance(value, dict):
        raise _mismatch(where, value, spec)
    for k, item in value.items():
        if kind == "map":
            _check(f"{where}.{k}", item, inner)
        elif k in inner:
            _check(f"{where}.{k}", item, inner[k])
        else:
            raise DaemonConfigError(f"daemon.json: {where} has unknown field {k!r}; known fields: {', '.join(inner)}")


def _check(where: str, value: t.Any, spec: TypeSpec) -> None:
    """Raise DaemonConfigError when value does not match spec; where names it."""
    if isinstance(spec, str):
        if not _SCALARS[spec](value):
            raise _mismatch(where, value, spec)
    elif spec[0] == "choice":
        if not (isinstance(value, str) and value in spec[1]):
            raise _mismatch(where, value, spec)
    elif spec[0] == "oneof":
        for alt in spec[1]:
            try:
                _check(where, value, alt)
                return
            except DaemonConfigError:
                continue
        raise _mismatch(where, value, spec)
    else:
        _check_container(where, value, spec)


def suggest(key: str) -> str | None:
    """The known key an unknown one most likely meant.

    A near spelling first (``tls-verify``), then a known key with a word added
    (``icc_enable`` means ``icc``, not ``selinux-enabled``), then a looser spelling.
    """
    norm = key.strip().lower().replace("_", "-")
    if norm in KNOWN_KEYS:
        return norm
    close = difflib.get_close_matches(norm, list(KNOWN_KEYS), n=1, cutoff=0.85)
    if close:  # a misspelling: tls-verify, logdriver
        return close[0]
    prefixed = [k for k in KNOWN_KEYS if norm.startswith(k + "-")]
    if prefixed:  # a known key with a word added: icc_enable
        return max(prefixed, key=len)
    close = difflib.get_close_matches(norm, list(KNOWN_KEYS), n=1, cutoff=0.6)
    return close[0] if close else None


def validate(config: dict[str, t.Any], allow_unknown: t.Iterable[str] = ()) -> None:
    """Check every key of config against the model; raise on the first problem.

    Keys in allow_unknown are accepted with any value (for settings newer than
    the model).
    """
    if not isinstance(config, dict):
        raise DaemonConfigError(f"daemon.json must hold a JSON object, got {_json_type(config)}")
    allowed = set(allow_unknown)
    for key in sorted(config):
        value = config[key]
        if key in allowed:
            continue
        if key in REMOVED_KEYS:
            raise DaemonConfigError(f"daemon.json: key {key!r} is {REMOVED_KEYS[key]}")
        spec = KNOWN_KEYS.get(key)
        if spec is None:
            close = suggest(key)
            hint = f" (did you mean {close!r}?)" if close else ""
            raise DaemonConfigError(
                f"daemon.json: unknown key {key!r}{hint}; dockerd refuses to start with it. "
                "If your engine is newer than this model, list the key in allow_unknown_keys."
            )
        _check(key, value, spec)


def listens_on_tcp(host: str, tls: bool = False) -> bool:
    """Whether dockerd listens on TCP for this hosts entry.

    As dockerd's ParseHost reads it: surrounding whitespace is trimmed, an
    address without a scheme ("0.0.0.0:2375", ":2375") is tcp, and an empty one
    is the default socket, which is TCP (localhost:2376) when TLS is on.
    """
    host = host.strip()
    if not host:
        return tls
    scheme, sep, _rest = host.partition("://")
    return not sep or scheme == "tcp"


def security_problems(config: dict[str, t.Any]) -> list[str]:
    """Settings that expose the daemon: plain TCP without mutual TLS (CIS 2.7)."""
    problems = []
    hosts = config.get("hosts")
    hosts = hosts if isinstance(hosts, list) else []  # validate() refuses anything else
    tls = config.get("tls") is True
    tcp = [h for h in hosts if isinstance(h, str) and listens_on_tcp(h, tls)]
    if tcp and config.get("tlsverify") is not True:
        problems.append(
            f"hosts {tcp} expose the Docker API over TCP without tlsverify: anyone who reaches the "
            "port is root on this host. Set tlsverify with tlscacert/tlscert/tlskey "
            "(role dockguard.hardening.tls), use ssh:// access, or set allow_insecure_tcp=true."
        )
    return problems


# default-ulimits names and their rows in /proc/PID/limits.
PROC_LIMITS = {
    "core": "Max core file size",
    "cpu": "Max cpu time",
    "data": "Max data size",
    "fsize": "Max file size",
    "locks": "Max file locks",
    "memlock": "Max locked memory",
    "msgqueue": "Max msgqueue size",
    "nice": "Max nice priority",
    "nofile": "Max open files",
    "nproc": "Max processes",
    "rss": "Max resident set",
    "rtprio": "Max realtime priority",
    "sigpending": "Max pending signals",
    "stack": "Max stack size",
}


def parse_proc_limits(text: str) -> dict[str, int | None]:
    """Hard limits from /proc/PID/limits, by ulimit name (None = unlimited)."""
    rows = {v: k for k, v in PROC_LIMITS.items()}
    out: dict[str, int | None] = {}
    for line in text.splitlines()[1:]:
        for label, name in rows.items():
            if line.startswith(label):
                hard = line[len(label) :].split()[1]
                out[name] = None if hard == "unlimited" else int(hard)
    return out


def ulimit_problems(config: dict[str, t.Any], hard_limits: dict[str, int | None], can_raise: bool) -> list[str]:
    """default-ulimits above what this host can grant: every container would fail to start.

    Without CAP_SYS_RESOURCE in the bounding set nobody on the host can raise a
    hard limit, and runc fails with "error setting rlimits".
    """
    if can_raise:
        return []
    problems = []
    for name, spec in sorted((config.get("default-ulimits") or {}).items()):
        limit = hard_limits.get(name)
        hard = spec.get("Hard") if isinstance(spec, dict) else None
        if limit is not None and isinstance(hard, int) and hard > limit:
            problems.append(
                f"default-ulimits.{name} Hard={hard} exceeds the hard limit {limit} that this host can grant "
                "(CAP_SYS_RESOURCE is not in its capability bounding set): every container would fail to start "
                f"with 'error setting rlimits'. Use Hard and Soft of at most {limit}."
            )
    return problems


def canonical(key: str, value: t.Any) -> t.Any:
    """A form of value that compares equal exactly when the daemon sees no difference."""
    # JSON text, not Python values: in Python False == 0 and 1.0 == 1, for dockerd they differ.
    if key in UNORDERED_KEYS and isinstance(value, list):
        return json.dumps(sorted(json.dumps(v, sort_keys=True) for v in value))
    return json.dumps(value, sort_keys=True)


def same_value(key: str, a: t.Any, b: t.Any) -> bool:
    return bool(canonical(key, a) == canonical(key, b))


def desired_config(
    current: dict[str, t.Any],
    settings: dict[str, t.Any],
    remove_keys: t.Iterable[str] = (),
    exclusive: bool = False,
) -> dict[str, t.Any]:
    """The file's new content.

    merge (exclusive false): keys of current that settings do not name are kept;
    a key in settings replaces the whole value. Existing values that are
    structurally equal are kept as they are, so a rewrite is never caused by
    key order or list order where order carries no meaning.
    exclusive: the result holds exactly settings.
    """
    removed = set(remove_keys)
    both = removed & set(settings)
    if both:
        raise DaemonConfigError(f"keys {sorted(both)} are both set in settings and listed in remove_keys; choose one")
    result: dict[str, t.Any] = {} if exclusive else {k: v for k, v in current.items() if k not in removed}
    for key, value in settings.items():
        if key in current and same_value(key, current[key], value):
            result[key] = current[key]
        else:
            result[key] = value
    return result


def diff(before: dict[str, t.Any], after: dict[str, t.Any]) -> dict[str, t.Any]:
    """Structured difference: added, removed, changed (with before/after)."""
    added = {k: after[k] for k in sorted(after) if k not in before}
    removed = {k: before[k] for k in sorted(before) if k not in after}
    changed = {
        k: {"before": before[k], "after": after[k]}
        for k in sorted(before)
        if k in after and not same_value(k, before[k], after[k])
    }
    return {"added": added, "removed": removed, "changed": changed}


def is_empty_diff(d: dict[str, t.Any]) -> bool:
    return not (d["added"] or d["removed"] or d["changed"])


def parse(text: str, path: str) -> dict[str, t.Any]:
    """Parse a daemon.json text; an empty file is an empty configuration."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DaemonConfigError(
            f"{path} is not valid JSON ({exc}); dockerd cannot start with it either. "
            "Fix or remove the file, then run again: nothing was written."
        ) from exc
    if not isinstance(data, dict):
        raise DaemonConfigError(f"{path} must hold a JSON object, found {_json_type(data)}; nothing was written")
    return data


def render(config: dict[str, t.Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True) + "\n"
