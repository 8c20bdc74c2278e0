# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Verify an image's cosign signature in a registry with a public key.

No cosign binary: the registry API v2 over stdlib HTTP(S) and the
``cryptography`` package. Used by the image_signature module on managed hosts
and by the authorization plugin beside dockerd, so nothing here needs Ansible.

verify_image() does, for one reference:

1. resolve: the tag (or digest) to the manifest the registry serves, its
   digest computed here from the bytes (a registry header is only compared).
   A manifest list / OCI index is verified by its own digest, as ``cosign
   sign`` signs it (``--recursive`` signs each platform's manifest too).
2. fetch-signature: cosign's simple-signing signatures, from the tag
   ``sha256-<hex>.sig`` (cosign's default storage through cosign 2) or from
   OCI 1.1 referrers of the digest (cosign 2 ``--registry-referrers-mode
   oci-1-1``; the referrers API, else its fallback tag ``sha256-<hex>``).
   A Sigstore bundle (cosign 3's default format) is refused by name.
3. signature: each signature against each key (ECDSA P-256 and RSA over
   SHA-256, Ed25519 over the payload itself, as cosign signs).
4. payload: the signed claim ``critical.image.docker-manifest-digest`` must be
   the resolved digest and ``critical.identity.docker-reference`` the image's
   repository.

Every failure is a VerificationError naming the image and the step.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import http.client
import json
import re
import socket
import ssl
import threading
import time
import typing as t
import urllib.parse

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

try:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by verify_image()
    HAS_CRYPTOGRAPHY = False

# Media types: what the resolve step accepts, and what each one is.
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
# cosign's artifacts
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
COSIGN_SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
SIGSTORE_BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"
SIGNATURE_TYPE = "cosign container image signature"

# Bounds on what a registry may send: Distribution refuses manifests over 4 MiB;
# a simple-signing payload is a few hundred bytes.
MAX_MANIFEST = 4 * 1024 * 1024
MAX_PAYLOAD = 256 * 1024
MAX_SIGNATURES = 32  # signatures (layers, referrers) examined per image
MAX_REDIRECTS = 3

FORMAT_TAG = "cosign-sig-tag"
FORMAT_REFERRER = "cosign-oci-referrer"

_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_PATH_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


class VerificationError(DockguardError):
    """The image did not verify: step names where, the message why and which image."""

    def __init__(self, ref: str, step: str, reason: str, **details: t.Any) -> None:
        super().__init__(f"{ref}: {step}: {reason}", image=ref, step=step, **details)
        self.ref = ref
        self.step = step
        self.reason = reason


class Verified(t.NamedTuple):
    ref: str
    repository: str  # registry/path as given (docker.io/library/... for Docker Hub)
    digest: str  # the verified manifest (or index) digest
    key_fingerprint: str  # sha256:<hex> of the DER SubjectPublicKeyInfo of the key that verified
    signature_format: str  # FORMAT_TAG or FORMAT_REFERRER


class Reference(t.NamedTuple):
    registry: str  # as written (docker.io for Docker Hub)
    path: str  # repository path in the registry (library/ added on Docker Hub)
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def host(self) -> str:
        """Where the registry API answers."""
        return "registry-1.docker.io" if self.registry in _DOCKER_HUB else self.registry


def parse_reference(ref: str) -> Reference:
    """registry/path[:tag][@sha256:digest], the way docker reads it (no registry: Docker Hub, tag latest).

    ValueError says what is wrong.
    """
    rest, digest = ref, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.fullmatch(digest):
            raise ValueError(f"digest {digest!r} is not sha256: and 64 lowercase hex digits")
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG_RE.fullmatch(tag):
            raise ValueError(f"tag {tag!r} is not a valid tag")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    if registry in _DOCKER_HUB:
        registry = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    if not _PATH_RE.fullmatch(path):
        raise ValueError(f"repository {path!r} is not a valid repository name (lowercase, digits, . _ - /)")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry, path, tag, digest)


def same_repository(claimed: str, repository: str) -> bool:
    """Whether a signature's docker-reference names this repository (Docker Hub spellings are one)."""
    try:
        a, b = parse_reference(claimed), parse_reference(repository)
    except ValueError:
        return False
    return (a.registry, a.path) == (b.registry, b.path)


# Keys


class PublicKey(t.NamedTuple):
    key: t.Any
    fingerprint: str
    kind: str  # ecdsa-p256, rsa-2048, ed25519


def load_public_key(pem: bytes, label: str = "key") -> PublicKey:
    """One PEM public key; ValueError says why it is unusable, without repeating the key."""
    if not HAS_CRYPTOGRAPHY:
        raise ValueError("the Python cryptography package is missing (Debian: python3-cryptography)")
    if b"PRIVATE KEY" in pem:
        raise ValueError(f"{label} is a private key; give the public key (cosign.pub), never the private one")
    if b"-----BEGIN PUBLIC KEY-----" not in pem:
        raise ValueError(f"{label} is not a PEM public key (-----BEGIN PUBLIC KEY-----)")
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"{label} is a malformed PEM public key ({type(exc).__name__})") from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"{label} is an ECDSA key on {key.curve.name}; cosign keys are P-256 (secp256r1)")
        kind = "ecdsa-p256"
    elif isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError(f"{label} is a {key.key_size}-bit RSA key; at least 2048 bits are accepted")
        kind = f"rsa-{key.key_size}"
    elif isinstance(key, ed25519.Ed25519PublicKey):
        kind = "ed25519"
    else:
        raise ValueError(f"{label} is a {type(key).__name__}; ECDSA P-256, RSA and Ed25519 keys are supported")
    return PublicKey(key, fingerprint(key), kind)


def fingerprint(key: t.Any) -> str:
    """sha256:<hex> of the key's DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def signature_valid(key: PublicKey, signature: bytes, payload: bytes) -> bool:
    """Whether signature is key's signature of payload, as cosign signs."""
    try:
        if key.kind == "ed25519":
            key.key.verify(signature, payload)
        elif key.kind == "ecdsa-p256":
            key.key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        else:
            key.key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# Payloads


class Claim(t.NamedTuple):
    digest: str
    reference: str


def parse_payload(raw: bytes) -> Claim:
    """The claims of a simple-signing payload; ValueError names what is missing."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("the signed payload is not JSON") from None
    critical = doc.get("critical") if isinstance(doc, dict) else None
    if not isinstance(critical, dict):
        raise ValueError("the signed payload has no 'critical' section")
    if critical.get("type") != SIGNATURE_TYPE:
        raise ValueError(f"the signed payload's critical.type is {critical.get('type')!r}, not {SIGNATURE_TYPE!r}")
    digest = (critical.get("image") or {}).get("docker-manifest-digest")
    reference = (critical.get("identity") or {}).get("docker-reference")
    if not isinstance(digest, str) or not isinstance(reference, str):
        raise ValueError("the signed payload lacks critical.image.docker-manifest-digest or identity.docker-reference")
    return Claim(digest, reference)


class Candidate(t.NamedTuple):
    """One signature found in the registry: its payload blob and signature bytes."""

    payload_digest: str
    payload_size: int
    signature: bytes
    source: str  # FORMAT_*


def candidates(manifest: dict[str, t.Any], source: str) -> list[Candidate]:
    """The simple-signing layers of a cosign signature manifest (layers without a usable signature skipped)."""
    found = []
    for layer in manifest.get("layers") or []:
        if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLE_SIGNING:
            continue
        encoded = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        digest, size = layer.get("digest"), layer.get("size")
        if not isinstance(encoded, str) or not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
            continue
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        found.append(Candidate(digest, size if isinstance(size, int) else -1, signature, source))
    return found


# HTTP


class RegistryError(Exception):
    def __init__(self, msg: str, status: int = 0) -> None:
        super().__init__(msg)
        self.status = status


class Response(t.NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    """WWW-Authenticate: scheme and parameters."""
    scheme, _unused, rest = header.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class Registry:
    """GET requests to one registry's API v2, all within one deadline, answers bounded in size."""

    def __init__(
        self,
        host: str,
        deadline: float,
        ca_file: str | None = None,
        insecure_http: bool = False,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.host = host
        self.deadline = deadline
        self.scheme = "http" if insecure_http else "https"
        self.auth = auth
        self.context = ssl.create_default_context(cafile=ca_file) if not insecure_http else None
        self.authorization: str | None = None

    def _once(self, url: str, headers: dict[str, str], limit: int) -> Response:
        parts = urllib.parse.urlsplit(url)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RegistryError("the deadline passed before the registry answered")
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.netloc, timeout=remaining, context=self.context)
        elif parts.scheme == "http" and self.scheme == "http":
            conn = http.client.HTTPConnection(parts.netloc, timeout=remaining)
        else:
            raise RegistryError(f"refusing {parts.scheme or 'no'} scheme URL {url} (https only without insecure_http)")
        # A watchdog ends the connection at the deadline: a per-read timeout alone lets
        # a registry that trickles bytes hold the caller as long as it likes.
        fired = threading.Event()
        watchdog = threading.Timer(remaining, self._abort, (conn, fired))
        watchdog.daemon = True
        try:
            conn.connect()
            watchdog.start()
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            announced = resp.getheader("Content-Length") or ""
            if announced.isdigit() and int(announced) > limit:
                raise RegistryError(f"GET {target} announced {announced} bytes, more than the {limit} read here")
            body = resp.read(limit + 1)
            if fired.is_set():  # a cut connection can look like a short, complete answer
                raise RegistryError(f"{parts.netloc} did not answer before the deadline")
            if len(body) > limit:
                raise RegistryError(f"GET {target} answered more than the {limit} bytes read here")
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
        except (OSError, http.client.HTTPException) as exc:
            if fired.is_set() or time.monotonic() >= self.deadline:
                raise RegistryError(f"{parts.netloc} did not answer before the deadline") from None
            raise RegistryError(f"{parts.netloc} does not answer: {exc}") from None
        finally:
            watchdog.cancel()
            conn.close()

    @staticmethod
    def _abort(conn: http.client.HTTPConnection, fired: threading.Event) -> None:
        fired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _token(self, params: dict[str, str], scope: str) -> str:
        realm = params.get("realm", "")
        if urllib.parse.urlsplit(realm).scheme not in ("https", self.scheme):
            raise RegistryError(f"the token realm {realm!r} is not https; refusing to send credentials there")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        headers = {"Accept": "application/json"}
        if self.auth:
            headers["Authorization"] = self._basic()
        resp = self._once(url, headers, 64 * 1024)
        if resp.status != 200:
            raise RegistryError(f"the token service {realm} answered {resp.status}", resp.status)
        try:
            doc = json.loads(resp.body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token service {realm} gave no token")
        return f"Bearer {token}"

    def _basic(self) -> str:
        user, password = self.auth or ("", "")
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

    def get(self, path: str, accept: str, limit: int, scope: str) -> Response:
        """GET path on the registry, answering one auth challenge and following a few redirects."""
        url = f"{self.scheme}://{self.host}{path}"
        challenged = False
        for _round in range(MAX_REDIRECTS + 2):
            headers = {"Accept": accept, "User-Agent": "dockguard-sigverify"}
            same_host = urllib.parse.urlsplit(url).netloc == self.host
            if self.authorization and same_host:
                headers["Authorization"] = self.authorization
            resp = self._once(url, headers, limit)
            if resp.status == 401 and same_host and not challenged:
                challenged = True
                scheme, params = _challenge(resp.headers.get("www-authenticate", ""))
                if scheme == "bearer":
                    self.authorization = self._token(params, scope)
                elif scheme == "basic" and self.auth:
                    self.authorization = self._basic()
                else:
                    raise RegistryError("the registry asks for credentials (401); give auth", 401)
                continue
            if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                url = urllib.parse.urljoin(url, resp.headers["location"])
                continue
            return resp
        raise RegistryError(f"GET {path}: too many redirects or authentication rounds")


# Verification


def _manifest(resp: Response) -> tuple[dict[str, t.Any], str]:
    try:
        doc = json.loads(resp.body)
    except ValueError:
        raise ValueError("the manifest is not JSON") from None
    if not isinstance(doc, dict):
        raise ValueError("the manifest is not a JSON object")
    media = doc.get("mediaType") or resp.headers.get("content-type", "").split(";")[0].strip()
    return doc, media


class _Verifier:
    def __init__(
        self,
        ref: str,
        keys: list[PublicKey],
        registry: Registry,
        image: Reference,
    ) -> None:
        self.ref = ref
        self.keys = keys
        self.registry = registry
        self.image = image
        self.scope = f"repository:{image.path}:pull"

    def fail(self, step: str, reason: str, **details: t.Any) -> VerificationError:
        return VerificationError(self.ref, step, reason, **details)

    def get(self, step: str, path: str, accept: str, limit: int) -> Response:
        try:
            return self.registry.get(f"/v2/{self.image.path}{path}", accept, limit, self.scope)
        except RegistryError as exc:
            text = str(exc)
            where = "registry" if text.startswith(self.image.host) else f"registry {self.image.host}:"
            raise self.fail(step, f"{where} {text}") from None

    def resolve(self) -> tuple[str, str, dict[str, t.Any]]:
        """The digest of what the tag (or digest) names, its media type and the manifest."""
        target = self.image.digest or self.image.tag
        accept = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
        resp = self.get("resolve", f"/manifests/{target}", accept, MAX_MANIFEST)
        if resp.status == 404:
            raise self.fail("resolve", f"registry {self.image.host} has no manifest {target} in {self.image.path}")
        if resp.status != 200:
            hint = (
                " (a TLS registry answers plain HTTP so: drop insecure_http)" if self.registry.scheme == "http" else ""
            )
            raise self.fail("resolve", f"registry {self.image.host} answered {resp.status} for manifest {target}{hint}")
        digest = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        if self.image.digest and digest != self.image.digest:
            raise self.fail("resolve", f"the registry served a manifest whose digest is {digest}, not the one asked")
        announced = resp.headers.get("docker-content-digest")
        if announced and announced.startswith("sha256:") and announced != digest:
            raise self.fail("resolve", f"the registry announced digest {announced} but sent a manifest of {digest}")
        try:
            doc, media = _manifest(resp)
        except ValueError as exc:
            raise self.fail("resolve", str(exc)) from None
        if media not in MANIFEST_TYPES | INDEX_TYPES:
            raise self.fail("resolve", f"manifest media type {media!r} is not an OCI or Docker v2 manifest or index")
        return digest, media, doc

    def signature_tag(self, digest: str) -> list[Candidate]:
        tag = digest.replace(":", "-") + ".sig"
        resp = self.get("fetch-signature", f"/manifests/{tag}", f"{OCI_MANIFEST}, {DOCKER_MANIFEST}", MAX_MANIFEST)
        if resp.status == 404:
            return []
        if resp.status != 200:
            raise self.fail("fetch-signature", f"registry answered {resp.status} for signature tag {tag}")
        try:
            doc, _unused = _manifest(resp)
        except ValueError as exc:
            raise self.fail("fetch-signature", f"signature tag {tag}: {exc}") from None
        return candidates(doc, FORMAT_TAG)

    def referrers(self, digest: str) -> tuple[list[Candidate], list[str]]:
        """Cosign signatures among the OCI 1.1 referrers of digest, and the bundle artifacts seen."""
        resp = self.get("fetch-signature", f"/referrers/{digest}", OCI_INDEX, MAX_MANIFEST)
        if resp.status == 404 or (resp.status == 200 and "index" not in resp.headers.get("content-type", "index")):
            # no referrers API (Distribution 2.8): the fallback tag that clients maintain
            resp = self.get("fetch-signature", f"/manifests/{digest.replace(':', '-')}", OCI_INDEX, MAX_MANIFEST)
        if resp.status != 200:
            return [], []
        try:
            index, _unused = _manifest(resp)
        except ValueError:
            return [], []
        found: list[Candidate] = []
        bundles: list[str] = []
        for desc in (index.get("manifests") or [])[:MAX_SIGNATURES]:
            if not isinstance(desc, dict) or not _DIGEST_RE.fullmatch(str(desc.get("digest"))):
                continue
            if str(desc.get("artifactType") or "").startswith(SIGSTORE_BUNDLE_PREFIX):
                bundles.append(desc["digest"])
            else:  # a fallback index may name a referrer by its config's type (cosign 2.5: oci.empty for a bundle)
                found += self.referrer(desc["digest"], digest, bundles)
        return found, bundles

    def referrer(self, ref_digest: str, subject: str, bundles: list[str]) -> list[Candidate]:
        resp = self.get("fetch-signature", f"/manifests/{ref_digest}", OCI_MANIFEST, MAX_MANIFEST)
        if resp.status != 200 or "sha256:" + hashlib.sha256(resp.body).hexdigest() != ref_digest:
            return []
        try:
            doc, _unused = _manifest(resp)
        except ValueError:
            return []
        if (doc.get("subject") or {}).get("digest") != subject:
            return []
        kind = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType") or ""
        if str(kind).startswith(SIGSTORE_BUNDLE_PREFIX):
            bundles.append(ref_digest)
            return []
        return candidates(doc, FORMAT_REFERRER) if kind == COSIGN_SIG_ARTIFACT else []

    def payload(self, cand: Candidate) -> bytes:
        if cand.payload_size > MAX_PAYLOAD:
            raise ValueError(f"a signature payload of {cand.payload_size} bytes (more than {MAX_PAYLOAD})")
        resp = self.get("payload", f"/blobs/{cand.payload_digest}", "*/*", MAX_PAYLOAD)
        if resp.status != 200:
            raise ValueError(f"payload blob {cand.payload_digest} answered {resp.status}")
        if "sha256:" + hashlib.sha256(resp.body).hexdigest() != cand.payload_digest:
            raise ValueError(f"payload blob {cand.payload_digest} does not match its digest")
        return resp.body

    def judge(self, cands: list[Candidate], digest: str) -> Verified:
        """The first signature that verifies with a key and claims this image; else the most telling failure."""
        claim_failure: VerificationError | None = None
        unreadable: list[str] = []
        for cand in cands[:MAX_SIGNATURES]:
            try:
                raw = self.payload(cand)
            except ValueError as exc:
                unreadable.append(str(exc))
                continue
            key = next((k for k in self.keys if signature_valid(k, cand.signature, raw)), None)
            if key is None:
                continue
            try:
                claim = parse_payload(raw)
            except ValueError as exc:
                claim_failure = self.fail("payload", f"{exc} (signed by key {key.fingerprint})")
                continue
            if claim.digest != digest:
                claim_failure = self.fail(
                    "payload",
                    f"the signature by key {key.fingerprint} is for {claim.digest}, but the image resolves to "
                    f"{digest}: the tag was moved after signing, or a signature was copied from another image",
                    digest=digest,
                    signed_digest=claim.digest,
                )
                continue
            if not same_repository(claim.reference, self.image.repository):
                claim_failure = self.fail(
                    "payload",
                    f"the signature by key {key.fingerprint} names repository {claim.reference!r}, "
                    f"not {self.image.repository!r}",
                    digest=digest,
                )
                continue
            return Verified(self.ref, self.image.repository, digest, key.fingerprint, cand.source)
        if claim_failure is not None:
            raise claim_failure
        prints = ", ".join(k.fingerprint for k in self.keys)
        reason = (
            f"none of the {len(cands)} signature(s) on {digest} verifies with the given key(s) ({prints}): "
            "signed by another key, or the signed payload was altered"
        )
        if unreadable:
            reason += "; unreadable: " + "; ".join(unreadable[:3])
        raise self.fail("signature", reason, digest=digest)

    def run(self) -> Verified:
        digest, media, doc = self.resolve()
        cands = self.signature_tag(digest)
        bundles: list[str] = []
        if not cands:
            cands, bundles = self.referrers(digest)
        what = digest
        if media in INDEX_TYPES:
            count = len(doc.get("manifests") or [])
            what = f"the manifest list (index of {count} manifests) {digest}; cosign signs an index by its digest"
        if not cands and bundles:
            raise self.fail(
                "signature-format",
                f"{what} carries only Sigstore bundle artifacts ({', '.join(bundles[:3])}), cosign 3's default "
                "format, which this verifier does not read; sign with cosign 2 (the .sig tag) or with cosign 3 "
                "and --new-bundle-format=false --use-signing-config=false",
                digest=digest,
            )
        if not cands:
            tag = digest.replace(":", "-")
            raise self.fail(
                "fetch-signature",
                f"no cosign signature for {what} (neither tag {tag}.sig nor an OCI referrer): the image is unsigned",
                digest=digest,
            )
        return self.judge(cands, digest)


def load_keys(ref: str, public_keys: t.Sequence[bytes]) -> list[PublicKey]:
    if not public_keys:
        raise VerificationError(ref, "key", "no public key given")
    keys = []
    for number, pem in enumerate(public_keys, 1):
        try:
            keys.append(load_public_key(bytes(pem), f"public key #{number}"))
        except (TypeError, ValueError) as exc:
            raise VerificationError(ref, "key", str(exc)) from None
    return keys


def verify_image(
    ref: str,
    public_keys: t.Sequence[bytes],
    *,
    ca_file: str | None = None,
    insecure_http: bool = False,
    timeout: float = 10.0,
    auth: tuple[str, str] | None = None,
) -> Verified:
    """Verify ref's cosign signature with any of public_keys (PEM) within timeout seconds overall.

    Raises VerificationError (step: key, reference, resolve, fetch-signature,
    signature-format, payload, signature) naming the image and why.
    """
    keys = load_keys(ref, public_keys)
    try:
        image = parse_reference(ref)
    except ValueError as exc:
        raise VerificationError(ref, "reference", str(exc)) from None
    if timeout <= 0:
        raise VerificationError(ref, "reference", f"timeout must be positive, got {timeout}")
    try:
        registry = Registry(image.host, time.monotonic() + timeout, ca_file, insecure_http, auth)
    except (OSError, ssl.SSLError) as exc:
        raise VerificationError(ref, "resolve", f"the CA file {ca_file!r} is unusable: {exc}") from None
    return _Verifier(ref, keys, registry, image).run()
