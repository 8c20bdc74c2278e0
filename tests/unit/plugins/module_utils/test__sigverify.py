# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of the signature verifier, on artifacts made by Debian's cosign 2.5.0.

fixtures/sigverify/cosign-2.5.0.json says where each artifact comes from. The
whole verification against a real registry is molecule/signatures.
"""

from __future__ import annotations

import base64
import json
import pathlib
import socket
import threading
import time
import typing as t

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.dockguard.hardening.plugins.module_utils import _sigverify as sv

CAPTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "sigverify" / "cosign-2.5.0.json").read_text())
KEYS = {name: sv.load_public_key(pem.encode()) for name, pem in CAPTURE["keys"].items()}


def blob(digest: str) -> bytes:
    return t.cast(str, CAPTURE["blobs"][digest]).encode()


def tag_candidates() -> list[sv.Candidate]:
    return sv.candidates(json.loads(CAPTURE["tag_manifest"]), sv.FORMAT_TAG)


def pem(key: t.Any) -> bytes:
    return t.cast(bytes, key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


# -- references ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "registry", "path", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", "latest", None),
        ("nginx:1.27", "docker.io", "library/nginx", "1.27", None),
        ("index.docker.io/team/app:v1", "docker.io", "team/app", "v1", None),
        ("localhost:5000/app", "localhost:5000", "app", "latest", None),
        ("localhost/app:v2", "localhost", "app", "v2", None),
        ("reg.example:443/a/b/c:t", "reg.example:443", "a/b/c", "t", None),
        ("reg.example/app@sha256:" + "a" * 64, "reg.example", "app", None, "sha256:" + "a" * 64),
        ("reg.example/app:v1@sha256:" + "b" * 64, "reg.example", "app", "v1", "sha256:" + "b" * 64),
        ("team/app", "docker.io", "team/app", "latest", None),
    ],
)
def test_parse_reference(ref: str, registry: str, path: str, tag: str | None, digest: str | None) -> None:
    assert sv.parse_reference(ref) == sv.Reference(registry, path, tag, digest)


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("reg.example/App:v1", "not a valid repository name"),
        ("reg.example/app@sha256:abc", "is not sha256: and 64"),
        ("reg.example/app@md5:" + "a" * 32, "is not sha256: and 64"),
        ("reg.example/app:-bad", "is not a valid tag"),
        ("reg.example/", "not a valid repository name"),
    ],
)
def test_parse_reference_refuses(ref: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        sv.parse_reference(ref)


def test_registry_host_of_docker_hub_is_its_api_host() -> None:
    assert sv.parse_reference("nginx").host == "registry-1.docker.io"
    assert sv.parse_reference("localhost:5000/app").host == "localhost:5000"


@pytest.mark.parametrize(
    ("claimed", "repository", "same"),
    [
        ("localhost:5000/app", "localhost:5000/app", True),
        ("index.docker.io/library/nginx", "docker.io/library/nginx", True),
        ("docker.io/library/nginx", "nginx", True),
        ("localhost:5000/app", "localhost:5000/other", False),
        ("localhost:5000/app", "127.0.0.1:5000/app", False),
        ("not a reference", "localhost:5000/app", False),
    ],
)
def test_same_repository(claimed: str, repository: str, same: bool) -> None:
    assert sv.same_repository(claimed, repository) is same


# -- keys ---------------------------------------------------------------------------------


def test_fingerprints_are_sha256_of_the_der_spki_as_openssl_computes_it() -> None:
    assert {name: key.fingerprint for name, key in KEYS.items()} == CAPTURE["fingerprints"]
    assert (KEYS["cosign"].kind, KEYS["ed"].kind) == ("ecdsa-p256", "ed25519")


def test_rsa_keys_of_2048_bits_or_more() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    assert sv.load_public_key(pem(key)).kind == "rsa-2048"
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(ValueError, match="1024-bit RSA key"):
        sv.load_public_key(pem(small))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "is not a PEM public key"),
        (b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholder user@host", "is not a PEM public key"),
        (b"-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n", "malformed PEM public key"),
        (
            b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nc2VjcmV0\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            "is a private key",
        ),
    ],
)
def test_unusable_keys_are_refused_without_their_content(data: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words) as err:
        sv.load_public_key(data, "public key #1")
    body = [line for line in data.decode().splitlines() if line and "-----" not in line]
    assert all(line not in str(err.value) for line in body)


def test_an_ecdsa_key_on_another_curve_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="secp384r1; cosign keys are P-256"):
        sv.load_public_key(pem(key))


def test_verify_image_names_the_key_step_for_a_bad_key() -> None:
    with pytest.raises(sv.VerificationError) as err:
        sv.verify_image("reg.example/app:v1", [CAPTURE["keys"]["cosign"].encode(), b"junk"])
    assert (err.value.step, err.value.ref) == ("key", "reg.example/app:v1")
    assert (
        str(err.value) == "reg.example/app:v1: key: public key #2 is not a PEM public key (-----BEGIN PUBLIC KEY-----)"
    )
    assert err.value.details == {"image": "reg.example/app:v1", "step": "key"}


def test_verify_image_without_keys() -> None:
    with pytest.raises(sv.VerificationError, match="key: no public key given"):
        sv.verify_image("reg.example/app:v1", [])


# -- cosign's signatures --------------------------------------------------------------------


def test_the_sig_tag_holds_one_signature_per_cosign_sign() -> None:
    cands = tag_candidates()
    assert len(cands) == 2
    assert {c.source for c in cands} == {sv.FORMAT_TAG}
    assert cands[0].payload_digest == cands[1].payload_digest  # the same payload, signed twice


def test_cosign_signatures_verify_with_their_own_key_only() -> None:
    ecdsa_sig, ed_sig = tag_candidates()
    payload = blob(ecdsa_sig.payload_digest)
    assert sv.signature_valid(KEYS["cosign"], ecdsa_sig.signature, payload)
    assert sv.signature_valid(KEYS["ed"], ed_sig.signature, payload)
    assert not sv.signature_valid(KEYS["ed"], ecdsa_sig.signature, payload)
    assert not sv.signature_valid(KEYS["cosign"], ed_sig.signature, payload)


@pytest.mark.parametrize("key", ["cosign", "ed"])
def test_a_changed_payload_no_longer_verifies(key: str) -> None:
    cand = tag_candidates()[0 if key == "cosign" else 1]
    doc = json.loads(blob(cand.payload_digest))
    doc["optional"] = {"note": "rewritten after signing"}
    assert not sv.signature_valid(KEYS[key], cand.signature, json.dumps(doc).encode())
    same_json_other_bytes = json.dumps(json.loads(blob(cand.payload_digest)), indent=1).encode()
    assert not sv.signature_valid(KEYS[key], cand.signature, same_json_other_bytes)


def test_payload_claims() -> None:
    claim = sv.parse_payload(blob(tag_candidates()[0].payload_digest))
    assert claim == sv.Claim(CAPTURE["signed_digests"]["tag"], "localhost:5000/app")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"\xff", "not JSON"),
        (b"[]", "no 'critical' section"),
        (b'{"critical": {"type": "atomic container signature"}}', "not 'cosign container image signature'"),
        (b'{"critical": {"type": "cosign container image signature", "image": {}}}', "lacks critical.image"),
    ],
)
def test_payloads_that_claim_nothing(payload: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        sv.parse_payload(payload)


def test_referrers_of_cosign_2_oci_1_1_mode_and_of_a_sigstore_bundle() -> None:
    index = json.loads(CAPTURE["referrers_index"])
    assert {d["digest"] for d in index["manifests"]} == set(CAPTURE["referrers"])
    # the fallback index names the bundle by its config's type: only the manifest says what it is
    manifests = {d: json.loads(m) for d, m in CAPTURE["referrers"].items()}
    kinds = {d: m.get("artifactType") or m["config"]["mediaType"] for d, m in manifests.items()}
    bundle = next(d for d, k in kinds.items() if k.startswith(sv.SIGSTORE_BUNDLE_PREFIX))
    sig = next(d for d, k in kinds.items() if k == sv.COSIGN_SIG_ARTIFACT)
    manifest = manifests[sig]
    assert manifest["subject"]["digest"] == CAPTURE["signed_digests"]["referrer"]
    (cand,) = sv.candidates(manifest, sv.FORMAT_REFERRER)
    payload = blob(cand.payload_digest)
    assert sv.signature_valid(KEYS["cosign"], cand.signature, payload)
    assert sv.parse_payload(payload).digest == CAPTURE["signed_digests"]["referrer"]
    # a bundle is no simple-signing signature: nothing in it is taken as one
    assert sv.candidates(manifests[bundle], sv.FORMAT_REFERRER) == []


def test_layers_without_a_usable_signature_are_skipped() -> None:
    layer = json.loads(CAPTURE["tag_manifest"])["layers"][0]
    broken = [
        {**layer, "mediaType": "application/octet-stream"},
        {**layer, "annotations": {}},
        {**layer, "annotations": {sv.SIGNATURE_ANNOTATION: "not base64!"}},
        {**layer, "digest": "sha256:short"},
        "not a layer",
    ]
    assert sv.candidates({"layers": broken}, sv.FORMAT_TAG) == []
    assert sv.candidates({"layers": [*broken, layer]}, sv.FORMAT_TAG)[0].signature == base64.b64decode(
        layer["annotations"][sv.SIGNATURE_ANNOTATION]
    )


# -- the registry client's bounds, against loopback servers -------------------------------


def serve(answer: t.Callable[[socket.socket], None]) -> tuple[str, threading.Event]:
    """A loopback TCP server answering one connection with answer(); its host:port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done = threading.Event()

    def run() -> None:
        conn, _unused = listener.accept()
        try:
            conn.recv(65536)
            answer(conn)
        except OSError:
            pass
        finally:
            done.set()
            conn.close()
            listener.close()

    threading.Thread(target=run, daemon=True).start()
    return f"127.0.0.1:{listener.getsockname()[1]}", done


def test_a_registry_that_trickles_is_cut_at_the_deadline() -> None:
    def trickle(conn: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 200:
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    where, _unused = serve(trickle)
    start = time.monotonic()
    with pytest.raises(sv.VerificationError) as err:
        sv.verify_image(f"{where}/app:v1", [CAPTURE["keys"]["cosign"].encode()], insecure_http=True, timeout=1.0)
    assert time.monotonic() - start < 2.0
    assert err.value.step == "resolve"
    assert "did not answer before the deadline" in err.value.reason


def test_an_oversized_manifest_is_refused_unread() -> None:
    def flood(conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {sv.MAX_MANIFEST + 1}\r\n\r\n".encode() + b"{" * 1024)

    where, _unused = serve(flood)
    with pytest.raises(sv.VerificationError, match="announced 4194305 bytes, more than the 4194304 read here") as err:
        sv.verify_image(f"{where}/app:v1", [CAPTURE["keys"]["cosign"].encode()], insecure_http=True, timeout=5)
    assert err.value.step == "resolve"


def test_https_is_the_default() -> None:
    def plain(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    where, _unused = serve(plain)
    with pytest.raises(sv.VerificationError) as err:
        sv.verify_image(f"{where}/app:v1", [CAPTURE["keys"]["cosign"].encode()], timeout=5)
    assert err.value.step == "resolve" and "does not answer" in err.value.reason


def test_ed25519_keys_load() -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    assert sv.load_public_key(pem(key)).fingerprint.startswith("sha256:")
