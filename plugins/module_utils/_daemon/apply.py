# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""daemon_config's manager: desired vs current, validation, atomic write, verified restart, rollback.

Everything it reads from or does to the host goes through a host object
(host.SystemHost on a real host, a fake one in unit tests). Failures raise
DaemonConfigError (nothing written) or ApplyFailed (a restart that did not
bring the daemon back; it carries the rollback report as result keys).
"""

from __future__ import annotations

import os
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon.host import Target

DROPIN_NAME = "99-dockguard-daemon-config.conf"
# Seconds a systemctl job may take beyond the API wait (timeout), and a query at all.
JOB_MARGIN = 30
QUERY_BOUND = 30
# A journal excerpt in a result is for a human: bounded.
JOURNAL_LINES = 40


class RestartError(DockguardError):
    """A restart that did not bring the daemon back with the new settings (before rollback)."""


class ApplyFailed(DockguardError):
    """The daemon did not come back; details hold the rollback report (restored, journal, ...)."""


MARKS = ("level=error", "level=fatal", "error", "failed", "unable", "invalid", "conflict", "denied", "no such")


def explains(line: str) -> bool:
    return any(m in line.lower() for m in MARKS)


def is_utf8(text: str) -> bool:
    """False when text holds bytes that were not UTF-8 (read with surrogateescape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def notable(journal: list[str], limit: int = 6) -> list[str]:
    """The journal lines that explain a failed start: errors first, else the last lines."""
    hits = [line for line in journal if explains(line)]
    return (hits or journal)[-limit:]


def make_target(params: dict[str, t.Any], account: t.Any | None) -> Target:
    """The Target of params; account is the pwd entry of params['user'] (None for the system daemon)."""
    service = params["service"]
    if account is not None:
        dirs = sd.user_unit_dirs(account.pw_dir)
        return Target(
            path=params["path"] or os.path.join(account.pw_dir, ".config/docker/daemon.json"),
            uid=account.pw_uid,
            gid=account.pw_gid,
            home=account.pw_dir,
            user=account.pw_name,
            docker_host=params["docker_host"] or f"unix:///run/user/{account.pw_uid}/docker.sock",
            unit_dirs=dirs,
            dropin=params["dropin_path"] or os.path.join(dirs[0], f"{service}.d", DROPIN_NAME),
        )
    return Target(
        path=params["path"] or "/etc/docker/daemon.json",
        uid=0,
        gid=0,
        home="/root",
        user=None,
        docker_host=params["docker_host"] or "unix:///var/run/docker.sock",
        unit_dirs=sd.SYSTEM_UNIT_DIRS,
        dropin=params["dropin_path"] or os.path.join("/etc/systemd/system", f"{service}.d", DROPIN_NAME),
    )


class Manager:
    """One daemon_config task: params, a Target and a host; run() does the work."""

    def __init__(self, params: dict[str, t.Any], tgt: Target, host: t.Any, check_mode: bool, diff: bool) -> None:
        self.p = params
        self.tgt = tgt
        self.host = host
        self.check_mode = check_mode
        self.diff = diff
        self.warnings: list[str] = []
        self.deferred: list[str] = []

    # -- facts -----------------------------------------------------------------------------

    def systemctl(self, *args: str, check: bool = False) -> tuple[int, str, str]:
        # a job (restart, reload) gets the API wait plus its own margin; a query a short bound
        bound = self.p["timeout"] + JOB_MARGIN if args[0] in ("restart", "reload", "daemon-reload") else QUERY_BOUND
        rc, out, err = self.host.systemctl(self.tgt.user, *args, bound=bound)
        if rc == 124:
            raise RestartError(f"systemctl {' '.join(args)} did not finish within {bound:g}s (the unit's job hangs)")
        if check and rc != 0:
            why = (err.strip() or out.strip() or "no output").splitlines()[0].rstrip(".")
            raise RestartError(f"systemctl {' '.join(args)} failed (rc={rc}): {why}")
        return rc, out, err

    def unit_property(self, unit: str, prop: str) -> str:
        _rc, out, _err = self.systemctl("show", "-p", prop, "--value", unit)
        return t.cast(str, out).strip()

    def service_model(self) -> tuple[list[str], list[sd.Flag]] | None:
        tgt = self.tgt
        files = sd.unit_files(self.p["service"], tgt.unit_dirs, lambda d: self.host.listdir(tgt, d))
        if not files:
            return None
        service = sd.read_service(files, lambda f: self.host.read_unit(tgt, f))
        env_texts = {}
        for path, _opt in service.environment_files:
            text = self.host.read_env(tgt, path)
            if text is not None:
                env_texts[path] = text
        return sd.command_words(service), sd.parse_dockerd_flags(sd.expand_command(service, env_texts))

    # -- validation ---------------------------------------------------------------------------

    def dockerd_validate(self, dockerd: str, text: str) -> bool:
        """Run dockerd --validate on text; False when this dockerd cannot validate."""
        rc, out, err = self.host.dockerd_validate(dockerd, text)
        msg = (err or out).strip()
        if rc != 0 and "unknown flag" in msg and "validate" in msg:
            return False
        if rc != 0:
            raise dj.DaemonConfigError(f"dockerd --validate refused the new configuration: {msg[:2000]}")
        return True

    def validate_all(self, desired: dict[str, t.Any], rendered: str) -> list[str]:
        """Every check the new configuration must pass before anything is written."""
        dj.validate(desired, self.p["allow_unknown_keys"])
        validated_by = ["model"]
        problems = [] if self.p["allow_insecure_tcp"] else dj.security_problems(desired)
        problems += dj.ulimit_problems(desired, *self.host.host_limits())
        if problems:
            raise dj.DaemonConfigError("; ".join(problems))
        dockerd = self.host.bin("dockerd")
        if dockerd is None:
            if self.p["validate"] != "never" or self.p["restart"] != "never":
                raise dj.DaemonConfigError(
                    "dockerd is not installed on this host (not found on PATH): install the engine first "
                    "(role dockguard.hardening.daemon), or set validate=never and restart=never to pre-seed the file"
                )
            return validated_by
        if self.p["validate"] == "never":
            return validated_by
        if self.dockerd_validate(dockerd, rendered):
            validated_by.append("dockerd --validate")
        elif self.p["validate"] == "always":
            raise dj.DaemonConfigError(
                f"{dockerd} has no --validate (Engine 23 or later has it); set validate=auto or never"
            )
        return validated_by

    def plan_conflicts(self, desired: dict[str, t.Any]) -> tuple[str | None, list[sd.Conflict]]:
        tgt = self.tgt
        model = self.service_model()
        if model is None:
            return None, []
        words, flags = model
        cfg_flag = sd.config_file_flag(flags)
        if cfg_flag and os.path.normpath(cfg_flag) != os.path.normpath(tgt.path):
            raise dj.DaemonConfigError(
                f"{self.p['service']} starts dockerd with --config-file {cfg_flag}, so {tgt.path} is not read; "
                f"manage path={cfg_flag} instead"
            )
        found = sd.conflicts(flags, desired)
        if not found:
            return None, []
        where = "; ".join(c.describe(tgt.path) for c in found)
        if self.p["conflicts"] == "fail":
            raise dj.DaemonConfigError(
                f"dockerd refuses to start when a setting is given twice: {where}. Remove the flag, drop the key, "
                "or set conflicts=resolve to start dockerd through a managed drop-in without the flag."
            )
        from_env = [c for c in found if not c.in_unit_line]
        if from_env:
            raise dj.DaemonConfigError(
                "cannot resolve with a drop-in, the flag comes from a variable (Environment= or EnvironmentFile=), "
                "not from ExecStart= itself: "
                + "; ".join(c.describe(tgt.path) for c in from_env)
                + ". Remove it where that variable is set."
            )
        drop = [f for f in flags if f.key in {c.key for c in found}]
        if "hosts" in desired and "fd://" not in desired["hosts"] and self.p["socket_unit"]:
            self.warnings.append(
                "hosts has no 'fd://': dockerd will bind its UNIX socket itself instead of taking it from "
                f"{self.p['socket_unit']}; add 'fd://' to hosts to keep socket activation"
            )
        reason = "Started without " + ", ".join(sorted({c.flag for c in found})) + f": set in {tgt.path}."
        return sd.dropin_text(sd.strip_flags(words, drop), reason), found

    def file_newer_than_daemon(self) -> bool:
        started = self.host.started_at(self.unit_property(self.p["service"], "MainPID"))
        if started is None:
            return False
        stamps = [self.host.mtime(self.tgt, p) for p in (self.tgt.path, self.tgt.dropin)]
        newest = max((s for s in stamps if s is not None), default=0.0)
        return newest > started + 1.0

    def check_paths(self) -> None:
        """With user=, both files the task writes lie in the user's home (a rootless daemon reads them there)."""
        tgt = self.tgt
        if not tgt.user:
            return
        home = os.path.normpath(tgt.home).rstrip("/") + "/"
        for option, path in (("path", tgt.path), ("dropin_path", tgt.dropin)):
            if not os.path.normpath(path).startswith(home):
                raise dj.DaemonConfigError(
                    f"{option}={path} is outside the home {tgt.home} of user={tgt.user}: for a user's daemon this "
                    "module writes only inside their home, owned by them. Drop user= to manage a system file."
                )

    def check_masked(self) -> None:
        """A masked service is named as masked (its unit file is a link to /dev/null, so it has no ExecStart=)."""
        if self.unit_property(self.p["service"], "LoadState") == "masked":
            raise dj.DaemonConfigError(
                f"{self.p['service']} is masked on this host, so it cannot be started or restarted: unmask it "
                f"(systemctl unmask {self.p['service']}) or manage another service; nothing was written"
            )

    def check_unit(self) -> bool:
        """Whether the service is loaded."""
        state = self.unit_property(self.p["service"], "LoadState")
        if self.p["restart"] != "never" and state != "loaded":
            raise dj.DaemonConfigError(
                f"{self.p['service']} is not a loaded unit on this host; install the engine or set restart=never"
            )
        return state == "loaded"

    # -- main -----------------------------------------------------------------------------------

    def run(self) -> dict[str, t.Any]:
        tgt = self.tgt
        self.check_paths()
        self.host.check_home(tgt)
        self.check_masked()
        text, st = self.host.read(tgt, tgt.path)
        if text is not None and not is_utf8(text):
            raise dj.DaemonConfigError(
                f"{tgt.path} is not valid UTF-8, which dockerd requires of daemon.json; fix or remove the bytes "
                "that are not, then run again: nothing was written"
            )
        current = dj.parse(text, tgt.path) if text is not None else {}
        desired = dj.desired_config(current, self.p["settings"], self.p["remove_keys"], self.p["exclusive"])
        rendered = dj.render(desired)
        validated_by = self.validate_all(desired, rendered)
        changes = dj.diff(current, desired)
        content_changed = not dj.is_empty_diff(changes) or (text is None and bool(desired))
        dropin_text, conflicts = self.plan_conflicts(desired)
        old_dropin, _st = self.host.read(tgt, tgt.dropin)
        dropin_changed = dropin_text is not None and dropin_text != old_dropin
        perms_changed = st is not None and (
            (st.st_mode & 0o7777) != 0o644 or st.st_uid != tgt.uid or st.st_gid != tgt.gid
        )
        loaded = self.check_unit()

        result: dict[str, t.Any] = {
            "path": tgt.path,
            "config": desired,
            "changes": changes,
            "validated_by": validated_by,
            "conflicts": [c._asdict() for c in conflicts],
            "restarted": False,
            "restart_pending": False,
        }
        if dropin_text is not None or old_dropin is not None:
            result["dropin"] = tgt.dropin
        if self.diff:
            result["diff"] = self.make_diff(current, desired, old_dropin, dropin_text if dropin_changed else None)

        if not self.check_mode:
            if content_changed:
                backup = self.host.write(tgt, tgt.path, rendered, backup=self.p["backup"] and text is not None)
                if backup:
                    result["backup_file"] = backup
            elif perms_changed:
                self.host.fix_attributes(tgt, tgt.path, t.cast(str, text))
            if dropin_changed and dropin_text is not None:
                try:
                    self.host.write(tgt, tgt.dropin, dropin_text)
                except DockguardError as exc:
                    if content_changed:  # the key and the flag would both be set: dockerd would not start
                        self.restore(tgt.path, text)
                    raise dj.DaemonConfigError(
                        f"{exc.msg}; {tgt.path} was left as it was before this run (its new keys need the drop-in)"
                        if content_changed
                        else exc.msg
                    ) from None

        pending = content_changed or dropin_changed or self.file_newer_than_daemon()
        active = loaded and self.unit_property(self.p["service"], "ActiveState") == "active"
        if self.p["restart"] == "always" or (self.p["restart"] == "on_change" and pending and active):
            result["restarted"] = True
            if not self.check_mode:
                result["verified"] = self.safe_restart(desired, changes, text, old_dropin, dropin_changed)
        else:
            result["restart_pending"] = bool(pending and active)
        if self.deferred:
            result["deferred"] = self.deferred
        result["changed"] = bool(content_changed or dropin_changed or perms_changed or result["restarted"])
        if self.warnings:
            result["warnings"] = self.warnings
        return result

    def make_diff(
        self,
        before: dict[str, t.Any],
        after: dict[str, t.Any],
        old_dropin: str | None,
        new_dropin: str | None,
    ) -> list[dict[str, t.Any]]:
        tgt = self.tgt
        diffs: list[dict[str, t.Any]] = [
            {"before": before, "after": after, "before_header": tgt.path, "after_header": tgt.path}
        ]
        if new_dropin is not None:
            diffs.append(
                {
                    "before": old_dropin or "",
                    "after": new_dropin,
                    "before_header": tgt.dropin,
                    "after_header": tgt.dropin,
                }
            )
        return diffs

    # -- safe apply -------------------------------------------------------------------------------

    def restore(self, path: str, text: str | None) -> None:
        if text is None:
            self.host.remove(self.tgt, path)
        else:
            self.host.write(self.tgt, path, text)

    def restart_units(self) -> list[str]:
        units = [self.p["service"]]
        sock = self.p["socket_unit"]
        if sock and self.unit_property(sock, "LoadState") == "loaded":
            units.insert(0, sock)
        return units

    def wait_api(self, deadline: float) -> dict[str, t.Any]:
        last = "no answer yet"
        docker_host = self.tgt.docker_host
        while self.host.monotonic() < deadline:
            try:
                self.host.engine_get(docker_host, "/_ping", timeout=3)
                return t.cast("dict[str, t.Any]", self.host.engine_get(docker_host, "/info", timeout=10))
            except _engine.EngineError as exc:
                last = str(exc)
            self.host.sleep(1)
        raise RestartError(f"the Engine API at {docker_host} did not answer within {self.p['timeout']}s ({last})")

    def restart_and_wait(self) -> dict[str, t.Any]:
        if not self.tgt.user:
            self.systemctl("daemon-reload", check=True)
        units = self.restart_units()
        self.systemctl("reset-failed", *units)
        self.systemctl("restart", *units, check=True)
        return self.wait_api(self.host.monotonic() + self.p["timeout"])

    def enable_live_restore_first(self, desired: dict[str, t.Any]) -> None:
        """live-restore is reloadable: turn it on in the running daemon so containers survive."""
        if desired.get("live-restore") is not True:
            return
        docker_host = self.tgt.docker_host
        try:
            info = self.host.engine_get(docker_host, "/info")
        except _engine.EngineError:
            return
        if info.get("LiveRestoreEnabled"):
            return
        rc, _out, err = self.systemctl("reload", self.p["service"])
        if rc != 0:
            self.warnings.append(f"could not reload {self.p['service']} to enable live-restore first: {err.strip()}")
            return
        deadline = self.host.monotonic() + 15
        while self.host.monotonic() < deadline:
            try:
                if self.host.engine_get(docker_host, "/info").get("LiveRestoreEnabled"):
                    return
            except _engine.EngineError:
                pass
            self.host.sleep(0.5)
        self.warnings.append("the daemon did not enable live-restore on reload; containers may restart")

    def verify(
        self, info: dict[str, t.Any], desired: dict[str, t.Any], changes: dict[str, t.Any]
    ) -> list[dict[str, t.Any]]:
        try:
            bridge = self.host.engine_get(self.tgt.docker_host, "/networks/bridge")
        except _engine.EngineError:
            bridge = None
        report = []
        for key in sorted(set(changes["added"]) | set(changes["changed"])):
            observable, observed = _engine.observe(key, info, bridge)
            if not observable:
                continue
            want = _engine.expected(key, desired[key])
            if not dj.same_value(key, want, observed) and key in _engine.BRIDGE_KEYS and _engine.bridge_held(info):
                self.deferred.append(key)
                self.warnings.append(
                    f"{key}={desired[key]!r} is in the file, but live-restore kept {info.get('ContainersRunning')} "
                    f"container(s) running on the default bridge, so dockerd kept the old bridge ({key}={observed!r}). "
                    "It applies at the first restart with no container running."
                )
                continue
            if not dj.same_value(key, want, observed):
                raise RestartError(
                    f"the daemon came back but reports {key}={observed!r} where the file sets {desired[key]!r}"
                )
            report.append({"key": key, "expected": want, "observed": observed})
        return report

    def read_journal(self, since: float) -> list[str]:
        """The service's journal since a moment; read again for a few seconds while journald has not
        yet written the line that explains the failure (it trails a fast-failing restart)."""
        for attempt in range(4):
            journal = [
                line
                for line in self.host.journal(self.tgt, self.p["service"], since)
                if line.strip() and "module=grpc" not in line  # dockerd's gRPC chatter buries the line that says why
            ]
            if any(explains(line) for line in journal) or attempt == 3:
                return journal
            self.host.sleep(1)
        return journal  # pragma: no cover

    def safe_restart(
        self,
        desired: dict[str, t.Any],
        changes: dict[str, t.Any],
        old_text: str | None,
        old_dropin: str | None,
        dropin_changed: bool,
    ) -> list[dict[str, t.Any]]:
        started = self.host.now() - 1
        try:
            self.enable_live_restore_first(desired)
            info = self.restart_and_wait()
            return self.verify(info, desired, changes)
        except RestartError as exc:
            failure = str(exc)
        journal = self.read_journal(started)
        restored = []
        if not dj.is_empty_diff(changes):
            self.restore(self.tgt.path, old_text)
            restored.append(
                self.tgt.path if old_text is not None else f"{self.tgt.path} (removed: it did not exist before)"
            )
        if dropin_changed:
            self.restore(self.tgt.dropin, old_dropin)
            restored.append(self.tgt.dropin)
        try:
            self.restart_and_wait()
            back = "the daemon is answering again with the previous configuration"
        except RestartError as exc:
            back = f"the daemon did NOT come back with the previous configuration either: {exc}"
        why = notable(journal)
        raise ApplyFailed(
            f"dockerd did not come back with the new configuration: {failure}. "
            f"Restored {', '.join(restored) or 'nothing (no file had changed)'}; {back}. "
            f"Journal: {' | '.join(why) if why else '(no journal lines since the restart)'}",
            rolled_back=bool(restored),
            restored=restored,
            journal=journal[-JOURNAL_LINES:],
            attempted_config=desired,
            changes=changes,
        )
