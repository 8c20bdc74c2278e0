# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""How each CIS Docker Benchmark control is judged, from Facts.

A check returns a Verdict: pass, fail, manual (a person must judge; the
evidence says what was seen), or not_applicable (with the reason). A check
never passes what it could not read: a missing fact raises FactError, which the
audit reports as `error` for that control only. Checks are named in the
catalogue (_cis_catalogue) and registered here in CHECKS.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._cis_facts import (
    Container,
    FactError,
    Facts,
    FileInfo,
)


class Verdict(t.NamedTuple):
    status: str  # pass, fail, manual, not_applicable
    evidence: list[str]
    items: tuple[dict[str, str], ...] = ()


Check = t.Callable[[Facts, str], Verdict]
CHECKS: dict[str, Check] = {}


def check(name: str) -> t.Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return register


def _yesno(ok: bool, evidence: list[str]) -> Verdict:
    return Verdict("pass" if ok else "fail", evidence)


# -- section 1: the host -----------------------------------------------------------


@check("partition")
def _partition(f: Facts, arg: str) -> Verdict:
    """Pass when the data-root (docker info `DockerRootDir`) is on a mount of its own, not on `/`."""
    root = str(f.info().get("DockerRootDir") or "/var/lib/docker")
    best = max(
        (m for m in f.mounts() if root == m[0] or root.startswith(m[0].rstrip("/") + "/")), key=lambda m: len(m[0])
    )
    ev = [f"data-root {root} is on the mount at {best[0]} ({best[1]})"]
    return _yesno(best[0] != "/", ev)


@check("docker_group")
def _docker_group(f: Facts, arg: str) -> Verdict:
    """Manual: lists the docker group's members (each is root-equivalent) for a person to confirm.

    Not applicable: a rootless daemon (only its user reaches the socket).
    """
    if f.target.rootless:
        return Verdict("not_applicable", [f"rootless daemon: only {f.target.user} reaches its socket"])
    members = f.group_members("docker")
    if members is None:
        return Verdict("manual", ["no docker group: only root reaches the socket"])
    return Verdict("manual", ["docker group members (each is root-equivalent): " + (", ".join(members) or "none")])


BIN_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")


def _resolve_path(f: Facts, arg: str) -> str | None:
    """A control's path argument: unit:NAME (the unit's file), bin:NAME (the installed binary), or a path."""
    if arg.startswith("unit:"):
        return f.unit_file(arg[len("unit:") :])
    if arg.startswith("bin:"):
        name = arg[len("bin:") :]
        if name == "dockerd":
            try:
                return f.host.readlink(f"/proc/{f.dockerd_pid()}/exe")
            except (OSError, FactError):
                pass
        return next((os.path.join(d, name) for d in BIN_DIRS if f.host.stat(os.path.join(d, name)).exists), None)
    return arg


def _slashless(word: str) -> str:
    return word.rstrip("/") or "/" if "/" in word else word


def _has_watch(rules: str, path: str) -> str | None:
    path = _slashless(path)
    for line in rules.splitlines():
        words = [_slashless(w) for w in line.split("#", 1)[0].split()]  # a comment is no rule
        if "-w" in words and words.index("-w") + 1 < len(words) and words[words.index("-w") + 1] == path:
            return line.strip()
        if f"path={path}" in words or f"dir={path}" in words:
            return line.strip()
    return None


def _audit_path(f: Facts, arg: str) -> tuple[str | None, str]:
    """The path a 1.1.x control watches on this host's daemon, or (None, why it does not apply)."""
    if arg == "/var/lib/docker":  # the data-root, wherever it is (the user's own for a rootless daemon)
        return str(f.info().get("DockerRootDir") or arg), ""
    if arg == "/etc/docker/daemon.json":
        return f.config_file(), ""
    if f.target.rootless:
        if arg == "/etc/docker":
            return os.path.join(f.target.home, ".config/docker"), ""
        if arg.startswith("/run/containerd"):
            return None, "rootless daemon: containerd runs inside the user's namespace"
    path = _resolve_path(f, arg)
    return path, "" if path else f"{arg.split(':', 1)[-1]} is not installed"


@check("audit_rule")
def _audit_rule(f: Facts, arg: str) -> Verdict:
    """Pass when an auditd rule watches the path (`-w PATH` or `path=`/`dir=`): the loaded rules from
    `auditctl -l`, or the files in /etc/audit/rules.d when auditctl cannot answer.

    Not applicable: the path is not installed or does not exist on the host; containerd's paths under a
    rootless daemon.
    """
    path, reason = _audit_path(f, arg)
    if path is None:
        return Verdict("not_applicable", [reason])
    if not f.host.stat(path).exists:
        return Verdict("not_applicable", [f"{path} does not exist on this host"])
    rules, source = f.audit_rules()
    found = _has_watch(rules, path)
    if found:
        return Verdict("pass", [f"{source}: {found}"])
    return Verdict("fail", [f"no audit rule watches {path} ({source})"])


@check("manual_host")
def _manual_host(f: Facts, arg: str) -> Verdict:
    """Manual: the host is judged by its own OS benchmark; the evidence names the OS and kernel."""
    try:
        kernel = f.info().get("KernelVersion", "?")
        os_name = f.info().get("OperatingSystem", "?")
    except FactError:
        kernel = os_name = "unknown"
    return Verdict("manual", [f"{os_name}, kernel {kernel}: host hardening is judged by its own benchmark"])


@check("engine_version")
def _engine_version(f: Facts, arg: str) -> Verdict:
    """Manual: the evidence gives the Engine and API versions and the build time, to compare with releases."""
    v = f.version()
    return Verdict(
        "manual", [f"Engine {v.get('Version')} (API {v.get('ApiVersion')}), built {v.get('BuildTime', '?')}"]
    )


# -- section 2: the daemon -----------------------------------------------------------


def _describe(value: t.Any, source: str) -> str:
    return f"{value!r} from {source}" if source != "default" else "not set (default)"


@check("rootless")
def _rootless(f: Facts, arg: str) -> Verdict:
    """Pass for a rootless daemon; manual for a rootful one (whether workloads allow rootless is a person's call)."""
    if f.target.rootless or "rootless" in f.security_options():
        return Verdict("pass", [f"rootless daemon of {f.target.user or 'a user'}"])
    return Verdict("manual", ["dockerd runs as root; rootless Docker removes that where workloads allow"])


@check("icc")
def _icc(f: Facts, arg: str) -> Verdict:
    """Pass when the default bridge runs with `enable_icc=false` (read live from /networks; daemon.json's `icc`
    or the `--icc` flag when there is no default bridge).
    """
    value, source = f.setting("icc")
    ev = [f"icc {_describe(value, source)}"]
    live = next((n for n in f.networks() if n.get("Name") == "bridge"), None)
    live_icc = None
    if live is not None:
        live_icc = (live.get("Options") or {}).get("com.docker.network.bridge.enable_icc", "true")
        ev.append(f"default bridge enable_icc={live_icc}")
    configured_off = value is False or str(value).lower() == "false"
    if live_icc is not None:
        return _yesno(live_icc == "false", ev)
    return _yesno(configured_off, ev)


@check("log_level")
def _log_level(f: Facts, arg: str) -> Verdict:
    """Pass when `log-level` is unset or `info`, and `debug` is not on (daemon.json or dockerd flags)."""
    value, source = f.setting("log-level")
    debug, dsource = f.setting("debug")
    ev = [f"log-level {_describe(value, source)}"]
    if debug:
        ev.append(f"debug {_describe(debug, dsource)}")
    return _yesno(value in (None, "info") and not debug, ev)


@check("iptables")
def _iptables(f: Facts, arg: str) -> Verdict:
    """Pass unless `iptables` is set to false (daemon.json or dockerd flag).

    Not applicable: a rootless daemon (its networking lives in the user's namespace).
    """
    if f.target.rootless:
        return Verdict("not_applicable", ["rootless daemon: networking is in the user's namespace (slirp4netns)"])
    value, source = f.setting("iptables")
    return _yesno(value is not False, [f"iptables {_describe(value, source)}"])


@check("insecure_registries")
def _insecure(f: Facts, arg: str) -> Verdict:
    """Pass when docker info lists no insecure registry (CIDR or name) other than loopback."""
    reg = f.info().get("RegistryConfig") or {}
    cidrs = [c for c in reg.get("InsecureRegistryCIDRs") or [] if not str(c).startswith(("127.", "::1"))]
    names = [n for n, c in (reg.get("IndexConfigs") or {}).items() if not (c or {}).get("Secure", True)]
    bad = cidrs + names
    return _yesno(
        not bad, [f"insecure registries: {', '.join(bad)}" if bad else "no insecure registry (loopback aside)"]
    )


@check("no_aufs")
def _no_aufs(f: Facts, arg: str) -> Verdict:
    """Pass unless docker info's storage driver is `aufs`."""
    driver = f.info().get("Driver")
    return _yesno(driver != "aufs", [f"storage driver {driver}"])


@check("no_devicemapper")
def _no_devicemapper(f: Facts, arg: str) -> Verdict:
    """Pass unless docker info's storage driver is `devicemapper`."""
    driver = f.info().get("Driver")
    return _yesno(driver != "devicemapper", [f"storage driver {driver}"])


def tcp_hosts(hosts: list[str]) -> list[str]:
    out = []
    for h in hosts:
        h = h.strip()
        if h.startswith("tcp://") or (":" in h and not h.startswith(("unix://", "fd://", "ssh://", "npipe://"))):
            out.append(h)
    return out


@check("tls")
def _tls(f: Facts, arg: str) -> Verdict:
    """Pass when the daemon listens on no TCP address, or does with `tlsverify` and `tlscacert`, `tlscert`
    and `tlskey` all set.
    """
    tcp = tcp_hosts(f.hosts())
    if not tcp:
        return Verdict("pass", [f"no TCP listener (hosts: {', '.join(f.hosts()) or 'default unix socket'})"])
    verify = f.setting("tlsverify")[0]
    files = {k: f.setting(k)[0] for k in ("tlscacert", "tlscert", "tlskey")}
    ev = [f"TCP listeners: {', '.join(tcp)}", f"tlsverify={verify!r}"] + [f"{k}={v}" for k, v in files.items()]
    return _yesno(bool(verify) and all(files.values()), ev)


@check("default_ulimits")
def _ulimits(f: Facts, arg: str) -> Verdict:
    """Pass when `default-ulimits` is set; manual when not (containers inherit dockerd's own limits)."""
    value, source = f.setting("default-ulimits")
    if value:
        return Verdict("pass", [f"default-ulimits {_describe(value, source)}"])
    return Verdict("manual", ["default-ulimits not set: containers inherit dockerd's limits"])


@check("userns")
def _userns(f: Facts, arg: str) -> Verdict:
    """Pass when docker info's security options include `userns` (userns-remap), or the daemon is rootless."""
    sec = f.security_options()
    if "rootless" in sec or f.target.rootless:
        return Verdict("pass", ["rootless daemon: container root is the unprivileged user"])
    value, source = f.setting("userns-remap")
    ev = [f"userns-remap {_describe(value, source)}", "docker info security options: " + ", ".join(sorted(sec))]
    return _yesno("userns" in sec, ev)


@check("cgroup_parent")
def _cgroup_parent(f: Facts, arg: str) -> Verdict:
    """Pass when `cgroup-parent` is unset; manual when set (a person confirms the cgroup is intended)."""
    value, source = f.setting("cgroup-parent")
    if value is None:
        return Verdict("pass", ["cgroup-parent not set (default)"])
    return Verdict("manual", [f"cgroup-parent {_describe(value, source)}: confirm it is intended"])


@check("base_device_size")
def _base_device(f: Facts, arg: str) -> Verdict:
    """Pass when no `dm.basesize` storage option is set; manual when one is (confirm it is needed)."""
    value, source = f.setting("storage-opts")
    sizes = [o for o in value or [] if "basesize" in str(o)]
    if not sizes:
        return Verdict("pass", ["no dm.basesize storage option"])
    return Verdict("manual", [f"storage-opts {sizes} from {source}: confirm it is needed"])


@check("authz_plugin")
def _authz(f: Facts, arg: str) -> Verdict:
    """Pass when docker info lists an authorization plugin."""
    plugins = (f.info().get("Plugins") or {}).get("Authorization") or []
    return _yesno(bool(plugins), [f"authorization plugins: {', '.join(plugins) or 'none'}"])


LOCAL_LOG_DRIVERS = ("json-file", "local", "none", "")


@check("remote_logging")
def _remote_logging(f: Facts, arg: str) -> Verdict:
    """Pass when the default log driver sends logs off the container host (not json-file, local or none)."""
    driver = str(f.info().get("LoggingDriver") or "")
    return _yesno(driver not in LOCAL_LOG_DRIVERS, [f"log driver {driver or 'unknown'}"])


@check("no_new_privileges")
def _nnp(f: Facts, arg: str) -> Verdict:
    """Pass when `no-new-privileges` is true daemon-wide (daemon.json or dockerd flag)."""
    value, source = f.setting("no-new-privileges")
    return _yesno(value is True, [f"no-new-privileges {_describe(value, source)}"])


@check("live_restore")
def _live_restore(f: Facts, arg: str) -> Verdict:
    """Pass when docker info reports `LiveRestoreEnabled`.

    Not applicable: swarm mode is active (live-restore is incompatible with it).
    """
    live = bool(f.info().get("LiveRestoreEnabled"))
    ev = [f"docker info LiveRestoreEnabled={live}"]
    if f.swarm_active():
        return Verdict("not_applicable", [*ev, "swarm mode is active: live-restore is incompatible"])
    return _yesno(live, ev)


@check("userland_proxy")
def _userland_proxy(f: Facts, arg: str) -> Verdict:
    """Pass when `userland-proxy` is set to false."""
    value, source = f.setting("userland-proxy")
    return _yesno(value is False or str(value).lower() == "false", [f"userland-proxy {_describe(value, source)}"])


@check("daemon_seccomp")
def _daemon_seccomp(f: Facts, arg: str) -> Verdict:
    """Pass with a custom daemon-wide `seccomp-profile`; manual with Docker's default profile; fail when the
    daemon applies no seccomp or `unconfined`.
    """
    sec = [o for o in f.info().get("SecurityOptions") or [] if "seccomp" in str(o)]
    if not sec:
        return Verdict("fail", ["seccomp is not in the daemon's security options"])
    value, source = f.setting("seccomp-profile")
    if value == "unconfined":
        return Verdict("fail", [f"seccomp-profile {_describe(value, source)}: containers run without seccomp"])
    if value and value not in ("builtin", "default"):
        return Verdict("pass", [f"seccomp-profile {_describe(value, source)}"])
    return Verdict("manual", [f"{sec[0]}: Docker's default profile; a custom one is optional"])


@check("experimental")
def _experimental(f: Facts, arg: str) -> Verdict:
    """Pass unless docker info reports an experimental build."""
    exp = bool(f.info().get("ExperimentalBuild"))
    return _yesno(not exp, [f"docker info ExperimentalBuild={exp}"])


# -- section 3: files -------------------------------------------------------------------


def _file_targets(f: Facts, arg: str) -> tuple[list[str], str | None]:
    """Paths a file control covers, or ([], reason) when it does not apply."""
    if arg.startswith("unit:"):
        unit = arg[len("unit:") :]
        path = f.unit_file(unit)
        if not path and f.target.rootless and unit == "docker.socket":
            return [], "rootless daemon: started by the user's docker.service, there is no socket unit"
        return ([path], None) if path else ([], f"{unit} is not installed")
    if arg == "/etc/docker" and f.target.rootless:
        return [os.path.join(f.target.home, ".config/docker")], None
    if arg == "certs.d":
        base = "/etc/docker/certs.d" if not f.target.rootless else os.path.join(f.target.home, ".config/docker/certs.d")
        paths = []
        for reg in f.host.listdir(base):
            for name in f.host.listdir(os.path.join(base, reg)):
                paths.append(os.path.join(base, reg, name))
        return (paths, None) if paths else ([], f"no registry certificates under {base}")
    if arg.startswith("tls:"):
        key = arg[len("tls:") :]
        value = f.setting(key)[0]
        if not tcp_hosts(f.hosts()) and not value:
            return [], "TLS is not configured (no TCP listener)"
        return ([str(value)], None) if value else ([], f"{key} is not configured")
    if arg == "socket":
        return [f.target.socket], None
    if arg == "daemon.json":
        return [f.config_file()], None
    if arg == "containerd.sock":
        if f.target.rootless:
            return [], "rootless daemon: containerd runs inside the user's namespace"
        return ["/run/containerd/containerd.sock"], None
    return [arg], None


def _expected_owner(f: Facts, arg: str, owner: str) -> str:
    if f.target.rootless and arg.startswith(("unit:", "socket", "daemon.json", "certs.d", "tls:", "/etc/docker")):
        return f"{f.target.user}:{f.target.user}" if arg != "socket" else f"{f.target.user}:*"
    return owner


def _follow(f: Facts, path: str) -> FileInfo:
    """The file a path names: a symlink's own mode and owner grant nothing, its target's do."""
    info = f.host.stat(path)
    for _hop in range(8):
        if info.kind != "link":
            return info
        try:
            target = os.path.normpath(os.path.join(os.path.dirname(info.path), f.host.readlink(info.path)))
        except OSError as exc:
            raise FactError(f"cannot read the symlink {info.path}: {exc}") from exc
        info = f.host.stat(target)
    raise FactError(f"{path}: too many levels of symbolic links")


def _file_check(f: Facts, arg: str, judge: t.Callable[[FileInfo], str | None]) -> Verdict:
    """Judge each file of a file control; judge returns a problem text, or None when the file is fine.

    Not applicable: the file is not on the host or not configured (unit not installed, no TLS on TCP,
    no registry certificates, containerd's socket or the socket unit under a rootless daemon).
    """
    paths, reason = _file_targets(f, arg)
    if reason:
        return Verdict("not_applicable", [reason])
    infos = [_follow(f, p) for p in paths]
    present = [i for i in infos if i.exists]
    if not present:
        return Verdict("not_applicable", [f"{', '.join(paths)} does not exist on this host"])
    items = []
    for info in present:
        problem = judge(info)
        items.append({"name": info.path, "status": "fail" if problem else "pass", "detail": problem or info.describe()})
    failed = [i for i in items if i["status"] == "fail"]
    evidence = [i["detail"] for i in (failed or items)][:5]
    return Verdict("fail" if failed else "pass", evidence, tuple(items) if len(items) > 1 else ())


@check("file_owner")
def _file_owner(f: Facts, arg: str) -> Verdict:
    """Pass when each file the argument names (symlinks followed) has the owner and group given; a rootless
    daemon's own files must belong to its user.
    """
    path_arg, owner = arg.rsplit(" ", 1)
    want = _expected_owner(f, path_arg, owner)
    want_user, want_group = want.split(":")

    def judge(info: FileInfo) -> str | None:
        ok = info.owner == want_user and (want_group == "*" or info.group == want_group)
        return None if ok else f"{info.describe()}, expected {want}"

    return _file_check(f, path_arg, judge)


@check("file_mode")
def _file_mode(f: Facts, arg: str) -> Verdict:
    """Pass when no file the argument names (symlinks followed) has a permission bit beyond the mode given,
    nor setuid or setgid.
    """
    path_arg, mode_text = arg.rsplit(" ", 1)
    limit = int(mode_text, 8)

    def judge(info: FileInfo) -> str | None:
        # permission bits; the sticky bit (rootlesskit sets it on its socket) grants nothing,
        # setuid/setgid on a regular file do
        special = info.mode & 0o6000 if info.kind == "file" else 0
        extra = (info.mode & 0o777 & ~limit) | special
        return None if not extra else f"{info.describe()}, expected {limit:04o} or stricter"

    return _file_check(f, path_arg, judge)


# -- sections 4 and 5: images and containers ------------------------------------------------


def _per_container(f: Facts, judge: t.Callable[[Container], str | None], what: str) -> Verdict:
    """Judge each running container; judge returns a problem text, or None when the container is fine.

    Not applicable: no running containers.
    """
    containers = f.containers()
    vanished = list(f.vanished)
    if not containers and not vanished:
        return Verdict("not_applicable", ["no running containers"])
    items = [{"name": v, "status": "error", "detail": "vanished during the audit"} for v in vanished]
    for c in containers:
        problem = judge(c)
        items.append({"name": c.name, "status": "fail" if problem else "pass", "detail": problem or what})
    failed = [i for i in items if i["status"] == "fail"]
    if failed:
        names = ", ".join(i["name"] for i in failed[:10]) + (" ..." if len(failed) > 10 else "")
        return Verdict("fail", [f"{len(failed)} of {len(items)} containers: {names}"], tuple(items))
    if vanished:
        return Verdict("error", [f"containers vanished during the audit: {', '.join(vanished)}"], tuple(items))
    return Verdict("pass", [f"all {len(items)} running containers: {what}"], tuple(items))


@check("container_user")
def _container_user(f: Facts, arg: str) -> Verdict:
    """Fail each running container whose configured user is empty, `root` or `0`."""

    def judge(c: Container) -> str | None:
        user = str((c.inspect.get("Config") or {}).get("User") or "")
        name = user.split(":", maxsplit=1)[0]
        return None if user and name not in ("root", "0") else f"runs as {user or 'root (no USER)'}"

    return _per_container(f, judge, "runs as a non-root user")


@check("manual_images")
def _manual_images(f: Facts, arg: str) -> Verdict:
    """Manual: about how images are built and sourced; the evidence lists the local images to review."""
    images = f.images()
    tags = sorted({tag for i in images for tag in i["_tags"]})
    shown = ", ".join(tags[:8]) + (" ..." if len(tags) > 8 else "")
    return Verdict("manual", [f"{len(images)} local images: {shown or 'none tagged'}"])


_DCT = re.compile(r"^[ \t]*(?:export[ \t]+)?DOCKER_CONTENT_TRUST=['\"]?([^'\"\s]*)['\"]?[ \t]*$", re.MULTILINE)


@check("content_trust")
def _content_trust(f: Facts, arg: str) -> Verdict:
    """Pass when `DOCKER_CONTENT_TRUST` is on, and nowhere off, in /etc/environment and /etc/profile.d/*.sh
    (and the user's profile files for a rootless daemon).
    """
    found = []
    for path, text in f.environment_files():
        for m in _DCT.finditer(text):
            found.append((path, m.group(1)))
    # the docker CLI turns content trust on for any non-empty value Go's ParseBool does not read as false
    on = [f"{p} ({v})" for p, v in found if v and v not in FALSE_WORDS]
    off = [f"DOCKER_CONTENT_TRUST={v!r} in {p}" for p, v in found if not v or v in FALSE_WORDS]
    if on and not off:
        return Verdict("pass", [f"DOCKER_CONTENT_TRUST on in {', '.join(on)}"])
    return Verdict("fail", off or ["DOCKER_CONTENT_TRUST is not set for users"])


@check("image_healthcheck")
def _image_healthcheck(f: Facts, arg: str) -> Verdict:
    """Fail each local image without a HEALTHCHECK (or with HEALTHCHECK NONE).

    Not applicable: no local images.
    """
    images = f.images()
    if not images:
        return Verdict("not_applicable", ["no local images"])
    items = []
    for img in images:
        name = (img["_tags"] or [str(img.get("Id", ""))[7:19]])[0]
        hc = (img.get("Config") or {}).get("Healthcheck") or {}
        ok = bool(hc.get("Test")) and hc.get("Test") != ["NONE"]
        items.append(
            {"name": name, "status": "pass" if ok else "fail", "detail": "HEALTHCHECK" if ok else "no HEALTHCHECK"}
        )
    failed = [i["name"] for i in items if i["status"] == "fail"]
    if failed:
        return Verdict(
            "fail",
            [f"{len(failed)} of {len(items)} images without HEALTHCHECK: {', '.join(failed[:10])}"],
            tuple(items),
        )
    return Verdict("pass", [f"all {len(items)} images have a HEALTHCHECK"], tuple(items))


@check("swarm_disabled")
def _swarm_disabled(f: Facts, arg: str) -> Verdict:
    """Pass when swarm mode is not active; manual when it is (a person confirms it is needed)."""
    state = (f.info().get("Swarm") or {}).get("LocalNodeState", "inactive")
    if state == "active":
        return Verdict("manual", ["swarm mode is active: confirm it is needed"])
    return Verdict("pass", [f"swarm {state}"])


def _security_opts(c: Container) -> list[str]:
    return [str(o) for o in c.host_config.get("SecurityOpt") or []]


def _opt(o: str) -> str:
    """A --security-opt in its KEY=VALUE spelling (Docker still takes the legacy KEY:VALUE)."""
    key, sep, value = o.partition("=") if "=" in o else o.partition(":")
    return f"{key}={value}" if sep else key


# how Docker reads a boolean (Go's strconv.ParseBool)
TRUE_WORDS = ("1", "t", "T", "TRUE", "true", "True")
FALSE_WORDS = ("0", "f", "F", "FALSE", "false", "False")


@check("apparmor")
def _apparmor(f: Facts, arg: str) -> Verdict:
    """Fail each running container with no AppArmor profile, or `unconfined`.

    Not applicable: AppArmor is not in the daemon's security options (the kernel has no AppArmor).
    """
    if "apparmor" not in f.security_options():
        return Verdict("not_applicable", ["AppArmor is not enabled in this host's kernel (not in docker info)"])

    def judge(c: Container) -> str | None:
        prof = str(c.inspect.get("AppArmorProfile") or "")
        return None if prof and prof != "unconfined" else f"AppArmorProfile={prof or 'none'}"

    return _per_container(f, judge, "AppArmor profile applied")


@check("selinux")
def _selinux(f: Facts, arg: str) -> Verdict:
    """Fail each running container without SELinux label options, or with `label=disable`.

    Not applicable: SELinux is not in the daemon's security options (`selinux-enabled` off or no SELinux).
    """
    if "selinux" not in f.security_options():
        return Verdict("not_applicable", ["SELinux is not enabled in the daemon (selinux-enabled)"])

    def judge(c: Container) -> str | None:
        labels = [_opt(o) for o in _security_opts(c) if o.startswith("label")]
        if "label=disable" in labels:
            return "label=disable"
        return None if labels else "no SELinux label options"

    return _per_container(f, judge, "SELinux labels set")


@check("capabilities")
def _capabilities(f: Facts, arg: str) -> Verdict:
    """Fail each running container that adds capabilities (`CapAdd`) or is privileged."""

    def judge(c: Container) -> str | None:
        if c.host_config.get("Privileged"):
            return "privileged: every capability"
        added = c.host_config.get("CapAdd") or []
        return f"CapAdd={','.join(added)}" if added else None

    return _per_container(f, judge, "no capabilities added")


@check("privileged")
def _privileged(f: Facts, arg: str) -> Verdict:
    """Fail each running container started with `--privileged`."""
    return _per_container(
        f, lambda c: "Privileged: true" if c.host_config.get("Privileged") else None, "not privileged"
    )


def _mount_sources(c: Container) -> list[dict[str, t.Any]]:
    return [m for m in c.inspect.get("Mounts") or [] if m.get("Type") == "bind"]


@check("sensitive_mounts")
def _sensitive_mounts(f: Facts, arg: str) -> Verdict:
    """Fail each running container that bind-mounts /, /boot, /dev, /etc, /lib, /proc, /sys or /usr."""

    def judge(c: Container) -> str | None:
        bad = [str(m.get("Source")) for m in _mount_sources(c) if os.path.normpath(str(m.get("Source"))) in SENSITIVE]
        return f"mounts {', '.join(bad)}" if bad else None

    return _per_container(f, judge, "no sensitive host directory mounted")


SENSITIVE = frozenset({"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"})


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

    return _per_container(f, judge, "no sshd process")


def _port_bindings(c: Container) -> list[tuple[str, str, str]]:
    """(container port, host ip, host port) of published ports."""
    out = []
    for cport, binds in ((c.inspect.get("NetworkSettings") or {}).get("Ports") or {}).items():
        for b in binds or []:
            out.append((cport, str(b.get("HostIp") or ""), str(b.get("HostPort") or "")))
    return out


@check("privileged_ports")
def _privileged_ports(f: Facts, arg: str) -> Verdict:
    """Fail each running container that publishes a host port below 1024."""

    def judge(c: Container) -> str | None:
        low = [f"{hp}->{cp}" for cp, _host_ip, hp in _port_bindings(c) if hp.isdigit() and int(hp) < 1024]
        return f"host ports below 1024: {', '.join(low)}" if low else None

    return _per_container(f, judge, "no privileged host port")


@check("published_ports")
def _published_ports(f: Facts, arg: str) -> Verdict:
    """Manual: lists each running container's published ports for a person to confirm they are needed.

    Not applicable: no running containers.
    """
    containers = f.containers()
    if not containers:
        return Verdict("not_applicable", ["no running containers"])
    lines = []
    for c in containers:
        ports = [(ip or "*") + f":{hp}->{cp}" for cp, ip, hp in _port_bindings(c)]
        if ports:
            lines.append(f"{c.name}: {', '.join(ports)}")
    return Verdict("manual", lines[:20] or ["no published ports"])


def _mode_check(field: str, what: str) -> Check:
    def run(f: Facts, arg: str) -> Verdict:
        """Fail each running container whose `HostConfig.{field}` is `host` (it shares the host's namespace)."""
        return _per_container(
            f, lambda c: f"{field}=host" if str(c.host_config.get(field) or "") == "host" else None, what
        )

    return run


CHECKS["host_network"] = _mode_check("NetworkMode", "not on the host network")
CHECKS["host_pid"] = _mode_check("PidMode", "own PID namespace")
CHECKS["host_ipc"] = _mode_check("IpcMode", "own IPC namespace")
CHECKS["host_uts"] = _mode_check("UTSMode", "own UTS namespace")
CHECKS["host_userns"] = _mode_check("UsernsMode", "not in the host user namespace")


@check("memory_limit")
def _memory(f: Facts, arg: str) -> Verdict:
    """Fail each running container without a memory limit."""

    def judge(c: Container) -> str | None:
        return None if int(c.host_config.get("Memory") or 0) > 0 else "no memory limit"

    return _per_container(f, judge, "memory limited")


@check("cpu_shares")
def _cpu_shares(f: Facts, arg: str) -> Verdict:
    """Fail each running container whose CPU shares are unset or the default 1024."""

    def judge(c: Container) -> str | None:
        shares = int(c.host_config.get("CpuShares") or 0)
        return None if shares not in (0, 1024) else "CPU shares not set"

    return _per_container(f, judge, "CPU shares set")


@check("read_only_rootfs")
def _read_only(f: Facts, arg: str) -> Verdict:
    """Fail each running container whose root filesystem is writable."""
    return _per_container(
        f, lambda c: None if c.host_config.get("ReadonlyRootfs") else "root filesystem writable", "read-only rootfs"
    )


def _unspecified(ip: str) -> bool:
    """Every interface: no address, or an unspecified one in any spelling (0.0.0.0, ::, [::], ::0)."""
    if not ip.strip("[]"):
        return True
    try:
        return ipaddress.ip_address(ip.strip("[]")).is_unspecified
    except ValueError:
        return False


@check("port_binding_ip")
def _port_binding_ip(f: Facts, arg: str) -> Verdict:
    """Fail each running container that publishes a port on every interface (0.0.0.0, ::, no address)."""

    def judge(c: Container) -> str | None:
        wild = [f"{hp}->{cp}" for cp, ip, hp in _port_bindings(c) if _unspecified(ip)]
        return f"published on every interface: {', '.join(sorted(set(wild)))}" if wild else None

    return _per_container(f, judge, "ports bound to a specific address")


@check("restart_policy")
def _restart_policy(f: Facts, arg: str) -> Verdict:
    """Fail each running container restarting `always`, `unless-stopped`, or `on-failure` above 5 times."""

    def judge(c: Container) -> str | None:
        pol = c.host_config.get("RestartPolicy") or {}
        name = str(pol.get("Name") or "no")
        count = int(pol.get("MaximumRetryCount") or 0)
        if name in ("always", "unless-stopped"):
            return f"restart policy {name}"
        if name == "on-failure" and (count == 0 or count > 5):
            return f"restart policy on-failure:{count or 'unlimited'}"
        return None

    return _per_container(f, judge, "restart bounded (on-failure:5 or less, or none)")


@check("host_devices")
def _devices(f: Facts, arg: str) -> Verdict:
    """Fail each running container given host devices (`--device`)."""

    def judge(c: Container) -> str | None:
        devs = [str(d.get("PathOnHost")) for d in c.host_config.get("Devices") or []]
        return f"host devices: {', '.join(devs)}" if devs else None

    return _per_container(f, judge, "no host devices")


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

    Not applicable: no running containers.
    """
    containers = f.containers()
    if not containers:
        return Verdict("not_applicable", ["no running containers"])
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

    return _per_container(f, judge, "no shared mount propagation")


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
        bad = [o for o in _security_opts(c) if _opt(o) == "seccomp=unconfined"]
        if bad:
            return "seccomp=unconfined"
        return "privileged: no seccomp profile" if c.host_config.get("Privileged") else None

    return _per_container(f, judge, "seccomp profile applied")


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

    return _per_container(f, judge, "default cgroup")


@check("container_nnp")
def _container_nnp(f: Facts, arg: str) -> Verdict:
    """Fail each running container that can gain privileges: `no-new-privileges` neither daemon-wide nor in
    its security options, or set to false there.
    """
    daemon_wide = f.setting("no-new-privileges")[0]

    def judge(c: Container) -> str | None:
        opts = [_opt(o) for o in _security_opts(c)]
        if any(o == f"no-new-privileges={w}" for o in opts for w in FALSE_WORDS):
            return "no-new-privileges=false"
        on = ["no-new-privileges"] + [f"no-new-privileges={w}" for w in TRUE_WORDS]
        if daemon_wide is True or any(o in on for o in opts):
            return None
        return "may gain privileges (no no-new-privileges)"

    return _per_container(f, judge, "no-new-privileges" + (" (daemon-wide)" if daemon_wide is True else ""))


@check("runtime_health")
def _runtime_health(f: Facts, arg: str) -> Verdict:
    """Fail each running container without a health check."""

    def judge(c: Container) -> str | None:
        health = (c.inspect.get("State") or {}).get("Health")
        return None if health else "no health check"

    return _per_container(f, judge, "health checked")


@check("manual_containers")
def _manual_containers(f: Facts, arg: str) -> Verdict:
    """Manual: lists the running containers' images, to compare with their latest versions."""
    containers = f.containers()
    images = sorted({str((c.inspect.get("Config") or {}).get("Image")) for c in containers})
    return Verdict("manual", [f"{len(containers)} running containers from images: {', '.join(images[:10]) or 'none'}"])


@check("pids_limit")
def _pids_limit(f: Facts, arg: str) -> Verdict:
    """Fail each running container without a PIDs limit."""

    def judge(c: Container) -> str | None:
        return None if int(c.host_config.get("PidsLimit") or 0) > 0 else "no PIDs limit"

    return _per_container(f, judge, "PIDs limited")


@check("default_bridge")
def _default_bridge(f: Facts, arg: str) -> Verdict:
    """Fail each running container attached to the default bridge (docker0)."""

    def judge(c: Container) -> str | None:
        nets = ((c.inspect.get("NetworkSettings") or {}).get("Networks") or {}).keys()
        return "on the default bridge" if "bridge" in nets else None

    return _per_container(f, judge, "not on docker0")


def _run_path(path: str) -> str:
    path = os.path.normpath(path)
    return "/run" + path[len("/var/run") :] if path == "/var/run" or path.startswith("/var/run/") else path


@check("docker_sock_mount")
def _sock_mount(f: Facts, arg: str) -> Verdict:
    """Fail each running container that bind-mounts a `docker.sock`, the daemon's socket, or a directory
    holding it (/var/run and /run alike).
    """
    # the daemon's sockets, wherever they are; /var/run is /run
    sockets = {_run_path(f.target.socket)} | {
        _run_path(h[len("unix://") :]) for h in f.hosts() if h.startswith("unix://")
    }

    def exposes(source: str) -> bool:
        src = _run_path(source)
        if src.endswith("docker.sock") or src in sockets:
            return True
        return any(s.startswith(src.rstrip("/") + "/") for s in sockets)  # a directory holding a socket

    def judge(c: Container) -> str | None:
        socks = [
            str(m.get("Source"))
            for m in c.inspect.get("Mounts") or []
            if m.get("Type") == "bind" and exposes(str(m.get("Source") or ""))
        ]
        return f"mounts {', '.join(socks)}" if socks else None

    return _per_container(f, judge, "Docker socket not mounted")


# -- section 6: operations -------------------------------------------------------------


@check("image_sprawl")
def _image_sprawl(f: Facts, arg: str) -> Verdict:
    """Manual: counts the local images and those no running container uses."""
    images = f.images()
    used = {str(c.inspect.get("Image")) for c in f.containers()}
    unused = [i for i in images if i.get("Id") not in used]
    return Verdict("manual", [f"{len(images)} images, {len(unused)} not used by a running container"])


@check("container_sprawl")
def _container_sprawl(f: Facts, arg: str) -> Verdict:
    """Manual: counts the containers by state (running, stopped, paused)."""
    info = f.info()
    return Verdict(
        "manual",
        [
            f"{info.get('Containers', 0)} containers: {info.get('ContainersRunning', 0)} running, "
            f"{info.get('ContainersStopped', 0)} stopped, {info.get('ContainersPaused', 0)} paused"
        ],
    )


# -- section 7: swarm -----------------------------------------------------------------------


def _swarm_only(f: Facts) -> Verdict | None:
    """None when swarm mode is active; else the not_applicable verdict.

    Not applicable: swarm mode is not active.
    """
    if not f.swarm_active():
        return Verdict("not_applicable", ["swarm mode is not active"])
    return None


@check("swarm_manual")
def _swarm_manual(f: Facts, arg: str) -> Verdict:
    """Manual: swarm mode is active and this control is reviewed by hand."""
    return _swarm_only(f) or Verdict("manual", ["swarm is active: review this control by hand"])


@check("swarm_managers")
def _swarm_managers(f: Facts, arg: str) -> Verdict:
    """Manual: gives the number of manager nodes (an odd number, 3 or 5, tolerates failures)."""
    na = _swarm_only(f)
    if na:
        return na
    managers = int((f.info().get("Swarm") or {}).get("Managers") or 0)
    return Verdict("manual", [f"{managers} manager nodes (an odd number, 3 or 5, tolerates failures)"])


@check("swarm_overlay_encrypted")
def _overlay_encrypted(f: Facts, arg: str) -> Verdict:
    """Pass when every overlay network (ingress included) has the `encrypted` option."""
    na = _swarm_only(f)
    if na:
        return na
    overlays = [n for n in f.networks() if n.get("Driver") == "overlay"]  # ingress too: it carries published ports
    plain = [str(n.get("Name")) for n in overlays if "encrypted" not in (n.get("Options") or {})]
    if not overlays:
        return Verdict("pass", ["no overlay networks"])
    return _yesno(
        not plain,
        [
            f"unencrypted overlay networks: {', '.join(plain)}"
            if plain
            else f"{len(overlays)} overlay networks, all encrypted"
        ],
    )


@check("swarm_autolock")
def _autolock(f: Facts, arg: str) -> Verdict:
    """Pass when the swarm's managers auto-lock (`AutoLockManagers`).

    Not applicable: this node is not a swarm manager.
    """
    na = _swarm_only(f)
    if na:
        return na
    if not (f.info().get("Swarm") or {}).get("ControlAvailable"):
        return Verdict("not_applicable", ["this node is not a swarm manager"])
    lock = bool(((f.swarm().get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers"))
    return _yesno(lock, [f"AutoLockManagers={lock}"])


@check("swarm_cert_expiry")
def _swarm_cert(f: Facts, arg: str) -> Verdict:
    """Manual: gives the swarm's `NodeCertExpiry` for a person to confirm the rotation period.

    Not applicable: this node is not a swarm manager.
    """
    na = _swarm_only(f)
    if na:
        return na
    if not (f.info().get("Swarm") or {}).get("ControlAvailable"):
        return Verdict("not_applicable", ["this node is not a swarm manager"])
    expiry = ((f.swarm().get("Spec") or {}).get("CAConfig") or {}).get("NodeCertExpiry")
    return Verdict("manual", [f"NodeCertExpiry={expiry} ns: confirm the rotation period"])
