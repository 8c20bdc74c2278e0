#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daemon_config
short_description: Manage the Docker daemon's daemon.json and apply it without losing the daemon
version_added: 0.1.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Sets, removes or owns the keys of C(/etc/docker/daemon.json), or of a rootless user's
    C(~/.config/docker/daemon.json) through O(path) and O(user).
  - Values are compared structurally, never as text; keys the task does not name are kept.
  - Before anything is written the new configuration is validated against a model of the daemon's
    documented keys (unknown keys and wrong value types are refused with the key named) and with
    C(dockerd --validate) where the installed engine has it (Engine 23 and later).
  - A key that is also given as a dockerd flag in the service unit or one of its drop-ins makes dockerd
    refuse to start. Such a conflict is an error that names both places, or is resolved with a managed
    systemd drop-in when O(conflicts=resolve).
  - The file is written atomically, owned by root (or the rootless user) with mode V(0644), after a backup.
  - A restart after a change waits for the Engine API and confirms that the running daemon reports the
    new settings. When the daemon does not come back, the previous file is restored, the daemon is
    restarted and the task fails with what went wrong, a journal excerpt, and what was restored.
  - When the new configuration turns C(live-restore) on, the running daemon is told to reload first, so
    that running containers survive the restart.
extends_documentation_fragment:
  - dockguard.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  path:
    description:
      - The configuration file.
      - Defaults to C(/etc/docker/daemon.json), or to C(~USER/.config/docker/daemon.json) when O(user) is set.
    type: path
  user:
    description:
      - Manage the rootless daemon of this user instead of the system daemon.
      - The file is then owned by the user, the service is the user's C(docker.service) in their systemd
        user manager, and the API is C(/run/user/UID/docker.sock).
    type: str
  settings:
    description:
      - Keys to set. Each key replaces the whole value it had; other keys of the file are kept unless
        O(exclusive=true).
    type: dict
    default: {}
  remove_keys:
    description:
      - Keys to remove from the file.
    type: list
    elements: str
    default: []
  exclusive:
    description:
      - Own the whole file, which then holds exactly O(settings).
    type: bool
    default: false
  allow_unknown_keys:
    description:
      - Keys accepted although the model of daemon keys does not know them, for settings of engines newer
        than this collection. C(dockerd --validate) still checks them where available.
    type: list
    elements: str
    default: []
  allow_insecure_tcp:
    description:
      - Accept TCP entries in C(hosts) without C(tlsverify). dockerd reads as TCP both C(tcp://) entries and
        addresses without a scheme such as C(0.0.0.0:2375) or C(:2375). Anyone who reaches such a port is
        root on the host; leave this false.
    type: bool
    default: false
  validate:
    description:
      - V(auto) runs C(dockerd --validate --config-file) when the installed dockerd supports it.
      - V(always) fails when dockerd cannot validate the file.
      - V(never) checks only against the model of daemon keys.
    type: str
    choices: [auto, always, never]
    default: auto
  conflicts:
    description:
      - What to do when a key is also set by a dockerd flag in the service unit, a drop-in or its
        environment file.
      - V(fail) stops with an error naming both places.
      - V(resolve) writes the drop-in O(dropin_path) that starts dockerd without the conflicting flags.
        A flag that comes from a variable (C(Environment=) or C(EnvironmentFile=)) is not resolved; the
        task fails naming the place that sets it.
    type: str
    choices: [fail, resolve]
    default: fail
  dropin_path:
    description:
      - The drop-in written when O(conflicts=resolve).
      - Defaults to C(/etc/systemd/system/SERVICE.d/99-dockguard-daemon-config.conf), or the user's
        C(~/.config/systemd/user/SERVICE.d/) when O(user) is set.
    type: path
  restart:
    description:
      - V(on_change) restarts the daemon safely when the file or drop-in changed, or when the file is newer
        than the running daemon.
      - V(always) restarts it safely on every run (for handlers).
      - V(never) only reports RV(restart_pending), for hosts whose owners schedule restarts themselves.
    type: str
    choices: [on_change, always, never]
    default: on_change
  service:
    description:
      - The systemd service of the daemon.
    type: str
    default: docker.service
  socket_unit:
    description:
      - The socket unit restarted with O(service) when it is loaded, so that socket settings apply.
    type: str
    default: docker.socket
  docker_host:
    description:
      - The Engine API socket used to confirm the daemon is back.
      - Defaults to C(unix:///var/run/docker.sock), or the user's C(unix:///run/user/UID/docker.sock).
    type: str
  timeout:
    description:
      - Seconds to wait for the Engine API to answer after a restart.
    type: int
    default: 60
  backup:
    description:
      - Keep a timestamped copy of the previous file next to it.
    type: bool
    default: true
notes:
  - A key in O(settings) replaces the key's whole value. To change one entry of C(log-opts), give the
    whole C(log-opts) object.
  - The module never follows a symlinked configuration file; a symlink is refused.
seealso:
  - name: dockerd daemon configuration file
    description: The reference of daemon.json keys.
    link: https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file
  - module: community.docker.docker_host_info
"""

EXAMPLES = r"""
---
- name: Harden the daemon and restart it safely
  dockguard.hardening.daemon_config:
    settings:
      icc: false
      live-restore: true
      no-new-privileges: true
      userland-proxy: false
      log-driver: json-file
      log-opts:
        max-size: 10m
        max-file: "3"

- name: Remove a key and only report that a restart is pending
  dockguard.hardening.daemon_config:
    remove_keys:
      - insecure-registries
    restart: never
  register: daemon

- name: Listen on TLS as well, replacing the unit's -H fd:// with a managed drop-in
  dockguard.hardening.daemon_config:
    settings:
      hosts: ["fd://", "tcp://0.0.0.0:2376"]
      tlsverify: true
      tlscacert: /etc/docker/tls/ca.pem
      tlscert: /etc/docker/tls/server-cert.pem
      tlskey: /etc/docker/tls/server-key.pem
    conflicts: resolve

- name: A rootless user's daemon
  dockguard.hardening.daemon_config:
    user: alice
    settings:
      no-new-privileges: true
"""

RETURN = r"""
path:
  description: The configuration file managed.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
config:
  description: The configuration in effect in the file after the task (predicted in check mode).
  returned: always
  type: dict
  sample: {"icc": false, "live-restore": true, "log-opts": {"max-size": "10m"}}
changes:
  description: Keys added, removed and changed by the task.
  returned: always
  type: dict
  sample: {"added": {"icc": false}, "removed": {}, "changed": {"log-level": {"before": "debug", "after": "info"}}}
restart_pending:
  description: The running daemon does not yet run with the file's content (only with O(restart=never)).
  returned: always
  type: bool
  sample: false
restarted:
  description: The daemon was restarted (or would be, in check mode) and confirmed running the new settings.
  returned: always
  type: bool
  sample: true
verified:
  description: Per changed key that the Engine API exposes, what the running daemon reported after the restart.
  returned: when restarted
  type: list
  elements: dict
  sample: [{"key": "live-restore", "expected": true, "observed": true}]
validated_by:
  description: The checks the new configuration passed.
  returned: always
  type: list
  elements: str
  sample: ["model", "dockerd --validate"]
conflicts:
  description: Keys also set as dockerd flags, with where the flag is.
  returned: always
  type: list
  elements: dict
  sample: [{"key": "hosts", "flag": "-H fd://", "origin": "/lib/systemd/system/docker.service:13"}]
dropin:
  description: The managed drop-in written to resolve conflicts, if any.
  returned: when a drop-in is managed
  type: str
  sample: /etc/systemd/system/docker.service.d/99-dockguard-daemon-config.conf
deferred:
  description:
    - Keys of the default bridge (such as C(icc)) that the restarted daemon did not apply because live-restore
      kept containers running on the bridge. They apply at the first restart with no container running.
  returned: when a restart deferred some keys
  type: list
  elements: str
  sample: ["icc"]
backup_file:
  description: The copy of the previous file.
  returned: when the file changed and O(backup=true)
  type: str
  sample: /etc/docker/daemon.json.2201.2026-11-28@16:51:12~
"""

import os
import stat
import tempfile
import time
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd

C_ENV = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}
DROPIN_NAME = "99-dockguard-daemon-config.conf"


class ApplyError(Exception):
    """A restart that did not bring the daemon back with the new settings."""


class Target(t.NamedTuple):
    path: str
    uid: int
    gid: int
    home: str
    user: str | None
    docker_host: str
    unit_dirs: tuple[str, ...]
    dropin: str


def read_text(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def notable(journal: list[str], limit: int = 6) -> list[str]:
    """The journal lines that explain a failed start: errors first, else the last lines."""
    marks = ("level=error", "level=fatal", "failed", "Failed", "unable", "invalid", "conflict")
    hits = [line for line in journal if any(m in line for m in marks)]
    return (hits or journal)[-limit:]


class DaemonConfig:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params
        self.warnings: list[str] = []
        self.deferred: list[str] = []

    # -- facts ---------------------------------------------------------------

    def target(self) -> Target:
        user = self.p["user"]
        service = self.p["service"]
        if user:
            import pwd

            try:
                pw = pwd.getpwnam(user)
            except KeyError:
                raise dj.DaemonConfigError(f"user={user!r}: no such user on this host") from None
            dirs = sd.user_unit_dirs(pw.pw_dir)
            return Target(
                path=self.p["path"] or os.path.join(pw.pw_dir, ".config/docker/daemon.json"),
                uid=pw.pw_uid,
                gid=pw.pw_gid,
                home=pw.pw_dir,
                user=user,
                docker_host=self.p["docker_host"] or f"unix:///run/user/{pw.pw_uid}/docker.sock",
                unit_dirs=dirs,
                dropin=self.p["dropin_path"] or os.path.join(dirs[0], f"{service}.d", DROPIN_NAME),
            )
        return Target(
            path=self.p["path"] or "/etc/docker/daemon.json",
            uid=0,
            gid=0,
            home="/root",
            user=None,
            docker_host=self.p["docker_host"] or "unix:///var/run/docker.sock",
            unit_dirs=sd.SYSTEM_UNIT_DIRS,
            dropin=self.p["dropin_path"] or os.path.join("/etc/systemd/system", f"{service}.d", DROPIN_NAME),
        )

    def read_current(self, path: str) -> tuple[str | None, os.stat_result | None]:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None, None
        if stat.S_ISLNK(st.st_mode):
            raise dj.DaemonConfigError(
                f"{path} is a symlink (to {os.readlink(path)!r}); refusing to follow it: whoever controls the "
                "target controls the daemon. Replace it with a regular file; nothing was written."
            )
        if not stat.S_ISREG(st.st_mode):
            raise dj.DaemonConfigError(f"{path} exists but is not a regular file; nothing was written")
        return read_text(path), st

    def systemctl(self, tgt: Target, *args: str, check: bool = False) -> tuple[int, str, str]:
        argv = [self.module.get_bin_path("systemctl", required=True)]
        if tgt.user:
            argv += ["--user", "-M", f"{tgt.user}@"]
        rc, out, err = self.module.run_command([*argv, *args], environ_update=C_ENV, expand_user_and_vars=False)
        if check and rc != 0:
            why = (err.strip() or out.strip() or "no output").splitlines()[0].rstrip(".")
            raise ApplyError(f"systemctl {' '.join(args)} failed (rc={rc}): {why}")
        return rc, out, err

    def unit_property(self, tgt: Target, unit: str, prop: str) -> str:
        _rc, out, _err = self.systemctl(tgt, "show", "-p", prop, "--value", unit)
        return out.strip()

    def service_model(self, tgt: Target) -> tuple[list[str], list[sd.Flag]] | None:
        files = sd.unit_files(self.p["service"], tgt.unit_dirs, listdir)
        if not files:
            return None
        service = sd.read_service(files, read_text)
        env_texts = {}
        for path, _opt in service.environment_files:
            if os.path.isfile(path):
                env_texts[path] = read_text(path)
        return sd.command_words(service), sd.parse_dockerd_flags(sd.expand_command(service, env_texts))

    def daemon_started_at(self, tgt: Target) -> float | None:
        pid = self.unit_property(tgt, self.p["service"], "MainPID")
        if not pid.isdigit() or pid == "0":
            return None
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open("/proc/stat") as fh:
                btime = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
        except (OSError, StopIteration, IndexError, ValueError):
            return None
        return btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")

    # -- validation ----------------------------------------------------------

    def host_limits(self) -> tuple[dict[str, int | None], bool]:
        """Hard resource limits this host can grant, and whether root can raise them."""
        try:
            limits = dj.parse_proc_limits(read_text("/proc/self/limits"))
            status = read_text("/proc/self/status")
        except OSError:
            return {}, True
        cap_bnd = next((line.split()[1] for line in status.splitlines() if line.startswith("CapBnd:")), "")
        can_raise = not cap_bnd or bool(int(cap_bnd, 16) & (1 << 24))  # CAP_SYS_RESOURCE
        return limits, can_raise

    def dockerd_validate(self, dockerd: str, text: str) -> bool:
        """Run dockerd --validate on text; False when this dockerd cannot validate."""
        tmp = os.path.join(self.module.tmpdir, "daemon.json")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        rc, out, err = self.module.run_command(
            [dockerd, "--validate", "--config-file", tmp], environ_update=C_ENV, expand_user_and_vars=False
        )
        msg = (err or out).strip()
        if rc != 0 and "unknown flag" in msg and "validate" in msg:
            return False
        if rc != 0:
            raise dj.DaemonConfigError(f"dockerd --validate refused the new configuration: {msg}")
        return True

    # -- main ----------------------------------------------------------------

    def run(self) -> dict[str, t.Any]:
        tgt = self.target()
        text, st = self.read_current(tgt.path)
        current = dj.parse(text, tgt.path) if text is not None else {}
        desired = dj.desired_config(current, self.p["settings"], self.p["remove_keys"], self.p["exclusive"])
        rendered = dj.render(desired)
        validated_by = self.validate_all(desired, rendered)
        changes = dj.diff(current, desired)
        content_changed = not dj.is_empty_diff(changes) or (text is None and bool(desired))
        dropin_text, conflicts = self.plan_conflicts(tgt, desired)
        old_dropin = read_text(tgt.dropin) if os.path.isfile(tgt.dropin) else None
        dropin_changed = dropin_text is not None and dropin_text != old_dropin
        perms_changed = st is not None and (
            stat.S_IMODE(st.st_mode) != 0o644 or st.st_uid != tgt.uid or st.st_gid != tgt.gid
        )
        loaded = self.unit_property(tgt, self.p["service"], "LoadState") == "loaded"
        if self.p["restart"] != "never" and not loaded:
            raise dj.DaemonConfigError(
                f"{self.p['service']} is not a loaded unit on this host; install the engine or set restart=never"
            )

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
        if self.module._diff:
            result["diff"] = self.make_diff(tgt, current, desired, old_dropin, dropin_text if dropin_changed else None)

        if not self.module.check_mode:
            if content_changed:
                if self.p["backup"] and text is not None:
                    result["backup_file"] = self.module.backup_local(tgt.path)
                self.write(tgt.path, rendered, tgt.uid, tgt.gid)
            elif perms_changed:
                self.fix_attributes(tgt.path, tgt.uid, tgt.gid)
            if dropin_changed and dropin_text is not None:
                self.write(tgt.dropin, dropin_text, 0, 0)

        pending = content_changed or dropin_changed or self.file_newer_than_daemon(tgt)
        active = loaded and self.unit_property(tgt, self.p["service"], "ActiveState") == "active"
        if self.p["restart"] == "always" or (self.p["restart"] == "on_change" and pending and active):
            result["restarted"] = True
            if not self.module.check_mode:
                result["verified"] = self.safe_restart(tgt, desired, changes, text, old_dropin, dropin_changed)
        else:
            result["restart_pending"] = bool(pending and active)
        if self.deferred:
            result["deferred"] = self.deferred
        result["changed"] = bool(content_changed or dropin_changed or perms_changed or result["restarted"])
        if self.warnings:
            result["warnings"] = self.warnings
        return result

    def validate_all(self, desired: dict[str, t.Any], rendered: str) -> list[str]:
        """Every check the new configuration must pass before anything is written."""
        dj.validate(desired, self.p["allow_unknown_keys"])
        validated_by = ["model"]
        problems = [] if self.p["allow_insecure_tcp"] else dj.security_problems(desired)
        problems += dj.ulimit_problems(desired, *self.host_limits())
        if problems:
            raise dj.DaemonConfigError("; ".join(problems))
        dockerd = self.module.get_bin_path("dockerd")
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

    def plan_conflicts(self, tgt: Target, desired: dict[str, t.Any]) -> tuple[str | None, list[sd.Conflict]]:
        model = self.service_model(tgt)
        if model is None:
            return None, []
        words, flags = model
        cfg_flag = sd.config_file_flag(flags)
        if cfg_flag and os.path.realpath(cfg_flag) != os.path.realpath(tgt.path):
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

    def file_newer_than_daemon(self, tgt: Target) -> bool:
        started = self.daemon_started_at(tgt)
        if started is None:
            return False
        newest = 0.0
        for path in (tgt.path, tgt.dropin):
            try:
                newest = max(newest, os.lstat(path).st_mtime)
            except OSError:
                continue
        return newest > started + 1.0

    def make_diff(
        self,
        tgt: Target,
        before: dict[str, t.Any],
        after: dict[str, t.Any],
        old_dropin: str | None,
        new_dropin: str | None,
    ) -> list[dict[str, t.Any]]:
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

    # -- writes ----------------------------------------------------------------

    def fix_attributes(self, path: str, uid: int, gid: int) -> None:
        os.chown(path, uid, gid, follow_symlinks=False)
        os.chmod(path, 0o644)

    def write(self, path: str, text: str, uid: int, gid: int) -> None:
        directory = os.path.dirname(path)
        created = []
        missing = directory
        while missing and not os.path.isdir(missing):
            created.append(missing)
            missing = os.path.dirname(missing)
        for new_dir in reversed(created):  # every directory made for a rootless user is theirs (~/.config too)
            os.mkdir(new_dir, 0o755)
            if uid:
                os.chown(new_dir, uid, gid, follow_symlinks=False)

        fd, tmp = tempfile.mkstemp(prefix=".dockguard-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.chown(tmp, uid, gid)
            self.module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self.fix_attributes(path, uid, gid)

    def restore(self, path: str, text: str | None, uid: int, gid: int) -> None:
        if text is None:
            if os.path.lexists(path):
                os.unlink(path)
        else:
            self.write(path, text, uid, gid)

    # -- safe apply ----------------------------------------------------------------

    def restart_units(self, tgt: Target) -> list[str]:
        units = [self.p["service"]]
        sock = self.p["socket_unit"]
        if sock and self.unit_property(tgt, sock, "LoadState") == "loaded":
            units.insert(0, sock)
        return units

    def wait_api(self, tgt: Target, deadline: float) -> dict[str, t.Any]:
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                _engine.get(tgt.docker_host, "/_ping", timeout=3)
                return t.cast("dict[str, t.Any]", _engine.get(tgt.docker_host, "/info", timeout=10))
            except _engine.EngineError as exc:
                last = str(exc)
            time.sleep(1)
        raise ApplyError(f"the Engine API at {tgt.docker_host} did not answer within {self.p['timeout']}s ({last})")

    def restart_and_wait(self, tgt: Target) -> dict[str, t.Any]:
        if not tgt.user:
            self.systemctl(tgt, "daemon-reload", check=True)
        units = self.restart_units(tgt)
        self.systemctl(tgt, "reset-failed", *units)
        self.systemctl(tgt, "restart", *units, check=True)
        return self.wait_api(tgt, time.monotonic() + self.p["timeout"])

    def enable_live_restore_first(self, tgt: Target, desired: dict[str, t.Any]) -> None:
        """live-restore is reloadable: turn it on in the running daemon so containers survive."""
        if desired.get("live-restore") is not True:
            return
        try:
            info = _engine.get(tgt.docker_host, "/info")
        except _engine.EngineError:
            return
        if info.get("LiveRestoreEnabled"):
            return
        rc, _out, err = self.systemctl(tgt, "reload", self.p["service"])
        if rc != 0:
            self.warnings.append(f"could not reload {self.p['service']} to enable live-restore first: {err.strip()}")
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if _engine.get(tgt.docker_host, "/info").get("LiveRestoreEnabled"):
                    return
            except _engine.EngineError:
                pass
            time.sleep(0.5)
        self.warnings.append("the daemon did not enable live-restore on reload; containers may restart")

    def verify(
        self, tgt: Target, info: dict[str, t.Any], desired: dict[str, t.Any], changes: dict[str, t.Any]
    ) -> list[dict[str, t.Any]]:
        bridge = None
        try:
            bridge = _engine.get(tgt.docker_host, "/networks/bridge")
        except _engine.EngineError:
            bridge = None
        report = []
        keys = sorted(set(changes["added"]) | set(changes["changed"]))
        for key in keys:
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
                raise ApplyError(
                    f"the daemon came back but reports {key}={observed!r} where the file sets {desired[key]!r}"
                )
            report.append({"key": key, "expected": want, "observed": observed})
        return report

    def journal(self, tgt: Target, since: float) -> list[str]:
        journalctl = self.module.get_bin_path("journalctl")
        if not journalctl:
            return ["(journalctl not found)"]
        argv = [journalctl, "--no-pager", "-o", "cat", "-n", "400", "--since", f"@{int(since)}"]
        argv += [f"_UID={tgt.uid}", "--user-unit", self.p["service"]] if tgt.user else ["-u", self.p["service"]]
        _rc, out, _err = self.module.run_command(argv, environ_update=C_ENV, expand_user_and_vars=False)
        # dockerd's gRPC chatter buries the one line that says why it stopped
        lines = [line for line in out.splitlines() if line.strip() and "module=grpc" not in line]
        return lines[-40:]

    def safe_restart(
        self,
        tgt: Target,
        desired: dict[str, t.Any],
        changes: dict[str, t.Any],
        old_text: str | None,
        old_dropin: str | None,
        dropin_changed: bool,
    ) -> list[dict[str, t.Any]]:
        started = time.time() - 1
        try:
            self.enable_live_restore_first(tgt, desired)
            info = self.restart_and_wait(tgt)
            return self.verify(tgt, info, desired, changes)
        except ApplyError as exc:
            failure = str(exc)
        journal = self.journal(tgt, started)
        restored = []
        if not dj.is_empty_diff(changes):
            self.restore(tgt.path, old_text, tgt.uid, tgt.gid)
            restored.append(tgt.path if old_text is not None else f"{tgt.path} (removed: it did not exist before)")
        if dropin_changed:
            self.restore(tgt.dropin, old_dropin, 0, 0)
            restored.append(tgt.dropin)
        try:
            self.restart_and_wait(tgt)
            back = "the daemon is answering again with the previous configuration"
        except ApplyError as exc:
            back = f"the daemon did NOT come back with the previous configuration either: {exc}"
        self.module.fail_json(
            msg=(
                f"dockerd did not come back with the new configuration: {failure}. "
                f"Restored {', '.join(restored) or 'nothing (no file had changed)'}; {back}. "
                f"Journal: {' | '.join(notable(journal))}"
            ),
            rolled_back=bool(restored),
            restored=restored,
            journal=journal,
            attempted_config=desired,
            changes=changes,
        )
        return []  # not reached: fail_json exits


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "user": {"type": "str"},
            "settings": {"type": "dict", "default": {}},
            "remove_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
            "exclusive": {"type": "bool", "default": False},
            "allow_unknown_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
            "allow_insecure_tcp": {"type": "bool", "default": False},
            "validate": {"type": "str", "choices": ["auto", "always", "never"], "default": "auto"},
            "conflicts": {"type": "str", "choices": ["fail", "resolve"], "default": "fail"},
            "dropin_path": {"type": "path"},
            "restart": {"type": "str", "choices": ["on_change", "always", "never"], "default": "on_change"},
            "service": {"type": "str", "default": "docker.service"},
            "socket_unit": {"type": "str", "default": "docker.socket"},
            "docker_host": {"type": "str"},
            "timeout": {"type": "int", "default": 60},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        result = DaemonConfig(module).run()
    except (dj.DaemonConfigError, sd.UnitError, ApplyError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_json(msg=f"unexpected error: {exc}", exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
