# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Every check, by the name the catalogue gives it: how each CIS control is judged, from Facts.

The checks live in one module per benchmark section (checks_1_host.py,
checks_2_daemon.py, checks_3_files.py, checks_4_images.py,
checks_5_containers.py, checks_6_operations.py, checks_7_swarm.py), each
registered there with ``@check("name")``; Verdict and the registration are in
verdict.py, the judging helpers several sections share in common.py. CHECKS below is all of them.

A check is ``fn(facts, arg) -> Verdict``: pass, fail, manual (a person must
judge; the evidence says what was seen), or not_applicable (with the reason).
A check never passes what it could not read: a missing fact raises FactError,
which the audit reports as ``error`` for that control only.

The docstring format (tools/gen_controls_doc.py reads it to write
docs/cis-controls.md, and refuses a check that breaks it):

- Every check has a docstring. Its first paragraph says how the control is
  judged ("Pass when ...", "Fail each running container ...", "Manual: ...");
  it becomes the "how it is judged" cell, so it names what is read.
- A paragraph starting ``Not applicable:`` says when the check returns
  not_applicable. It may sit in the check or in a helper of the _cis package
  the check calls by name (per_container's "no running containers" counts for
  every per-container check). A check whose code (or a helper's) can return
  ``Verdict("not_applicable", ...)`` must have one, and one that never can
  must not.
- The verdicts a check can give are read from the status strings of the
  ``Verdict(...)`` calls in the check and the helpers it calls, so a status
  is always written as a literal there.
- A check made by a factory (``_mode_check(field, what)``) may name the
  factory's string arguments in its docstring as ``{field}``; they are filled
  in for each check the factory makes.
"""

from __future__ import annotations

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import (
    checks_1_host,
    checks_2_daemon,
    checks_3_files,
    checks_4_images,
    checks_5_containers,
    checks_6_operations,
    checks_7_swarm,
)
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Check, Verdict

__all__ = ["CHECKS", "Check", "Verdict"]


def _merge(*sections: dict[str, Check]) -> dict[str, Check]:
    out: dict[str, Check] = {}
    for checks in sections:
        twice = sorted(set(out) & set(checks))
        if twice:
            raise ValueError(f"checks registered in two sections: {twice}")
        out.update(checks)
    return out


CHECKS: dict[str, Check] = _merge(
    checks_1_host.CHECKS,
    checks_2_daemon.CHECKS,
    checks_3_files.CHECKS,
    checks_4_images.CHECKS,
    checks_5_containers.CHECKS,
    checks_6_operations.CHECKS,
    checks_7_swarm.CHECKS,
)
