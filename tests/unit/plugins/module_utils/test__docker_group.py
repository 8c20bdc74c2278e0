# SPDX-License-Identifier: GPL-3.0-or-later
"""The docker group kept to a list of trusted users: the plan (pure), and the manager with the group database and
gpasswd stood in for (a unit test must not change this machine's /etc/group; molecule/host runs the real gpasswd)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _docker_group as dg
from ansible_collections.dockguard.hardening.plugins.module_utils._common.commands import CommandError


def state(listed: t.Sequence[str] = (), primary: t.Sequence[str] = ()) -> dg.GroupState:
    return dg.GroupState("docker", 997, tuple(listed), tuple(primary))


@pytest.mark.parametrize(
    ("listed", "primary", "trusted", "after", "added", "removed"),
    [
        (["alice", "mallory"], [], ["alice", "bob"], ["alice", "bob"], ["bob"], ["mallory"]),
        (["bob", "alice"], [], ["alice", "bob", "alice"], ["alice", "bob"], [], []),  # order and repeats do not count
        (["alice"], [], [], [], [], ["alice"]),  # an empty list: nobody but root
        ([], ["carol"], ["carol"], [], [], []),  # trusted by primary group: no listing needed
        (["carol"], ["carol"], ["carol"], ["carol"], [], []),  # an existing listing is kept
        ([], [], ["alice"], ["alice"], ["alice"], []),
    ],
)
def test_plan(
    listed: list[str], primary: list[str], trusted: list[str], after: list[str], added: list[str], removed: list[str]
) -> None:
    p = dg.plan(state(listed, primary), trusted)
    assert (p.after, p.added, p.removed, p.changed) == (after, added, removed, bool(added or removed))


def test_an_untrusted_primary_member_stops_the_plan_naming_them() -> None:
    with pytest.raises(
        dg.GroupError, match=r"carol has docker as primary group \(gid 997 in /etc/passwd\).*usermod -g"
    ):
        dg.plan(state(["alice"], ["carol"]), ["alice"])


def test_this_machines_accounts_are_read() -> None:
    assert dg.unknown_users(["root", "no-such-user-dg"]) == ["no-such-user-dg"]
    root = dg.read_state("root")
    assert root is not None and root.gid == 0 and "root" in root.primary
    assert dg.read_state("no-such-group-dg") is None


class FakeModule:
    """check_mode, get_bin_path and run_command; gpasswd -M sets the members of db's group (no db: it does not take)."""

    def __init__(self, check_mode: bool = False, db: dict[str, t.Any] | None = None) -> None:
        self.check_mode = check_mode
        self._diff = True
        self.db = db
        self.ran: list[list[str]] = []

    def get_bin_path(self, name: str, required: bool = False, opt_dirs: list[str] | None = None) -> str:
        return f"/usr/sbin/{name}"

    def run_command(self, argv: list[str], **kw: t.Any) -> tuple[int, str, str]:
        self.ran.append(argv)
        if self.db is not None and argv[1] == "-M":
            self.db["state"] = self.db["state"]._replace(listed=tuple(u for u in argv[2].split(",") if u))
        return 0, "", ""


@pytest.fixture
def group_db(monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """The docker group as grp/pwd would show it; gpasswd -M sets its listed members."""
    db: dict[str, t.Any] = {"state": state(["alice", "mallory"]), "users": {"alice", "bob", "mallory", "carol"}}
    monkeypatch.setattr(dg, "read_state", lambda group: db["state"])
    monkeypatch.setattr(dg, "unknown_users", lambda users: [u for u in users if u not in db["users"]])
    return db


def test_set_exactly_then_nothing_to_do(group_db: dict[str, t.Any]) -> None:
    module = FakeModule(db=group_db)
    r = dg.DockerGroup(module, "docker", ["bob", "alice"]).run()
    assert r["changed"] and r["added"] == ["bob"] and r["removed"] == ["mallory"] and r["members"] == ["alice", "bob"]
    assert module.ran == [["/usr/sbin/gpasswd", "-M", "alice,bob", "docker"]]
    assert "root-equivalent: each of alice, bob" in r["warnings"][-1]
    assert r["diff"]["before"] == "alice\nmallory\n" and r["diff"]["after"] == "alice\nbob\n"
    again = dg.DockerGroup(module, "docker", ["alice", "bob"]).run()
    assert not again["changed"] and len(module.ran) == 1


def test_check_mode_predicts_without_running_gpasswd(group_db: dict[str, t.Any]) -> None:
    module = FakeModule(check_mode=True)
    r = dg.DockerGroup(module, "docker", ["alice", "bob"]).run()
    assert r["changed"] and r["removed"] == ["mallory"] and module.ran == []


def test_unknown_users_are_refused_before_anything(group_db: dict[str, t.Any]) -> None:
    module = FakeModule()
    with pytest.raises(dg.GroupError, match=r"users=\['zed', 'yan'\]: no such user on this host; nothing was changed"):
        dg.DockerGroup(module, "docker", ["alice", "zed", "yan"]).run()
    assert module.ran == []


def test_unknown_users_in_check_mode_are_planned_with_a_warning(group_db: dict[str, t.Any]) -> None:
    r = dg.DockerGroup(FakeModule(check_mode=True), "docker", ["alice", "zed"]).run()
    assert r["added"] == ["zed"] and "no such user yet" in r["warnings"][0]


def test_a_change_that_does_not_take_is_an_error(group_db: dict[str, t.Any]) -> None:
    """gpasswd answers 0 and the account database still shows the old members (a group served by LDAP)."""
    with pytest.raises(dg.GroupError, match=r"lists \['alice', 'mallory'\], not \['alice'\]"):
        dg.DockerGroup(FakeModule(), "docker", ["alice"]).run()


def test_gpasswd_failing_is_reported(group_db: dict[str, t.Any]) -> None:
    module = FakeModule()
    module.run_command = lambda argv, **kw: (3, "", "gpasswd: cannot lock /etc/group; try again later.")  # type: ignore[method-assign]
    with pytest.raises(CommandError, match="gpasswd -M failed \\(rc=3\\): gpasswd: cannot lock /etc/group"):
        dg.DockerGroup(module, "docker", ["alice"]).run()


def test_no_group_and_nobody_trusted_is_fine(group_db: dict[str, t.Any]) -> None:
    group_db["state"] = None
    assert dg.DockerGroup(FakeModule(), "docker", [])._no_group([])["changed"] is False
    r = dg.DockerGroup(FakeModule(), "docker", []).run()
    assert not r["changed"] and r["members"] == []
    with pytest.raises(dg.GroupError, match=r"group='docker': no such group on this host"):
        dg.DockerGroup(FakeModule(), "docker", ["alice"]).run()
