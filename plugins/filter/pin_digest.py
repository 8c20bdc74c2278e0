# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pin_digest: the image reference that runs exactly what dockguard.hardening.image_signature verified.

Documented in pin_digest.yml beside this file, like the collection's other filters.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.dockguard.hardening.plugins.module_utils._sigverify import parse_reference


def _pinned(repository: str, digest: str) -> str:
    try:
        ref = parse_reference(f"{repository}@{digest}")
    except ValueError as exc:
        raise AnsibleFilterError(f"pin_digest: {repository}@{digest}: {exc}") from None
    return f"{ref.repository}@{ref.digest}"


def pin_digest(value: t.Any, digest: str | None = None) -> str:
    if isinstance(value, Mapping):
        if digest is not None:
            raise AnsibleFilterError("pin_digest: digest= is for an image reference, not a registered result")
        if value.get("failed") or value.get("skipped") or value.get("verified") is not True:
            raise AnsibleFilterError(
                f"pin_digest: the image {value.get('image')!r} did not verify "
                f"({value.get('msg') or 'no verified image_signature result'}); refusing to pin it"
            )
        return _pinned(str(value.get("repository")), str(value.get("digest")))
    if isinstance(value, str) and digest is not None:
        try:
            ref = parse_reference(value)
        except ValueError as exc:
            raise AnsibleFilterError(f"pin_digest: {value}: {exc}") from None
        return _pinned(ref.repository, str(digest))
    raise AnsibleFilterError("pin_digest: give a registered image_signature result, or a reference and digest=")


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"pin_digest": pin_digest}
