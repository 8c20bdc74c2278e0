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

import re
import threading
import typing as t

DEFAULT_DOMAIN = "docker.io"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class Reference(t.NamedTuple):
    domain: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    def full(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse(ref: str) -> Reference | None:
    """A reference split as the engine splits it (docker.io and library/ implied); None when it is not one."""
    ref = ref.strip()
    name, _at, digest = ref.partition("@")
    if _at and not _DIGEST.match(digest):
        return None
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    if not name or not re.fullmatch(r"[A-Za-z0-9._:/-]+", name) or (tag is not None and not tag):
        return None
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if path != path.lower():
        return None
    return Reference(domain, path, tag if tag or digest else "latest", digest or None)


def names(ref: str) -> list[str]:
    """The spellings an image exception may match: as written and in full."""
    parsed = parse(ref)
    return [ref] + ([parsed.full()] if parsed and parsed.full() != ref else [])


def registry_allowed(ref: Reference, allow: t.Sequence[str]) -> bool:
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
    ref: str, parsed: Reference, params: t.Mapping[str, t.Any], verify: Verifier | None, cache: SignatureCache | None
) -> str | None:
    if not parsed.digest:
        return f"image {ref} is not pinned by digest: the signature is checked for the digest the engine will run"
    if verify is None:
        return "the signature verifier (_sigverify) is not installed with the plugin: signatures cannot be checked"
    keys = tuple(params["public_keys"])
    key = (parsed.full(), keys)
    if cache is not None and cache.get(key) == parsed.digest:
        return None
    try:
        verified = verify(
            parsed.full(),
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
