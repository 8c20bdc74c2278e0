# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""seccomp_profile's manager: build and check the profile, write it, point daemon.json at it, prune.

A profile file is named by its content (DIRECTORY/dockguard-SHA12.json), so a
changed profile is a new file and a changed seccomp-profile path in daemon.json.
daemon_config's manager (_daemon.apply) then does what it does for every key:
validates, writes daemon.json, restarts dockerd, waits for the Engine API, and
when the daemon does not come back restores daemon.json, which still names the
previous profile file, untouched. Only after the daemon runs the new profile are
superseded profile files removed.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files, lock
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon import apply
from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp import profile as pr

KEY = "seccomp-profile"
PREFIX = "dockguard-"
MANAGED = re.compile(r"dockguard-[0-9a-f]{12}\.json")
# Engine 23 and later accept "builtin" as seccomp-profile; Engine 20.10 reads it as a path and does not start.
BUILTIN_SINCE = (23, 0)
PROFILE_LIMIT = 4 * 1024 * 1024


def engine_version(info: dict[str, t.Any]) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", str(info.get("ServerVersion") or ""))
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def builtin_setting(version: tuple[int, int]) -> str | None:
    """What daemon.json says for the engine's own profile: "builtin" where accepted, else no key at all."""
    return "builtin" if version >= BUILTIN_SINCE else None


def reported_profile(info: dict[str, t.Any]) -> str | None:
    """The profile docker info names (a path, "default" or "builtin"); None without seccomp."""
    for opt in info.get("SecurityOptions") or []:
        parts = dict(p.split("=", 1) for p in str(opt).split(",") if "=" in p)
        if parts.get("name") == "seccomp":
            return parts.get("profile")
    return None


class Manager:
    """One seccomp_profile task. host is _daemon.host.SystemHost (or a fake in unit tests)."""

    def __init__(self, params: dict[str, t.Any], host: t.Any, machine: str, check_mode: bool, diff: bool) -> None:
        self.p = params
        self.host = host
        self.machine = machine
        self.check_mode = check_mode
        self.diff = diff

    def daemon_params(self, settings: dict[str, t.Any], remove: list[str]) -> dict[str, t.Any]:
        p = self.p
        return {
            "path": p["daemon_json"], "user": None, "settings": settings, "remove_keys": remove,
            "exclusive": False, "allow_unknown_keys": [], "allow_insecure_tcp": False, "validate": p["validate"],
            "conflicts": p["conflicts"], "dropin_path": None, "restart": p["restart"], "service": p["service"],
            "socket_unit": "docker.socket", "docker_host": None, "timeout": p["timeout"], "backup": True,
        }  # fmt: skip

    def info(self) -> dict[str, t.Any]:
        try:
            return t.cast("dict[str, t.Any]", self.host.engine_get("unix:///var/run/docker.sock", "/info"))
        except _engine.EngineError as exc:
            raise DockguardError(
                f"the Engine API does not answer ({exc}): the engine's version decides how its builtin profile is "
                "named in daemon.json; start docker first"
            ) from None

    def current_setting(self) -> t.Any:
        text = files.read_text(self.p["daemon_json"], missing_ok=True)
        return dj.parse(text, self.p["daemon_json"]).get(KEY) if text else None

    def managed_files(self) -> list[str]:
        directory = self.p["directory"]
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        return sorted(os.path.join(directory, n) for n in names if MANAGED.fullmatch(n))

    def read_profile(self, path: str) -> str | None:
        return files.read_text(path, limit=PROFILE_LIMIT, missing_ok=True)

    # -- the run ---------------------------------------------------------------------------------------

    def run(self) -> dict[str, t.Any]:
        p = self.p
        if p["timeout"] <= 0:
            raise DockguardError(f"timeout={p['timeout']}: must be a positive number of seconds (default 60)")
        if not os.path.isabs(p["directory"]):
            raise DockguardError(f"directory={p['directory']!r}: must be an absolute path such as /etc/docker/seccomp")
        if p["state"] == "builtin":
            return self.run_builtin()
        return self.run_present()

    def run_present(self) -> dict[str, t.Any]:
        p = self.p
        built = pr.build(self.machine, p["deltas"], p["deny_syscalls"])  # refuses bad input before any read
        text = pr.render(built)
        path = os.path.join(p["directory"], f"{PREFIX}{pr.digest(text)}.json")
        before_setting = self.current_setting()
        old_text = self.read_profile(before_setting) if self.is_managed(before_setting) else None
        file_changed = self.read_profile(path) != text
        result: dict[str, t.Any] = {
            "path": path,
            "deltas": list(p["deltas"]),
            "deny_syscalls": list(p["deny_syscalls"]),
            "rules": len(built["syscalls"]),
            "denied": pr.denied_names(built),
            "changed": file_changed,
        }
        if file_changed and not self.check_mode:
            files.atomic_write(self.host.module, path, text, mode=0o644)
        if p["apply"]:
            daemon = self.apply_daemon({KEY: path}, [], created=path if file_changed else None)
        else:
            daemon = {"config": {KEY: before_setting}, "changed": False, "restarted": False, "restart_pending": False}
        result.update(self.daemon_summary(daemon))
        result["pruned"] = self.prune(keep={path, daemon["config"].get(KEY)})
        result["changed"] = bool(result["changed"] or daemon["changed"] or result["pruned"])
        if self.diff:
            result["diff"] = [
                {"before": old_text or "", "after": text, "before_header": str(before_setting or "(no profile)"),
                 "after_header": path},
                *daemon.get("diff", []),
            ]  # fmt: skip
        return result

    def run_builtin(self) -> dict[str, t.Any]:
        version = engine_version(self.info())
        setting = builtin_setting(version)
        settings, remove = ({KEY: setting}, []) if setting else ({}, [KEY])
        daemon = self.apply_daemon(settings, remove, created=None)
        result: dict[str, t.Any] = {"path": None, "engine_version": f"{version[0]}.{version[1]}"}
        result.update(self.daemon_summary(daemon))
        result["pruned"] = self.prune(keep={daemon["config"].get(KEY)})
        result["changed"] = bool(daemon["changed"] or result["pruned"])
        if self.diff:
            result["diff"] = daemon.get("diff", [])
        return result

    @staticmethod
    def daemon_summary(daemon: dict[str, t.Any]) -> dict[str, t.Any]:
        keep = ("restarted", "restart_pending", "validated_by", "backup_file", "verified")
        out = {k: daemon[k] for k in keep if k in daemon}
        out["daemon_setting"] = daemon["config"].get(KEY)
        return out

    def is_managed(self, setting: t.Any) -> bool:
        return (
            isinstance(setting, str)
            and os.path.dirname(setting) == os.path.normpath(self.p["directory"])
            and bool(MANAGED.fullmatch(os.path.basename(setting)))
        )

    def apply_daemon(self, settings: dict[str, t.Any], remove: list[str], created: str | None) -> dict[str, t.Any]:
        """daemon.json through daemon_config's manager, under daemon_config's locks; then confirm the running
        daemon names the profile. A profile file this run created is removed again when that fails."""
        params = self.daemon_params(settings, remove)
        tgt = apply.make_target(params, None)
        manager = apply.Manager(params, tgt, self.host, self.check_mode, self.diff)
        file_key = f"daemon_config:file:{os.path.normpath(tgt.path)}"
        unit_key = f"daemon_config:unit::{self.p['service']}"
        file_lock = lock.exclusive(file_key, f"the daemon of {tgt.path}", self.p["lock_timeout"])
        unit_lock = lock.exclusive(unit_key, f"the service {self.p['service']}", self.p["lock_timeout"])
        try:
            with file_lock, unit_lock:
                daemon = manager.run()
                if daemon["restarted"] and not self.check_mode:
                    self.confirm(settings.get(KEY), tgt.docker_host)
        except DockguardError as exc:
            if created and not self.check_mode:
                files.remove(created)
            raise DockguardError(
                f"{exc.msg}" + (f" The new profile {created} was removed again." if created else ""), **exc.details
            ) from None
        return daemon

    def confirm(self, setting: str | None, docker_host: str) -> None:
        """docker info names the profile the daemon runs: the path (both engines), or its builtin one."""
        reported = reported_profile(self.host.engine_get(docker_host, "/info"))
        want = setting if setting not in (None, "builtin") else ("builtin", "default")
        if reported not in (want if isinstance(want, tuple) else (want,)):
            raise DockguardError(
                f"dockerd came back but docker info reports seccomp profile {reported!r}, not {setting!r}"
            )

    def prune(self, keep: set[t.Any]) -> list[str]:
        """Remove the collection's profile files that neither this run nor daemon.json names."""
        gone = [f for f in self.managed_files() if f not in keep]
        if not self.check_mode:
            for path in gone:
                files.remove(path)
        return gone
