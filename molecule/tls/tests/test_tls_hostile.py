# SPDX-License-Identifier: GPL-3.0-or-later
"""The tls role against users who plant links in their homes, and against a wrong CA passphrase.

Runs after test_tls.py (file order) and before the rotation, once for both
hosts. Every hostile user is removed again, so the tests after these still
prove what they proved.
"""

from __future__ import annotations

import json
import shlex
import typing as t

import pytest
from test_tls import PEER, get, playbook, recap_changed

# What the role hashes around a hostile run: root's configuration, systemd's units, another user's home.
WATCHED = "/etc /usr/lib/systemd /home/dgadmin"
SNAPSHOT = (
    f"find {WATCHED} -printf '%p %y %U:%G %m %s %T@ %l\\n' | sort; "
    f"find {WATCHED} -type f -print0 | sort -z | xargs -0 sha256sum"
)


# user -> (shell commands, run as the user in their home, that plant the attack; what the failure must say)
HOSTILE: dict[str, tuple[list[str], str]] = {
    # ~/.docker itself points at the daemon's configuration
    "dgx-dirlink": (["ln -s /etc/docker ~/.docker"], "/home/dgx-dirlink/.docker is a symlink (to '/etc/docker')"),
    # the key, the certificate and the CA bundle point at root's files
    "dgx-keylink": (
        ["mkdir -m 0700 ~/.docker", "ln -s /etc/shadow ~/.docker/key.pem"],
        "/home/dgx-keylink/.docker/key.pem is a symlink (to '/etc/shadow')",
    ),
    "dgx-certlink": (
        ["mkdir -m 0700 ~/.docker", "ln -s /etc/docker/daemon.json ~/.docker/cert.pem"],
        "/home/dgx-certlink/.docker/cert.pem is a symlink (to '/etc/docker/daemon.json')",
    ),
    "dgx-calink": (
        ["mkdir -m 0700 ~/.docker", "ln -s /usr/lib/systemd/system/docker.service ~/.docker/ca.pem"],
        "/home/dgx-calink/.docker/ca.pem is a symlink (to '/usr/lib/systemd/system/docker.service')",
    ),
    # a hard link to root's file: the user tries; where the kernel refuses (fs.protected_hardlinks=1),
    # root plants it, as on a host with protected_hardlinks=0
    "dgx-hardlink": (
        ["mkdir -m 0700 ~/.docker", "ln /etc/shadow ~/.docker/key.pem || root: ln /etc/shadow ~/.docker/key.pem"],
        "/home/dgx-hardlink/.docker/key.pem is a hard link (2 names for one file)",
    ),
    # a hard link the kernel always allows: to a file of the user's own
    "dgx-ownlink": (
        ["mkdir -m 0700 ~/.docker", "echo notes > ~/notes", "ln ~/notes ~/.docker/cert.pem"],
        "/home/dgx-ownlink/.docker/cert.pem is a hard link (2 names for one file)",
    ),
    # an account whose home does not exist: never created for it
    "dgx-nohome": ([], "the home /nonexistent-dgx of user dgx-nohome does not exist"),
}


def sh(host: t.Any, cmd: str) -> t.Any:
    out = host.run(cmd)
    assert out.rc == 0, f"{cmd}: {out.stderr}"
    return out


def plant(host: t.Any, user: str, commands: list[str]) -> list[str]:
    """Run the user's commands (as the user; a "|| root: ..." part as root when the user's part fails)."""
    notes = []
    for command in commands:
        as_user, _sep, as_root = command.partition(" || root: ")
        home = f"/home/{user}"
        out = host.run(f"runuser -u {user} -- sh -c {shlex.quote('cd && ' + as_user)}")
        if out.rc != 0 and as_root:
            notes.append(f"{user}: the kernel refused the user ({out.stderr.strip()}); planted by root")
            sh(host, f"cd {home} && {as_root.replace('~', home)}")
        else:
            assert out.rc == 0, f"{user}: {as_user}: {out.stderr}"
    return notes


def remove_hostile_users(host: t.Any) -> None:
    for user in HOSTILE:
        # the planted links first, as links (never what they point to), then the account and its home
        host.run(f"rm -f /home/{user}/.docker/key.pem /home/{user}/.docker/cert.pem /home/{user}/.docker/ca.pem")
        host.run(f"rm -f /home/{user}/.docker")  # a symlinked ~/.docker (a directory is left to userdel)
        host.run(f"userdel -r {user} 2>/dev/null || userdel {user} 2>/dev/null || true")


@pytest.fixture
def hostile_hosts() -> t.Iterator[dict[str, t.Any]]:
    hosts = {name: get(name) for name in PEER}
    for h in hosts.values():
        remove_hostile_users(h)
    try:
        yield hosts
    finally:
        for h in hosts.values():
            remove_hostile_users(h)


def failed_items(output: str, task: str) -> dict[str, dict[str, dict[str, t.Any]]]:
    """host -> user -> item result of the failed loop task named task, from the json callback's output."""
    doc = json.loads(output[output.index("{") :])
    found: dict[str, dict[str, dict[str, t.Any]]] = {}
    for play in doc["plays"]:
        for entry in play["tasks"]:
            if entry["task"]["name"].endswith(task):
                for host, result in entry["hosts"].items():
                    found[host] = {r["item"]: r for r in result.get("results", [])}
    return found


def test_users_who_plant_links_get_nothing_and_change_nothing(hostile_hosts: dict[str, t.Any]) -> None:
    notes = []
    for h in hostile_hosts.values():
        for user in HOSTILE:
            sh(h, f"useradd -M -d /nonexistent-dgx -s /bin/sh {user}" if user == "dgx-nohome" else f"useradd -m {user}")
        # only then the links: useradd replaces /etc/shadow (a new file renamed over it), which would leave a hard
        # link made earlier pointing at the old, unlinked copy instead of at /etc/shadow
        for user, (commands, _expected) in HOSTILE.items():
            notes += plant(h, user, commands)
        assert sh(h, "stat -c %h /etc/shadow").stdout.strip() == "2", "the hard link to /etc/shadow is not in place"
    before = {name: sh(h, SNAPSHOT).stdout for name, h in hostile_hosts.items()}
    homes = {
        name: sh(h, "find /home/dgx-* -printf '%p %y %U %m %n %l\\n' | sort").stdout
        for name, h in hostile_hosts.items()
    }
    assert "/etc/shadow" in before["dg-tls-a"] and "/usr/lib/systemd/system/docker.service" in before["dg-tls-a"]

    run = playbook(
        "converge.yml",
        "-e",
        json.dumps({"tls_client_users": list(HOSTILE)}),
        succeed=False,
        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
    )
    failures = failed_items(
        run.stdout, "Client key of each local user, made in their home without following links there"
    )
    assert set(failures) == set(PEER), run.stdout[-3000:]
    for name, h in hostile_hosts.items():
        for user, (_commands, expected) in HOSTILE.items():
            result = failures[name][user]
            assert result.get("failed") is True, (name, user, result)
            assert result["msg"].startswith(expected), (name, user, result["msg"])
            assert result["changes"] == [], (name, user, result)
        # nothing outside the homes changed (contents, owners, modes, links), and nothing was written in them
        after = sh(h, SNAPSHOT).stdout
        assert after == before[name], _first_difference(before[name], after)
        assert sh(h, "find /home/dgx-* -printf '%p %y %U %m %n %l\\n' | sort").stdout == homes[name]
        assert not h.file("/nonexistent-dgx").exists
    print("\n".join(notes))


def _first_difference(before: str, after: str) -> str:
    old, new = set(before.splitlines()), set(after.splitlines())
    return f"gone: {sorted(old - new)[:10]}; new: {sorted(new - old)[:10]}"


def test_a_wrong_ca_passphrase_is_named_without_leaking() -> None:
    wrong = "not-the-molecule-passphrase-7f3a"
    run = playbook("converge.yml", "-vvv", "-e", json.dumps({"tls_ca_passphrase": wrong}), succeed=False)
    output = run.stdout + run.stderr
    assert "could not be decrypted with tls_ca_passphrase (a wrong passphrase, or a damaged key)" in output, output[
        -3000:
    ]
    assert wrong not in output
    assert "PRIVATE KEY" not in output
    assert recap_changed(run.stdout) == {"dg-tls-a": 0, "dg-tls-b": 0}
