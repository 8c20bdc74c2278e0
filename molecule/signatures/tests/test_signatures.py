# SPDX-License-Identifier: GPL-3.0-or-later
"""image_signature against signatures made by Debian's cosign 2.5.0, on Debian 13 and Debian 12 hosts.

prepare.yml (files/make_cases.sh) made one image per case in dg-signatures-reg's
registry; each case is verified here on both hosts by the module, as a play
would run it, and its outcome and reason asserted.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import typing as t

import pytest

REG = "dg-signatures-reg:5000"
KEYS = "/etc/dockguard-test/keys"
CA = "/etc/dockguard-test/ca.crt"


def verify(host: t.Any, image: str, key: str = "a", **args: t.Any) -> dict[str, t.Any]:
    args = {"image": image, "public_key_files": [f"{KEYS}/{key}.pub"], "ca_file": CA, **args}
    result = host.backend.run_ansible("dockguard.hardening.image_signature", json.dumps(args), check=False)
    assert result.get("changed") is False, result
    return t.cast("dict[str, t.Any]", result)


# The digest of a manifest as the registry serves it, computed without the module.
DIGEST_OF = (
    "import sys, hashlib, ssl, urllib.request as u; "
    "a = 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json'; "
    "c = ssl.create_default_context(cafile=sys.argv[2]); "
    "r = u.urlopen(u.Request(sys.argv[1], headers={'Accept': a}), context=c); "
    "print(hashlib.sha256(r.read()).hexdigest())"
)


def pub_key_body(host: t.Any, key: str) -> str:
    """The base64 body of a public key, to look for in output."""
    text = host.file(f"{KEYS}/{key}.pub").content_string
    return "".join(line for line in text.splitlines() if "-----" not in line)


# (tag, key, signature format)
GOOD = [
    ("signed", "a", "cosign-sig-tag"),
    ("ed", "ed", "cosign-sig-tag"),
    ("referrer", "a", "cosign-oci-referrer"),
    ("index-signed", "a", "cosign-sig-tag"),
]


@pytest.mark.parametrize(("tag", "key", "fmt"), GOOD)
def test_signed_images_verify(host: t.Any, tag: str, key: str, fmt: str) -> None:
    result = verify(host, f"{REG}/app:{tag}", key)
    assert not result.get("failed"), result
    digest = host.check_output(f"python3 -c {shlex.quote(DIGEST_OF)} https://{REG}/v2/app/manifests/{tag} {CA}")
    assert result["digest"] == f"sha256:{digest}"
    assert result["pinned"] == f"{REG}/app@sha256:{digest}"
    assert result["signature_format"] == fmt
    fp = host.check_output(f"openssl pkey -pubin -in {KEYS}/{key}.pub -outform DER | sha256sum | cut -d' ' -f1")
    assert result["key_fingerprint"] == f"sha256:{fp}"


# (image, key, step, words of the reason)
REFUSED = [
    ("app:unsigned", "a", "fetch-signature", "the image is unsigned"),
    ("app:otherkey", "a", "signature", "signed by another key"),
    ("app:tampered", "a", "signature", "the signed payload was altered"),
    ("app:moved", "a", "fetch-signature", "the image is unsigned"),
    ("app:copied", "a", "payload", "the tag was moved after signing"),
    ("app:bundle", "a", "signature-format", "Sigstore bundle"),
    ("app:index", "a", "fetch-signature", "manifest list (index of 2 manifests)"),
    ("other:signed", "a", "payload", f"names repository '{REG}/app'"),
    ("app:signed", "b", "signature", "signed by another key"),
    ("app:no-such-tag", "a", "resolve", "has no manifest no-such-tag"),
]


@pytest.mark.parametrize(("image", "key", "step", "reason"), REFUSED)
def test_refused_with_the_reason(host: t.Any, image: str, key: str, step: str, reason: str) -> None:
    result = verify(host, f"{REG}/{image}", key)
    assert result.get("failed"), result
    assert result["step"] == step, result["msg"]
    assert reason in result["msg"], result["msg"]
    assert result["msg"].startswith(f"{REG}/{image}: {step}: ")
    assert "pinned" not in result


def test_a_moved_tag_names_the_digest_it_now_has(host: t.Any) -> None:
    copied = verify(host, f"{REG}/app:copied")
    assert copied["signed_digest"] != copied["digest"]
    assert copied["signed_digest"] in copied["msg"] and copied["digest"] in copied["msg"]


def test_the_registry_certificate_is_checked(host: t.Any) -> None:
    result = verify(host, f"{REG}/app:signed", ca_file=None)
    if host.backend.get_hostname() == "dg-signatures-old":  # its system store does not hold the test CA
        assert result["step"] == "resolve" and "CERTIFICATE_VERIFY_FAILED" in result["msg"], result
    else:
        assert result["digest"].startswith("sha256:")


@pytest.mark.parametrize(
    ("args", "step", "reason"),
    [
        ({"image": f"{REG.replace('5000', '5999')}/app:signed"}, "resolve", "does not answer"),
        ({"public_key_files": [f"{KEYS}/missing.pub"]}, "key", "cannot read"),
        ({"public_key_files": ["/etc/hostname"]}, "key", "is not a PEM public key"),
        ({"public_key_files": ["/root/keys/a.key"]}, "key", "is a private key"),
        ({"public_keys": ["-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"]}, "key", "malformed"),
        ({"image": f"{REG}/App:signed"}, "reference", "not a valid repository name"),
        ({"insecure_http": True}, "resolve", "does not answer"),
    ],
)
def test_bad_input(host: t.Any, args: dict[str, t.Any], step: str, reason: str) -> None:
    if "/root/keys/a.key" in str(args) and not host.file("/root/keys/a.key").exists:
        pytest.skip("the private key exists on the signing host only")
    args = {"image": f"{REG}/app:signed", **args}
    if "public_keys" in args:
        args["public_key_files"] = []
    result = host.backend.run_ansible("dockguard.hardening.image_signature", json.dumps({"ca_file": CA, **args}))
    assert result.get("failed"), result
    assert result["step"] == step, result["msg"]
    assert reason in result["msg"], result["msg"]
    assert result["image"] == args["image"]
    for key in ("a", "b", "ed"):
        assert pub_key_body(host, key)[:40] not in json.dumps(result)
    if host.file("/root/keys/a.key").exists:
        private = host.file("/root/keys/a.key").content_string.splitlines()[1]
        assert private not in json.dumps(result)


def test_check_mode_verifies_the_same(host: t.Any) -> None:
    args = {"image": f"{REG}/app:signed", "public_key_files": [f"{KEYS}/a.pub"], "ca_file": CA}
    checked = host.backend.run_ansible("dockguard.hardening.image_signature", json.dumps(args), check=True)
    assert checked["changed"] is False and checked["pinned"] == verify(host, f"{REG}/app:signed")["pinned"]
    moved = host.backend.run_ansible(
        "dockguard.hardening.image_signature", json.dumps({**args, "image": f"{REG}/app:copied"}), check=True
    )
    assert moved["failed"] and moved["step"] == "payload"


def test_what_runs_is_the_verified_digest(host: t.Any) -> None:
    if host.backend.get_hostname() != "dg-signatures-old":
        pytest.skip("converge runs the container on dg-signatures-old")
    pinned = verify(host, f"{REG}/app:signed")["pinned"]
    running = host.check_output("docker inspect --format '{{.Config.Image}}' verified-app")
    assert running == pinned
    assert host.check_output(f"docker image inspect --format '{{{{json .RepoDigests}}}}' {pinned}") == json.dumps(
        [pinned]
    )
    assert host.run("docker inspect --format '{{.State.Running}}' verified-app").stdout.strip() == "true"


def test_verification_time_per_image(host: t.Any) -> None:
    images = [f"{REG}/app:{tag}" for tag in ("signed", "referrer", "index-signed", "unsigned", "tampered")]
    out = host.check_output(
        "python3 /opt/dg-bench/sigverify_bench.py --collections /opt/dg-bench --rounds 20 "
        f"--key {KEYS}/a.pub --ca-file {CA} " + " ".join(images)
    )
    doc = json.loads(out)
    by_image = {r["image"]: r for r in doc["results"]}
    assert by_image[images[0]]["outcome"].startswith("verified")
    assert by_image[images[3]]["outcome"] == "refused at fetch-signature"
    assert all(r["median_ms"] < 1000 for r in doc["results"]), doc
    report = pathlib.Path(os.environ.get("DG_SIGNATURES_BENCH", "/tmp/dg-signatures-bench.json"))
    runs = json.loads(report.read_text()) if report.exists() else {}
    runs[host.backend.get_hostname()] = doc
    report.write_text(json.dumps(runs, indent=1))
