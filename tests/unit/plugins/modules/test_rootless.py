# SPDX-License-Identifier: GPL-3.0-or-later
"""The rootless module through a fake host object: every user looked at before anything is done, links in a
user's home refused, check mode predicting the real run, idempotence, and the facts the role reads.

FakeHost answers what the module asks of a machine (accounts, linger, systemctl --user, the journal, the
Engine API, a simulated clock); the users' homes are real directories under a temporary root, read and
written through the real files.UserTree. Nothing here depends on the machine the tests run on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import stat
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.module_utils._rootless import model as rl
from ansible_collections.dockguard.hardening.plugins.module_utils._rootless.daemons import Rootless
from ansible_collections.dockguard.hardening.plugins.modules import rootless as mod

SCRIPT = "/usr/share/docker.io/contrib/dockerd-rootless.sh"
ACTIONS = ("linger_enabled", "unit_written", "enabled", "started", "restarted", "stopped", "disabled", "unit_removed")
GOOD = rl.HostFacts(
    newuidmap=(stat.S_IFREG | stat.S_ISUID | 0o755, False),
    newgidmap=(stat.S_IFREG | stat.S_ISUID | 0o755, False),
    tun=stat.S_IFCHR | 0o666,
    max_user_namespaces=63000,
    unprivileged_userns_clone=1,
    rootless_script=SCRIPT,
    binaries={
        "rootlesskit": "/usr/bin/rootlesskit",
        "slirp4netns": "/usr/bin/slirp4netns",
        "dockerd": "/usr/sbin/dockerd",
    },
    systemd=True,
)
# Root may give the test users UIDs of their own; anybody else gives them their own UID.
BASE_UID = 1001 if os.geteuid() == 0 else os.geteuid()


@dataclasses.dataclass
class Daemon:
    loaded: str | None = None  # the unit text the user manager has loaded (daemon-reload)
    active: bool = False
    starts: int = 0


class FakeHost:
    """A machine with systemd user managers and rootless daemons, answering from tables; homes are real."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        (root / "home").mkdir()
        self.accounts: dict[str, rl.Account] = {"root": rl.Account("root", 0, 0, "/root")}
        self.linger: set[str] = set()
        self.managers: set[str] = set()
        self.daemons: dict[str, Daemon] = {}
        self.facts_ = GOOD
        self.subuid = ""
        self.subgid = ""
        self.calls: list[str] = []  # what changed the machine, in order
        self.queries: list[str] = []
        self.warnings: list[str] = []
        self.clock = 0.0
        self.manager_starts_on_linger = True
        self.start_error: str | None = None
        self.answers = True
        self.report_rootless = True
        self.journal_lines: list[str] = []

    # -- test setup ------------------------------------------------------------------------

    def add_user(self, name: str, home: bool = True) -> rl.Account:
        uid = BASE_UID + len(self.accounts) - 1 if os.geteuid() == 0 else BASE_UID
        path = self.root / "home" / name
        account = rl.Account(name, uid, uid, str(path))
        self.accounts[name] = account
        if home:
            path.mkdir()
            os.chown(path, uid, uid)
        start = 100000 + 65536 * (len(self.accounts) - 2)
        self.subuid += f"{name}:{start}:65536\n"
        self.subgid += f"{name}:{start}:65536\n"
        self.daemons[name] = Daemon()
        return account

    def home(self, name: str) -> pathlib.Path:
        return pathlib.Path(self.accounts[name].home)

    # -- Host ------------------------------------------------------------------------------

    def account(self, name: str) -> rl.Account | None:
        return self.accounts.get(name)

    def account_tree(self, account: rl.Account) -> files.UserTree:
        return files.UserTree(account.name, account.uid, account.gid, account.home)

    def facts(self, dockerd_rootless: str | None) -> rl.HostFacts:
        return (
            self.facts_
            if dockerd_rootless is None
            else dataclasses.replace(self.facts_, rootless_script=dockerd_rootless)
        )

    def subid_files(self) -> tuple[str, str]:
        return self.subuid, self.subgid

    def lingering(self, account: rl.Account) -> bool:
        return account.name in self.linger

    def enable_linger(self, account: rl.Account) -> None:
        self.calls.append(f"linger {account.name}")
        self.linger.add(account.name)
        if self.manager_starts_on_linger:
            self.managers.add(account.name)

    def manager_running(self, account: rl.Account) -> bool:
        return account.name in self.managers

    def systemctl(self, account: rl.Account, *args: str) -> tuple[int, str, str]:
        name = account.name
        if name not in self.managers:
            return 1, "", "Failed to connect to bus: No such file or directory"
        verb, rest = args[0], args[1:]
        d = self.daemons[name]
        unit = self.home(name) / rl.UNIT_PATH
        wants = self.home(name) / rl.WANTS_PATH
        if verb in ("is-active", "is-enabled"):
            self.queries.append(f"{name} {' '.join(args)}")
            if verb == "is-active":
                return (0, "active\n", "") if d.active else (3, "inactive\n", "")
            return (0, "enabled\n", "") if os.path.lexists(wants) else (1, "disabled\n", "")
        self.calls.append(f"{name} {' '.join(args)}")
        if verb == "daemon-reload":
            d.loaded = unit.read_text() if unit.exists() else None
        elif verb == "enable":
            if d.loaded is None:
                return 1, "", f"Failed to enable unit: Unit file {rest[0]} does not exist."
            wants.parent.mkdir(exist_ok=True)
            wants.symlink_to(unit)
        elif verb == "disable":
            wants.unlink(missing_ok=True)
        elif verb in ("start", "restart"):
            if d.loaded is None:
                return 5, "", f"Failed to start {rest[0]}: Unit {rest[0]} not found."
            if self.start_error:
                return 1, "", self.start_error
            d.active = True
            d.starts += 1
        elif verb == "stop":
            d.active = False
        return 0, "", ""

    def journal(self, account: rl.Account, lines: int) -> list[str]:
        return self.journal_lines[-lines:]

    def engine_info(self, docker_host: str) -> dict[str, t.Any]:
        name = next(a.name for a in self.accounts.values() if rl.docker_host(a.uid) == docker_host)
        if not (self.daemons[name].active and self.answers):
            raise _engine.EngineError(f"{docker_host}: [Errno 2] No such file or directory")
        sec = ["name=seccomp,profile=builtin"] + (["name=rootless"] if self.report_rootless else [])
        return {"Driver": "overlay2", "SecurityOptions": sec, "ServerVersion": "26.1.5+dfsg1", "CgroupDriver": "none"}

    def monotonic(self) -> float:
        return self.clock

    def sleep(self, seconds: float) -> None:
        self.clock += seconds

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


@pytest.fixture
def host(tmp_path: pathlib.Path) -> FakeHost:
    h = FakeHost(tmp_path)
    h.add_user("alice")
    return h


def params(**over: t.Any) -> dict[str, t.Any]:
    base = {"users": ["alice"], "state": "present", "linger": True, "dockerd_rootless": None, "dockerd_args": []}
    return {**base, "timeout": 90, **over}


def run(host: FakeHost, check: bool = False, **over: t.Any) -> dict[str, t.Any]:
    return Rootless(params(**over), host, check, True).run()


def refused(host: FakeHost, check: bool = False, **over: t.Any) -> str:
    with pytest.raises(rl.RootlessError) as failure:
        run(host, check, **over)
    return failure.value.msg


def actions(facts: dict[str, t.Any]) -> dict[str, bool]:
    return {k: facts[k] for k in ACTIONS}


def snapshot(path: pathlib.Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry under path: owner, mode, link count and content (or link target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                body = "-> " + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                body = hashlib.sha256(pathlib.Path(p).read_bytes()).hexdigest()
            else:
                body = "dir"
            out[p] = (st.st_uid, st.st_mode, st.st_nlink, body)
    return out


# -- a user's daemon set up, and nothing more the second time -------------------------------


def test_a_new_users_daemon_is_set_up_and_reported_as_facts(host: FakeHost) -> None:
    result = run(host)
    alice = host.accounts["alice"]
    facts = result["daemons"]["alice"]
    assert result["changed"] is True
    assert actions(facts) == {
        **dict.fromkeys(ACTIONS, False),
        "linger_enabled": True,
        "unit_written": True,
        "enabled": True,
        "started": True,
    }
    assert facts["running"] is True and facts["rootless"] is True and facts["storage_driver"] == "overlay2"
    assert facts["socket"] == f"/run/user/{alice.uid}/docker.sock"
    assert facts["docker_host"] == f"unix:///run/user/{alice.uid}/docker.sock"
    assert facts["unit"] == f"{alice.home}/.config/systemd/user/docker.service"
    assert host.calls == [
        "linger alice",
        "alice daemon-reload",
        "alice enable docker.service",
        "alice reset-failed docker.service",
        "alice start docker.service",
    ]
    unit = host.home("alice") / rl.UNIT_PATH
    assert unit.read_text() == rl.render_unit(SCRIPT, [])
    st = unit.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (alice.uid, 0o644)
    for d in (".config", ".config/systemd", ".config/systemd/user"):
        assert (host.home("alice") / d).stat().st_uid == alice.uid, d
    assert result["diff"] == [
        {
            "before": "",
            "after": rl.render_unit(SCRIPT, []),
            "before_header": facts["unit"],
            "after_header": facts["unit"],
        }
    ]
    assert all(p["ok"] for p in result["prerequisites"]["alice"])


def test_a_second_run_changes_nothing(host: FakeHost) -> None:
    run(host)
    unit = host.home("alice") / rl.UNIT_PATH
    inode = unit.stat().st_ino
    host.calls.clear()
    result = run(host)
    assert result["changed"] is False
    assert actions(result["daemons"]["alice"]) == dict.fromkeys(ACTIONS, False)
    assert result["daemons"]["alice"]["running"] is True
    assert result["daemons"]["alice"]["changes"] == []
    assert host.calls == []
    assert unit.stat().st_ino == inode
    assert result["diff"] == []


def test_check_mode_predicts_the_real_run_and_changes_nothing(host: FakeHost) -> None:
    before = snapshot(host.root)
    predicted = run(host, check=True)
    assert snapshot(host.root) == before
    assert host.calls == [] and host.linger == set()
    real = run(host)
    assert predicted["changed"] is real["changed"] is True
    assert actions(predicted["daemons"]["alice"]) == actions(real["daemons"]["alice"])
    assert predicted["daemons"]["alice"]["changes"] == real["daemons"]["alice"]["changes"]
    assert predicted["diff"] == real["diff"]
    # and after the real run, check mode sees nothing to do and reports the daemon
    again = run(host, check=True)
    assert again["changed"] is False
    assert again["daemons"]["alice"]["rootless"] is True


def test_check_mode_warns_of_missing_prerequisites_a_real_run_refuses(host: FakeHost) -> None:
    host.facts_ = dataclasses.replace(GOOD, newuidmap=None)
    host.subuid = ""
    result = run(host, check=True)
    assert result["changed"] is True
    assert any("alice: newuidmap: not installed" in w for w in host.warnings)
    assert any("alice: /etc/subuid range of alice: no range" in w for w in host.warnings)
    msg = refused(host)
    assert msg.startswith("rootless Docker prerequisites missing: alice: newuidmap: not installed; fix: ")
    assert "fix: dockguard.hardening.subid name=alice" in msg
    assert host.calls == [] and not (host.home("alice") / ".config").exists()


def test_a_changed_unit_is_rewritten_and_the_daemon_restarted(host: FakeHost) -> None:
    run(host)
    unit = host.home("alice") / rl.UNIT_PATH
    old = unit.read_text()
    host.calls.clear()
    result = run(host, dockerd_args=["--debug"])
    facts = result["daemons"]["alice"]
    assert actions(facts) == {**dict.fromkeys(ACTIONS, False), "unit_written": True, "restarted": True}
    assert host.calls == ["alice daemon-reload", "alice restart docker.service"]
    assert f"ExecStart={SCRIPT} --debug" in unit.read_text().splitlines()
    assert result["diff"][0]["before"] == old
    assert host.daemons["alice"].loaded == unit.read_text()


def test_a_unit_the_user_wrote_is_replaced_not_written_through(host: FakeHost) -> None:
    """The old file keeps its inode, owner and content: the module writes a new file and renames it."""
    alice = host.accounts["alice"]
    unit_dir = host.home("alice") / rl.UNIT_DIR
    unit_dir.mkdir(parents=True)
    for d in (unit_dir, unit_dir.parent, unit_dir.parent.parent):
        os.chown(d, alice.uid, alice.gid)
    unit = unit_dir / "docker.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    os.chown(unit, alice.uid, alice.gid)
    fd = os.open(unit, os.O_RDONLY)
    try:
        run(host)
        assert os.fstat(fd).st_ino != unit.stat().st_ino
        assert os.read(fd, 100) == b"[Service]\nExecStart=/bin/true\n"
    finally:
        os.close(fd)
    assert unit.stat().st_uid == alice.uid


# -- links, missing and foreign homes: refused before anything is done for anybody ---------------


def plant(home: pathlib.Path, outside: pathlib.Path, how: str) -> str:
    """A hostile user's link in their home; the path the refusal must name."""
    config = home / ".config"
    if how == "~/.config/systemd/user -> outside":
        (config / "systemd").mkdir(parents=True)
        (config / "systemd" / "user").symlink_to(outside)
        return f"{config}/systemd/user is a symlink (to '{outside}')"
    if how == "~/.config -> outside":
        config.symlink_to(outside)
        return f"{config} is a symlink (to '{outside}')"
    if how == "~/.config/systemd -> outside":
        config.mkdir()
        (config / "systemd").symlink_to(outside)
        return f"{config}/systemd is a symlink (to '{outside}')"
    unit_dir = config / "systemd" / "user"
    unit_dir.mkdir(parents=True)
    if how == "the unit -> a file outside":
        (unit_dir / "docker.service").symlink_to(outside / "docker.service")
        return f"{unit_dir}/docker.service is a symlink (to '{outside}/docker.service')"
    if how == "the unit hard-linked to a file outside":
        os.link(outside / "docker.service", unit_dir / "docker.service")
        return f"{unit_dir}/docker.service is a hard link (2 names for one file)"
    if how == "default.target.wants -> outside":
        (unit_dir / "default.target.wants").symlink_to(outside)
        return f"{unit_dir}/default.target.wants is a symlink (to '{outside}')"
    raise AssertionError(how)


HOW = [
    "~/.config/systemd/user -> outside",
    "~/.config -> outside",
    "~/.config/systemd -> outside",
    "the unit -> a file outside",
    "the unit hard-linked to a file outside",
    "default.target.wants -> outside",
]


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("how", HOW)
def test_a_link_in_a_users_home_is_refused_naming_it_and_nothing_is_done_for_anybody(
    host: FakeHost, how: str, state: str
) -> None:
    outside = host.root / "etc" / "systemd" / "system"
    outside.mkdir(parents=True)
    (outside / "docker.service").write_text("[Service]\nExecStart=/usr/sbin/dockerd\n")
    mallory = host.add_user("mallory")
    named = plant(host.home("mallory"), outside, how)
    for p in [host.home("mallory"), *host.home("mallory").rglob("*")]:
        os.lchown(p, mallory.uid, mallory.gid)
    before = snapshot(host.root)
    for check in (True, False):
        msg = refused(host, check, users=["alice", "mallory"], state=state)
        what = "set up" if state == "present" else "remove"
        assert msg.startswith(f"refusing to {what} rootless Docker (nothing was done for any user): mallory: ")
        assert named in msg
        assert "alice" not in msg.split(": ", 1)[1]
        assert snapshot(host.root) == before
        assert host.calls == [] and host.linger == set()


def test_a_user_without_a_home_is_refused_and_nothing_is_created(host: FakeHost) -> None:
    host.add_user("bob", home=False)
    before = snapshot(host.root)
    for check in (True, False):
        msg = refused(host, check, users=["alice", "bob"])
        assert f"bob: the home {host.root}/home/bob of user bob does not exist; refusing" in msg
        assert snapshot(host.root) == before
        assert host.calls == [] and host.linger == set()


def test_a_home_above_a_missing_directory_is_refused_and_nothing_is_created(host: FakeHost) -> None:
    """useradd -M -d /nonexistent/bob: neither the home nor the directory above it is created."""
    host.add_user("bob", home=False)
    host.accounts["bob"] = dataclasses.replace(host.accounts["bob"], home=str(host.root / "nonexistent" / "bob"))
    msg = refused(host, users=["bob"])
    assert f"the home {host.root}/nonexistent/bob of user bob does not exist" in msg
    assert not (host.root / "nonexistent").exists()
    assert host.calls == []


def test_a_home_that_is_not_the_users_is_refused(host: FakeHost) -> None:
    bob = host.add_user("bob")
    host.accounts["bob"] = dataclasses.replace(bob, uid=bob.uid + 1000, gid=bob.gid + 1000)
    msg = refused(host, users=["bob"])
    assert msg.startswith("refusing to set up rootless Docker (nothing was done for any user): bob: ")
    assert "belongs to uid" in msg
    assert not (host.home("bob") / ".config").exists()
    assert host.calls == []


@pytest.mark.parametrize(
    ("users", "msg"),
    [
        (["root"], "users: 'root' is root; rootless Docker is for unprivileged users"),
        (["alice", "nobody-here"], "users: 'nobody-here' is no user on this host; create the user first"),
    ],
)
def test_accounts_that_cannot_have_a_rootless_daemon(host: FakeHost, users: list[str], msg: str) -> None:
    assert refused(host, users=users) == msg
    assert host.calls == []


def test_without_linger_a_user_needs_a_running_manager(host: FakeHost) -> None:
    msg = refused(host, linger=False)
    assert "alice: no systemd user manager runs and linger=false; set linger=true" in msg
    assert host.calls == []
    host.managers.add("alice")
    facts = run(host, linger=False)["daemons"]["alice"]
    assert facts["linger_enabled"] is False and facts["started"] is True
    assert host.linger == set()


@pytest.mark.parametrize("timeout", [0, -5])
def test_a_timeout_that_is_not_positive_is_refused(host: FakeHost, timeout: int) -> None:
    msg = refused(host, timeout=timeout)
    assert msg.startswith(f"timeout={timeout}: must be a positive number of seconds")
    assert host.calls == []


# -- failures say why ------------------------------------------------------------------------


def test_a_daemon_that_fails_to_start_is_reported_with_the_users_journal(host: FakeHost) -> None:
    host.start_error = "Job for docker.service failed because the control process exited with error code."
    host.journal_lines = ["starting", "[rootlesskit:parent] error: failed to setup UID/GID map: newuidmap: EPERM"]
    msg = refused(host)
    assert msg.startswith("alice: systemctl --user start docker.service failed (rc=1): Job for docker.service failed")
    assert msg.endswith(
        "Journal of the user: starting | [rootlesskit:parent] error: failed to setup UID/GID map: newuidmap: EPERM"
    )


def test_a_daemon_that_never_answers_fails_after_the_timeout(host: FakeHost) -> None:
    host.answers = False
    host.journal_lines = ["open /dev/net/tun: permission denied"]
    msg = refused(host, timeout=7)
    assert msg.startswith(f"alice: the rootless daemon did not answer on {rl.docker_host(host.accounts['alice'].uid)}")
    assert "within 7s (" in msg and "No such file or directory" in msg
    assert msg.endswith("Journal of the user: open /dev/net/tun: permission denied")
    assert 7 <= host.clock <= 8


def test_a_user_manager_that_does_not_start_fails_after_the_timeout(host: FakeHost) -> None:
    host.manager_starts_on_linger = False
    msg = refused(host, timeout=3)
    assert msg.startswith(f"alice: the systemd user manager (user@{host.accounts['alice'].uid}.service) did not start")
    assert "within 3s" in msg


def test_a_daemon_that_is_not_rootless_is_an_error(host: FakeHost) -> None:
    host.report_rootless = False
    assert "does not report rootless in its security options" in refused(host)


# -- state=absent -------------------------------------------------------------------------------


def test_absent_stops_disables_and_removes_the_unit_then_changes_nothing(host: FakeHost) -> None:
    run(host)
    unit = host.home("alice") / rl.UNIT_PATH
    host.calls.clear()
    predicted = run(host, check=True, state="absent")
    assert unit.exists() and host.calls == []
    result = run(host, state="absent")
    facts = result["daemons"]["alice"]
    expected = {**dict.fromkeys(ACTIONS, False), "stopped": True, "disabled": True, "unit_removed": True}
    assert actions(predicted["daemons"]["alice"]) == actions(facts) == expected
    assert facts["running"] is False
    assert host.calls == [
        "alice stop docker.service",
        "alice disable docker.service",
        "alice daemon-reload",
    ]
    assert not unit.exists() and not os.path.lexists(host.home("alice") / rl.WANTS_PATH)
    assert result["diff"][0]["after"] == ""
    assert result["prerequisites"] == {}
    again = run(host, state="absent")
    assert again["changed"] is False
    assert actions(again["daemons"]["alice"]) == dict.fromkeys(ACTIONS, False)


def test_absent_without_a_user_manager_removes_the_enable_link_itself(host: FakeHost) -> None:
    run(host)
    host.managers.clear()
    host.daemons["alice"].active = False
    host.calls.clear()
    facts = run(host, state="absent")["daemons"]["alice"]
    assert facts["disabled"] is True and facts["unit_removed"] is True and facts["stopped"] is False
    assert host.calls == []
    assert not os.path.lexists(host.home("alice") / rl.WANTS_PATH)
    assert not (host.home("alice") / rl.UNIT_PATH).exists()


# -- the module itself: argument spec, result and failures through main() -------------------------


@pytest.fixture
def module_side(monkeypatch: pytest.MonkeyPatch, host: FakeHost) -> FakeHost:
    """main() on the fake host, as on a managed host (warnings returned with the result, not displayed)."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)
    monkeypatch.setattr(mod, "SystemHost", lambda module: host)
    return host


def main(capsys: pytest.CaptureFixture[str], args: dict[str, t.Any], check: bool = False) -> dict[str, t.Any]:
    with (
        patch_module_args({**args, "_ansible_check_mode": check, "_ansible_diff": True}),
        pytest.raises(SystemExit) as exit_,
    ):
        mod.main()
    out = json.loads(capsys.readouterr().out)
    assert (exit_.value.code == 0) is not bool(out.get("failed")), out
    return t.cast("dict[str, t.Any]", out)


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        ({"users": ["root"]}, "users: 'root' is root; rootless Docker is for unprivileged users"),
        ({"users": ["no-such-user-here"]}, "users: 'no-such-user-here' is no user on this host; create the user first"),
        ({"users": ["alice"], "dockerd_args": ["-H", "tcp://0.0.0.0:2375"]}, "dockerd_args entry '-H'"),
        ({"users": ["alice"], "dockerd_args": ["--data-root=$HOME"]}, "would be expanded by systemd"),
        ({"users": ["alice"], "timeout": 0}, "timeout=0: must be a positive number of seconds"),
        ({"users": ["alice"], "timeout": "soon"}, "argument 'timeout' is of type str and we were unable to convert"),
        ({"users": ["alice"], "state": "gone"}, "value of state must be one of: present, absent, got: gone"),
        ({}, "missing required arguments: users"),
    ],
)
def test_bad_input_is_refused_by_the_module(
    capsys: pytest.CaptureFixture[str], module_side: FakeHost, args: dict[str, t.Any], msg: str
) -> None:
    out = main(capsys, args)
    assert out["failed"] is True
    assert msg in out["msg"]
    assert module_side.calls == []


def test_the_module_returns_the_facts_and_the_diff(capsys: pytest.CaptureFixture[str], module_side: FakeHost) -> None:
    out = main(capsys, {"users": ["alice"]}, check=True)
    assert out["changed"] is True
    assert out["daemons"]["alice"]["started"] is True
    assert out["diff"][0]["after_header"].endswith("/.config/systemd/user/docker.service")
    assert module_side.calls == []
    out = main(capsys, {"users": ["alice"]})
    assert out["changed"] is True and out["daemons"]["alice"]["running"] is True
    out = main(capsys, {"users": ["alice"]})
    assert out["changed"] is False


def test_the_module_fails_naming_the_link(
    capsys: pytest.CaptureFixture[str], module_side: FakeHost, tmp_path: pathlib.Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    named = plant(module_side.home("alice"), outside, "~/.config/systemd/user -> outside")
    out = main(capsys, {"users": ["alice"]})
    assert out["failed"] is True
    assert named in out["msg"]
    assert list(outside.iterdir()) == []
