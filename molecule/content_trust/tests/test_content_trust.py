# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker Content Trust end to end, judged by the real docker and notary clients.

dg-content-trust-svc runs docker-registry and Notary (server + signer, MariaDB);
dg-content-trust-host is the Docker host the content_trust role configured,
where alice and bob sign and push and carol (an ordinary user) pulls. The
controller keeps the trust directory with the root key. Refusals are asserted
by the docker client's own message. The tests build on each other in file
order (pytest keeps it): a signed push, refusals, a signer removed, a key
rotated, the root key searched for, bad input.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess
import typing as t

import pytest
import testinfra

EPH = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPO = "dg-content-trust-svc:5000/dg/app"
SERVER_URL = f"https://{(EPH / 'pki' / 'svc-address').read_text().strip()}:4443"
TRUST = EPH / "notary-trust"
NOTARY = EPH / "bin" / "notary"
SECRETS = ("molecule-only-root", "molecule-only-targets", "molecule-only-alice", "molecule-only-bob")

HOST = testinfra.get_host("docker://dg-content-trust-host")
SVC = testinfra.get_host("docker://dg-content-trust-svc")


def as_user(user: str, command: str, env: str = "") -> t.Any:
    """A login shell of USER on the Docker host: its environment comes from the role's files only."""
    script = f"export {env}; {command}" if env else command
    return HOST.run(f"su - {user} -c {shlex.quote(script)}")


def push(user: str, tag: str, signed: bool = True, config: str = "") -> t.Any:
    env = f"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=molecule-only-{user}"
    if config:
        env += f" DOCKER_CONFIG={config}"
    flag = "" if signed else "--disable-content-trust "
    return as_user(user, f"docker push {flag}{REPO}:{tag}", env)


def image(tag: str, marker: str) -> None:
    """A new tiny image (its content differs by MARKER) tagged REPO:TAG on the Docker host."""
    out = HOST.run(
        "set -e; r=$(mktemp -d); cp /bin/busybox $r/; echo %s > $r/marker; "
        'tar -C $r -c . | docker import -c \'CMD ["/busybox", "true"]\' - %s:%s; rm -rf $r',
        marker,
        REPO,
        tag,
    )
    assert out.rc == 0, out.stderr


def carol_pulls(tag: str) -> t.Any:
    HOST.run("docker rmi -f %s:%s", REPO, tag)
    return as_user("carol", f"docker pull {REPO}:{tag}")


def registry_digest(tag: str) -> str:
    """What the registry itself serves for TAG (content trust off), as the client reports it."""
    HOST.run("docker rmi -f %s:%s", REPO, tag)
    out = HOST.check_output("docker pull --disable-content-trust %s:%s", REPO, tag)
    return out.split("Digest: ")[1].split()[0]


def trust(tag: str | None = None) -> dict[str, t.Any]:
    out = as_user("carol", f"docker trust inspect {REPO}")
    assert out.rc == 0, out.stderr
    return t.cast("dict[str, t.Any]", json.loads(out.stdout)[0])


def signer_module(name: str, **args: t.Any) -> dict[str, t.Any]:
    """dockguard.hardening.trust_signer on the controller, as the role runs it there."""
    params = {
        "repository": REPO,
        "name": name,
        "notary_server": SERVER_URL,
        "notary_ca": str(EPH / "pki" / "ca.pem"),
        "trust_dir": str(TRUST),
        "notary_bin": str(NOTARY),
        "targets_passphrase": "molecule-only-targets",
        **args,
    }
    proc = subprocess.run(
        ["ansible", "localhost", "-m", "dockguard.hardening.trust_signer", "-a", json.dumps(params)],
        env={**os.environ, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"},
        capture_output=True,
        text=True,
        check=False,
    )
    for secret in SECRETS:
        assert secret not in proc.stdout + proc.stderr
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    return t.cast("dict[str, t.Any]", doc["plays"][0]["tasks"][0]["hosts"]["localhost"])


def notary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NOTARY), "-s", SERVER_URL, "-d", str(TRUST), "--tlscacert", str(EPH / "pki" / "ca.pem"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def fetch_pub(name: str) -> str:
    dest = EPH / "signers" / f"{name}.pub"
    subprocess.run(["docker", "cp", f"dg-content-trust-host:/home/alice/{name}.pub", str(dest)], check=True)
    return str(dest)


def push_with_only(label: str, key_id: str, tag: str) -> t.Any:
    """alice pushes a new image TAG signed with one of her keys alone, from a throwaway trust directory."""
    config = f"/home/alice/{label}"
    HOST.run_expect(
        [0],
        f"rm -rf {config} && install -d -o alice -g alice -m 0700 {config} {config}/trust {config}/trust/private && "
        f"install -o alice -g alice -m 0600 /home/alice/.docker/trust/private/{key_id}.key {config}/trust/private/",
    )
    image(tag, tag)
    return push("alice", tag, config=config)


# -- the stand-up and the role's settings ----------------------------------------


def test_registry_and_notary_stood_up_in_time() -> None:
    seconds = float((EPH / "standup-seconds").read_text())
    print(f"registry + Notary (signer, server, MariaDB, TLS) stood up in {seconds:.1f} s")
    assert 0 < seconds < 480
    health = SVC.run("curl -fsS --cacert /etc/dg-services/tls/ca.pem https://localhost:4443/_notary_server/health")
    assert health.rc == 0, health.stderr
    tables = SVC.check_output("mariadb -N -e 'SELECT COUNT(*) FROM notarysigner.private_keys'")
    assert int(tables) >= 2, "the signer keeps the repositories' timestamp and snapshot keys in MariaDB"


@pytest.mark.parametrize(
    ("how", "command"),
    [
        ("login shell", "su - carol -c 'echo $DOCKER_CONTENT_TRUST $DOCKER_CONTENT_TRUST_SERVER'"),
        ("profile.d", "env -i PATH=/usr/bin:/bin bash -lc 'echo $DOCKER_CONTENT_TRUST $DOCKER_CONTENT_TRUST_SERVER'"),
        (
            "sudo resets a caller's 0",
            "env -i PATH=/usr/bin:/bin DOCKER_CONTENT_TRUST=0 sudo -u carol sh -c "
            "'echo $DOCKER_CONTENT_TRUST $DOCKER_CONTENT_TRUST_SERVER'",
        ),
        (
            "systemd service",
            "systemd-run --quiet --wait --pipe sh -c 'echo $DOCKER_CONTENT_TRUST $DOCKER_CONTENT_TRUST_SERVER'",
        ),
    ],
)
def test_content_trust_on_for_every_way_docker_runs(how: str, command: str) -> None:
    out = HOST.run(command)
    assert out.stdout.split() == ["1", "https://dg-content-trust-svc:4443"], (how, out.stdout, out.stderr)


def test_a_ci_runner_that_turns_it_off_gets_it_on() -> None:
    """dg-ci-runner sets DOCKER_CONTENT_TRUST=0 in its unit; the role's drop-in wins after a restart."""
    HOST.run_expect([0], "systemctl restart dg-ci-runner")
    env = HOST.run("sleep 1; cat /run/dg-ci-runner.env").stdout.split()
    assert "DOCKER_CONTENT_TRUST=1" in env
    assert "DOCKER_CONTENT_TRUST_SERVER=https://dg-content-trust-svc:4443" in env


def test_cis_4_5_passes_and_says_where() -> None:
    ansible_host = testinfra.get_host("ansible://dg-content-trust-host", ansible_inventory=INVENTORY)
    result = ansible_host.backend.run_ansible("dockguard.hardening.cis_audit", json.dumps({"level": 2}), check=True)
    verdict = next(r for r in result["audit"]["results"] if r["id"] == "4.5")
    text = " ".join(verdict["evidence"])
    assert verdict["status"] == "pass", verdict
    for where in (
        "/etc/profile.d/dockguard-content-trust.sh (1)",
        "/etc/environment (1)",
        "/etc/default/dockguard-content-trust (sudo env_file, /etc/sudoers.d/dockguard-content-trust) (1)",
        "/etc/systemd/system.conf.d/dockguard-content-trust.conf (systemd DefaultEnvironment) (1)",
        "Notary server: https://dg-content-trust-svc:4443",
    ):
        assert where in text, text
    assert "not set for" not in text


# -- signing and pulling ------------------------------------------------------------


def test_signed_push_by_a_delegation_signer() -> None:
    image("v1", "v1")
    out = push("alice", "v1")
    assert out.rc == 0, out.stdout + out.stderr
    assert f"Successfully signed {REPO}:v1" in out.stdout
    tags = {s["SignedTag"]: s for s in trust()["SignedTags"]}
    assert tags["v1"]["Signers"] == ["alice"]


def test_pull_of_the_signed_tag_works() -> None:
    out = carol_pulls("v1")
    signed = {s["SignedTag"]: s["Digest"] for s in trust()["SignedTags"]}["v1"]
    assert out.rc == 0, out.stderr
    assert f"Pull (1 of 1): {REPO}:v1@sha256:{signed}" in out.stdout


def test_pull_of_an_unsigned_tag_is_refused() -> None:
    image("unsigned", "unsigned")
    assert push("alice", "unsigned", signed=False).rc == 0
    out = carol_pulls("unsigned")
    assert out.rc != 0
    assert "No valid trust data for unsigned" in out.stderr


def test_a_tag_pushed_again_without_signing_is_not_what_is_pulled() -> None:
    signed = {s["SignedTag"]: s["Digest"] for s in trust()["SignedTags"]}["v1"]
    image("v1", "v1-tampered")
    assert push("alice", "v1", signed=False).rc == 0
    assert registry_digest("v1") != f"sha256:{signed}", "the registry now serves other content for v1"
    out = carol_pulls("v1")
    assert out.rc == 0, out.stderr
    assert f"Pull (1 of 1): {REPO}:v1@sha256:{signed}" in out.stdout, out.stdout


# -- signers removed and keys rotated -----------------------------------------------


def test_a_removed_signer_is_no_longer_trusted() -> None:
    image("bob1", "bob1")
    assert push("bob", "bob1").rc == 0
    image("v1b", "v1b")
    assert push("alice", "v1b").rc == 0  # alice signs the releases role last, so it holds after bob is gone
    removed = signer_module("bob", state="absent")
    assert removed.get("changed") is True, removed
    assert "remove role targets/bob" in removed["actions"]
    assert removed["roles"].get("targets/bob") is None
    again = signer_module("bob", state="absent")
    assert again.get("changed") is False, again

    image("bob2", "bob2")
    out = push("bob", "bob2")
    assert out.rc != 0
    print("bob's signed push after removal:", out.stderr.strip().splitlines()[-1:])
    assert "bob2" not in {s["SignedTag"] for s in trust()["SignedTags"]}
    assert push("bob", "bob2", signed=False).rc == 0
    pulled = carol_pulls("bob2")
    assert pulled.rc != 0
    assert "No valid trust data for bob2" in pulled.stderr
    assert carol_pulls("v1b").rc == 0


def test_delegation_key_rotation() -> None:
    old = {k["ID"] for s in trust()["Signers"] if s["Name"] == "alice" for k in s["Keys"]}
    made = as_user(
        "alice",
        "docker trust key generate alice2 --dir /home/alice",
        "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=molecule-only-alice",
    )
    assert made.rc == 0, made.stdout + made.stderr
    rotated = signer_module("alice", public_keys=[fetch_pub("alice2")])
    assert rotated.get("changed") is True, rotated
    new = set(rotated["key_ids"])
    assert {k["ID"] for s in trust()["Signers"] if s["Name"] == "alice" for k in s["Keys"]} == new
    assert not old & new
    assert rotated["resign"] == ["targets/alice", "targets/releases"], rotated

    # the old key alone no longer signs for the repository: the client finds no role it may sign
    out = push_with_only("old", next(iter(old)), "v2old")
    assert out.rc != 0
    assert "no valid signing keys for delegation roles" in out.stderr, out.stdout + out.stderr
    # TUF: targets/alice and targets/releases on the server were last signed with the rotated-out key, so they no
    # longer verify. The docker client starts such a role afresh (version 1), which the server already holds: a
    # push with the new key is refused until a holder of the new key re-signs the roles as they are.
    out = push_with_only("new", next(iter(new)), "v2new")
    assert out.rc != 0
    assert "trust server rejected operation" in out.stderr, out.stdout + out.stderr
    before = carol_pulls("v1b")
    assert before.rc != 0, "the releases role lists v1b but no longer verifies"
    assert "No valid trust data for v1b" in before.stderr, before.stderr
    witness = as_user(
        "alice",
        f"notary -s https://dg-content-trust-svc:4443 -d /home/alice/.docker/trust witness -p {REPO} "
        "targets/alice targets/releases",
        "NOTARY_DELEGATION_PASSPHRASE=molecule-only-alice",
    )
    assert witness.rc == 0, witness.stdout + witness.stderr
    # the new key signs, and the releases role is valid again for every tag
    image("v2", "v2")
    out = push("alice", "v2")
    assert out.rc == 0, out.stdout + out.stderr
    assert carol_pulls("v2").rc == 0
    assert carol_pulls("v1b").rc == 0
    assert carol_pulls("v2old").rc != 0


# -- the root key ---------------------------------------------------------------------


def root_key() -> tuple[str, str]:
    """(key ID, a line of the encrypted body) of the root key in the controller's trust directory."""
    for path in (TRUST / "private").glob("*.key"):
        text = path.read_text()
        if "role: root" in text:
            assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "the root key is encrypted"
            assert path.stat().st_mode & 0o077 == 0
            body = [ln for ln in text.splitlines() if ln and ":" not in ln and not ln.startswith("-----")]
            return path.stem, body[1]
    raise AssertionError("no root key in the controller's trust directory")


@pytest.mark.parametrize("host", [HOST, SVC], ids=["docker-host", "services-host"])
def test_the_root_key_is_on_no_docker_host(host: t.Any) -> None:
    key_id, line = root_key()
    named = host.run("find / -xdev -name '*%s*' -print", key_id)
    assert named.stdout.strip() == "", named.stdout
    content = host.run("find / -xdev -type f -size -1M -print0 | xargs -0 grep -lF -- %s", line)
    assert content.stdout.strip() == "", content.stdout


# -- bad input ------------------------------------------------------------------------


def unchanged_after(result: dict[str, t.Any], before: subprocess.CompletedProcess[str]) -> None:
    assert result.get("failed") is True, result
    assert REPO in result["msg"]
    after = notary("delegation", "list", REPO)
    assert after.stdout == before.stdout
    status = notary("status", REPO)
    assert "No unpublished changes" in status.stdout, status.stdout


def test_wrong_passphrase_names_the_image_and_step_and_changes_nothing() -> None:
    before = notary("delegation", "list", REPO)
    result = signer_module("carol", public_keys=[str(EPH / "signers" / "bob.pub")], targets_passphrase="not-it")
    unchanged_after(result, before)
    assert "publish" in result["msg"] and "passphrase is wrong" in result["msg"], result["msg"]
    assert "not-it" not in json.dumps(result)


def test_missing_key_names_the_image_and_step_and_changes_nothing(tmp_path: pathlib.Path) -> None:
    before = notary("delegation", "list", REPO)
    empty = tmp_path / "trust"
    empty.mkdir(mode=0o700)
    result = signer_module("carol", public_keys=[str(EPH / "signers" / "bob.pub")], trust_dir=str(empty))
    unchanged_after(result, before)
    assert "publish" in result["msg"] and "not in trust_dir" in result["msg"], result["msg"]


def test_unreachable_notary_names_the_image_and_step() -> None:
    """The notary client reads a repository it has seen from its cache when the server is gone (so the plan is
    made); the publish then fails "client is offline", and the staged change is dropped.
    """
    before = notary("delegation", "list", REPO)
    result = signer_module(
        "carol", public_keys=[str(EPH / "signers" / "bob.pub")], notary_server=SERVER_URL.replace("4443", "4999")
    )
    unchanged_after(result, before)
    assert "publish" in result["msg"] and "cannot be reached" in result["msg"], result["msg"]


def test_unknown_repository_on_an_unreachable_notary_is_named(tmp_path: pathlib.Path) -> None:
    result = signer_module(
        "carol",
        repository="dg-content-trust-svc:5000/dg/other",
        public_keys=[str(EPH / "signers" / "bob.pub")],
        notary_server=SERVER_URL.replace("4443", "4999"),
        trust_dir=str(tmp_path),
    )
    assert result.get("failed") is True, result
    assert "dg-content-trust-svc:5000/dg/other" in result["msg"] and "cannot be reached" in result["msg"], result


def test_a_malformed_key_is_refused_before_anything_runs(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    result = signer_module("carol", public_keys=[str(bad)])
    assert result.get("failed") is True
    assert str(bad) in result["msg"] and "not a PEM public key" in result["msg"]
