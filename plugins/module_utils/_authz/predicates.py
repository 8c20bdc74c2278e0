# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Judgments on a container's HostConfig that the audit (after the fact, on `docker inspect`) and the
authorization plugin (before the fact, on the create request) share: one copy of each rule.

Pure functions of plain dicts and strings; stdlib only, so the plugin runs them on the host without Ansible.
"""

from __future__ import annotations

import ipaddress
import os
import typing as t

# how Docker reads a boolean (Go's strconv.ParseBool)
TRUE_WORDS = ("1", "t", "T", "TRUE", "true", "True")
FALSE_WORDS = ("0", "f", "F", "FALSE", "false", "False")

# CIS 5.6: host directories no container should see
SENSITIVE = frozenset({"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"})

# HostConfig fields naming a namespace shared with the host when set to "host", by the name a policy uses
NAMESPACE_FIELDS = {
    "network": "NetworkMode",
    "pid": "PidMode",
    "ipc": "IpcMode",
    "uts": "UTSMode",
    "userns": "UsernsMode",
    "cgroup": "CgroupnsMode",
}


def opt(o: str) -> str:
    """A --security-opt in its KEY=VALUE spelling (Docker still takes the legacy KEY:VALUE)."""
    key, sep, value = o.partition("=") if "=" in o else o.partition(":")
    return f"{key}={value}" if sep else key


def security_opts(host_config: dict[str, t.Any]) -> list[str]:
    """The security options of a HostConfig, each in its KEY=VALUE spelling."""
    return [opt(str(o)) for o in host_config.get("SecurityOpt") or []]


def host_namespace(host_config: dict[str, t.Any], field: str) -> bool:
    """The namespace of HostConfig field (NetworkMode, PidMode, ...) is the host's."""
    return str(host_config.get(field) or "") == "host"


def limited(host_config: dict[str, t.Any], field: str) -> bool:
    """A positive limit is set in HostConfig field (Memory, PidsLimit); 0, -1 and none mean unlimited."""
    try:
        return int(host_config.get(field) or 0) > 0
    except (TypeError, ValueError):
        return False


def restart_problem(policy: dict[str, t.Any], max_retries: int = 5) -> str | None:
    """What is unbounded about a restart policy ({Name, MaximumRetryCount}), or None (CIS 5.15)."""
    name = str(policy.get("Name") or "no")
    count = int(policy.get("MaximumRetryCount") or 0)
    if name in ("always", "unless-stopped"):
        return f"restart policy {name}"
    if name == "on-failure" and (count == 0 or count > max_retries):
        return f"restart policy on-failure:{count or 'unlimited'}"
    return None


def host_devices(host_config: dict[str, t.Any]) -> list[str]:
    """The host devices a HostConfig hands in (CIS 5.18)."""
    return [str(d.get("PathOnHost")) for d in host_config.get("Devices") or [] if isinstance(d, dict)]


def capability(name: str) -> str:
    """A capability in one spelling: upper case, without the CAP_ prefix (Docker takes both)."""
    name = name.strip().upper()
    return name[4:] if name.startswith("CAP_") else name


def added_capabilities(host_config: dict[str, t.Any], allow: t.Iterable[str] = ()) -> list[str]:
    """Capabilities a HostConfig adds beyond allow (CIS 5.4)."""
    allowed = {capability(c) for c in allow}
    return [str(c) for c in host_config.get("CapAdd") or [] if capability(str(c)) not in allowed]


def seccomp_unconfined(opts: t.Sequence[str]) -> bool:
    """The security options turn the seccomp profile off (CIS 5.22)."""
    return "seccomp=unconfined" in opts


def apparmor_unconfined(opts: t.Sequence[str]) -> bool:
    """The security options turn the AppArmor profile off (CIS 5.2)."""
    return "apparmor=unconfined" in opts


def no_new_privileges_off(opts: t.Sequence[str]) -> bool:
    """The security options turn no-new-privileges off, overriding the daemon's setting (CIS 5.26)."""
    return any(o == f"no-new-privileges={w}" for o in opts for w in FALSE_WORDS)


def no_new_privileges_on(opts: t.Sequence[str]) -> bool:
    """The security options turn no-new-privileges on."""
    on = ["no-new-privileges"] + [f"no-new-privileges={w}" for w in TRUE_WORDS]
    return any(o in on for o in opts)


def port_bindings(ports: dict[str, t.Any] | None) -> list[tuple[str, str, str]]:
    """(container port, host ip, host port) of {"80/tcp": [{"HostIp": ..., "HostPort": ...}]}: the shape of
    a create request's PortBindings and of inspect's NetworkSettings.Ports."""
    out = []
    for cport, binds in (ports or {}).items():
        for b in binds or []:
            if isinstance(b, dict):
                out.append((str(cport), str(b.get("HostIp") or ""), str(b.get("HostPort") or "")))
    return out


def low_port(host_port: str) -> bool:
    """A host port (or the start of a range, "80-90") below 1024; empty and 0 mean one the kernel picks."""
    start = host_port.split("-", 1)[0].strip()
    return start.isdigit() and 0 < int(start) < 1024


def unspecified(ip: str) -> bool:
    """Every interface: no address, or an unspecified one in any spelling (0.0.0.0, ::, [::], ::0)."""
    if not ip.strip("[]"):
        return True
    try:
        return ipaddress.ip_address(ip.strip("[]")).is_unspecified
    except ValueError:
        return False


def run_path(path: str) -> str:
    """A normalized path with /var/run spelled /run (one is a link to the other on every current distribution)."""
    path = os.path.normpath(path)
    return "/run" + path[len("/var/run") :] if path == "/var/run" or path.startswith("/var/run/") else path


def exposes_socket(source: str, sockets: t.Iterable[str]) -> bool:
    """A mount source that is a `docker.sock`, one of the daemon's sockets, or a directory holding one (CIS 5.32)."""
    src = run_path(source)
    known = {run_path(s) for s in sockets}
    if src.endswith("docker.sock") or src in known:
        return True
    return any(s.startswith(src.rstrip("/") + "/") for s in known)


def within(path: str, top: str) -> bool:
    """path is top or lies below it (both normalized)."""
    return path == top or top == "/" or path.startswith(top.rstrip("/") + "/")
