# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""CIS section 5, the container runtime: each running container's inspect document, judged one by one.

Docstrings follow the format stated in _cis.checks.
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._authz import predicates as pr
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.common import none_running, per_container
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import Container, FactError, Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Check, Verdict, section

CHECKS, check = section()


@check("swarm_disabled")
def _swarm_disabled(f: Facts, arg: str) -> Verdict:
    """Pass when swarm mode is not active; manual when it is (a person confirms it is needed)."""
    state = (f.info().get("Swarm") or {}).get("LocalNodeState", "inactive")
    if state == "active":
        return Verdict("manual", ["swarm mode is active: confirm it is needed"])
    return Verdict("pass", [f"swarm {state}"])


@check("apparmor")
def _apparmor(f: Facts, arg: str) -> Verdict:
    """Fail each running container with no AppArmor profile, or `unconfined`, or whose process the kernel
    reports in another mode than enforce (/proc/PID/attr/current: a complain-mode profile denies nothing).

    Not applicable: AppArmor is not in the daemon's security options (the kernel has no AppArmor).
    """
    if "apparmor" not in f.security_options():
        return Verdict("not_applicable", ["AppArmor is not enabled in this host's kernel (not in docker info)"])

    def judge(c: Container) -> str | None:
        prof = str(c.inspect.get("AppArmorProfile") or "")
        if not prof or prof == "unconfined":
            return f"AppArmorProfile={prof or 'none'}"
        pid = int((c.inspect.get("State") or {}).get("Pid") or 0)
        try:  # what the kernel applies; unreadable (another pid namespace, say): the engine's word stands
            label = f.host.read(f"/proc/{pid}/attr/current").strip() if pid else ""
        except OSError:
            label = ""
        if label and not label.endswith(" (enforce)"):
            return f"AppArmorProfile={prof}, but the kernel runs its process as {label}"
        return None

    return per_container(f, judge, "AppArmor profile applied")


@check("selinux")
def _selinux(f: Facts, arg: str) -> Verdict:
    """Fail each running container without SELinux label options, or with `label=disable`.

    Not applicable: SELinux is not in the daemon's security options (`selinux-enabled` off or no SELinux).
    """
    if "selinux" not in f.security_options():
        return Verdict("not_applicable", ["SELinux is not enabled in the daemon (selinux-enabled)"])

    def judge(c: Container) -> str | None:
        labels = [o for o in pr.security_opts(c.host_config) if o.startswith("label")]
        if "label=disable" in labels:
            return "label=disable"
        return None if labels else "no SELinux label options"

    return per_container(f, judge, "SELinux labels set")


@check("capabilities")
def _capabilities(f: Facts, arg: str) -> Verdict:
    """Fail each running container that adds capabilities (`CapAdd`) or is privileged."""

    def judge(c: Container) -> str | None:
        if c.host_config.get("Privileged"):
            return "privileged: every capability"
        added = pr.added_capabilities(c.host_config)
        return f"CapAdd={','.join(added)}" if added else None

    return per_container(f, judge, "no capabilities added")


@check("privileged")
def _privileged(f: Facts, arg: str) -> Verdict:
    """Fail each running container started with `--privileged`."""
    return per_container(f, lambda c: "Privileged: true" if c.host_config.get("Privileged") else None, "not privileged")


def _mount_sources(c: Container) -> list[dict[str, t.Any]]:
    return [m for m in c.inspect.get("Mounts") or [] if m.get("Type") == "bind"]


@check("sensitive_mounts")
def _sensitive_mounts(f: Facts, arg: str) -> Verdict:
    """Fail each running container that bind-mounts /, /boot, /dev, /etc, /lib, /proc, /sys or /usr."""

    def judge(c: Container) -> str | None:
        bad = [str(m.get("Source")) for m in _mount_sources(c) if os.path.normpath(str(m.get("Source"))) in SENSITIVE]
        return f"mounts {', '.join(bad)}" if bad else None

    return per_container(f, judge, "no sensitive host directory mounted")


SENSITIVE = pr.SENSITIVE


@check("sshd")
def _sshd(f: Facts, arg: str) -> Verdict:
    """Fail each running container whose PID namespace runs an `sshd` process (one /proc scan for all)."""
    procs = f.processes_by_pidns()

    def judge(c: Container) -> str | None:
        pid = int((c.inspect.get("State") or {}).get("Pid") or 0)
        if not pid:
            raise FactError(f"{c.name} has no process to look into (State.Pid is 0)")
        ns = f.pidns_of(pid)
        if ns is None:
            raise FactError(f"cannot read the PID namespace of {c.name} (pid {pid})")
        return "sshd is running" if "sshd" in procs.get(ns, []) else None

    return per_container(f, judge, "no sshd process")


def _port_bindings(c: Container) -> list[tuple[str, str, str]]:
    """(container port, host ip, host port) of published ports."""
    return pr.port_bindings((c.inspect.get("NetworkSettings") or {}).get("Ports"))


@check("privileged_ports")
def _privileged_ports(f: Facts, arg: str) -> Verdict:
    """Fail each running container that publishes a host port below 1024."""

    def judge(c: Container) -> str | None:
        low = [f"{hp}->{cp}" for cp, _host_ip, hp in _port_bindings(c) if pr.low_port(hp)]
        return f"host ports below 1024: {', '.join(low)}" if low else None

    return per_container(f, judge, "no privileged host port")


@check("published_ports")
def _published_ports(f: Facts, arg: str) -> Verdict:
    """Manual: lists each running container's published ports for a person to confirm they are needed."""
    na = none_running(f)
    if na:
        return na
    lines = []
    for c in f.containers():
        ports = [(ip or "*") + f":{hp}->{cp}" for cp, ip, hp in _port_bindings(c)]
        if ports:
            lines.append(f"{c.name}: {', '.join(ports)}")
    return Verdict("manual", lines[:20] or ["no published ports"])


def _mode_check(field: str, what: str) -> Check:
    def run(f: Facts, arg: str) -> Verdict:
        """Fail each running container whose `HostConfig.{field}` is `host` (it shares the host's namespace)."""
        return per_container(f, lambda c: f"{field}=host" if pr.host_namespace(c.host_config, field) else None, what)

    return run


CHECKS["host_network"] = _mode_check("NetworkMode", "not on the host network")


CHECKS["host_pid"] = _mode_check("PidMode", "own PID namespace")


CHECKS["host_ipc"] = _mode_check("IpcMode", "own IPC namespace")


CHECKS["host_uts"] = _mode_check("UTSMode", "own UTS namespace")


CHECKS["host_userns"] = _mode_check("UsernsMode", "not in the host user namespace")


def _limit_check(field: str, limit: str, what: str) -> Check:
    def run(f: Facts, arg: str) -> Verdict:
        """Fail each running container without a {limit}."""
        return per_container(f, lambda c: None if pr.limited(c.host_config, field) else f"no {limit}", what)

    return run


CHECKS["memory_limit"] = _limit_check("Memory", "memory limit", "memory limited")
CHECKS["pids_limit"] = _limit_check("PidsLimit", "PIDs limit", "PIDs limited")


@check("cpu_shares")
def _cpu_shares(f: Facts, arg: str) -> Verdict:
    """Fail each running container whose CPU shares are unset or the default 1024."""

    def judge(c: Container) -> str | None:
        shares = int(c.host_config.get("CpuShares") or 0)
        return None if shares not in (0, 1024) else "CPU shares not set"

    return per_container(f, judge, "CPU shares set")


@check("read_only_rootfs")
def _read_only(f: Facts, arg: str) -> Verdict:
    """Fail each running container whose root filesystem is writable."""
    return per_container(
        f, lambda c: None if c.host_config.get("ReadonlyRootfs") else "root filesystem writable", "read-only rootfs"
    )


@check("port_binding_ip")
def _port_binding_ip(f: Facts, arg: str) -> Verdict:
    """Fail each running container that publishes a port on every interface (0.0.0.0, ::, no address)."""

    def judge(c: Container) -> str | None:
        wild = [f"{hp}->{cp}" for cp, ip, hp in _port_bindings(c) if pr.unspecified(ip)]
        return f"published on every interface: {', '.join(sorted(set(wild)))}" if wild else None

    return per_container(f, judge, "ports bound to a specific address")


@check("restart_policy")
def _restart_policy(f: Facts, arg: str) -> Verdict:
    """Fail each running container restarting `always`, `unless-stopped`, or `on-failure` above 5 times."""

    def judge(c: Container) -> str | None:
        return pr.restart_problem(c.host_config.get("RestartPolicy") or {})

    return per_container(f, judge, "restart bounded (on-failure:5 or less, or none)")


@check("host_devices")
def _devices(f: Facts, arg: str) -> Verdict:
    """Fail each running container given host devices (`--device`)."""

    def judge(c: Container) -> str | None:
        devs = pr.host_devices(c.host_config)
        return f"host devices: {', '.join(devs)}" if devs else None

    return per_container(f, judge, "no host devices")


def _ulimit(u: t.Any) -> tuple[str, str, str]:
    return str(u.get("Name")), str(u.get("Soft")), str(u.get("Hard"))


def _default_ulimits(value: t.Any) -> set[tuple[str, str, str]]:
    """daemon.json's {"nofile": {"Name": ..., "Soft": ..., "Hard": ...}} or --default-ulimit NAME=SOFT[:HARD]."""
    if isinstance(value, dict):
        return {_ulimit({"Name": n, **u}) for n, u in value.items() if isinstance(u, dict)}
    out = set()
    for text in value or []:
        name, _eq, limits = str(text).partition("=")
        soft, _colon, hard = limits.partition(":")
        out.add((name, soft, hard or soft))
    return out


@check("ulimit_overrides")
def _ulimit_overrides(f: Facts, arg: str) -> Verdict:
    """Pass when no running container sets ulimits of its own (the daemon's default-ulimits aside); manual
    naming those that do.
    """
    na = none_running(f)
    if na:
        return na
    containers = f.containers()
    # dockerd copies its default-ulimits into every container's HostConfig: those are no override
    defaults = _default_ulimits(f.setting("default-ulimits")[0])
    over = []
    for c in containers:
        own = [u for u in c.host_config.get("Ulimits") or [] if _ulimit(u) not in defaults]
        if own:
            over.append(f"{c.name}: {[u.get('Name') for u in own]}")
    if not over:
        return Verdict("pass", ["no container overrides the default ulimits"])
    return Verdict("manual", ["ulimit overrides (confirm each is needed): " + "; ".join(over[:10])])


@check("mount_propagation")
def _propagation(f: Facts, arg: str) -> Verdict:
    """Fail each running container with a mount of `shared` or `rshared` propagation."""

    def judge(c: Container) -> str | None:
        shared = [
            str(m.get("Destination"))
            for m in c.inspect.get("Mounts") or []
            if m.get("Propagation") in ("shared", "rshared")
        ]
        return f"shared propagation on {', '.join(shared)}" if shared else None

    return per_container(f, judge, "no shared mount propagation")


@check("seccomp_unconfined")
def _seccomp(f: Facts, arg: str) -> Verdict:
    """Fail each running container run with `seccomp=unconfined` or privileged, and every one when the daemon
    applies no seccomp profile.
    """
    daemon_off = None
    if "seccomp" not in f.security_options():
        daemon_off = "the daemon applies no seccomp profile (not in docker info)"
    elif f.setting("seccomp-profile")[0] == "unconfined" or "name=seccomp,profile=unconfined" in (
        f.info().get("SecurityOptions") or []
    ):
        daemon_off = "the daemon's seccomp-profile is unconfined"

    def judge(c: Container) -> str | None:
        if daemon_off:
            return daemon_off
        if pr.seccomp_unconfined(pr.security_opts(c.host_config)):
            return "seccomp=unconfined"
        return "privileged: no seccomp profile" if c.host_config.get("Privileged") else None

    return per_container(f, judge, "seccomp profile applied")


@check("exec_privileged")
def _exec_privileged(f: Facts, arg: str) -> Verdict:
    """Manual: the daemon keeps no record of `docker exec`; the audit log shows `exec --privileged`."""
    return Verdict(
        "manual", ["docker exec history is not kept by the daemon: review the audit log (1.1.3) for exec calls"]
    )


@check("exec_root")
def _exec_root(f: Facts, arg: str) -> Verdict:
    """Manual: the daemon keeps no record of `docker exec`; the audit log shows `exec --user=root`."""
    return Verdict(
        "manual", ["docker exec history is not kept by the daemon: review the audit log for exec --user=root"]
    )


@check("container_cgroup")
def _container_cgroup(f: Facts, arg: str) -> Verdict:
    """Fail each running container given a `CgroupParent` of its own."""

    def judge(c: Container) -> str | None:
        parent = str(c.host_config.get("CgroupParent") or "")
        return f"CgroupParent={parent}" if parent else None

    return per_container(f, judge, "default cgroup")


@check("container_nnp")
def _container_nnp(f: Facts, arg: str) -> Verdict:
    """Fail each running container that can gain privileges: `no-new-privileges` neither daemon-wide nor in
    its security options, or set to false there.
    """
    daemon_wide = f.setting("no-new-privileges")[0]

    def judge(c: Container) -> str | None:
        opts = pr.security_opts(c.host_config)
        if pr.no_new_privileges_off(opts):
            return "no-new-privileges=false"
        if daemon_wide is True or pr.no_new_privileges_on(opts):
            return None
        return "may gain privileges (no no-new-privileges)"

    return per_container(f, judge, "no-new-privileges" + (" (daemon-wide)" if daemon_wide is True else ""))


@check("runtime_health")
def _runtime_health(f: Facts, arg: str) -> Verdict:
    """Fail each running container without a health check."""

    def judge(c: Container) -> str | None:
        health = (c.inspect.get("State") or {}).get("Health")
        return None if health else "no health check"

    return per_container(f, judge, "health checked")


@check("manual_containers")
def _manual_containers(f: Facts, arg: str) -> Verdict:
    """Manual: lists the running containers' images, to compare with their latest versions."""
    containers = f.containers()
    images = sorted({str((c.inspect.get("Config") or {}).get("Image")) for c in containers})
    return Verdict("manual", [f"{len(containers)} running containers from images: {', '.join(images[:10]) or 'none'}"])


@check("default_bridge")
def _default_bridge(f: Facts, arg: str) -> Verdict:
    """Fail each running container attached to the default bridge (docker0)."""

    def judge(c: Container) -> str | None:
        nets = ((c.inspect.get("NetworkSettings") or {}).get("Networks") or {}).keys()
        return "on the default bridge" if "bridge" in nets else None

    return per_container(f, judge, "not on docker0")


@check("docker_sock_mount")
def _sock_mount(f: Facts, arg: str) -> Verdict:
    """Fail each running container that bind-mounts a `docker.sock`, the daemon's socket, or a directory
    holding it (/var/run and /run alike).
    """
    # the daemon's sockets, wherever they are; /var/run is /run
    sockets = [f.target.socket] + [h[len("unix://") :] for h in f.hosts() if h.startswith("unix://")]

    def judge(c: Container) -> str | None:
        socks = [
            str(m.get("Source"))
            for m in c.inspect.get("Mounts") or []
            if m.get("Type") == "bind" and pr.exposes_socket(str(m.get("Source") or ""), sockets)
        ]
        return f"mounts {', '.join(socks)}" if socks else None

    return per_container(f, judge, "Docker socket not mounted")
