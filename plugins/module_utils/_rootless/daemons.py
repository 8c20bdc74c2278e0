# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""A rootless Docker daemon per user: look at every user first, then act, through a Host.

Order of a run, so that nothing is done for anybody while one user's setup is unsafe:

1. every option and every user is validated: the account exists and is not root, its
   home exists and is theirs, and nothing on the paths this module reads or writes in
   the home (~/.config, ~/.config/systemd/user, the unit, the enable link) is a symlink,
   a hard link or somebody else's (files.UserTree walks them without following links);
2. the prerequisites (state=present) are checked for every user;
3. then each user's daemon is set up (or removed), and its facts reported.

Every failure raises RootlessError (a DockguardError); nothing here calls fail_json.
"""

from __future__ import annotations

import dataclasses
import os
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._rootless import model as rl
from ansible_collections.dockguard.hardening.plugins.module_utils._rootless.host import Host

JOURNAL_LINES = 8


@dataclasses.dataclass
class Current:
    """One user's rootless daemon as found, before anything is done."""

    account: rl.Account
    tree: files.UserTree
    unit: str | None  # text of ~/.config/systemd/user/docker.service, None when missing
    wants_link: bool  # ~/.config/systemd/user/default.target.wants/docker.service exists
    lingering: bool
    manager: bool  # the user's systemd manager runs


def facts_template(account: rl.Account) -> dict[str, t.Any]:
    """Every key a user's entry in the result has, with what holds when nothing was done."""
    return {
        "uid": account.uid,
        "home": account.home,
        "unit": os.path.join(account.home, rl.UNIT_PATH),
        "socket": f"/run/user/{account.uid}/docker.sock",
        "docker_host": rl.docker_host(account.uid),
        "running": False,
        "linger_enabled": False,
        "unit_written": False,
        "enabled": False,
        "started": False,
        "restarted": False,
        "stopped": False,
        "disabled": False,
        "unit_removed": False,
        "changed": False,
        "changes": [],
    }


def entry_exists(tree: files.UserTree, rel: str) -> bool:
    """Whether a name (a link included, never followed) exists in the tree; the directories above are walked safely."""
    rel_dir, name = os.path.split(rel)
    with tree.directory(rel_dir) as fd:
        if fd is None:
            return False
        try:
            os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise files.FileError(f"{tree.path(rel)}: {files.describe_oserror(exc)}") from None
        return True


class Rootless:
    """The module's work: run() returns the result (changed, daemons, prerequisites, diff)."""

    def __init__(self, params: t.Mapping[str, t.Any], host: Host, check_mode: bool, diff: bool) -> None:
        self.p = params
        self.host = host
        self.check = check_mode
        self.want_diff = diff
        self.script = rl.ROOTLESS_SCRIPTS[-1]

    # -- looking ---------------------------------------------------------------------------

    def account(self, name: str) -> rl.Account:
        account = self.host.account(name)
        if account is None:
            raise rl.RootlessError(f"users: {name!r} is no user on this host; create the user first")
        if account.uid == 0:
            raise rl.RootlessError(f"users: {name!r} is root; rootless Docker is for unprivileged users")
        return account

    def inspect(self, account: rl.Account) -> Current:
        """The user's files as found, read without following any link; UnsafePathError when one is in the way."""
        tree = self.host.account_tree(account)
        home_fd = tree.open_home()  # a missing home, or one that is not theirs, is refused here
        os.close(home_fd)
        unit = tree.read_text(rl.UNIT_PATH)
        return Current(
            account=account,
            tree=tree,
            unit=unit,
            wants_link=entry_exists(tree, rl.WANTS_PATH),
            lingering=self.host.lingering(account),
            manager=self.host.manager_running(account),
        )

    def preflight(self) -> list[Current]:
        """Every user looked at; one RootlessError naming every refused user before anything is done."""
        found: list[Current] = []
        refused: list[str] = []
        for name in dict.fromkeys(self.p["users"]):
            account = self.account(name)
            try:
                cur = self.inspect(account)
            except files.FileError as exc:
                refused.append(f"{name}: {exc.msg}")
                continue
            if self.p["state"] == "present" and not self.p["linger"] and not cur.lingering and not cur.manager:
                refused.append(
                    f"{name}: no systemd user manager runs and linger=false; set linger=true, or log the user in first"
                )
            found.append(cur)
        if refused:
            what = "set up" if self.p["state"] == "present" else "remove"
            raise rl.RootlessError(
                f"refusing to {what} rootless Docker (nothing was done for any user): " + "; ".join(refused)
            )
        return found

    def prerequisites(self, found: list[Current]) -> dict[str, list[dict[str, t.Any]]]:
        facts = self.host.facts(self.p["dockerd_rootless"])
        self.script = facts.rootless_script or self.script
        subuid, subgid = self.host.subid_files()
        report: dict[str, list[dict[str, t.Any]]] = {}
        missing: list[str] = []
        for cur in found:
            name = cur.account.name
            prereqs = rl.host_prereqs(facts) + rl.subid_prereqs(name, cur.account.uid, subuid, subgid)
            report[name] = [dataclasses.asdict(p) for p in prereqs]
            missing += [f"{name}: {p.describe()}" for p in prereqs if not p.ok]
        if missing and not self.check:
            raise rl.RootlessError("rootless Docker prerequisites missing: " + "; ".join(missing))
        for msg in missing:
            self.host.warn(f"missing now (an earlier task may provide it in a real run): {msg}")
        return report

    # -- acting ----------------------------------------------------------------------------

    def systemctl(self, account: rl.Account, *args: str) -> str:
        rc, out, err = self.host.systemctl(account, *args)
        if rc != 0:
            raise rl.RootlessError(
                f"{account.name}: systemctl --user {' '.join(args)} failed (rc={rc}): {(err or out).strip()}"
                + self.journal_hint(account),
                rc=rc,
            )
        return out.strip()

    def query(self, account: rl.Account, *args: str) -> str:
        """systemctl --user is-active/is-enabled: the answer, whatever the rc."""
        return self.host.systemctl(account, *args)[1].strip()

    def journal_hint(self, account: rl.Account) -> str:
        lines = self.host.journal(account, 15)[-JOURNAL_LINES:]
        return (". Journal of the user: " + " | ".join(lines)) if lines else ""

    def wait(self, what: str, probe: t.Callable[[], t.Any], account: rl.Account) -> t.Any:
        deadline = self.host.monotonic() + self.p["timeout"]
        last: t.Any = None
        while True:
            try:
                last = probe()
            except (_engine.EngineError, DockguardError) as exc:
                last = exc
            if last and not isinstance(last, Exception):
                return last
            if self.host.monotonic() >= deadline:
                break
            self.host.sleep(1)
        reason = f" ({last})" if isinstance(last, Exception) else ""
        raise rl.RootlessError(f"{what} within {self.p['timeout']}s{reason}" + self.journal_hint(account))

    def manager(self, cur: Current, facts: dict[str, t.Any]) -> None:
        """Lingering on (when asked), and in a real run the user's systemd manager running."""
        account = cur.account
        if not cur.lingering and self.p["linger"]:
            facts["linger_enabled"] = True
            facts["changes"].append("enabled lingering")
            if not self.check:
                self.host.enable_linger(account)
        if not self.check:
            self.wait(
                f"{account.name}: the systemd user manager (user@{account.uid}.service) did not start",
                lambda: self.host.manager_running(account),
                account,
            )
            cur.manager = True

    def present(self, cur: Current) -> tuple[dict[str, t.Any], dict[str, t.Any] | None]:
        account = cur.account
        facts = facts_template(account)
        self.manager(cur, facts)
        want = rl.render_unit(self.script, self.p["dockerd_args"])
        diff = None
        if cur.unit != want:
            facts["unit_written"] = True
            facts["changes"].append(f"wrote {facts['unit']}")
            diff = {
                "before": cur.unit or "",
                "after": want,
                "before_header": facts["unit"],
                "after_header": facts["unit"],
            }
            if not self.check:
                cur.tree.write(rl.UNIT_PATH, want, mode=0o644)
                self.systemctl(account, "daemon-reload")

        if self.check or not cur.manager:
            enabled = cur.wants_link
        else:
            enabled = self.query(account, "is-enabled", rl.UNIT_NAME) == "enabled"
        if not enabled:
            facts["enabled"] = True
            facts["changes"].append(f"enabled {rl.UNIT_NAME}")
            if not self.check:
                self.systemctl(account, "enable", rl.UNIT_NAME)

        active = cur.manager and self.query(account, "is-active", rl.UNIT_NAME) == "active"
        if not active:
            facts["started"] = True
            facts["changes"].append(f"started {rl.UNIT_NAME}")
            if not self.check:
                self.host.systemctl(account, "reset-failed", rl.UNIT_NAME)
                self.systemctl(account, "start", rl.UNIT_NAME)
        elif facts["unit_written"]:
            facts["restarted"] = True
            facts["changes"].append(f"restarted {rl.UNIT_NAME}")
            if not self.check:
                self.systemctl(account, "restart", rl.UNIT_NAME)

        facts["changed"] = bool(facts["changes"])
        facts["running"] = True
        if self.check:
            facts["running"] = active or facts["started"] or facts["restarted"]
            if active and not facts["unit_written"]:
                facts.update(self.observe(facts["docker_host"]))
            return facts, diff
        info = self.wait(
            f"{account.name}: the rootless daemon did not answer on {facts['docker_host']}",
            lambda: self.host.engine_info(facts["docker_host"]),
            account,
        )
        facts.update(rl.summarize(info))
        if not facts["rootless"]:
            raise rl.RootlessError(
                f"{account.name}: the daemon on {facts['docker_host']} does not report rootless in its security "
                "options; another daemon answers on the user's socket"
            )
        return facts, diff

    def observe(self, docker_host: str) -> dict[str, t.Any]:
        try:
            return rl.summarize(self.host.engine_info(docker_host))
        except _engine.EngineError:
            return {}

    def absent(self, cur: Current) -> tuple[dict[str, t.Any], dict[str, t.Any] | None]:
        account = cur.account
        facts = facts_template(account)
        if cur.manager and self.query(account, "is-active", rl.UNIT_NAME) == "active":
            facts["stopped"] = True
            facts["changes"].append(f"stopped {rl.UNIT_NAME}")
            if not self.check:
                self.systemctl(account, "stop", rl.UNIT_NAME)
        if cur.manager and self.query(account, "is-enabled", rl.UNIT_NAME) == "enabled":
            facts["disabled"] = True
            facts["changes"].append(f"disabled {rl.UNIT_NAME}")
            if not self.check:
                self.systemctl(account, "disable", rl.UNIT_NAME)
        elif not cur.manager and cur.wants_link:
            facts["disabled"] = True
            facts["changes"].append(f"removed {cur.tree.path(rl.WANTS_PATH)}")
            if not self.check:
                cur.tree.remove(rl.WANTS_PATH)
        diff = None
        if cur.unit is not None:
            facts["unit_removed"] = True
            facts["changes"].append(f"removed {facts['unit']}")
            diff = {"before": cur.unit, "after": "", "before_header": facts["unit"], "after_header": facts["unit"]}
            if not self.check:
                cur.tree.remove(rl.UNIT_PATH)
                if cur.manager:
                    self.systemctl(account, "daemon-reload")
        facts["changed"] = bool(facts["changes"])
        return facts, diff

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> dict[str, t.Any]:
        rl.validate_options(self.p)
        found = self.preflight()
        result: dict[str, t.Any] = {"changed": False, "daemons": {}, "prerequisites": {}}
        if self.p["state"] == "present":
            result["prerequisites"] = self.prerequisites(found)
        diffs = []
        for cur in found:
            facts, diff = self.present(cur) if self.p["state"] == "present" else self.absent(cur)
            result["daemons"][cur.account.name] = facts
            result["changed"] = result["changed"] or facts["changed"]
            if diff:
                diffs.append(diff)
        if self.want_diff:
            result["diff"] = diffs
        return result
