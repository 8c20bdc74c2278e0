# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The host side of rootless Docker: accounts, host facts, linger, systemctl --user, journal, Engine API.

Host is the seam: daemons.Rootless asks it everything it needs from the machine,
so unit tests drive Rootless through a fake Host object. SystemHost is the real
one, over an AnsibleModule. Files in a user's home are reached only through the
UserTree that account_tree() returns (openat walk, no links followed).
"""

from __future__ import annotations

import os
import pwd
import time
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils._common import commands, files
from ansible_collections.dockguard.hardening.plugins.module_utils._rootless.model import (
    ROOTLESS_SCRIPTS,
    Account,
    HostFacts,
)

LINGER_DIR = "/var/lib/systemd/linger"


class Host(t.Protocol):
    """What Rootless needs from the machine it runs on."""

    def account(self, name: str) -> Account | None:
        """The local account of that name, None when there is none."""

    def account_tree(self, account: Account) -> files.UserTree:
        """The account's home, read and written without following links."""

    def facts(self, dockerd_rootless: str | None) -> HostFacts:
        """Host-wide prerequisites' facts."""

    def subid_files(self) -> tuple[str, str]:
        """Text of /etc/subuid and /etc/subgid ('' when missing)."""

    def lingering(self, account: Account) -> bool:
        """loginctl enable-linger is in effect for the account."""

    def enable_linger(self, account: Account) -> None:
        """loginctl enable-linger; CommandError when it fails."""

    def manager_running(self, account: Account) -> bool:
        """The account's systemd user manager runs and its bus is there."""

    def systemctl(self, account: Account, *args: str) -> tuple[int, str, str]:
        """systemctl --user ARGS as the account, in its manager; never raises on rc."""

    def journal(self, account: Account, lines: int) -> list[str]:
        """The last lines the account's processes wrote to the journal."""

    def engine_info(self, docker_host: str) -> dict[str, t.Any]:
        """GET /info of the daemon; _engine.EngineError when it does not answer."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def warn(self, msg: str) -> None: ...


def _read_int(path: str) -> int | None:
    try:
        text = files.read_text(path, missing_ok=True)
    except files.FileError:
        return None
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _helper_facts(path: str) -> tuple[int, bool] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        caps = bool(os.getxattr(path, "security.capability"))
    except OSError:
        caps = False
    return st.st_mode, caps


class SystemHost:
    """Host over a real machine, through an AnsibleModule (run_command, get_bin_path, warn)."""

    def __init__(self, module: t.Any) -> None:
        self.module = module

    def account(self, name: str) -> Account | None:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            return None
        return Account(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir)

    def account_tree(self, account: Account) -> files.UserTree:
        return files.UserTree(account.name, account.uid, account.gid, account.home)

    def facts(self, dockerd_rootless: str | None) -> HostFacts:
        script = dockerd_rootless or next((s for s in ROOTLESS_SCRIPTS if os.path.isfile(s)), None)
        if script is not None and not os.path.isfile(script):
            script = None
        try:
            tun: int | None = os.stat("/dev/net/tun").st_mode
        except OSError:
            tun = None
        clone = "/proc/sys/kernel/unprivileged_userns_clone"
        bin_path = self.module.get_bin_path
        return HostFacts(
            newuidmap=_helper_facts(bin_path("newuidmap") or "/usr/bin/newuidmap"),
            newgidmap=_helper_facts(bin_path("newgidmap") or "/usr/bin/newgidmap"),
            tun=tun,
            max_user_namespaces=_read_int("/proc/sys/user/max_user_namespaces"),
            unprivileged_userns_clone=_read_int(clone) if os.path.exists(clone) else None,
            rootless_script=script,
            binaries={
                b: bin_path(b, opt_dirs=["/usr/sbin", "/sbin"]) for b in ("rootlesskit", "slirp4netns", "dockerd")
            },
            systemd=os.path.isdir("/run/systemd/system"),
        )

    def subid_files(self) -> tuple[str, str]:
        return (
            files.read_text("/etc/subuid", missing_ok=True) or "",
            files.read_text("/etc/subgid", missing_ok=True) or "",
        )

    def lingering(self, account: Account) -> bool:
        return os.path.exists(os.path.join(LINGER_DIR, account.name))

    def enable_linger(self, account: Account) -> None:
        loginctl = self.module.get_bin_path("loginctl", required=True)
        commands.run(
            self.module,
            [loginctl, "enable-linger", account.name],
            check=True,
            what=f"loginctl enable-linger {account.name}",
        )

    def manager_running(self, account: Account) -> bool:
        systemctl = self.module.get_bin_path("systemctl", required=True)
        _rc, out, _err = commands.run(self.module, [systemctl, "is-active", f"user@{account.uid}.service"])
        return out.strip() == "active" and os.path.exists(f"/run/user/{account.uid}/bus")

    def systemctl(self, account: Account, *args: str) -> tuple[int, str, str]:
        runtime = f"/run/user/{account.uid}"
        argv = [
            self.module.get_bin_path("runuser", required=True),
            "-u",
            account.name,
            "--",
            "env",
            f"XDG_RUNTIME_DIR={runtime}",
            f"DBUS_SESSION_BUS_ADDRESS=unix:path={runtime}/bus",
            "systemctl",
            "--user",
            *args,
        ]
        return commands.run(self.module, argv)

    def journal(self, account: Account, lines: int) -> list[str]:
        journalctl = self.module.get_bin_path("journalctl")
        if not journalctl:
            return []
        _rc, out, _err = commands.run(
            self.module, [journalctl, "--no-pager", "-o", "cat", "-n", str(lines), f"_UID={account.uid}"]
        )
        return [line for line in out.splitlines() if line.strip()]

    def engine_info(self, docker_host: str) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", _engine.get(docker_host, "/info", timeout=5))

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def warn(self, msg: str) -> None:
        self.module.warn(msg)
