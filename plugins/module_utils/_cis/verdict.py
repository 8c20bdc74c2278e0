# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""A check's answer, and how checks register: Verdict, Check, section()."""

from __future__ import annotations

import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import Facts


class Verdict(t.NamedTuple):
    status: str  # pass, fail, manual, not_applicable (error comes from the audit)
    evidence: list[str]
    items: tuple[dict[str, str], ...] = ()


Check = t.Callable[[Facts, str], Verdict]


def section() -> tuple[dict[str, Check], t.Callable[[str], t.Callable[[Check], Check]]]:
    """A section module's checks, and the decorator that registers one under the name the catalogue uses."""
    checks: dict[str, Check] = {}

    def check(name: str) -> t.Callable[[Check], Check]:
        def register(fn: Check) -> Check:
            if name in checks:
                raise ValueError(f"check {name!r} is registered twice")
            checks[name] = fn
            return fn

        return register

    return checks, check


def yesno(ok: bool, evidence: list[str]) -> Verdict:
    return Verdict("pass" if ok else "fail", evidence)


def describe(value: t.Any, source: str) -> str:
    """A daemon setting as evidence: its value and where it comes from."""
    return f"{value!r} from {source}" if source != "default" else "not set (default)"
