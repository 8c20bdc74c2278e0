# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of _notary: key IDs, the delegation table, the plan, error lines.

The key IDs and the public keys in fixtures/notary come from a real run: alice
and bob made their keys with `docker trust key generate` (docker-cli 26.1,
Debian 13), which stored them as private/ID.key; the table is what notary 0.7
printed for the repository after both were added.
"""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _notary as nt

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "notary"
ALICE = "c925d003c97470ba1b3921f9e767cb387e088ea2e8c61297414ac49cacefe6f6"
BOB = "b392a8cb18791eb0128dc4b6ccb6ba1cb72faa757ba6fe23eac28b53e12cc931"
OTHER = "0" * 64


@pytest.mark.parametrize(("name", "expected"), [("alice", ALICE), ("bob", BOB)])
def test_key_id_is_the_one_docker_gave_the_key(name: str, expected: str) -> None:
    assert nt.key_id((FIXTURES / f"{name}.pub").read_text(), name) == expected


@pytest.mark.parametrize("text", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_key_id_refuses_what_is_not_a_public_key(text: str) -> None:
    with pytest.raises(nt.NotaryError, match="src: not a PEM public key"):
        nt.key_id(text, "src")


def test_delegation_table_with_several_keys_per_role() -> None:
    roles = nt.parse_delegations((FIXTURES / "delegation-list.txt").read_text())
    assert roles == {"targets/alice": [ALICE], "targets/bob": [BOB], "targets/releases": sorted([ALICE, BOB])}


def test_no_delegations() -> None:
    assert nt.parse_delegations("\nNo delegations present in this repository.\n\n") == {}


def test_plan_adds_a_new_signer_to_its_role_and_releases() -> None:
    changes, after = nt.plan({}, "alice", {ALICE: "a.pub"}, True)
    assert [(c.action, c.role, c.keys) for c in changes] == [
        ("add", "targets/alice", ("a.pub",)),
        ("add", "targets/releases", ("a.pub",)),
    ]
    assert after == {"targets/alice": [ALICE], "targets/releases": [ALICE]}


def test_plan_is_empty_when_the_signer_holds_exactly_its_keys() -> None:
    current = {"targets/alice": [ALICE], "targets/releases": [ALICE]}
    assert nt.plan(current, "alice", {ALICE: "a.pub"}, True) == ([], current)


def test_rotation_swaps_the_keys_in_both_roles() -> None:
    current = {"targets/alice": [ALICE], "targets/bob": [BOB], "targets/releases": sorted([ALICE, BOB])}
    changes, after = nt.plan(current, "alice", {OTHER: "n.pub"}, True)
    assert [c.describe() for c in changes] == [
        f"add keys {OTHER[:12]} to targets/alice",
        f"add keys {OTHER[:12]} to targets/releases",
        f"remove keys {ALICE[:12]} from targets/alice",
        f"remove keys {ALICE[:12]} from targets/releases",
    ]
    assert after == {"targets/alice": [OTHER], "targets/bob": [BOB], "targets/releases": sorted([BOB, OTHER])}


def test_removing_a_signer_keeps_a_key_another_signer_holds() -> None:
    current = {"targets/alice": [ALICE], "targets/bob": [ALICE, BOB], "targets/releases": sorted([ALICE, BOB])}
    changes, after = nt.plan(current, "alice", {}, False)
    assert [c.describe() for c in changes] == ["remove role targets/alice"]
    assert after == {"targets/bob": [ALICE, BOB], "targets/releases": sorted([ALICE, BOB])}


def test_removing_the_last_signer_removes_releases() -> None:
    current = {"targets/alice": [ALICE], "targets/releases": [ALICE]}
    changes, after = nt.plan(current, "alice", {}, False)
    assert [c.describe() for c in changes] == ["remove role targets/alice", "remove role targets/releases"]
    assert after == {}


def test_removing_an_absent_signer_changes_nothing() -> None:
    current = {"targets/bob": [BOB], "targets/releases": [BOB]}
    assert nt.plan(current, "alice", {}, False) == ([], current)


def test_roles_that_lose_keys_must_be_re_signed() -> None:
    """A rotation leaves targets/alice and targets/releases signed by a key they no longer hold; removing a whole
    role, or adding keys, leaves nothing to re-sign."""
    current = {"targets/alice": [ALICE], "targets/bob": [BOB], "targets/releases": sorted([ALICE, BOB])}
    rotation, _after = nt.plan(current, "alice", {OTHER: "n.pub"}, True)
    assert nt.resign_roles(rotation) == ["targets/alice", "targets/releases"]
    warning = nt.resign_warning("reg:5000/team/app", nt.resign_roles(rotation))
    assert "witness -p reg:5000/team/app targets/alice targets/releases" in warning
    removal, _after = nt.plan(current, "bob", {}, False)
    assert nt.resign_roles(removal) == ["targets/releases"]
    last, _after = nt.plan({"targets/alice": [ALICE], "targets/releases": [ALICE]}, "alice", {}, False)
    assert nt.resign_roles(last) == []
    assert nt.resign_warning("reg:5000/team/app", []) == ""
    added, _after = nt.plan({}, "alice", {ALICE: "a.pub"}, True)
    assert nt.resign_roles(added) == []


@pytest.mark.parametrize(
    ("gun", "name", "match"),
    [
        ("app", "alice", "repository='app'"),
        ("Registry:5000/App", "alice", "repository="),
        ("registry:5000/team/app", "releases", "name='releases'"),
        ("registry:5000/team/app", "Alice Smith", "name="),
    ],
)
def test_names_checked_before_anything_runs(gun: str, name: str, match: str) -> None:
    with pytest.raises(nt.NotaryError, match=match):
        nt.check_names(gun, name)


def test_reason_is_the_fatal_line_and_secrets_are_blanked() -> None:
    out = "Pushing changes to r/app\n\n* fatal: could not find necessary signing keys, at least one of these keys\n"
    assert nt.reason(out, "") == "could not find necessary signing keys, at least one of these keys"
    calls = []

    def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
        calls.append((argv, env))
        return 1, "* fatal: passphrase s3cret was refused\n", ""

    repo = nt.Repository(
        run, "notary", "https://n:4443", "/t", None, "r:5000/app", {"NOTARY_TARGETS_PASSPHRASE": "s3cret"}
    )
    with pytest.raises(nt.NotaryError) as exc:
        repo.apply([nt.Change("remove_role", "targets/x")])
    assert "s3cret" not in exc.value.msg and "r:5000/app" in exc.value.msg and "********" in exc.value.msg
    assert calls[-1][0][-3:] == ["reset", "r:5000/app", "--all"], "staged changes are dropped after a failure"
    assert calls[0][1]["NOTARY_TARGETS_PASSPHRASE"] == "s3cret" and "s3cret" not in " ".join(calls[0][0])
