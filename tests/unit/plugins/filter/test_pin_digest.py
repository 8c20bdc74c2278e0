# SPDX-License-Identifier: GPL-3.0-or-later
"""pin_digest: a verified result or a reference and digest to REPOSITORY@DIGEST, nothing else."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dockguard.hardening.plugins.filter.pin_digest import pin_digest

DIGEST = "sha256:6b5ac0ae34d6f0588d50e7b70e070510fa2b3ba254ca104c925c598fdf153319"
VERIFIED = {
    "changed": False,
    "verified": True,
    "image": "dg-signatures-reg:5000/app:signed",
    "repository": "dg-signatures-reg:5000/app",
    "digest": DIGEST,
    "pinned": f"dg-signatures-reg:5000/app@{DIGEST}",
}


def test_a_verified_result_pins_its_digest() -> None:
    assert pin_digest(VERIFIED) == f"dg-signatures-reg:5000/app@{DIGEST}"


@pytest.mark.parametrize(
    ("result", "words"),
    [
        ({"failed": True, "image": "reg/app:v1", "msg": "reg/app:v1: signature: none of ..."}, "did not verify"),
        ({"skipped": True, "changed": False}, "did not verify"),
        ({**VERIFIED, "verified": False}, "did not verify"),
        ({**VERIFIED, "failed": True}, "did not verify"),
        ({**VERIFIED, "digest": "sha256:abc"}, "is not sha256: and 64"),
    ],
)
def test_anything_but_a_verified_result_is_refused(result: dict[str, t.Any], words: str) -> None:
    with pytest.raises(AnsibleFilterError, match=words):
        pin_digest(result)


@pytest.mark.parametrize(
    ("ref", "pinned"),
    [
        ("reg.example/app:1.4", f"reg.example/app@{DIGEST}"),
        ("reg.example/app", f"reg.example/app@{DIGEST}"),
        ("nginx:1.27", f"docker.io/library/nginx@{DIGEST}"),
        (f"reg.example/app@sha256:{'0' * 64}", f"reg.example/app@{DIGEST}"),
    ],
)
def test_a_reference_pinned_to_a_digest(ref: str, pinned: str) -> None:
    assert pin_digest(ref, digest=DIGEST) == pinned


@pytest.mark.parametrize(
    ("value", "digest", "words"),
    [
        ("reg.example/app:1.4", None, "give a registered image_signature result"),
        ("reg.example/App:1.4", DIGEST, "not a valid repository name"),
        ("reg.example/app:1.4", "latest", "is not sha256: and 64"),
        (VERIFIED, DIGEST, "digest= is for an image reference"),
        (["reg.example/app"], DIGEST, "give a registered image_signature result"),
    ],
)
def test_bad_input(value: t.Any, digest: str | None, words: str) -> None:
    with pytest.raises(AnsibleFilterError, match=words):
        pin_digest(value, digest)
