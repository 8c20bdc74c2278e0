#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_signature
short_description: Verify an image's cosign signature in a registry with a public key
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Verifies, on the managed host, that the image O(image) in its registry carries a cosign signature made with
    one of the public keys given, and returns the digest that verified, so a play can run exactly that digest
    (RV(pinned)).
  - No cosign binary is needed on the host, only Python's C(cryptography) package (Debian C(python3-cryptography)).
    The registry is read through its API v2 (HTTPS, with a bearer token or basic credentials when it asks).
  - The tag is resolved to the digest of the manifest the registry serves (computed from the bytes). A manifest
    list (OCI index) is verified by its own digest, as C(cosign sign) signs it.
  - The signature is looked for where cosign stores it - the tag C(sha256-<hex>.sig) (cosign up to 2, the default),
    or an OCI 1.1 referrer (cosign 2 C(--registry-referrers-mode=oci-1-1), through the referrers API or its fallback
    tag). A Sigstore bundle (cosign 3's default format) is refused with that reason.
  - The image verifies when one signature verifies with one of the keys and its signed payload claims this digest
    (C(critical.image.docker-manifest-digest)) and this repository (C(critical.identity.docker-reference)). A tag
    moved to another digest after signing fails, as does a signature copied from another image or repository.
  - The task fails when the image does not verify, naming the image, the step that failed (RV(step)) and why.
    It never changes anything on the host, and runs the same in check mode.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  image:
    description:
      - The image, as C(docker) names it - C(REGISTRY/PATH:TAG), C(REGISTRY/PATH@sha256:DIGEST); without a registry
        it is Docker Hub, without a tag C(latest).
    type: str
    required: true
  public_keys:
    description:
      - PEM public keys (the content of C(cosign.pub)); the image verifies when any one of them verified it.
      - ECDSA P-256 (what C(cosign generate-key-pair) makes), RSA of 2048 bits or more, and Ed25519 keys.
      - At least one of O(public_keys) or O(public_key_files) is required.
      - Not echoed in the task's result (C(no_log)), so that a private key given here by mistake is not shown.
    type: list
    elements: str
    default: []
  public_key_files:
    description: Files on the managed host holding a PEM public key each, as for O(public_keys).
    type: list
    elements: path
    default: []
  ca_file:
    description:
      - A PEM file of CA certificates that the registry's TLS certificate must chain to, instead of the system's.
    type: path
  insecure_http:
    description:
      - Talk plain HTTP to the registry (only for a registry on loopback or a test network). The signature still
        has to verify; what travels is not protected.
    type: bool
    default: false
  username:
    description: User name for a registry that asks for credentials (basic, or to get a bearer token).
    type: str
  password:
    description: Password or token for O(username).
    type: str
  timeout:
    description: Seconds the whole verification may take (every request within it); positive.
    type: float
    default: 10.0
notes:
  - Key material is never returned; a key is reported by its fingerprint, the SHA-256 of its DER
    SubjectPublicKeyInfo.
  - The transparency log (Rekor) and keyless (certificate) signatures are not checked; this is key-based
    verification, C(cosign verify --key KEY --insecure-ignore-tlog=true).
seealso:
  - name: Image trust
    description: What signatures protect, the end of Notary v1, and the migration from Docker Content Trust.
    link: https://github.com/dockguard/dockguard.hardening/blob/main/docs/image-trust.md
  - name: cosign signature specification
    description: Where cosign stores signatures and what the simple-signing payload holds.
    link: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
"""

EXAMPLES = r"""
---
- name: Verify the image before deploying it
  dockguard.hardening.image_signature:
    image: registry.example.com/team/app:1.4
    public_key_files: [/etc/docker/trust/team.pub]
    ca_file: /etc/docker/certs.d/registry.example.com/ca.crt
  register: app_signature

- name: Run exactly the digest that verified
  community.docker.docker_container:
    name: app
    image: "{{ app_signature | dockguard.hardening.pin_digest }}"
    state: started

- name: Verify with one of two keys (a key rotation), with registry credentials
  dockguard.hardening.image_signature:
    image: registry.example.com/team/app@sha256:0c6e1e4b1c4d6f9d0a5d1e4b0a8e6f2c3b7d9e1f2a3b4c5d6e7f8091a2b3c4d5
    public_keys:
      - "{{ lookup('ansible.builtin.file', 'keys/team-2026.pub') }}"
      - "{{ lookup('ansible.builtin.file', 'keys/team-2027.pub') }}"
    username: deploy
    password: "{{ vault_registry_password }}"
"""

RETURN = r"""
verified:
  description: True; a task whose image does not verify fails.
  returned: success
  type: bool
  sample: true
image:
  description: The image as given.
  returned: always
  type: str
  sample: registry.example.com/team/app:1.4
repository:
  description: The image's repository (registry and path).
  returned: success
  type: str
  sample: registry.example.com/team/app
digest:
  description: The digest that verified (of the manifest, or of the manifest list); on failure, when known.
  returned: success, and on failure after the image resolved
  type: str
  sample: sha256:6b5ac0ae34d6f0588d50e7b70e070510fa2b3ba254ca104c925c598fdf153319
pinned:
  description: The image by the digest that verified, C(REPOSITORY@DIGEST); run this, not the tag.
  returned: success
  type: str
  sample: registry.example.com/team/app@sha256:6b5ac0ae34d6f0588d50e7b70e070510fa2b3ba254ca104c925c598fdf153319
key_fingerprint:
  description: The SHA-256 of the DER SubjectPublicKeyInfo of the key that verified the signature.
  returned: success
  type: str
  sample: sha256:15962fed02b0d555e072353e3af10764bc71937d3a4f2e710b65f2a2b552999e
signature_format:
  description:
    - Where the signature was found - V(cosign-sig-tag) (the C(sha256-<hex>.sig) tag) or V(cosign-oci-referrer)
      (an OCI 1.1 referrer).
  returned: success
  type: str
  sample: cosign-sig-tag
step:
  description:
    - Where a verification failed - V(key), V(reference), V(resolve), V(fetch-signature), V(signature-format),
      V(payload), V(signature).
  returned: failure
  type: str
  sample: signature
signed_digest:
  description: On a signature for another digest (a moved tag), the digest the signature claims.
  returned: failure at step payload, when the digests differ
  type: str
  sample: sha256:fde22c290de20aaa6d8ac966804fdec6de291895f122310767698868aaa2b0fe
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _sigverify as sv
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute


class ImageSignature:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params

    def keys(self) -> list[bytes]:
        keys = [k.encode() for k in self.p["public_keys"]]
        for path in self.p["public_key_files"]:
            try:
                with open(path, "rb") as fh:
                    keys.append(fh.read(64 * 1024))
            except OSError as exc:
                raise sv.VerificationError(
                    self.p["image"], "key", f"public_key_files: cannot read {path}: {exc.strerror}"
                ) from None
        if not keys:
            raise sv.VerificationError(self.p["image"], "key", "give public_keys or public_key_files")
        return keys

    def run(self) -> dict[str, t.Any]:
        p = self.p
        if not sv.HAS_CRYPTOGRAPHY:
            raise sv.VerificationError(
                p["image"],
                "key",
                "the Python cryptography package is missing on the host (Debian: python3-cryptography)",
            )
        auth = (p["username"], p["password"] or "") if p["username"] else None
        verified = sv.verify_image(
            p["image"],
            self.keys(),
            ca_file=p["ca_file"],
            insecure_http=p["insecure_http"],
            timeout=p["timeout"],
            auth=auth,
        )
        return {
            "changed": False,
            "verified": True,
            "image": verified.ref,
            "repository": verified.repository,
            "digest": verified.digest,
            "pinned": f"{verified.repository}@{verified.digest}",
            "key_fingerprint": verified.key_fingerprint,
            "signature_format": verified.signature_format,
        }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "image": {"type": "str", "required": True},
            # no_log: a private key pasted here by mistake must not be echoed back (invocation, -v)
            "public_keys": {"type": "list", "elements": "str", "default": [], "no_log": True},
            "public_key_files": {"type": "list", "elements": "path", "default": [], "no_log": False},
            "ca_file": {"type": "path"},
            "insecure_http": {"type": "bool", "default": False},
            "username": {"type": "str"},
            "password": {"type": "str", "no_log": True},
            "timeout": {"type": "float", "default": 10.0},
        },
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    execute(module, lambda m: ImageSignature(m).run())


if __name__ == "__main__":
    main()
