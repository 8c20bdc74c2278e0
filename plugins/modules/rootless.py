#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rootless
short_description: A rootless Docker daemon per user, as a systemd user service
version_added: 0.2.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - For each user of O(users), runs Docker's daemon as that user (rootless mode), so that a breakout from a container
    reaches only that user's privileges, never root's.
  - Checks the prerequisites first and fails naming each missing one with its fix. newuidmap and newgidmap setuid
    root (or with file capabilities), a subordinate UID and GID range of at least 65536 IDs per user, a usable
    C(/dev/net/tun), user namespaces enabled in the kernel, C(dockerd-rootless.sh), C(rootlesskit), C(slirp4netns)
    and systemd.
  - Enables lingering for the user so their systemd user manager runs without a login, writes the user's
    C(~/.config/systemd/user/docker.service), enables and starts it, and waits until the daemon answers on
    C(/run/user/UID/docker.sock).
  - Reports per user whether the daemon runs, its socket, its storage driver and what the task changed.
  - The user's C(daemon.json) is managed with M(dockguard.hardening.daemon_config) and its
    O(dockguard.hardening.daemon_config#module:user) option.
extends_documentation_fragment:
  - dockguard.hardening.attributes
attributes:
  check_mode:
    support: full
    details: Missing prerequisites are warnings in check mode, since earlier tasks of a real run may provide them.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  users:
    description: The users who get a rootless daemon (or lose it, with O(state=absent)).
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) installs, enables and starts each user's daemon.
      - V(absent) stops and disables it and removes the unit file; the user's images, containers and
        C(daemon.json) stay in their home, and lingering is left as it is.
    type: str
    choices: [present, absent]
    default: present
  linger:
    description:
      - Enable lingering (C(loginctl enable-linger)) so the user manager, and the daemon, start at boot without
        a login. Without lingering the task fails when the user manager is not running.
    type: bool
    default: true
  dockerd_rootless:
    description:
      - The C(dockerd-rootless.sh) launcher. Found in C(/usr/bin) or Debian's C(/usr/share/docker.io/contrib) when
        unset.
    type: path
  dockerd_args:
    description:
      - Extra dockerd flags on the unit's C(ExecStart). Prefer the user's daemon.json for settings.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the user manager and for each daemon to answer.
    type: int
    default: 90
notes:
  - On kernels without C(ip_tables) modules (containers, some VMs) the rootless daemon cannot set up its own
    iptables rules; set C(iptables) to C(false) in the user's daemon.json (the rootless role's default on such hosts).
  - Under cgroup v1 the rootless daemon cannot limit containers' resources (no C(--memory), C(--cpus)); cgroup v2
    with the user's controllers delegated lifts this.
seealso:
  - name: Rootless mode
    description: Docker's documentation of rootless mode and its prerequisites.
    link: https://docs.docker.com/engine/security/rootless/
  - module: dockguard.hardening.subid
  - module: dockguard.hardening.daemon_config
"""

EXAMPLES = r"""
---
- name: Rootless daemons for two users
  dockguard.hardening.rootless:
    users: [alice, bob]
  register: rootless

- name: Show where alice's daemon listens
  ansible.builtin.debug:
    msg: "{{ rootless.daemons.alice.docker_host }}"

- name: Remove bob's daemon
  dockguard.hardening.rootless:
    users: [bob]
    state: absent
"""

RETURN = r"""
daemons:
  description: Per user, the daemon after the task (predicted in check mode).
  returned: always
  type: dict
  sample:
    alice:
      uid: 1001
      running: true
      socket: /run/user/1001/docker.sock
      docker_host: unix:///run/user/1001/docker.sock
      storage_driver: overlay2
      rootless: true
      server_version: "26.1.5+dfsg1"
      changes: ["enabled lingering", "wrote /home/alice/.config/systemd/user/docker.service", "started docker.service"]
prerequisites:
  description: Per user, each prerequisite with whether it is met, what was found and the fix.
  returned: always
  type: dict
  sample:
    alice:
      - {"name": "newuidmap", "ok": true, "detail": "setuid root", "fix": "install the uidmap package"}
"""

import os
import pwd
import stat
import tempfile
import time
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils import _rootless as rl

C_ENV = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}
LINGER_DIR = "/var/lib/systemd/linger"


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except FileNotFoundError:
        return ""


def read_int(path: str) -> int | None:
    try:
        return int(read_text(path).strip())
    except ValueError:
        return None


def helper_facts(path: str) -> tuple[int, bool] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        caps = bool(os.getxattr(path, "security.capability"))
    except OSError:
        caps = False
    return st.st_mode, caps


class Rootless:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params

    # -- facts -----------------------------------------------------------------------

    def host_facts(self) -> rl.HostFacts:
        script = self.p["dockerd_rootless"] or next((s for s in rl.ROOTLESS_SCRIPTS if os.path.isfile(s)), None)
        if script is not None and not os.path.isfile(script):
            script = None
        try:
            tun: int | None = os.stat("/dev/net/tun").st_mode
        except OSError:
            tun = None
        clone = "/proc/sys/kernel/unprivileged_userns_clone"
        return rl.HostFacts(
            newuidmap=helper_facts(self.module.get_bin_path("newuidmap") or "/usr/bin/newuidmap"),
            newgidmap=helper_facts(self.module.get_bin_path("newgidmap") or "/usr/bin/newgidmap"),
            tun=tun,
            max_user_namespaces=read_int("/proc/sys/user/max_user_namespaces"),
            unprivileged_userns_clone=read_int(clone) if os.path.exists(clone) else None,
            rootless_script=script,
            binaries={
                b: self.module.get_bin_path(b, opt_dirs=["/usr/sbin", "/sbin"])
                for b in ("rootlesskit", "slirp4netns", "dockerd")
            },
            systemd=os.path.isdir("/run/systemd/system"),
        )

    def as_user(self, pw: pwd.struct_passwd, *argv: str) -> tuple[int, str, str]:
        runtime = f"/run/user/{pw.pw_uid}"
        cmd = [
            self.module.get_bin_path("runuser", required=True),
            "-u",
            pw.pw_name,
            "--",
            "env",
            f"XDG_RUNTIME_DIR={runtime}",
            f"DBUS_SESSION_BUS_ADDRESS=unix:path={runtime}/bus",
            *argv,
        ]
        return self.module.run_command(cmd, environ_update=C_ENV, expand_user_and_vars=False)

    def user_systemctl(self, pw: pwd.struct_passwd, *args: str, check: bool = True) -> str:
        rc, out, err = self.as_user(pw, "systemctl", "--user", *args)
        if check and rc != 0:
            raise rl.RootlessError(
                f"{pw.pw_name}: systemctl --user {' '.join(args)} failed (rc={rc}): {(err or out).strip()}"
                + self.journal_hint(pw)
            )
        return out.strip()

    def journal_hint(self, pw: pwd.struct_passwd) -> str:
        journalctl = self.module.get_bin_path("journalctl")
        if not journalctl:
            return ""
        _rc, out, _err = self.module.run_command(
            [journalctl, "--no-pager", "-o", "cat", "-n", "15", f"_UID={pw.pw_uid}"],
            environ_update=C_ENV,
            expand_user_and_vars=False,
        )
        lines = [line for line in out.splitlines() if line.strip()][-8:]
        return (". Journal of the user: " + " | ".join(lines)) if lines else ""

    def manager_running(self, pw: pwd.struct_passwd) -> bool:
        systemctl = self.module.get_bin_path("systemctl", required=True)
        _rc, out, _err = self.module.run_command(
            [systemctl, "is-active", f"user@{pw.pw_uid}.service"], environ_update=C_ENV
        )
        return out.strip() == "active" and os.path.exists(f"/run/user/{pw.pw_uid}/bus")

    def wait(self, what: str, probe: t.Callable[[], t.Any]) -> t.Any:
        deadline = time.monotonic() + self.p["timeout"]
        last: t.Any = None
        while time.monotonic() < deadline:
            try:
                last = probe()
            except _engine.EngineError as exc:
                last = exc
            if last and not isinstance(last, Exception):
                return last
            time.sleep(1)
        raise rl.RootlessError(f"{what} within {self.p['timeout']}s" + (f" ({last})" if last else ""))

    # -- writes ----------------------------------------------------------------------

    def ensure_dir(self, path: str, pw: pwd.struct_passwd) -> None:
        """Create path and its missing parents below the home, owned by the user."""
        missing = []
        while not os.path.isdir(path):
            missing.append(path)
            path = os.path.dirname(path)
        for d in reversed(missing):
            os.mkdir(d, 0o755)
            os.chown(d, pw.pw_uid, pw.pw_gid)

    def write_unit(self, path: str, text: str, pw: pwd.struct_passwd) -> None:
        self.ensure_dir(os.path.dirname(path), pw)
        st = os.lstat(path) if os.path.lexists(path) else None
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise rl.RootlessError(f"{path} is a symlink; refusing to write through it. Remove it first.")
        fd, tmp = tempfile.mkstemp(prefix=".dockguard-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o644)
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- per user ----------------------------------------------------------------------

    def present(self, pw: pwd.struct_passwd, host: rl.HostFacts) -> tuple[dict[str, t.Any], dict[str, t.Any] | None]:
        check = self.module.check_mode
        uid = pw.pw_uid
        unit_path = os.path.join(pw.pw_dir, rl.UNIT_PATH)
        changes: list[str] = []
        report: dict[str, t.Any] = {
            "uid": uid,
            "socket": f"/run/user/{uid}/docker.sock",
            "docker_host": rl.docker_host(uid),
            "unit": unit_path,
        }
        diff = None

        self.ensure_manager(pw, changes)
        script = host.rootless_script or rl.ROOTLESS_SCRIPTS[-1]
        want = rl.render_unit(script, self.p["dockerd_args"])
        have = read_text(unit_path) if os.path.exists(unit_path) else None
        unit_changed = have != want
        if unit_changed:
            changes.append(f"wrote {unit_path}")
            diff = {"before": have or "", "after": want, "before_header": unit_path, "after_header": unit_path}
            if not check:
                self.write_unit(unit_path, want, pw)
                self.user_systemctl(pw, "daemon-reload")

        enabled = not check and self.user_systemctl(pw, "is-enabled", rl.UNIT_NAME, check=False) == "enabled"
        if check:
            enabled = os.path.exists(os.path.join(pw.pw_dir, ".config/systemd/user/default.target.wants", rl.UNIT_NAME))
        if not enabled:
            changes.append(f"enabled {rl.UNIT_NAME}")
            if not check:
                self.user_systemctl(pw, "enable", rl.UNIT_NAME)

        active = self.daemon_active(pw)
        if not active:
            changes.append(f"started {rl.UNIT_NAME}")
            if not check:
                self.user_systemctl(pw, "reset-failed", rl.UNIT_NAME, check=False)
                self.user_systemctl(pw, "start", rl.UNIT_NAME)
        elif unit_changed:
            changes.append(f"restarted {rl.UNIT_NAME}")
            if not check:
                self.user_systemctl(pw, "restart", rl.UNIT_NAME)

        report["changes"] = changes
        report["running"] = bool(active) or not check
        if check:
            report.update(self.observe(pw) if active and not unit_changed else {})
            return report, diff
        info = self.wait(
            f"{pw.pw_name}: the rootless daemon did not answer on {report['docker_host']}",
            lambda: _engine.get(report["docker_host"], "/info", timeout=5),
        )
        report.update(rl.summarize(info))
        if not report["rootless"]:
            raise rl.RootlessError(
                f"{pw.pw_name}: the daemon on {report['docker_host']} does not report rootless in its security options"
            )
        return report, diff

    def ensure_manager(self, pw: pwd.struct_passwd, changes: list[str]) -> None:
        """Lingering on, and the user's systemd manager running (real runs wait for it)."""
        check = self.module.check_mode
        if not os.path.exists(os.path.join(LINGER_DIR, pw.pw_name)):
            if not self.p["linger"]:
                if not self.manager_running(pw):
                    raise rl.RootlessError(
                        f"{pw.pw_name}: no systemd user manager runs and linger=false; set linger=true, or log the "
                        "user in first"
                    )
            else:
                changes.append("enabled lingering")
                if not check:
                    loginctl = self.module.get_bin_path("loginctl", required=True)
                    self.module.run_command([loginctl, "enable-linger", pw.pw_name], check_rc=True)
        if not check:
            self.wait(
                f"{pw.pw_name}: the systemd user manager (user@{pw.pw_uid}.service) did not start",
                lambda: self.manager_running(pw),
            )

    def daemon_active(self, pw: pwd.struct_passwd) -> bool:
        if not self.manager_running(pw):
            return False
        return self.user_systemctl(pw, "is-active", rl.UNIT_NAME, check=False) == "active"

    def observe(self, pw: pwd.struct_passwd) -> dict[str, t.Any]:
        try:
            return rl.summarize(_engine.get(rl.docker_host(pw.pw_uid), "/info", timeout=5))
        except _engine.EngineError:
            return {}

    def absent(self, pw: pwd.struct_passwd) -> tuple[dict[str, t.Any], dict[str, t.Any] | None]:
        check = self.module.check_mode
        unit_path = os.path.join(pw.pw_dir, rl.UNIT_PATH)
        changes: list[str] = []
        running = self.manager_running(pw)
        if running and self.user_systemctl(pw, "is-active", rl.UNIT_NAME, check=False) == "active":
            changes.append(f"stopped {rl.UNIT_NAME}")
            if not check:
                self.user_systemctl(pw, "stop", rl.UNIT_NAME)
        if running and self.user_systemctl(pw, "is-enabled", rl.UNIT_NAME, check=False) == "enabled":
            changes.append(f"disabled {rl.UNIT_NAME}")
            if not check:
                self.user_systemctl(pw, "disable", rl.UNIT_NAME)
        diff = None
        if os.path.lexists(unit_path):
            changes.append(f"removed {unit_path}")
            diff = {"before": read_text(unit_path), "after": "", "before_header": unit_path, "after_header": unit_path}
            if not check:
                os.unlink(unit_path)
                if running:
                    self.user_systemctl(pw, "daemon-reload")
        return {"uid": pw.pw_uid, "running": False, "changes": changes, "unit": unit_path}, diff

    # -- main ------------------------------------------------------------------------------

    def users(self) -> list[pwd.struct_passwd]:
        out = []
        for name in self.p["users"]:
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                raise rl.RootlessError(f"users: {name!r} is no user on this host; create the user first") from None
            if pw.pw_uid == 0:
                raise rl.RootlessError(f"users: {name!r} is root; rootless Docker is for unprivileged users")
            out.append(pw)
        return out

    def run(self) -> dict[str, t.Any]:
        rl.validate_args(self.p["dockerd_args"])
        users = self.users()
        result: dict[str, t.Any] = {"changed": False, "daemons": {}, "prerequisites": {}}
        diffs = []
        if self.p["state"] == "present":
            host = self.host_facts()
            missing = []
            for pw in users:
                prereqs = rl.host_prereqs(host) + rl.subid_prereqs(
                    pw.pw_name, pw.pw_uid, read_text("/etc/subuid"), read_text("/etc/subgid")
                )
                result["prerequisites"][pw.pw_name] = [vars(p) for p in prereqs]
                missing += [f"{pw.pw_name}: {p.describe()}" for p in prereqs if not p.ok]
            missing = list(dict.fromkeys(missing))
            if missing and not self.module.check_mode:
                raise rl.RootlessError("rootless Docker prerequisites missing: " + "; ".join(missing))
            for msg in missing:
                self.module.warn(f"missing now (an earlier task may provide it in a real run): {msg}")
        for pw in users:
            report, diff = self.present(pw, host) if self.p["state"] == "present" else self.absent(pw)
            result["daemons"][pw.pw_name] = report
            if diff:
                diffs.append(diff)
            result["changed"] = result["changed"] or bool(report["changes"])
        if self.module._diff:
            result["diff"] = diffs
        return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "users": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "linger": {"type": "bool", "default": True},
            "dockerd_rootless": {"type": "path"},
            "dockerd_args": {"type": "list", "elements": "str", "default": []},
            "timeout": {"type": "int", "default": 90},
        },
        supports_check_mode=True,
    )
    try:
        result = Rootless(module).run()
    except rl.RootlessError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_json(msg=f"unexpected error: {exc}", exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
