# SPDX-License-Identifier: GPL-3.0-or-later
"""Adversarial review of daemon_config (issue 9) on a real host: attacks that got through the rewrite.

Each test failed on the code it was written against (see the review report; the unit-level twins are in
tests/unit/plugins/module_utils/test__common_files_adversarial.py). Every test measures /etc and
/usr/lib/systemd itself, then puts /etc/docker and /etc/systemd/system back as they were, so that a test
that fails here does not leave the host changed for test_hostile.py.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shlex
import subprocess
import typing as t

import pytest

HOST = "dg-hostile-deb12"
SECRET = "hunter2-root-secret"
FINGERPRINT = (
    "find /etc /usr/lib/systemd -xdev -printf '%p %y %U:%G %m %l\\n' | sort; "
    "find /etc /usr/lib/systemd -xdev -type f -exec sha256sum {} + | sort"
)
SAVED = "/root/dg-adversarial-saved.tar"


def daemon_config(host: t.Any, **args: t.Any) -> dict[str, t.Any]:
    """The module's result; a failure is a result without the always-returned "config" key."""
    return t.cast(
        "dict[str, t.Any]",
        host.backend.run_ansible("dockguard.hardening.daemon_config", json.dumps(args), check=False),
    )


def failed(result: dict[str, t.Any]) -> bool:
    return bool(result.get("failed")) or "config" not in result


def sh(host: t.Any, cmd: str) -> str:
    return t.cast(str, host.check_output(cmd))


def as_alice(host: t.Any, cmd: str) -> None:
    host.run_expect([0], f"runuser -u alice -- sh -c {shlex.quote(cmd)}")


def changed_outside(before: str, after: str) -> list[str]:
    return sorted(set(after.splitlines()) ^ set(before.splitlines()))[:20]


@pytest.fixture
def restored(host: t.Any) -> t.Iterator[None]:
    """Alice's .config removed; /etc/docker and /etc/systemd/system put back as they were after the test."""
    sh(host, "rm -rf /home/alice/.config /tmp/dg-adv")
    sh(host, f"tar -C / -cpf {SAVED} etc/docker etc/systemd/system")
    yield
    host.run("umount /etc/systemd/system/docker.service.d; umount /etc/docker; systemctl unmask docker.service")
    sh(host, f"rm -rf /etc/docker /etc/systemd/system && tar -C / -xpf {SAVED} && rm -f {SAVED}")
    sh(host, "rm -rf /home/alice/.config /tmp/dg-adv /root/secret.env /home/alice/.docker")
    sh(host, "systemctl daemon-reload && systemctl reset-failed docker.service docker.socket || true")
    host.run("systemctl restart docker.socket docker.service")


# -- user= with a path outside the home ----------------------------------------------------------------


@pytest.mark.usefixtures("restored")
@pytest.mark.parametrize(
    ("plant", "args"),
    [
        ("true", {"path": "/etc/docker/daemon.json"}),
        ("true", {"path": "/home/alice/../../etc/docker/daemon.json"}),
        # the operator picks a directory alice may write; alice makes it a link to /etc/docker
        ("mkdir -p /tmp/dg-adv && ln -s /etc/docker /tmp/dg-adv/docker", {"path": "/tmp/dg-adv/docker/daemon.json"}),
    ],
    ids=["etc", "dotdot", "user-linked-dir"],
)
def test_user_with_a_path_outside_the_home_writes_nothing_there(
    host: t.Any, plant: str, args: dict[str, t.Any]
) -> None:
    """Observed: /etc/docker/daemon.json rewritten and chowned alice:alice (changed=true), backup in /etc/docker."""
    as_alice(host, plant)
    before = sh(host, FINGERPRINT)
    result = daemon_config(host, user="alice", settings={"debug": True}, restart="never", validate="never", **args)
    assert changed_outside(before, sh(host, FINGERPRINT)) == []
    assert failed(result), result
    assert "home" in result["msg"]


@pytest.mark.usefixtures("restored")
def test_user_with_a_dropin_path_outside_the_home_writes_no_system_dropin(host: t.Any) -> None:
    """Observed: /etc/systemd/system/docker.service.d/evil.conf owned alice:alice, ExecStart= from her unit."""
    as_alice(
        host,
        "mkdir -p ~/.config/systemd/user && "
        "printf '[Service]\\nExecStart=/usr/bin/dockerd -H unix:///tmp/x\\n' > ~/.config/systemd/user/docker.service",
    )
    before = sh(host, FINGERPRINT)
    result = daemon_config(
        host,
        user="alice",
        settings={"hosts": ["unix:///run/user/1000/docker.sock"]},
        conflicts="resolve",
        dropin_path="/etc/systemd/system/docker.service.d/evil.conf",
        restart="never",
        validate="never",
    )
    assert changed_outside(before, sh(host, FINGERPRINT)) == []
    assert failed(result), result


@pytest.mark.usefixtures("restored")
def test_a_path_in_a_users_home_without_user_follows_no_link_of_hers(host: t.Any) -> None:
    """path=/home/alice/.config/docker/daemon.json without user= is written as a root-controlled file: only
    its last component is checked, so alice's ~/.config/docker -> /etc/docker sent the write (and its backup)
    to the system daemon's file. Observed: /etc/docker/daemon.json rewritten, changed=true."""
    as_alice(host, "mkdir -p ~/.config && ln -s /etc/docker ~/.config/docker")
    before = sh(host, FINGERPRINT)
    result = daemon_config(
        host, path="/home/alice/.config/docker/daemon.json", settings={"debug": True}, restart="never"
    )
    assert changed_outside(before, sh(host, FINGERPRINT)) == []
    assert failed(result), result


# -- root's files reached through alice's unit or her tree ---------------------------------------------


@pytest.mark.usefixtures("restored")
@pytest.mark.parametrize(
    ("execstart", "settings"),
    [
        ("/usr/bin/dockerd --config-file=${PASSWORD}", {"debug": True}),
        ("/usr/bin/dockerd -H ${PASSWORD}", {"hosts": ["unix:///run/user/1000/docker.sock"]}),
    ],
    ids=["config-file", "conflict"],
)
def test_a_root_only_environment_file_named_by_alice_never_reaches_the_result(
    host: t.Any, execstart: str, settings: dict[str, t.Any]
) -> None:
    """Observed: 'starts dockerd with --config-file hunter2-root-secret ...; manage path=hunter2-root-secret'."""
    sh(host, f"umask 077 && echo PASSWORD={SECRET} > /root/secret.env")
    unit = f"[Service]\\nEnvironmentFile=/root/secret.env\\nExecStart={execstart}\\n"
    as_alice(host, f"mkdir -p ~/.config/systemd/user && printf '{unit}' > ~/.config/systemd/user/docker.service")
    result = daemon_config(host, user="alice", settings=settings, conflicts="resolve", restart="never")
    assert SECRET not in json.dumps(result)


@pytest.mark.usefixtures("restored")
def test_a_root_only_file_renamed_into_the_tree_is_not_handed_to_alice(host: t.Any) -> None:
    """A root-only JSON file in alice's home (a `sudo docker login` ~/.docker/config.json), renamed by her to
    ~/.config/docker/daemon.json. Observed with exclusive=true: the backup is alice's, mode 0600, with root's
    registry credentials in it."""
    sh(host, "install -d -o alice -g alice /home/alice/.docker")
    config = json.dumps({"auths": {"r": {"auth": SECRET}}})
    sh(host, f"umask 077 && echo '{config}' > /home/alice/.docker/config.json")
    as_alice(host, "mkdir -p ~/.config/docker && mv ~/.docker/config.json ~/.config/docker/daemon.json")
    daemon_config(host, user="alice", settings={"debug": True}, exclusive=True, restart="never", validate="never")
    readable = host.run(
        f"runuser -u alice -- sh -c 'cat ~/.config/docker/* 2>/dev/null' | grep -c {SECRET}"
    ).stdout.strip()
    assert readable == "0", "alice can read root's file through what the module wrote for her"


@pytest.mark.usefixtures("restored")
def test_invalid_utf8_in_alices_file_is_refused_before_it_is_rewritten(host: t.Any) -> None:
    """Observed: FAILED 'Refusing to deserialize an invalid UTF8 string value' (controller side), changed=false,
    while daemon.json had been rewritten with \\udcff escapes in a key the task never named and a backup made."""
    as_alice(host, 'mkdir -p ~/.config/docker && printf \'{"labels":["a=\\377\\376"]}\' >~/.config/docker/daemon.json')
    before = sh(host, "ls -A /home/alice/.config/docker; sha256sum /home/alice/.config/docker/daemon.json")
    result = daemon_config(host, user="alice", settings={"debug": True}, restart="never", validate="never")
    assert failed(result), result
    assert sh(host, "ls -A /home/alice/.config/docker; sha256sum /home/alice/.config/docker/daemon.json") == before
    assert "/home/alice/.config/docker/daemon.json" in result["msg"]


# -- careless operators, broken hosts ------------------------------------------------------------------


@pytest.mark.usefixtures("restored")
def test_a_masked_service_is_named_as_masked(host: t.Any) -> None:
    """Issue 9 asked for it; observed on a real host (unit linked to /dev/null): 'the docker service has no
    ExecStart='."""
    sh(host, "systemctl mask docker.service")
    result = daemon_config(host, settings={"debug": True})
    assert failed(result), result
    assert "docker.service is masked" in result["msg"]


@pytest.mark.usefixtures("restored")
def test_a_read_only_dropin_directory_leaves_daemon_json_as_it_was(host: t.Any) -> None:
    """Observed: daemon.json got hosts, the drop-in could not be written, the message said 'nothing was
    changed', and at its next restart dockerd refused to start (hosts both as flag and in the file)."""
    sh(
        host,
        "mkdir -p /etc/systemd/system/docker.service.d && "
        "mount --bind /etc/systemd/system/docker.service.d /etc/systemd/system/docker.service.d && "
        "mount -o remount,bind,ro /etc/systemd/system/docker.service.d",
    )
    before = host.file("/etc/docker/daemon.json").content_string
    result = daemon_config(
        host, settings={"hosts": ["fd://", "unix:///run/dg-adv.sock"]}, conflicts="resolve", restart="never"
    )
    assert failed(result), result
    assert host.file("/etc/docker/daemon.json").content_string == before


@pytest.mark.usefixtures("restored")
def test_a_read_only_etc_docker_is_named_as_read_only(host: t.Any) -> None:
    """Observed with backup=true (the default): 'unexpected error: Could not make backup of ...' without why."""
    sh(host, "mount --bind /etc/docker /etc/docker && mount -o remount,bind,ro /etc/docker")
    result = daemon_config(host, settings={"debug": True}, restart="never")
    assert failed(result), result
    assert "Read-only file system" in result["msg"]
    assert not result["msg"].startswith("unexpected error")


ANSIBLE = ("ansible", "-i")
MODULE = ("-o", "-m", "dockguard.hardening.daemon_config", "-a")


def run_cli(args: dict[str, t.Any], timeout: float = 300) -> tuple[int, str]:
    proc = subprocess.run(
        [*ANSIBLE, os.environ["MOLECULE_INVENTORY_FILE"], HOST, *MODULE, json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal"),
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.usefixtures("restored")
def test_two_spellings_of_one_service_do_not_lose_an_update(host: t.Any) -> None:
    """service=docker and service=docker.service take different locks on one daemon.json: observed 2 lost
    updates in 6 rounds."""
    lost = []
    for round_ in range(6):
        a = {"settings": {"debug": round_ % 2 == 0}, "service": "docker", "restart": "never"}
        b = {"settings": {"max-concurrent-downloads": 2 + round_}, "restart": "never"}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(run_cli, [a, b]))
        assert all(rc == 0 for rc, _out in results), results
        config = json.loads(host.file("/etc/docker/daemon.json").content_string)
        if config.get("debug") != (round_ % 2 == 0) or config.get("max-concurrent-downloads") != 2 + round_:
            lost.append((round_, config))
    assert lost == []


@pytest.mark.usefixtures("restored")
def test_alices_unit_cannot_hold_roots_run_past_its_timeout(host: t.Any) -> None:
    """A user unit whose ExecStop= never returns (TimeoutStopSec=infinity): `systemctl --user restart` has no
    bound, so the run hung for good (timeout=5 still running after 120 s) holding alice's daemon lock."""
    host.run("dpkg -s dbus-user-session >/dev/null 2>&1 || apt-get install -y dbus-user-session")
    sh(host, "loginctl enable-linger alice")
    host.run("for i in $(seq 50); do systemctl is-active -q user@$(id -u alice) && break; sleep 0.2; done")
    unit = "[Service]\\nExecStart=/bin/sleep infinity\\nExecStop=/bin/sleep infinity\\nTimeoutStopSec=infinity\\n"
    as_alice(host, f"mkdir -p ~/.config/systemd/user && printf '{unit}' > ~/.config/systemd/user/docker.service")
    sh(host, "systemctl --user -M alice@ daemon-reload && systemctl --user -M alice@ start docker.service")
    try:
        try:
            rc, out = run_cli({"user": "alice", "settings": {"debug": True}, "timeout": 5, "validate": "never"}, 120)
        except subprocess.TimeoutExpired:
            pytest.fail("daemon_config with timeout=5 was still running after 120 s")
        assert "FAILED" in out or rc == 0, out
    finally:
        # let the hung job finish: no ExecStop= any more, then end the one that runs
        as_alice(host, "printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > ~/.config/systemd/user/docker.service")
        host.run("systemctl --user -M alice@ daemon-reload; systemctl --user -M alice@ kill -s KILL docker.service")
        host.run("for i in $(seq 120); do pgrep -f AnsiballZ_daemon_config >/dev/null || break; sleep 1; done")
        host.run("systemctl --user -M alice@ stop docker.service; loginctl disable-linger alice")
