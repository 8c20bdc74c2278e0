# SPDX-License-Identifier: GPL-3.0-or-later
"""A hostile user and a careless operator against daemon_config on a real Docker host (issue 9).

Alice owns her home and plants symlinks and hard links at every path daemon_config writes for her;
each attack must fail with a message naming the link, and nothing outside her home may change
(/etc and /usr/lib/systemd hashed before and after). Homes that are missing or not the user's are
refused and never created. Two runs at once on one daemon keep both changes.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import typing as t

import pytest

HOST = "dg-hostile-deb12"
FINGERPRINT = (
    "find /etc /usr/lib/systemd -xdev -printf '%p %y %U:%G %m %l\\n' | sort; "
    "find /etc /usr/lib/systemd -xdev -type f -exec sha256sum {} + | sort"
)


class Failed(Exception):
    def __init__(self, result: dict[str, t.Any]) -> None:
        super().__init__(result.get("msg"))
        self.result = result


def daemon_config(host: t.Any, **args: t.Any) -> dict[str, t.Any]:
    """daemon_config run on the host for real; Failed when it fails.

    testinfra's ad-hoc runner drops ansible-core 2.19's "failed" flag: a result without the
    always-returned "config" key is a failure.
    """
    result = host.backend.run_ansible("dockguard.hardening.daemon_config", json.dumps(args), check=False)
    if result.get("failed") or "config" not in result:
        raise Failed(result)
    return t.cast("dict[str, t.Any]", result)


def sh(host: t.Any, cmd: str) -> str:
    return t.cast(str, host.check_output(cmd))


def as_alice(host: t.Any, cmd: str) -> None:
    host.run_expect([0], f"runuser -u alice -- sh -c {shlex.quote(cmd)}")


@pytest.fixture
def untouched(host: t.Any) -> t.Iterator[None]:
    """Asserts after the test that nothing under /etc and /usr/lib/systemd changed."""
    before = sh(host, FINGERPRINT)
    yield
    after = sh(host, FINGERPRINT)
    changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
    assert not changed, "changed outside the home:\n" + "\n".join(changed[:20])


@pytest.fixture
def clean_home(host: t.Any) -> t.Iterator[None]:
    sh(host, "rm -rf /home/alice/.config")
    yield
    sh(host, "rm -rf /home/alice/.config")


ATTACKS = [
    # (what alice plants, the path the message must name)
    ("mkdir -p ~/.config && ln -s /etc/docker ~/.config/docker", "/home/alice/.config/docker is a symlink"),
    ("ln -s /etc ~/.config", "/home/alice/.config is a symlink"),
    (
        "mkdir -p ~/.config/docker && ln -s /etc/docker/daemon.json ~/.config/docker/daemon.json",
        "/home/alice/.config/docker/daemon.json is a symlink",
    ),
    (
        "mkdir -p ~/.config/docker && ln -s /etc/shadow ~/.config/docker/daemon.json",
        "/home/alice/.config/docker/daemon.json is a symlink",
    ),
]


@pytest.mark.usefixtures("clean_home", "untouched")
@pytest.mark.parametrize(("plant", "named"), ATTACKS, ids=["docker-dir", "config-dir", "file", "shadow"])
def test_a_symlink_planted_by_the_user_is_refused_and_named(host: t.Any, plant: str, named: str) -> None:
    as_alice(host, plant)
    with pytest.raises(Failed) as err:
        daemon_config(host, user="alice", settings={"debug": True}, restart="never", validate="never")
    assert named in err.value.result["msg"]
    assert "refusing to follow it" in err.value.result["msg"]


@pytest.mark.usefixtures("clean_home", "untouched")
def test_a_hard_link_to_roots_file_is_refused_and_named(host: t.Any) -> None:
    # fs.protected_hardlinks stops alice making it herself on most kernels; root makes it here to
    # stand for a kernel that lets her (or a link made before the file changed hands).
    as_alice(host, "mkdir -p ~/.config/docker")
    sh(host, "ln /etc/docker/daemon.json /home/alice/.config/docker/daemon.json")
    with pytest.raises(Failed) as err:
        daemon_config(host, user="alice", settings={"debug": True}, restart="never", validate="never")
    assert "/home/alice/.config/docker/daemon.json is a hard link" in err.value.result["msg"]
    assert '"debug"' not in host.file("/etc/docker/daemon.json").content_string


@pytest.mark.usefixtures("untouched")
@pytest.mark.parametrize(
    ("user", "home", "message"),
    [
        ("carol", "/nonexistent", "the home /nonexistent of user carol does not exist"),
        ("dave", "/srv/dave", "the home /srv/dave of user dave belongs to uid 0, not to the user"),
    ],
)
def test_a_home_that_is_missing_or_not_the_users_is_refused(host: t.Any, user: str, home: str, message: str) -> None:
    with pytest.raises(Failed) as err:
        daemon_config(host, user=user, settings={"debug": True}, restart="never", validate="never")
    assert message in err.value.result["msg"]
    assert not host.file(f"{home}/.config").exists
    if user == "carol":
        assert not host.file("/nonexistent").exists


@pytest.mark.usefixtures("clean_home")
def test_a_clean_home_gets_files_and_directories_owned_by_the_user(host: t.Any) -> None:
    result = daemon_config(host, user="alice", settings={"debug": True}, restart="never", validate="never")
    assert result["changed"] is True
    for path in ("/home/alice/.config", "/home/alice/.config/docker", "/home/alice/.config/docker/daemon.json"):
        f = host.file(path)
        assert (f.user, f.group) == ("alice", "alice"), path
    assert json.loads(host.file("/home/alice/.config/docker/daemon.json").content_string) == {"debug": True}
    again = daemon_config(host, user="alice", settings={"debug": True}, restart="never", validate="never")
    assert again["changed"] is False


def run_cli(args: dict[str, t.Any]) -> tuple[int, str]:
    """daemon_config through the ansible CLI: a separate controller process, as a second operator would."""
    proc = subprocess.run(
        [
            "ansible",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            HOST,
            "-o",
            "-m",
            "dockguard.hardening.daemon_config",
            "-a",
            json.dumps(args),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal"),
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("round_", [1, 2])
def test_two_runs_at_once_on_one_daemon_keep_both_changes(host: t.Any, round_: int) -> None:
    a = {"settings": {"log-level": ["warn", "info"][round_ - 1]}}
    b = {"settings": {"max-concurrent-downloads": 2 + round_}}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run_cli, [a, b]))
    for rc, out in results:
        assert rc == 0, out
        assert "CHANGED" in out, out
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-level"] == a["settings"]["log-level"]
    assert config["max-concurrent-downloads"] == b["settings"]["max-concurrent-downloads"]
    assert (config["icc"], config["live-restore"]) == (False, True)  # converge's keys kept
    assert host.run("docker info --format '{{.ID}}'").rc == 0


def test_a_run_that_cannot_have_the_lock_changes_nothing_and_says_why(host: t.Any) -> None:
    lock = "/run/dockguard/" + hashlib.sha256(b"daemon_config:file:/etc/docker/daemon.json").hexdigest()[:20] + ".lock"
    before = host.file("/etc/docker/daemon.json").content_string
    # hold the lock as another run would, and wait until it is really held before trying
    sh(host, f"mkdir -p /run/dockguard && (setsid flock -o {lock} sleep 600 >/dev/null 2>&1 &)")
    sh(host, f"for i in $(seq 100); do flock -n {lock} true || exit 0; sleep 0.2; done; exit 1")
    try:
        with pytest.raises(Failed) as err:
            daemon_config(host, settings={"debug": True}, lock_timeout=2)
        assert "another run is changing the daemon of /etc/docker/daemon.json" in err.value.result["msg"]
        assert host.file("/etc/docker/daemon.json").content_string == before
    finally:
        host.run(f"pkill -f 'flock -o {lock}'; pkill -f 'sleep 600'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"settings": {"debug": True}, "timeout": 0}, "timeout=0: must be a positive number of seconds"),
        ({"settings": {"icc_enable": False}}, "did you mean 'icc'?"),
    ],
)
def test_careless_input_is_refused_with_the_fix(host: t.Any, args: dict[str, t.Any], message: str) -> None:
    before = host.file("/etc/docker/daemon.json").content_string
    with pytest.raises(Failed) as err:
        daemon_config(host, **args)
    assert message in err.value.result["msg"]
    assert host.file("/etc/docker/daemon.json").content_string == before


def test_a_failed_start_names_the_journal_line_and_rolls_back(host: t.Any) -> None:
    before = host.file("/etc/docker/daemon.json").content_string
    with pytest.raises(Failed) as err:
        daemon_config(host, settings={"data-root": "/proc/dockerdata"}, timeout=20)
    msg = err.value.result["msg"]
    assert "Restored /etc/docker/daemon.json" in msg
    assert "/proc/dockerdata" in msg.split("Journal:", 1)[1]
    assert host.file("/etc/docker/daemon.json").content_string == before
    assert host.run("docker info --format '{{.ID}}'").rc == 0
