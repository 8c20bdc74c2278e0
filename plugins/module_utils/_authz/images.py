# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Image references as the engine reads them, and the image rules: pinned by digest, allowed registry, signed.

The signature rule calls a verifier with the interface of _sigverify.verify_image(ref, public_keys, ...) ->
Verified(ref, repository, digest, key_fingerprint, signature_format), raising an error with .step.
"""

from __future__ import annotations

import threading
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _sigverify as sv


def parse(ref: str) -> sv.Reference | None:
    """A reference split as the engine splits it (the image-trust verifier's parser); None when it is not one."""
    try:
        return sv.parse_reference(ref.strip())
    except ValueError:
        return None


def full(ref: sv.Reference) -> str:
    """registry/path[:tag][@digest], Docker Hub's implied parts spelled out."""
    return ref.repository + (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")


def names(ref: str) -> list[str]:
    """The spellings an image exception may match: as written and in full."""
    parsed = parse(ref)
    return [ref] + ([full(parsed)] if parsed and full(parsed) != ref else [])


def registry_allowed(ref: sv.Reference, allow: t.Sequence[str]) -> bool:
    """The repository lies under an allowed registry or registry path (registry.example.com, ghcr.io/org)."""
    return any(ref.repository == a.rstrip("/") or ref.repository.startswith(a.rstrip("/") + "/") for a in allow)


Verifier = t.Callable[..., t.Any]


class SignatureCache:
    """Verified digests, by (reference, keys): a digest's signature does not change, so a success is kept."""

    def __init__(self, size: int = 256) -> None:
        self._ok: dict[tuple[str, tuple[str, ...]], str] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, tuple[str, ...]]) -> str | None:
        with self._lock:
            return self._ok.get(key)

    def put(self, key: tuple[str, tuple[str, ...]], value: str) -> None:
        with self._lock:
            if len(self._ok) >= self._size:
                self._ok.pop(next(iter(self._ok)))
            self._ok[key] = value


def image_findings(
    ref: str, rules: t.Mapping[str, t.Any], verify: Verifier | None, cache: SignatureCache | None
) -> list[tuple[str, str]]:
    """(rule, problem) for an image reference under the image rules that are not off."""
    out: list[tuple[str, str]] = []
    parsed = parse(ref)
    active = {n: r for n, r in rules.items() if n.startswith("image_") and r.action != "off"}
    if not active:
        return out
    if parsed is None:
        return [(n, f"image {ref!r} is not a reference the plugin can read") for n in sorted(active)]
    if "image_digest" in active and not parsed.digest:
        out.append(("image_digest", f"image {ref} is not pinned by digest"))
    if "image_registries" in active and not registry_allowed(parsed, active["image_registries"].params["allow"]):
        allow = ", ".join(active["image_registries"].params["allow"]) or "none"
        out.append(("image_registries", f"image {parsed.repository} is from outside the allowed registries ({allow})"))
    if "image_signature" in active:
        problem = _signature(ref, parsed, active["image_signature"].params, verify, cache)
        if problem:
            out.append(("image_signature", problem))
    return out


def _signature(
    ref: str, parsed: sv.Reference, params: t.Mapping[str, t.Any], verify: Verifier | None, cache: SignatureCache | None
) -> str | None:
    if not parsed.digest:
        return f"image {ref} is not pinned by digest: the signature is checked for the digest the engine will run"
    if verify is None:
        return "the signature verifier (_sigverify) is not installed with the plugin: signatures cannot be checked"
    keys = tuple(params["public_keys"])
    key = (full(parsed), keys)
    if cache is not None and cache.get(key) == parsed.digest:
        return None
    try:
        verified = verify(
            full(parsed),
            [k.encode() for k in keys],
            ca_file=params["ca_file"],
            insecure_http=params["insecure_http"],
            timeout=float(params["timeout"]),
        )
    except Exception as exc:  # pylint: disable=broad-exception-caught
        step = getattr(exc, "step", None)
        return f"image {ref} has no valid signature" + (f" ({step}: {exc})" if step else f": {exc}")
    if getattr(verified, "digest", None) != parsed.digest:
        return f"the signature of {ref} is for {getattr(verified, 'digest', None)}, not the digest to run"
    if cache is not None:
        cache.put(key, parsed.digest)
    return None
