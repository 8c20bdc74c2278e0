# SPDX-License-Identifier: GPL-3.0-or-later
"""Two users' rootless daemons on a real host, read from the host itself; and two accounts refused.

mallory owns her home and plants symlinks and hard links at every path the rootless module reads or
writes for her; each attack fails naming the link, with nothing outside her home changed (/etc and
/usr/lib/systemd hashed before and after) and nothing done for anybody. ghost's home does not exist
(useradd -M -d /nonexistent): refused, and nothing is created.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import typing as t

import pytest
from testinfra.modules.ansible import AnsibleException

USERS = ("alice", "bob")
SETTINGS = {"icc": True, "iptables": False, "no-new-privileges": True, "log-level": "info"}


def uid(host: t.Any, user: str) -> int:
    return int(host.user(user).uid)


def as_user(host: t.Any, user: str, command: str) -> t.Any:
    """command as the user, with the environment their systemd user session has."""
    u = uid(host, user)
    env = f"XDG_RUNTIME_DIR=/run/user/{u} DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{u}/bus"
    env += f" DOCKER_HOST=unix:///run/user/{u}/docker.sock"
    return host.run(f"runuser -u {user} -- env {env} sh -c {shlex.quote(command)}")


def user_ok(host: t.Any, user: str, command: str) -> str:
    cmd = as_user(host, user, command)
    assert cmd.rc == 0, f"{user}: {command}: {cmd.stderr}"
    return t.cast(str, cmd.stdout.strip())


def module(host: t.Any, name: str, args: dict[str, t.Any], key: str, check: bool = False) -> t.Any:
    """A module of the collection run on the host; AnsibleException when it fails.

    testinfra's ad-hoc runner drops the "failed" flag of ansible-core 2.19's output, so a
    result without the module's always-returned key is a failure.
    """
    result = host.backend.run_ansible(f"dockguard.hardening.{name}", json.dumps(args), check=check)
    if result.get("failed") or key not in result:
        raise AnsibleException(result)
    return result


@pytest.fixture(scope="module")
def images(host: t.Any) -> None:
    """A busybox image in each user's own daemon (no registry here)."""
    script = (
        "set -e; docker image inspect bb:1 >/dev/null 2>&1 && exit 0; "
        'd=$(mktemp -d); mkdir -p "$d/bin"; cp /bin/busybox "$d/bin/busybox"; '
        'for a in sh sleep grep cat id touch; do ln -s busybox "$d/bin/$a"; done; '
        'tar -C "$d" -c . | docker import -c \'CMD ["/bin/sh"]\' - bb:1 >/dev/null; rm -rf "$d"'
    )
    for user in USERS:
        user_ok(host, user, script)


@pytest.mark.parametrize("user", USERS)
def test_the_users_daemon_is_an_enabled_running_user_service(host: t.Any, user: str) -> None:
    assert user_ok(host, user, "systemctl --user is-active docker.service") == "active"
    assert user_ok(host, user, "systemctl --user is-enabled docker.service") == "enabled"
    assert host.file(f"/var/lib/systemd/linger/{user}").exists
    unit = host.file(f"/home/{user}/.config/systemd/user/docker.service")
    assert (unit.user, unit.mode) == (user, 0o644)


def test_both_daemons_run_at_the_same_time_as_their_users(host: t.Any) -> None:
    pids = {}
    for user in USERS:
        pid = user_ok(host, user, "systemctl --user show -p MainPID --value docker.service")
        assert pid.isdigit() and pid != "0"
        pids[user] = pid
    for user, pid in pids.items():
        status = host.file(f"/proc/{pid}/status").content_string
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        assert uids == [str(uid(host, user))] * 4, (user, uids)
    # and each answers on its own socket, as a rootless daemon
    roots = set()
    for user in USERS:
        info = json.loads(user_ok(host, user, "docker info --format '{{json .}}'"))
        assert "name=rootless" in info["SecurityOptions"]
        roots.add(info["DockerRootDir"])
        assert info["DockerRootDir"] == f"/home/{user}/.local/share/docker"
    assert len(roots) == 2


def test_containers_run_as_their_users_uid_on_the_host(host: t.Any, images: None) -> None:
    pids = {}
    for user in USERS:
        as_user(host, user, "docker rm -f dg-probe")
        user_ok(host, user, "docker run -d --name dg-probe bb:1 sleep 600")
    try:
        for user in USERS:
            pids[user] = user_ok(host, user, "docker inspect --format '{{.State.Pid}}' dg-probe")
            # inside, the container is root
            assert user_ok(host, user, "docker exec dg-probe id -u") == "0"
        for user, pid in pids.items():
            status = host.file(f"/proc/{pid}/status").content_string
            uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
            assert uids == [str(uid(host, user))] * 4, (user, uids)
    finally:
        for user in USERS:
            as_user(host, user, "docker rm -f dg-probe")


@pytest.mark.parametrize("user", USERS)
def test_containers_cannot_gain_privileges(host: t.Any, user: str, images: None) -> None:
    out = user_ok(host, user, "docker run --rm bb:1 grep NoNewPrivs /proc/self/status")
    assert out.split() == ["NoNewPrivs:", "1"]


@pytest.mark.parametrize("user", USERS)
def test_the_users_daemon_json(host: t.Any, user: str) -> None:
    f = host.file(f"/home/{user}/.config/docker/daemon.json")
    assert (f.user, f.group, f.mode) == (user, user, 0o644)
    assert json.loads(f.content_string) == SETTINGS
    for d in (".config", ".config/docker", ".config/systemd", ".config/systemd/user"):
        assert host.file(f"/home/{user}/{d}").user == user, d


@pytest.mark.parametrize("user", USERS)
def test_login_shells_get_docker_host(host: t.Any, user: str) -> None:
    out = host.check_output(f"su - {user} -c 'echo $DOCKER_HOST'")
    assert out == f"unix:///run/user/{uid(host, user)}/docker.sock"
    # root's shells keep the system daemon
    assert host.check_output("bash -lc 'echo ${DOCKER_HOST:-unset}'") == "unset"


def test_low_ports_only_as_asked(host: t.Any, images: None) -> None:
    assert host.check_output("sysctl -n net.ipv4.ip_unprivileged_port_start") == "80"
    assert "net.ipv4.ip_unprivileged_port_start=80" in host.file(
        "/etc/sysctl.d/60-dockguard-rootless.conf"
    ).content_string.replace(" ", "")
    as_user(host, "alice", "docker rm -f dg-port")
    user_ok(host, "alice", "docker run -d --name dg-port -p 80:8080 bb:1 sleep 600")
    try:
        listeners = host.check_output("ss -Hltnp 'sport = :80'")
    finally:
        as_user(host, "alice", "docker rm -f dg-port")
    assert listeners, "nothing listens on port 80"
    pid = listeners.split("pid=")[1].split(",")[0]
    assert host.check_output(f"ps -o user= -p {pid}") == "alice"


def test_rootful_daemon_as_asked(host: t.Any) -> None:
    name = host.backend.get_hostname()
    service, socket = host.service("docker.service"), host.service("docker.socket")
    if name == "dg-rootless-deb13":  # converge.yml asks for it here only
        assert not service.is_running and not service.is_enabled
        assert not socket.is_running and not socket.is_enabled
        # systemd leaves the socket file behind; nothing may listen on it
        assert host.check_output("ss -Hxl src /run/docker.sock") == ""
    else:
        assert service.is_running and service.is_enabled


ACTIONS = ("linger_enabled", "unit_written", "enabled", "started", "restarted", "stopped", "disabled", "unit_removed")


@pytest.mark.parametrize("check", [True, False])
def test_the_module_reports_each_daemon(host: t.Any, check: bool) -> None:
    result = module(host, "rootless", {"users": list(USERS)}, "daemons", check=check)
    assert result["changed"] is False
    for user in USERS:
        d = result["daemons"][user]
        u = uid(host, user)
        assert {k: d[k] for k in ACTIONS} == dict.fromkeys(ACTIONS, False)
        assert d["running"] is True
        assert d["rootless"] is True
        assert d["socket"] == f"/run/user/{u}/docker.sock"
        assert d["storage_driver"] == json.loads(user_ok(host, user, "docker info --format '{{json .Driver}}'"))
        assert d["changes"] == []
        assert all(p["ok"] for p in result["prerequisites"][user])


def test_a_missing_prerequisite_is_named_with_its_fix(host: t.Any) -> None:
    host.check_output("chmod 0600 /dev/net/tun")
    try:
        with pytest.raises(AnsibleException) as failure:
            module(host, "rootless", {"users": ["alice"]}, "daemons")
    finally:
        host.check_output("chmod 0666 /dev/net/tun")
    msg = failure.value.result["msg"]
    assert msg.startswith("rootless Docker prerequisites missing: alice: /dev/net/tun: mode 0600")
    assert "fix: modprobe tun, and chmod 0666 /dev/net/tun" in msg


def test_daemon_config_restarts_a_users_daemon_safely(host: t.Any) -> None:
    """daemon_config's user option: a change applied with a verified restart of that user's daemon only."""
    bob_pid = user_ok(host, "bob", "systemctl --user show -p MainPID --value docker.service")
    result = module(host, "daemon_config", {"user": "alice", "settings": {"debug": True}}, "config")
    try:
        assert result["restarted"] is True
        assert result["path"] == "/home/alice/.config/docker/daemon.json"
        assert {"key": "debug", "expected": True, "observed": True} in result["verified"]
        assert json.loads(user_ok(host, "alice", "docker info --format '{{json .Debug}}'")) is True
    finally:
        module(host, "daemon_config", {"user": "alice", "remove_keys": ["debug"]}, "config")
    assert json.loads(user_ok(host, "alice", "docker info --format '{{json .Debug}}'")) is False
    assert host.file("/home/alice/.config/docker/daemon.json").user == "alice"
    assert user_ok(host, "bob", "systemctl --user show -p MainPID --value docker.service") == bob_pid


def test_a_changed_daemon_json_restarts_running_daemons_safely(host: t.Any) -> None:
    """The role again with another log level: each running daemon restarts, with the new file."""
    before = {u: user_ok(host, u, "systemctl --user show -p MainPID --value docker.service") for u in USERS}
    proc = converge(host, {"rootless_log_level": "debug"})
    try:
        assert proc.returncode == 0, plain(proc.stdout + proc.stderr)[-3000:]
        for user in USERS:
            config = json.loads(host.file(f"/home/{user}/.config/docker/daemon.json").content_string)
            assert config["log-level"] == "debug"
            pid = user_ok(host, user, "systemctl --user show -p MainPID --value docker.service")
            assert pid not in ("0", before[user]), user
            assert "name=rootless" in user_ok(host, user, "docker info --format '{{json .SecurityOptions}}'")
    finally:
        assert converge(host, {}).returncode == 0
    for user in USERS:
        config = json.loads(host.file(f"/home/{user}/.config/docker/daemon.json").content_string)
        assert config == SETTINGS


def converge(host: t.Any, extra: dict[str, t.Any]) -> subprocess.CompletedProcess[str]:
    """converge.yml with extra variables, on this host only."""
    playbook = os.path.join(os.path.dirname(__file__), "..", "converge.yml")
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", host.backend.get_hostname()]
    return subprocess.run(
        [*argv, "-e", json.dumps(extra), playbook],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKGUARD_CHANGES_LOG": "/dev/null", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )


def plain(text: str) -> str:
    """ansible-playbook's output without colours, and with the default callback's line wrapping undone."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


def changed_tasks(records: list[dict[str, t.Any]], run: str, hostname: str) -> set[str]:
    """Names of the tasks that changed, without the "namespace.collection.role : " prefix."""
    return {
        r["task"].split(" : ", 1)[-1] for r in records if r["run"] == run and r["host"] == hostname and r["changed"]
    }


def test_check_mode_predicted_the_converge(host: t.Any) -> None:
    with open(os.environ["DOCKGUARD_CHANGES_LOG"], encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    runs: list[tuple[str, bool]] = []
    for r in records:
        if r["playbook"] == "converge.yml" and r["run"] not in [x[0] for x in runs]:
            runs.append((r["run"], r["check"]))
    assert [check for _run, check in runs][-3:] == [True, False, False], runs  # check, converge, idempotence
    name = host.backend.get_hostname()
    predicted = changed_tasks(records, runs[-3][0], name)
    done = changed_tasks(records, runs[-2][0], name)
    assert "A rootless daemon per user, enabled and running" in done
    assert predicted == done
    assert changed_tasks(records, runs[-1][0], name) == set()


@pytest.mark.parametrize("user", USERS)
def test_cis_audit_judges_the_users_rootless_daemon(host: t.Any, user: str) -> None:
    """The audit, pointed at a user's daemon, sees a rootless daemon (2.1, 2.9) and its own files."""
    audit = module(host, "cis_audit", {"user": user, "sections": ["2", "3"]}, "audit")["audit"]
    assert audit["engine"]["rootless"] is True
    assert audit["engine"]["socket"] == f"/run/user/{uid(host, user)}/docker.sock"
    r = {x["id"]: x for x in audit["results"]}
    assert r["2.1"]["status"] == "pass" and r["2.9"]["status"] == "pass"
    assert r["2.3"]["status"] == "pass", r["2.3"]["evidence"]  # log-level info in the user's daemon.json
    assert r["2.14"]["status"] == "pass", r["2.14"]["evidence"]  # no-new-privileges in the user's daemon.json
    assert r["3.3"]["status"] == "not_applicable"
    assert r["3.17"]["status"] == "pass", r["3.17"]["evidence"]  # the user's daemon.json owned by the user
    assert r["3.17"]["evidence"][0].startswith(f"/home/{user}/.config/docker/daemon.json: {user}:")
    assert r["3.16"]["status"] == "pass", r["3.16"]["evidence"]


# -- a hostile user, and a user without a home --------------------------------------------------

FINGERPRINT = (
    "find /etc /usr/lib/systemd -xdev -printf '%p %y %U:%G %m %l\\n' | sort; "
    "find /etc /usr/lib/systemd -xdev -type f -exec sha256sum {} + | sort"
)


@pytest.fixture
def untouched(host: t.Any) -> t.Iterator[None]:
    """After the test: nothing under /etc and /usr/lib/systemd changed, and nobody refused got lingering."""
    before = host.check_output(FINGERPRINT)
    yield
    after = host.check_output(FINGERPRINT)
    changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
    assert not changed, "changed outside the home:\n" + "\n".join(changed[:20])
    for user in ("mallory", "ghost"):
        assert not host.file(f"/var/lib/systemd/linger/{user}").exists, user
    assert not host.file("/nonexistent").exists


@pytest.fixture
def mallorys_home(host: t.Any) -> t.Iterator[None]:
    """mallory's ~/.config removed before and after (rm removes a link itself, never its target)."""
    host.check_output("rm -rf /home/mallory/.config")
    yield
    host.check_output("rm -rf /home/mallory/.config")


def as_mallory(host: t.Any, command: str) -> None:
    host.run_expect([0], f"runuser -u mallory -- sh -c {shlex.quote(command)}")


ATTACKS = [
    # (what mallory plants in her home, the link the refusal must name)
    (
        "mkdir -p ~/.config/systemd && ln -s /etc/systemd/system ~/.config/systemd/user",
        "/home/mallory/.config/systemd/user is a symlink (to '/etc/systemd/system')",
    ),
    ("ln -s /etc ~/.config", "/home/mallory/.config is a symlink (to '/etc')"),
    ("mkdir -p ~/.config && ln -s /etc/systemd ~/.config/systemd", "/home/mallory/.config/systemd is a symlink"),
    (
        "mkdir -p ~/.config/systemd/user && ln -s /usr/lib/systemd/system/docker.service "
        "~/.config/systemd/user/docker.service",
        "/home/mallory/.config/systemd/user/docker.service is a symlink (to '/usr/lib/systemd/system/docker.service')",
    ),
    (
        "mkdir -p ~/.config/systemd/user && ln -s /etc/systemd/system ~/.config/systemd/user/default.target.wants",
        "/home/mallory/.config/systemd/user/default.target.wants is a symlink",
    ),
]


@pytest.mark.usefixtures("mallorys_home", "untouched")
@pytest.mark.parametrize(("plant", "named"), ATTACKS, ids=["unit-dir", "config", "systemd", "unit", "wants"])
def test_a_link_mallory_planted_is_refused_naming_it_and_nothing_is_done_for_anybody(
    host: t.Any, plant: str, named: str
) -> None:
    alice_pid = user_ok(host, "alice", "systemctl --user show -p MainPID --value docker.service")
    as_mallory(host, plant)
    for state in ("present", "absent"):
        with pytest.raises(AnsibleException) as failure:
            module(host, "rootless", {"users": ["alice", "mallory"], "state": state}, "daemons")
        msg = failure.value.result["msg"]
        what = "set up" if state == "present" else "remove"
        assert msg.startswith(f"refusing to {what} rootless Docker (nothing was done for any user): mallory: "), msg
        assert named in msg
        assert "refusing to follow it" in msg
    # alice, listed with her, was left as she was
    assert user_ok(host, "alice", "systemctl --user show -p MainPID --value docker.service") == alice_pid


@pytest.mark.usefixtures("mallorys_home", "untouched")
def test_a_hard_link_at_the_unit_is_refused_naming_it(host: t.Any) -> None:
    # fs.protected_hardlinks stops mallory linking root's file herself on most kernels; root makes the
    # link here to stand for a kernel that lets her.
    as_mallory(host, "mkdir -p ~/.config/systemd/user")
    host.check_output("ln /usr/lib/systemd/system/docker.service /home/mallory/.config/systemd/user/docker.service")
    with pytest.raises(AnsibleException) as failure:
        module(host, "rootless", {"users": ["mallory"]}, "daemons")
    assert "/home/mallory/.config/systemd/user/docker.service is a hard link" in failure.value.result["msg"]
    assert host.file("/usr/lib/systemd/system/docker.service").user == "root"


@pytest.mark.usefixtures("untouched")
def test_a_user_without_a_home_is_refused_and_nothing_is_created(host: t.Any) -> None:
    for check in (True, False):
        with pytest.raises(AnsibleException) as failure:
            module(host, "rootless", {"users": ["ghost"]}, "daemons", check=check)
        assert "ghost: the home /nonexistent of user ghost does not exist; refusing" in failure.value.result["msg"]


ROLE_REFUSALS = [
    # (what mallory plants, the users, what the failed play must say)
    (
        "mkdir -p ~/.config/systemd && ln -s /etc/systemd/system ~/.config/systemd/user",
        ["mallory"],
        "/home/mallory/.config/systemd/user is a symlink (to '/etc/systemd/system')",
    ),
    # daemon_config (the role's user daemon.json) meets this one first
    ("ln -s /etc ~/.config", ["mallory"], "/home/mallory/.config is a symlink (to '/etc')"),
    ("true", ["alice", "ghost"], "the home /nonexistent of user ghost does not exist; refusing"),
]


@pytest.mark.usefixtures("mallorys_home", "untouched")
@pytest.mark.parametrize(("plant", "users", "said"), ROLE_REFUSALS, ids=["unit-dir", "config", "no-home"])
def test_the_role_fails_for_a_hostile_or_homeless_user_and_changes_nothing_outside(
    host: t.Any, plant: str, users: list[str], said: str
) -> None:
    as_mallory(host, plant)
    proc = converge(host, {"rootless_users": users})
    out = plain(proc.stdout + proc.stderr)
    assert proc.returncode != 0, out[-3000:]
    assert said in out, out[-3000:]
