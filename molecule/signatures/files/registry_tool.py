# SPDX-License-Identifier: GPL-3.0-or-later
"""What an attacker with push rights does to a registry, for the signatures scenario.

  tamper REPO TAG         rewrite the signed payload of TAG's cosign .sig manifest (the signature kept)
  copy-sig REPO FROM TO   put FROM's .sig manifest on TO's digest (a moved tag with the old signature)
  index REPO TAG A B      push an OCI index of tags A and B as TAG

Run on the registry host: REGISTRY is https://dg-signatures-reg:5000, CA in CA_FILE.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import sys
import typing as t
import urllib.request

REGISTRY = os.environ.get("REGISTRY", "https://dg-signatures-reg:5000")
CTX = ssl.create_default_context(cafile=os.environ.get("CA_FILE", "/etc/dockguard-test/ca.crt"))
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def call(method: str, url: str, body: bytes | None = None, ctype: str = "", accept: str = ACCEPT) -> t.Any:
    req = urllib.request.Request(url if url.startswith("http") else REGISTRY + url, data=body, method=method)
    req.add_header("Accept", accept)
    if ctype:
        req.add_header("Content-Type", ctype)
    return urllib.request.urlopen(req, context=CTX, timeout=30)


def digest_of(repo: str, tag: str) -> tuple[str, str, int]:
    with call("GET", f"/v2/{repo}/manifests/{tag}") as resp:
        body = resp.read()
        return "sha256:" + hashlib.sha256(body).hexdigest(), resp.headers["Content-Type"], len(body)


def sig_tag(repo: str, tag: str) -> str:
    return digest_of(repo, tag)[0].replace(":", "-") + ".sig"


def put_manifest(repo: str, ref: str, doc: dict[str, t.Any], ctype: str) -> None:
    call("PUT", f"/v2/{repo}/manifests/{ref}", json.dumps(doc).encode(), ctype).close()


def tamper(repo: str, tag: str) -> None:
    sig = sig_tag(repo, tag)
    with call("GET", f"/v2/{repo}/manifests/{sig}") as resp:
        manifest = json.load(resp)
    layer = manifest["layers"][0]
    with call("GET", f"/v2/{repo}/blobs/{layer['digest']}", accept="*/*") as resp:
        payload = json.load(resp)
    payload["optional"] = {"note": "rewritten after signing"}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    with call("POST", f"/v2/{repo}/blobs/uploads/", b"") as resp:
        location = resp.headers["Location"]
    sep = "&" if "?" in location else "?"
    url = location if location.startswith("http") else REGISTRY + location
    call("PUT", f"{url}{sep}digest={digest}", raw, "application/octet-stream").close()
    layer.update(digest=digest, size=len(raw))
    put_manifest(repo, sig, manifest, manifest["mediaType"])


def copy_sig(repo: str, source: str, target: str) -> None:
    with call("GET", f"/v2/{repo}/manifests/{sig_tag(repo, source)}") as resp:
        manifest = json.load(resp)
    put_manifest(repo, sig_tag(repo, target), manifest, manifest["mediaType"])


def index(repo: str, tag: str, *members: str) -> None:
    manifests = []
    for arch, member in zip(("amd64", "arm64"), members, strict=True):
        digest, ctype, size = digest_of(repo, member)
        manifests.append(
            {"mediaType": ctype, "digest": digest, "size": size, "platform": {"os": "linux", "architecture": arch}}
        )
    media = "application/vnd.oci.image.index.v1+json"
    put_manifest(repo, tag, {"schemaVersion": 2, "mediaType": media, "manifests": manifests}, media)


if __name__ == "__main__":
    COMMANDS: dict[str, t.Callable[..., None]] = {"tamper": tamper, "copy-sig": copy_sig, "index": index}
    COMMANDS[sys.argv[1]](*sys.argv[2:])
