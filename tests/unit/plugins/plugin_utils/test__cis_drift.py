# SPDX-License-Identifier: GPL-3.0-or-later
"""Drift between two audits, built from a real report (docs/examples/audit, a Debian 13 host)."""

from __future__ import annotations

import copy
import json
import pathlib
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.filter import cis_report as filters
from ansible_collections.dockguard.hardening.plugins.plugin_utils import _cis_drift, _cis_report

EXAMPLES = pathlib.Path(__file__).resolve().parents[4] / "docs" / "examples" / "audit"


@pytest.fixture
def stock() -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", json.loads((EXAMPLES / "dg-audit-stock.json").read_text()))


def result(audit: dict[str, t.Any], cid: str) -> dict[str, t.Any]:
    return next(r for r in audit["results"] if r["id"] == cid)


def first_with_status(audit: dict[str, t.Any], status: str) -> dict[str, t.Any]:
    return next(r for r in audit["results"] if r["status"] == status)


def test_same_audit_twice_is_no_drift(stock: dict[str, t.Any]) -> None:
    report = _cis_drift.drift(copy.deepcopy(stock), stock)
    assert not report["first_audit"]
    assert report["counts"] == dict.fromkeys(("new_failures", "fixed", "expired_waivers", "new_items", "changed"), 0)
    assert not _cis_drift.news(report)


def test_first_audit_counts_every_failure_as_new(stock: dict[str, t.Any]) -> None:
    report = _cis_drift.drift(None, stock)
    failing = sorted((r["id"] for r in stock["results"] if r["status"] in ("fail", "error")), key=_cis_report.id_key)
    assert report["first_audit"]
    assert [e["id"] for e in report["new_failures"]] == failing
    assert failing, "the example host must fail something for this test to mean anything"


def test_new_failure_fixed_and_other_changes(stock: dict[str, t.Any]) -> None:
    before = copy.deepcopy(stock)
    passing = first_with_status(stock, "pass")
    failing = first_with_status(stock, "fail")
    manual = first_with_status(stock, "manual")
    result(before, passing["id"])["status"] = "fail"  # failed before, passes now: fixed
    result(before, failing["id"])["status"] = "pass"  # passed before, fails now: new
    result(before, manual["id"])["status"] = "not_applicable"  # neither: changed
    report = _cis_drift.drift(before, stock)
    assert [e["id"] for e in report["new_failures"]] == [failing["id"]]
    assert report["new_failures"][0]["was"] == "pass"
    assert [e["id"] for e in report["fixed"]] == [passing["id"]]
    assert [(e["id"], e["was"], e["status"]) for e in report["changed"]] == [(manual["id"], "not_applicable", "manual")]
    assert _cis_drift.news(report)


def test_control_missing_before_and_failing_now_is_new(stock: dict[str, t.Any]) -> None:
    failing = first_with_status(stock, "fail")
    before = copy.deepcopy(stock)
    before["results"] = [r for r in before["results"] if r["id"] != failing["id"]]
    report = _cis_drift.drift(before, stock)
    assert [(e["id"], e["was"]) for e in report["new_failures"]] == [(failing["id"], None)]


def test_matched_by_slug_across_numberings(stock: dict[str, t.Any]) -> None:
    before = copy.deepcopy(stock)
    for r in before["results"]:
        r["id"] = "x" + r["id"]  # other ids, same slugs: still the same controls
    assert _cis_drift.drift(before, stock)["counts"]["new_failures"] == 0


def test_container_appearing_in_a_failing_control(stock: dict[str, t.Any]) -> None:
    privileged = result(stock, "5.4")
    assert privileged["status"] == "fail"
    before = copy.deepcopy(stock)
    result(before, "5.4")["items"] = [i for i in privileged["items"] if i["name"] != "privileged"]
    report = _cis_drift.drift(before, stock)
    assert [(e["id"], e["items"]) for e in report["new_items"]] == [("5.4", ["privileged"])]
    assert report["counts"]["new_failures"] == 0


def test_waiver_expired_since(stock: dict[str, t.Any]) -> None:
    now = copy.deepcopy(stock)
    before = copy.deepcopy(stock)
    target = first_with_status(now, "fail")
    result(before, target["id"]).update(
        status="waived", waiver={"justification": "accepted", "expires": "2026-01-01", "expired": False}
    )
    target["waiver"] = {"justification": "accepted", "expires": "2026-01-01", "expired": True}
    report = _cis_drift.drift(before, now)
    assert [e["id"] for e in report["expired_waivers"]] == [target["id"]]
    assert [e["id"] for e in report["new_failures"]] == [target["id"]]  # waived before: new failure now


def test_other_host_refused(stock: dict[str, t.Any]) -> None:
    other = copy.deepcopy(stock)
    other["host"] = "elsewhere"
    with pytest.raises(_cis_report.ReportError, match="elsewhere"):
        _cis_drift.drift(other, stock)


def test_gate_new_only(stock: dict[str, t.Any]) -> None:
    before = copy.deepcopy(stock)
    failing = first_with_status(stock, "fail")
    result(before, failing["id"])["status"] = "pass"
    audit = dict(stock, drift=_cis_drift.drift(before, stock))
    everything = _cis_report.gate(audit, 2)
    new = _cis_report.gate(audit, 2, new_only=True)
    assert [cid for _unused, cid, _unused2 in new] == [failing["id"]]
    assert len(everything) > len(new)
    with pytest.raises(_cis_report.ReportError, match="drift"):
        _cis_report.gate(stock, 2, new_only=True)


def test_filters_and_fleet_html_show_drift_first(stock: dict[str, t.Any]) -> None:
    before = copy.deepcopy(stock)
    failing = first_with_status(stock, "fail")
    result(before, failing["id"])["status"] = "pass"
    audit = dict(stock, drift=filters.cis_drift(stock, before))
    page = filters.cis_fleet_html([audit])
    assert page.index("Since the last audit") < page.index("Hosts, worst first")
    first_part = page.split("Hosts, worst first", maxsplit=1)[0]
    assert f"{failing['id']} {failing['title']}" in first_part.replace("&#x27;", "'")
    summary = filters.cis_fleet_summary([audit])
    assert [e["id"] for e in summary["hosts"][0]["drift"]["new_failures"]] == [failing["id"]]
    assert filters.cis_gate([audit], 2, True, True) == [[stock["host"], failing["id"], failing["title"]]]
