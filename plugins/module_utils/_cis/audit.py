# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Run the catalogue's checks over a host's facts: selection, waivers, summary."""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import checks
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import FactError, Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

STATUSES = ("fail", "error", "manual", "waived", "not_applicable", "pass")


class AuditError(DockguardError):
    """Bad options (an unknown control id, a malformed waiver); nothing was judged."""


class Waiver(t.NamedTuple):
    control: str  # v1.6.0 id
    justification: str
    expires: datetime.date | None


def catalogue(ids: str) -> list[cat.Control]:
    controls = list(cat.CONTROLS)
    if ids == "1.8.0":
        controls.append(cat.EXTRA_V1_8_0)
    return controls


def public_id(control: cat.Control, ids: str) -> str:
    return cat.V1_8_0[control.id] if ids == "1.8.0" else control.id


def resolve(ref: str, ids: str) -> cat.Control:
    """A control by id (in the chosen numbering) or slug."""
    ref = str(ref).strip()
    for control in catalogue(ids):
        if ref in (public_id(control, ids), control.slug):
            return control
    raise AuditError(
        f"unknown control {ref!r} for CIS v{ids} ids: use an id such as 2.2 or a slug such as icc-disabled"
    )


def select(ids: str, sections: list[str], controls: list[str], level: int) -> list[cat.Control]:
    bad = [s for s in sections if str(s) not in cat.SECTIONS]
    if bad:
        raise AuditError(f"unknown sections {bad}: choose from {', '.join(cat.SECTIONS)}")
    wanted = {resolve(c, ids).id for c in controls}
    out = []
    for control in catalogue(ids):
        if sections and control.section not in [str(s) for s in sections]:
            continue
        if wanted and control.id not in wanted:
            continue
        if control.level > level:
            continue
        out.append(control)
    return out


def parse_waivers(raw: list[dict[str, t.Any]], ids: str) -> dict[str, Waiver]:
    out: dict[str, Waiver] = {}
    for i, w in enumerate(raw):
        control = resolve(str(w.get("id", "")), ids)
        justification = str(w.get("justification") or "").strip()
        if not justification:
            raise AuditError(f"waivers[{i}] ({w.get('id')}): a justification is required")
        expires = w.get("expires")
        date = None
        if expires not in (None, ""):
            try:
                date = datetime.date.fromisoformat(str(expires))
            except ValueError as exc:
                raise AuditError(
                    f"waivers[{i}] ({w.get('id')}): expires {expires!r} is not a date (YYYY-MM-DD)"
                ) from exc
        out[control.id] = Waiver(control.id, justification, date)
    return out


def judge(control: cat.Control, facts: Facts) -> Verdict:
    fn = checks.CHECKS[control.check]
    try:
        return fn(facts, control.arg)
    except FactError as exc:
        return Verdict("error", [str(exc)])
    except Exception as exc:  # a check must not end the audit; the reason is reported on its control
        return Verdict("error", [f"check {control.check} failed: {type(exc).__name__}: {exc}"])


def result(
    control: cat.Control, verdict: Verdict, ids: str, waiver: Waiver | None, today: datetime.date
) -> dict[str, t.Any]:
    rem = control.fix or cat.remediation(control.id)
    status = verdict.status
    waiver_out = None
    if waiver is not None:
        expired = waiver.expires is not None and waiver.expires < today
        waiver_out = {
            "justification": waiver.justification,
            "expires": waiver.expires.isoformat() if waiver.expires else None,
            "expired": expired,
            "status": verdict.status,
        }
        if not expired and verdict.status in ("fail", "manual", "error"):
            status = "waived"
    return {
        "id": public_id(control, ids),
        "cis_1_6_0": control.id if "@" not in control.id else None,
        "cis_1_8_0": cat.V1_8_0[control.id],
        "slug": control.slug,
        "title": cat.TITLE_CHANGES_V1_8_0.get(control.id, control.title) if ids == "1.8.0" else control.title,
        "section": control.section,
        "section_title": cat.SECTIONS[control.section],
        "level": control.level,
        "scored": control.scored,
        "status": status,
        "evidence": [str(e)[:400] for e in verdict.evidence],
        "items": list(verdict.items),
        "remediation": rem._asdict(),
        "waiver": waiver_out,
    }


def summarize(results: list[dict[str, t.Any]]) -> dict[str, int]:
    counts = {s: 0 for s in ("pass", "fail", "manual", "not_applicable", "waived", "error")}
    for r in results:
        counts[r["status"]] += 1
    counts["total"] = len(results)
    return counts


def run(
    facts: Facts,
    ids: str = "1.6.0",
    sections: list[str] | None = None,
    controls: list[str] | None = None,
    level: int = 2,
    waivers: list[dict[str, t.Any]] | None = None,
    today: datetime.date | None = None,
) -> dict[str, t.Any]:
    """Judge the selected controls; every selected control gets exactly one result."""
    today = today or datetime.date.today()
    chosen = select(ids, sections or [], controls or [], level)
    waived = parse_waivers(waivers or [], ids)
    results = [result(c, judge(c, facts), ids, waived.get(c.id), today) for c in chosen]
    unused = [public_id(cat.BY_ID.get(w) or cat.EXTRA_V1_8_0, ids) for w in waived if w not in {c.id for c in chosen}]
    return {"results": results, "summary": summarize(results), "unused_waivers": unused}
