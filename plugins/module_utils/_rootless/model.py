# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Rootless Docker per user, the pure part: prerequisites, the user's systemd unit, what a daemon reports.

Nothing here touches the host: host.py gathers the facts and daemons.py acts on them.
"""

from __future__ import annotations

import dataclasses
import stat
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _subid as si
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

# Where distributions ship the rootless launcher (Debian: docker.io's contrib; Docker's packages: /usr/bin).
ROOTLESS_SCRIPTS = ("/usr/bin/dockerd-rootless.sh", "/usr/share/docker.io/contrib/dockerd-rootless.sh")
UNIT_NAME = "docker.service"
UNIT_DIR = ".config/systemd/user"
UNIT_PATH = f"{UNIT_DIR}/{UNIT_NAME}"
# The link `systemctl --user enable` makes for WantedBy=default.target.
WANTS_PATH = f"{UNIT_DIR}/default.target.wants/{UNIT_NAME}"
USER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class RootlessError(DockguardError):
    """A problem the user has to fix; the message says how."""


@dataclasses.dataclass(frozen=True)
class Account:
    """The parts of a passwd entry the module uses."""

    name: str
    uid: int
    gid: int
    home: str


@dataclasses.dataclass(frozen=True)
class Prereq:
    name: str
    ok: bool
    detail: str
    fix: str

    def describe(self) -> str:
        return f"{self.name}: {self.detail}; fix: {self.fix}"


@dataclasses.dataclass
class HostFacts:
    """Host-wide facts, the same for every user."""

    newuidmap: tuple[int, bool] | None  # (st_mode, has file capabilities), None when missing
    newgidmap: tuple[int, bool] | None
    tun: int | None  # st_mode of /dev/net/tun, None when missing
    max_user_namespaces: int | None
    unprivileged_userns_clone: int | None  # Debian's knob; None where the kernel has no such sysctl
    rootless_script: str | None
    binaries: dict[str, str | None]  # rootlesskit, slirp4netns, dockerd -> path or None
    systemd: bool  # PID 1 is systemd


def id_helper_ok(found: tuple[int, bool] | None) -> bool:
    if found is None:
        return False
    mode, caps = found
    return bool(mode & stat.S_ISUID) or caps


def host_prereqs(f: HostFacts) -> list[Prereq]:
    out = []
    for helper, found in (("newuidmap", f.newuidmap), ("newgidmap", f.newgidmap)):
        if found is None:
            detail = "not installed"
        elif id_helper_ok(found):
            detail = "setuid root" if found[0] & stat.S_ISUID else "file capabilities"
        else:
            detail = "neither setuid root nor given file capabilities, so it cannot write another ID map"
        out.append(
            Prereq(
                helper,
                id_helper_ok(found),
                detail,
                f"install the uidmap package (or chmod u+s /usr/bin/{helper})",
            )
        )
    tun_ok = f.tun is not None and stat.S_ISCHR(f.tun) and (f.tun & 0o006) == 0o006
    out.append(
        Prereq(
            "/dev/net/tun",
            tun_ok,
            "missing"
            if f.tun is None
            else ("usable" if tun_ok else f"mode {stat.S_IMODE(f.tun):04o}: slirp4netns cannot open it as a user"),
            "modprobe tun, and chmod 0666 /dev/net/tun (the mode a stock kernel gives it)",
        )
    )
    userns_ok = (f.max_user_namespaces or 0) > 0 and f.unprivileged_userns_clone in (None, 1)
    out.append(
        Prereq(
            "user namespaces",
            userns_ok,
            f"user.max_user_namespaces={f.max_user_namespaces}"
            + (
                f", kernel.unprivileged_userns_clone={f.unprivileged_userns_clone}"
                if f.unprivileged_userns_clone is not None
                else ""
            ),
            "sysctl -w user.max_user_namespaces=28633 kernel.unprivileged_userns_clone=1, persisted in /etc/sysctl.d",
        )
    )
    out.append(
        Prereq(
            "dockerd-rootless.sh",
            f.rootless_script is not None,
            f.rootless_script or "not found in " + ", ".join(ROOTLESS_SCRIPTS),
            "install docker.io (Debian ships it in /usr/share/docker.io/contrib) or docker-ce-rootless-extras",
        )
    )
    packages = {"rootlesskit": "rootlesskit", "slirp4netns": "slirp4netns", "dockerd": "docker.io"}
    for binary, package in packages.items():
        path = f.binaries.get(binary)
        out.append(Prereq(binary, path is not None, path or "not on PATH", f"install the {package} package"))
    out.append(
        Prereq(
            "systemd",
            f.systemd,
            "PID 1 is systemd" if f.systemd else "PID 1 is not systemd",
            "rootless Docker here runs as a systemd user service; boot the host with systemd",
        )
    )
    return out


def subid_prereqs(user: str, uid: int, subuid: str, subgid: str, min_count: int = si.DOCKER_MIN_COUNT) -> list[Prereq]:
    out = []
    for label, text in (("/etc/subuid", subuid), ("/etc/subgid", subgid)):
        ranges = [x for x in si.parse(text) if si.owned_by(x, [user, str(uid)])]
        big = [x for x in ranges if x.count >= min_count]
        if big:
            detail = f"{big[0].start}-{big[0].end - 1}"
        elif ranges:
            detail = f"only {max(x.count for x in ranges)} IDs (rootless Docker needs {min_count})"
        else:
            detail = "no range"
        out.append(
            Prereq(
                f"{label} range of {user}",
                bool(big),
                detail,
                f"dockguard.hardening.subid name={user} (the rootless role does this)",
            )
        )
    return out


def render_unit(script: str, dockerd_args: t.Sequence[str], path_env: str = USER_PATH) -> str:
    """The user's docker.service, as dockerd-rootless-setuptool.sh writes it (without its iptables probe)."""
    directory = script.rsplit("/", 1)[0]
    args = "".join(f" {quote(a)}" for a in dockerd_args)
    return (
        "# Managed by dockguard.hardening.rootless; local changes are overwritten.\n"
        "[Unit]\n"
        "Description=Docker Application Container Engine (Rootless)\n"
        "Documentation=https://docs.docker.com/go/rootless/\n"
        "\n"
        "[Service]\n"
        f"Environment=PATH={directory}:{path_env}\n"
        f"ExecStart={script}{args}\n"
        "ExecReload=/bin/kill -s HUP $MAINPID\n"
        "TimeoutSec=0\n"
        "RestartSec=2\n"
        "Restart=always\n"
        "StartLimitBurst=3\n"
        "StartLimitInterval=60s\n"
        "LimitNOFILE=infinity\n"
        "LimitNPROC=infinity\n"
        "LimitCORE=infinity\n"
        "TasksMax=infinity\n"
        "Delegate=yes\n"
        "Type=notify\n"
        "NotifyAccess=all\n"
        "KillMode=mixed\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def quote(arg: str) -> str:
    """An argument as systemd's ExecStart= reads it."""
    if arg and all(c.isalnum() or c in "-_=./:,@+" for c in arg):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def validate_args(dockerd_args: t.Sequence[str]) -> None:
    for arg in dockerd_args:
        if "\n" in arg or "$" in arg or "%" in arg:
            raise RootlessError(
                f"dockerd_args entry {arg!r}: newlines, '$' and '%' would be expanded by systemd; "
                "put such settings in the user's daemon.json (dockguard.hardening.daemon_config user=...) instead"
            )
        if arg.startswith(("-H", "--host")):
            raise RootlessError(
                f"dockerd_args entry {arg!r}: the rootless daemon's socket is fixed at $XDG_RUNTIME_DIR/docker.sock "
                "by dockerd-rootless.sh; remove it"
            )


def validate_options(params: t.Mapping[str, t.Any]) -> None:
    """Refuse option values the argument spec's types cannot (before anything is done)."""
    timeout = params["timeout"]
    if timeout <= 0:
        raise RootlessError(
            f"timeout={timeout}: must be a positive number of seconds to wait for the user manager and each daemon "
            "(default 90)"
        )
    validate_args(params["dockerd_args"])


def docker_host(uid: int) -> str:
    return f"unix:///run/user/{uid}/docker.sock"


def summarize(info: dict[str, t.Any]) -> dict[str, t.Any]:
    """What the user's daemon reports about itself."""
    sec = [str(s) for s in info.get("SecurityOptions") or []]
    return {
        "storage_driver": info.get("Driver"),
        "rootless": any("name=rootless" in s for s in sec),
        "security_options": sec,
        "server_version": info.get("ServerVersion"),
        "cgroup_driver": info.get("CgroupDriver"),
    }
