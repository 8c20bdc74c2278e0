# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this plugin_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""What changed on a host between two CIS audits: drift.

`drift(previous, current)` compares two `audit` values of dockguard.hardening.cis_audit for
the same host. Controls are matched by slug (stable across the v1.6.0 and v1.8.0 numberings),
by id when a result has no slug. It reports:

- new_failures: controls that fail or err now and did not before (or were not judged before);
- fixed: controls that failed or erred before and now pass or are not applicable;
- expired_waivers: controls whose waiver was in force before and has expired since;
- new_items: failing controls that name containers (or other items) that they did not name
  before, with the new names: a container that appeared in a failing control;
- changed: every other status change, for the record.

A host audited for the first time has `first_audit` true and every failure counts as new, so
a gate on new failures only is honest on the first run too. Pure and stdlib only.
"""

from __future__ import annotations

import typing as t

from ansible_collections.dockguard.hardening.plugins.plugin_utils._cis_report import (
    Audit,
    ReportError,
    Result,
    check_audit,
    expired_waiver,
    id_key,
)

BAD = frozenset(("fail", "error"))
GOOD = frozenset(("pass", "not_applicable"))


def _key(result: Result) -> str:
    return str(result.get("slug") or result["id"])


def _failing_items(result: Result) -> set[str]:
    """Names of the items (containers, files, users) a result judges failing or in error."""
    names = set()
    for item in result.get("items") or []:
        if isinstance(item, t.Mapping) and item.get("status") in BAD:
            name = item.get("name") or item.get("id")
            if name:
                names.add(str(name))
    return names


def _entry(result: Result, **extra: t.Any) -> dict[str, t.Any]:
    return {"id": result["id"], "title": str(result.get("title", "")), "level": result.get("level"), **extra}


def drift(previous: object, current: object) -> dict[str, t.Any]:
    """Changes from `previous` (None or empty: first audit) to `current`, worst news first."""
    now = check_audit(current, "current audit")
    before: Audit | None = None
    if previous not in (None, "", {}):
        before = check_audit(previous, "previous audit")
        if before["host"] != now["host"]:
            raise ReportError(f"previous audit is of host {before['host']!r}, not {now['host']!r}")
    old = {_key(r): r for r in before["results"]} if before else {}
    out: dict[str, list[dict[str, t.Any]]] = {
        "new_failures": [],
        "fixed": [],
        "expired_waivers": [],
        "new_items": [],
        "changed": [],
    }
    for result in sorted(now["results"], key=lambda r: id_key(r["id"])):
        status = result["status"]
        prior = old.get(_key(result))
        prior_status = prior["status"] if prior else None
        if status in BAD and prior_status not in BAD:
            out["new_failures"].append(_entry(result, status=status, was=prior_status))
        elif status in GOOD and prior_status in BAD:
            out["fixed"].append(_entry(result, status=status, was=prior_status))
        elif prior_status is not None and status != prior_status:
            out["changed"].append(_entry(result, status=status, was=prior_status))
        if expired_waiver(result) and prior is not None and not expired_waiver(prior) and prior.get("waiver"):
            out["expired_waivers"].append(_entry(result, expires=(result.get("waiver") or {}).get("expires")))
        if status in BAD and prior_status in BAD:
            appeared = sorted(_failing_items(result) - _failing_items(prior or {}))
            if appeared:
                out["new_items"].append(_entry(result, items=appeared))
    return {
        "host": now["host"],
        "first_audit": before is None,
        "previous_started": before.get("started") if before else None,
        "started": now.get("started"),
        **out,
        "counts": {name: len(found) for name, found in out.items()},
    }


def news(report: t.Mapping[str, t.Any]) -> bool:
    """Whether a drift report has anything a person must look at (new failures, expiries, new items)."""
    return bool(report.get("new_failures") or report.get("expired_waivers") or report.get("new_items"))
