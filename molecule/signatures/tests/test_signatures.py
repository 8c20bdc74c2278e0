# SPDX-License-Identifier: GPL-3.0-or-later
"""image_signature against signatures made by Debian's cosign 2.5.0, on Debian 13 and Debian 12 hosts.

prepare.yml (files/make_cases.sh) made one image per case in dg-signatures-reg's
registry. cases.yml verifies every case and every bad input with the module on
both hosts in one play (a process per case would cost minutes); the tests here
judge each result, against digests and fingerprints computed without the module.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import typing as t

import pytest

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
EPHEMERAL = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
REG = "dg-signatures-reg:5000"
KEYS = "/etc/dockguard-test/keys"
CA = "/etc/dockguard-test/ca.crt"
_RUN: dict[str, t.Any] = {}


def name(host: t.Any) -> str:
    return str(host.backend.get_hostname())


def cases(host: t.Any) -> dict[str, t.Any]:
    """cases.yml's results on host (the play runs once, for both hosts): {'results': {case: result}, 'facts': ...}."""
    if not _RUN:
        argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "cases.yml")]
        env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900, env=env)
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
        _RUN["done"] = True
    doc = json.loads((EPHEMERAL / f"cases-{name(host)}.json").read_text())
    return {"results": {r["item"]["name"]: r for r in doc["results"]}, "facts": doc["facts"]}


def result(host: t.Any, case: str) -> dict[str, t.Any]:
    res = t.cast("dict[str, t.Any]", cases(host)["results"][case])
    assert res["changed"] is False, res
    return res


# (case, key, signature format)
GOOD = [
    ("signed", "a", "cosign-sig-tag"),
    ("ed", "ed", "cosign-sig-tag"),
    ("referrer", "a", "cosign-oci-referrer"),
    ("index-signed", "a", "cosign-sig-tag"),
    ("two-keys", "a", "cosign-sig-tag"),
]


@pytest.mark.parametrize(("case", "key", "fmt"), GOOD)
def test_signed_images_verify(host: t.Any, case: str, key: str, fmt: str) -> None:
    res, facts = result(host, case), cases(host)["facts"]
    assert res.get("verified") is True, res.get("msg")
    tag = "signed" if case == "two-keys" else case
    assert res["digest"] == facts[tag]  # the manifest as served, hashed by hand
    assert res["pinned"] == f"{REG}/app@{facts[tag]}"
    assert res["repository"] == f"{REG}/app"
    assert res["signature_format"] == fmt
    assert res["key_fingerprint"] == facts[f"key-{key}"]  # openssl's DER SubjectPublicKeyInfo, hashed


# (case, step, words of the reason)
REFUSED = [
    ("unsigned", "fetch-signature", "the image is unsigned"),
    ("otherkey", "signature", "signed by another key"),
    ("tampered", "signature", "the signed payload was altered"),
    ("moved", "fetch-signature", "the image is unsigned"),
    ("copied", "payload", "the tag was moved after signing"),
    ("bundle", "signature-format", "Sigstore bundle"),
    ("index", "fetch-signature", "manifest list (index of 2 manifests)"),
    ("other-repository", "payload", f"names repository '{REG}/app', not '{REG}/other'"),
    ("wrong-key", "signature", "signed by another key"),
    ("no-such-tag", "resolve", "has no manifest no-such-tag in app"),
]


@pytest.mark.parametrize(("case", "step", "reason"), REFUSED)
def test_refused_with_the_reason(host: t.Any, case: str, step: str, reason: str) -> None:
    res = result(host, case)
    assert "verified" not in res and "pinned" not in res, res
    assert res["step"] == step, res["msg"]
    assert reason in res["msg"], res["msg"]
    assert res["msg"].startswith(f"{res['item']['image']}: {step}: ")
    assert res["image"] == res["item"]["image"]


def test_a_moved_tag_with_a_copied_signature_names_both_digests(host: t.Any) -> None:
    res, facts = result(host, "copied"), cases(host)["facts"]
    assert res["digest"] == facts["copied"]
    assert res["signed_digest"] != res["digest"]
    assert res["signed_digest"] in res["msg"] and res["digest"] in res["msg"]


def bad_input() -> list[tuple[str, str, str]]:
    return [
        ("unreachable", "resolve", "registry dg-signatures-reg:5999 does not answer: [Errno 111]"),
        ("missing-key", "key", f"public_key_files: cannot read {KEYS}/missing.pub"),
        ("not-a-key", "key", "public key #1 is not a PEM public key"),
        ("private-key", "key", "public key #1 is a private key; give the public key (cosign.pub)"),
        ("malformed-key", "key", "public key #1 is a malformed PEM public key"),
        ("bad-reference", "reference", "not a valid repository name"),
        ("plain-http", "resolve", "answered 400 for manifest signed (a TLS registry answers plain HTTP so"),
    ]


@pytest.mark.parametrize("index", range(7))
def test_bad_input_names_the_image_and_the_step(host: t.Any, index: int) -> None:
    if name(host) != "dg-signatures-reg":
        pytest.skip("bad input is judged before anything host-specific: cases.yml runs it on the registry host")
    case, step, reason = bad_input()[index]
    res = result(host, case)
    assert res["step"] == step, res["msg"]
    assert reason in res["msg"], res["msg"]
    assert res["msg"].startswith(f"{res['item']['image']}: {step}: ")


def test_no_key_material_in_any_result(host: t.Any) -> None:
    everything = json.dumps({k: {**v, "item": None} for k, v in cases(host)["results"].items()})
    for key in ("a", "b", "ed"):
        body = "".join(line for line in host.file(f"{KEYS}/{key}.pub").content_string.splitlines() if "--" not in line)
        assert body[30:70] not in everything
    if name(host) == "dg-signatures-reg":
        private = host.file("/root/keys/a.key").content_string.splitlines()
        assert all(line[:40] not in everything for line in private[1:-1])
    assert "bm90IGEga2V5" not in everything  # the malformed key's body


def test_the_registry_certificate_is_checked(host: t.Any) -> None:
    res = result(host, "no-ca-file")
    if name(host) == "dg-signatures-old":  # its system store does not hold the test CA
        assert res["step"] == "resolve" and "CERTIFICATE_VERIFY_FAILED" in res["msg"], res
    else:  # the registry host's store does (cosign and skopeo use it)
        assert res["digest"] == cases(host)["facts"]["signed"], res


def test_check_mode_verifies_the_same(host: t.Any) -> None:
    args = {"image": f"{REG}/app:copied", "public_key_files": [f"{KEYS}/a.pub"], "ca_file": CA}
    checked = host.backend.run_ansible("dockguard.hardening.image_signature", json.dumps(args), check=True)
    assert checked["step"] == "payload" and checked["msg"] == result(host, "copied")["msg"]


def test_what_runs_is_the_verified_digest(host: t.Any) -> None:
    if name(host) != "dg-signatures-old":
        pytest.skip("converge runs the container on dg-signatures-old")
    pinned = result(host, "signed")["pinned"]
    out = host.check_output(
        "docker inspect --format '{{.Config.Image}} {{.State.Running}}' verified-app"
        f" && docker image inspect --format '{{{{json .RepoDigests}}}}' {pinned}"
    )
    running, digests = out.split("\n", 1)
    assert running == f"{pinned} true"
    assert json.loads(digests) == [pinned]


def test_verification_time_per_image(host: t.Any) -> None:
    images = [f"{REG}/app:{tag}" for tag in ("signed", "referrer", "index-signed", "unsigned", "tampered")]
    out = host.check_output(
        "python3 /opt/dg-bench/sigverify_bench.py --collections /opt/dg-bench --rounds 20 "
        f"--key {KEYS}/a.pub --ca-file {CA} " + " ".join(images)
    )
    doc = json.loads(out)
    outcomes = {r["image"]: r["outcome"] for r in doc["results"]}
    assert outcomes[images[0]].startswith("verified") and outcomes[images[1]].endswith("(cosign-oci-referrer)")
    assert outcomes[images[3]] == "refused at fetch-signature"
    assert outcomes[images[4]] == "refused at signature"
    assert all(r["median_ms"] < 1000 for r in doc["results"]), doc
    report = pathlib.Path(os.environ.get("DG_SIGNATURES_BENCH", EPHEMERAL / "sigverify-bench.json"))
    runs = json.loads(report.read_text()) if report.exists() else {}
    runs[name(host)] = doc
    report.write_text(json.dumps(runs, indent=1))
