# SPDX-License-Identifier: GPL-3.0-or-later
"""The CIS report renderers on a realistic audit: JUnit validity, HTML escaping, order, waivers, fleet, gate."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import html.parser
import json
import pathlib
import re
import typing as t
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dockguard.hardening.plugins.plugin_utils import _cis_report as rep

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "audit_sample.json"
RANK = {s: i for i, s in enumerate(rep.STATUSES)}
HOSTILE = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>"


def sample() -> dict[str, t.Any]:
    data = json.loads(FIXTURE.read_text())
    return copy.deepcopy(data[0] if isinstance(data, list) else data)


def result_by_id(audit: dict[str, t.Any], cid: str) -> dict[str, t.Any]:
    return next(r for r in audit["results"] if r["id"] == cid)


def first_with(audit: dict[str, t.Any], status: str) -> dict[str, t.Any]:
    return next(r for r in audit["results"] if r["status"] == status)


def with_statuses(host: str, statuses: dict[str, str]) -> dict[str, t.Any]:
    """A copy of the sample on another host, with some controls' statuses changed (waivers dropped there)."""
    audit = sample()
    audit["host"] = host
    for r in audit["results"]:
        if r["id"] in statuses:
            r["status"] = statuses[r["id"]]
            r["waiver"] = None
    return audit


def set_waiver(r: dict[str, t.Any], expired: bool, status: str = "fail", expires: str | None = "2026-01-31") -> None:
    r["waiver"] = {"justification": "accepted by SEC-1", "expires": expires, "expired": expired, "status": status}
    r["status"] = status if expired else "waived"


# --- the fixture itself --------------------------------------------------------------------------


def test_fixture_is_consistent_and_covers_every_status() -> None:
    audit = sample()
    c = rep.counts(audit)
    assert c == audit["summary"]
    assert all(c[s] > 0 for s in rep.STATUSES), c
    assert any(rep.expired_waiver(r) for r in audit["results"]), "the sample needs an expired waiver"
    assert any(r["status"] == "waived" for r in audit["results"])
    assert any(r["items"] for r in audit["results"])
    slugs = [r["slug"] for r in audit["results"]]
    assert len(slugs) == len(set(slugs))


# --- input checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a.pop("host"), "has no 'host'"),
        (lambda a: a.update(results={}), "'results' must be a list, got dict"),
        (lambda a: a["results"][3].update(status="broken"), "results[3] (id 1.1.4): status 'broken' is not one of"),
        (lambda a: a["results"][0].pop("id"), "results[0] has no 'id'"),
        (lambda a: a["results"][1].update(waiver="yes"), "'waiver' must be null or a dict, got str"),
        (lambda a: a["results"].append("2.2"), "results[117] must be a dict, got str"),
    ],
)
def test_malformed_audits_are_refused_naming_the_problem(mutate: t.Callable[[t.Any], t.Any], message: str) -> None:
    audit = sample()
    mutate(audit)
    with pytest.raises(rep.ReportError) as err:
        rep.to_html(audit)
    assert message in str(err.value)


def test_not_an_audit_at_all() -> None:
    with pytest.raises(rep.ReportError, match="must be a dict"):
        rep.to_junit([sample(), "web-02"])
    with pytest.raises(rep.ReportError, match="expected an audit or a list of audits, got str"):
        rep.fleet_summary("web-01")


def test_registered_module_result_is_accepted() -> None:
    audit = sample()
    registered = {"changed": False, "audit": audit, "failed": False}
    assert rep.to_json(registered) == rep.to_json(audit)
    assert rep.gate([registered]) == rep.gate(audit)


# --- order ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "ordered"),
    [
        (["2.10", "2.9", "2.2", "10.1", "1.1.18", "1.1.2"], ["1.1.2", "1.1.18", "2.2", "2.9", "2.10", "10.1"]),
        (["5.1", "5.1.1", "5"], ["5", "5.1", "5.1.1"]),
        (["dg.2", "2.1", "dg.10"], ["2.1", "dg.2", "dg.10"]),
    ],
)
def test_ids_sort_numerically(ids: list[str], ordered: list[str]) -> None:
    assert sorted(ids, key=rep.id_key) == ordered


def test_worst_first_order_exactly() -> None:
    results = [
        {"id": i, "status": s}
        for i, s in (
            ("2.9", "pass"),
            ("2.10", "fail"),
            ("1.1", "waived"),
            ("3.1", "error"),
            ("2.2", "fail"),
            ("4.1", "manual"),
            ("1.2", "not_applicable"),
        )
    ]
    assert [r["id"] for r in rep.worst_first(results)] == ["2.2", "2.10", "3.1", "4.1", "1.1", "1.2", "2.9"]


def html_row_ids(page: str) -> list[str]:
    return re.findall(r'<tr class="[a-z_]+" id="c-([^"]+)"', page)


def test_html_table_is_worst_first_then_by_id() -> None:
    audit = sample()
    page = rep.to_html(audit)
    ids = html_row_ids(page)
    by_id = {r["id"]: r for r in audit["results"]}
    assert sorted(ids) == sorted(by_id), "every control has exactly one row"
    keys = [(RANK[by_id[i]["status"]], rep.id_key(i)) for i in ids]
    assert keys == sorted(keys)
    assert by_id[ids[0]]["status"] == "fail"
    assert by_id[ids[-1]]["status"] == "pass"


# --- JSON ----------------------------------------------------------------------------------------


def test_json_is_stable_and_lossless() -> None:
    audit = sample()
    text = rep.to_json(audit)
    assert json.loads(text) == audit
    shuffled = json.loads(json.dumps(audit), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert rep.to_json(shuffled) == text
    assert text.endswith("}\n")
    assert text.index('"benchmark"') < text.index('"host"') < text.index('"results"')


# --- JUnit ---------------------------------------------------------------------------------------


def parse_junit(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode())


def test_junit_counts_match_the_audit() -> None:
    audit = sample()
    root = parse_junit(rep.to_junit(audit))
    c = rep.counts(audit)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    for element in (root, suite):
        assert element.get("tests") == str(c["total"])
        assert element.get("failures") == str(c["fail"])
        assert element.get("errors") == str(c["error"])
        assert element.get("skipped") == str(c["manual"] + c["not_applicable"] + c["waived"])
        assert element.get("time") == f"{audit['duration']:.3f}"
    assert suite.get("name") == suite.get("hostname") == "web-01"
    assert suite.get("timestamp") == audit["started"].removesuffix("Z")
    cases = suite.findall("testcase")
    assert len(cases) == c["total"]
    assert len(suite.findall("testcase/failure")) == c["fail"]
    assert len(suite.findall("testcase/error")) == c["error"]
    assert len(suite.findall("testcase/skipped")) == c["manual"] + c["not_applicable"] + c["waived"]
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props["engine.version"] == audit["engine"]["version"]
    assert props["benchmark.version"] == "1.6.0"


def test_junit_testcase_names_and_verdicts() -> None:
    audit = sample()
    suite = parse_junit(rep.to_junit(audit)).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    icc = result_by_id(audit, "2.2")
    case = cases[f"2.2 {icc['slug']}"]
    assert case.get("classname") == "2 Docker daemon configuration"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == icc["evidence"][0]
    assert failure.text is not None
    for evidence in icc["evidence"]:
        assert evidence in failure.text
    assert icc["remediation"]["text"] in failure.text
    passed = next(c for c in suite.findall("testcase") if c.get("name", "").startswith("2.3 "))
    assert [child.tag for child in passed] == ["system-out"]
    errored = first_with(audit, "error")
    error = cases[f"{errored['id']} {errored['slug']}"].find("error")
    assert error is not None
    assert errored["evidence"][0] in (error.get("message") or "")


@pytest.mark.parametrize(("status", "why"), [("manual", "manual review needed"), ("not_applicable", "not applicable")])
def test_junit_skipped_says_why(status: str, why: str) -> None:
    audit = sample()
    target = first_with(audit, status)
    suite = parse_junit(rep.to_junit(audit)).find("testsuite")
    assert suite is not None
    case = next(c for c in suite.findall("testcase") if c.get("name") == f"{target['id']} {target['slug']}")
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == f"{why}: {target['evidence'][0]}"


def test_junit_waivers_never_dropped() -> None:
    audit = sample()
    suite = parse_junit(rep.to_junit(audit)).find("testsuite")
    assert suite is not None
    cases = {c.get("name", "").split()[0]: c for c in suite.findall("testcase")}
    for r in audit["results"]:
        if not r["waiver"]:
            continue
        case = cases[r["id"]]
        if r["waiver"]["expired"]:
            failure = case.find("failure")
            assert failure is not None, r["id"]
            assert failure.get("type") == "fail (waiver expired)"
            assert "Waiver EXPIRED" in (failure.text or "")
        else:
            skipped = case.find("skipped")
            assert skipped is not None
            message = skipped.get("message") or ""
            assert r["waiver"]["justification"] in message
            assert f"would be {rep.LABELS[r['waiver']['status']]}" in message


def test_junit_one_suite_per_host_with_totals() -> None:
    audits = [sample(), with_statuses("web-02", {"2.2": "pass", "1.1.1": "pass"})]
    root = parse_junit(rep.to_junit(audits))
    assert [s.get("name") for s in root.findall("testsuite")] == ["web-01", "web-02"]
    assert root.get("failures") == str(rep.counts(audits[0])["fail"] + rep.counts(audits[1])["fail"])
    assert root.get("tests") == str(2 * len(audits[0]["results"]))


def test_junit_survives_hostile_and_binary_evidence() -> None:
    audit = sample()
    icc = result_by_id(audit, "2.2")
    icc["evidence"] = [HOSTILE, "tty output \x1b[31mred\x1b[0m and NUL \x00 end", "]]> </failure>"]
    root = parse_junit(rep.to_junit(audit))
    failure = root.find("testsuite/testcase/failure[@message]")
    assert failure is not None
    text = next(f.text for f in root.iter("failure") if HOSTILE in (f.text or ""))
    assert text is not None
    assert "\\x1b[31mred\\x1b[0m and NUL \\x00 end" in text
    assert "]]> </failure>" in text


# --- HTML ----------------------------------------------------------------------------------------


class Collector(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def collect(page: str) -> Collector:
    parser = Collector()
    parser.feed(page)
    parser.close()
    return parser


def assert_inert(page: str) -> None:
    parsed = collect(page)
    assert [t for t, _attrs in parsed.tags].count("script") == 1
    assert parsed.scripts == [rep._JS]
    assert not [tag for tag, _a in parsed.tags if tag in ("img", "iframe", "object", "embed", "link", "base", "form")]
    handlers = [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on")]
    assert handlers == []
    csp = next(a["content"] for tag, a in parsed.tags if tag == "meta" and a.get("http-equiv"))
    digest = base64.b64encode(hashlib.sha256(parsed.scripts[0].encode()).digest()).decode()
    assert csp is not None
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp


def test_html_hostile_strings_come_out_inert() -> None:
    audit = sample()
    audit["host"] = "<b>evil</b>"
    icc = result_by_id(audit, "2.2")
    icc["evidence"] = [HOSTILE, "</td></tr></table><script>steal()</script>"]
    icc["title"] = 'it\'s "quoted" & <i>tagged</i>'
    icc["remediation"] = {"role": "x<script>", "variable": 'v"onload="x', "value": "<svg onload=alert(1)>", "text": "t"}
    five = result_by_id(audit, "5.5")
    five["items"] = [{"name": "<script>alert(2)</script>", "status": "fail", "detail": "' onmouseover='alert(3)"}]
    set_waiver(result_by_id(audit, "2.3"), expired=False)
    result_by_id(audit, "2.3")["waiver"]["justification"] = "<script>alert(4)</script>"
    page = rep.to_html(audit)
    assert_inert(page)
    assert html.escape(HOSTILE, quote=True) in page
    assert "&lt;script&gt;steal()&lt;/script&gt;" in page
    assert "&lt;b&gt;evil&lt;/b&gt;" in page
    assert "it&#x27;s &quot;quoted&quot; &amp; &lt;i&gt;tagged&lt;/i&gt;" in page
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page


def test_fleet_html_hostile_host_names_are_inert_and_links_stay_relative() -> None:
    evil = with_statuses('"><script>alert(1)</script>', {})
    page = rep.fleet_html([sample(), evil])
    assert_inert(page)
    hrefs = [a["href"] for tag, a in collect(page).tags if tag == "a"]
    assert hrefs
    assert all(h is not None and h.startswith("./") for h in hrefs), hrefs
    assert "./web-01.html" in hrefs
    assert "./___script_alert_1___script_.html" in hrefs


def test_html_is_self_contained() -> None:
    for page in (rep.to_html(sample()), rep.fleet_html([sample(), with_statuses("web-02", {})])):
        assert re.search(r"\b(src|srcset)=", page) is None
        assert "url(" not in page
        assert "@import" not in page
        assert re.search(r"https?://", page.split("<body>", maxsplit=1)[0]) is None
        hrefs = [a.get("href") for tag, a in collect(page).tags if tag == "a"]
        assert all(h and (h.startswith("#") or h.startswith("./")) for h in hrefs), hrefs


def test_html_header_counts_and_collapsible_groups() -> None:
    audit = sample()
    page = rep.to_html(audit)
    c = rep.counts(audit)
    for status in rep.STATUSES:
        assert f"{c[status]} {rep.LABELS[status]}</a>" in page
    assert f"{c['total']} controls" in page
    assert audit["engine"]["version"] in page
    assert audit["started"] in page
    opened = re.findall(r'<details class="group ([a-z_]+)" id="g-\1"( open)?>', page)
    assert dict(opened) == {"fail": " open", "error": " open", "manual": " open", "waived": " open"} | {
        "not_applicable": "",
        "pass": "",
    }


def row_html(page: str, cid: str) -> str:
    found = re.search(rf'<tr class="[a-z_]+" id="c-{re.escape(cid)}".*?</tr>', page, re.S)
    assert found, cid
    return found.group()


def test_html_shows_every_waiver_and_flags_expired_ones() -> None:
    audit = sample()
    page = rep.to_html(audit)
    waived = [r for r in audit["results"] if r["waiver"]]
    assert waived
    for r in waived:
        row = row_html(page, r["id"])
        assert html.escape(r["waiver"]["justification"]) in row
        if r["waiver"]["expired"]:
            assert 'class="fail"' in row
            assert "WAIVER EXPIRED" in row
            assert f"{r['id']} (expired {r['waiver']['expires']})" in page.split("</header>", maxsplit=1)[0]
        else:
            assert row.startswith('<tr class="waived"')
            would = r["waiver"]["status"]
            assert f'would be <span class="chip {would}">{rep.LABELS[would]}</span>' in row
            assert (f"until {r['waiver']['expires']}" if r["waiver"]["expires"] else "no expiry") in row


def test_html_evidence_items_and_remediation_in_the_row() -> None:
    audit = sample()
    page = rep.to_html(audit)
    for r in audit["results"]:
        row = row_html(page, r["id"])
        for evidence in r["evidence"]:
            assert html.escape(evidence) in row
        for item in r["items"]:
            assert html.escape(item["name"]) in row
        if r["remediation"].get("variable"):
            assert html.escape(r["remediation"]["variable"]) in row
        assert f"L{r['level']}" in row


@pytest.mark.parametrize(
    ("remediation", "shown", "absent"),
    [
        ({"role": "r.x", "variable": "daemon_icc", "value": False, "text": "t"}, "<code>daemon_icc: false</code>", ""),
        (
            {"role": "r.x", "variable": "v", "value": {"a": [1]}, "text": "t"},
            "<code>v: {&quot;a&quot;: [1]}</code>",
            "",
        ),
        (
            {"role": "r.x", "variable": "daemon_log_driver", "value": None, "text": "t"},
            "<code>daemon_log_driver</code>",
            "null",
        ),
        ({"role": None, "variable": None, "value": None, "text": "chmod 0644 f"}, "chmod 0644 f", "role"),
    ],
)
def test_html_remediation_setting(remediation: dict[str, t.Any], shown: str, absent: str) -> None:
    audit = sample()
    result_by_id(audit, "2.2")["remediation"] = remediation
    cell = row_html(rep.to_html(audit), "2.2").rsplit("<td>", 1)[1]
    assert shown in cell
    assert not absent or absent not in cell
    assert (remediation["role"] is not None) == (f"role <code>{remediation['role']}</code>" in cell)


def test_html_many_items_fold_but_stay_in_the_file() -> None:
    audit = sample()
    r = result_by_id(audit, "5.13")
    r["items"] = [{"name": f"c{n:02d}", "status": "pass" if n % 3 else "fail", "detail": "x"} for n in range(20)]
    row = row_html(rep.to_html(audit), "5.13")
    assert all(f"<b>c{n:02d}</b>" in row for n in range(20))
    assert '<details class="more"><summary>12 more</summary>' in row
    shown = row.split('<details class="more">')[0]
    assert shown.count('class="chip fail"') == 7, "failing items are listed first"


# --- fleet ---------------------------------------------------------------------------------------


def fleet() -> list[dict[str, t.Any]]:
    base = sample()
    failing = [r["id"] for r in base["results"] if r["status"] == "fail"]
    return [
        with_statuses("web-02", dict.fromkeys(failing[::2], "pass")),  # fewer failures
        base,
        with_statuses("db-01", {"5.7": "fail", "5.10": "fail", "5.31": "error"}),  # more
        with_statuses("build-03", dict.fromkeys(failing, "pass")),  # none (2.13's expired waiver gone)
    ]


def test_fleet_hosts_worst_first() -> None:
    summary = rep.fleet_summary(fleet())
    hosts = summary["hosts"]
    assert [h["host"] for h in hosts] == ["db-01", "web-01", "web-02", "build-03"]
    assert [h["failing"] for h in hosts] == sorted((h["failing"] for h in hosts), reverse=True)
    assert hosts[-1]["failing"] == 0
    assert hosts[0]["report"] == "db-01.html"
    assert summary["totals"]["fail"] == sum(h["counts"]["fail"] for h in hosts)


def test_fleet_controls_ordered_by_failing_hosts() -> None:
    audits = fleet()
    summary = rep.fleet_summary(audits)
    controls = summary["controls"]
    assert len(controls) == len(audits[0]["results"])
    failing = [len(c["failing_hosts"]) for c in controls]
    assert failing == sorted(failing, reverse=True)
    top = controls[0]
    assert len(top["failing_hosts"]) == 3
    assert "build-03" not in top["failing_hosts"]
    by_id = {c["id"]: c for c in controls}
    assert by_id["5.7"]["failing_hosts"] == ["db-01"]
    assert by_id["5.31"]["error_hosts"] == ["db-01"]
    assert sorted(by_id["2.13"]["expired_waiver_hosts"]) == ["db-01", "web-01"]
    assert sorted(by_id["2.13"]["failing_hosts"]) == ["db-01", "web-01"], "an expired waiver counts as failing"
    assert summary["matrix"]["build-03"][by_id["2.2"]["key"]] == "pass"
    assert summary["matrix"]["web-01"][by_id["2.2"]["key"]] == "fail"
    # ties: fewer hosts in error, then worse status, then id
    zero = [c for c in controls if not c["failing_hosts"]]
    assert zero[0]["id"] in {"5.25", "5.31"}  # controls in error come first among those failing nowhere
    assert [RANK[c["worst"]] for c in zero if not c["error_hosts"]] == sorted(
        RANK[c["worst"]] for c in zero if not c["error_hosts"]
    )


def test_fleet_html_matrix_cells_and_links() -> None:
    audits = fleet()
    page = rep.fleet_html(audits)
    assert_inert(page)
    cells = re.findall(r'<td class="cell ([a-z_]+)( exp)?"', page)
    assert len(cells) == len(audits) * len(audits[0]["results"])
    assert ("fail", " exp") in cells
    assert page.index(">db-01</a>") < page.index(">web-01</a>") < page.index(">build-03</a>")
    assert 'href="./web-01.html#c-2.2"' in page


def test_fleet_control_missing_on_a_host() -> None:
    partial = with_statuses("web-02", {})
    partial["results"] = [r for r in partial["results"] if r["section"] != "5"]
    summary = rep.fleet_summary([sample(), partial])
    five = next(c for c in summary["controls"] if c["id"] == "5.5")
    assert five["statuses"] == {"web-01": "fail"}
    assert 'title="not audited on this host"' in rep.fleet_html([sample(), partial])


def test_fleet_refuses_hosts_that_share_a_report_file() -> None:
    with pytest.raises(rep.ReportError, match=r"would share the report file web-01\.html"):
        rep.fleet_summary([sample(), sample()])
    with pytest.raises(rep.ReportError, match="'web/01' and 'web:01'"):
        rep.fleet_summary([with_statuses("web/01", {}), with_statuses("web:01", {})])


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("web-01", "web-01.html"),
        ("db01.example.net", "db01.example.net.html"),
        ("../../etc/cron.d/x", "_.._etc_cron.d_x.html"),
        ("..", "_.html"),
        ("fe80::1", "fe80__1.html"),
        ("", "_.html"),
    ],
)
def test_report_filename(host: str, name: str) -> None:
    assert rep.report_filename(host) == name
    assert "/" not in rep.report_filename(host)


# --- gate ----------------------------------------------------------------------------------------


def test_gate_levels_waivers_and_errors() -> None:
    audit = sample()
    fails = {(r["id"], r["level"]) for r in audit["results"] if r["status"] == "fail"}
    errors = {(r["id"], r["level"]) for r in audit["results"] if r["status"] == "error"}
    level1 = rep.gate(audit, 1)
    assert {cid for _host, cid, _title in level1} == {cid for cid, lvl in fails | errors if lvl <= 1}
    level2 = rep.gate(audit, 2)
    assert {cid for _host, cid, _title in level2} == {cid for cid, _level in fails | errors}
    assert len(level2) > len(level1) > 0
    assert {cid for _host, cid, _title in rep.gate(audit, 2, errors=False)} == {cid for cid, _level in fails}
    assert ("web-01", "2.2", result_by_id(audit, "2.2")["title"]) in level1
    expired = [r["id"] for r in audit["results"] if rep.expired_waiver(r)]
    waived = [r["id"] for r in audit["results"] if r["status"] == "waived"]
    assert expired and waived
    assert all(cid in {c for _host, c, _title in level2} for cid in expired)
    assert not any(cid in {c for _host, c, _title in level2} for cid in waived)


def test_gate_waiver_round_trip() -> None:
    audit = sample()
    icc = result_by_id(audit, "2.2")
    set_waiver(icc, expired=False)
    assert "2.2" not in [cid for _host, cid, _title in rep.gate(audit, 1)]
    set_waiver(icc, expired=True)
    assert "2.2" in [cid for _host, cid, _title in rep.gate(audit, 1)]


def test_gate_over_a_fleet_and_fail_closed_levels() -> None:
    audits = fleet()
    found = rep.gate(audits, 1)
    assert {h for h, _id, _title in found} == {"db-01", "web-01", "web-02", "build-03"}  # build-03: 5.25 in error
    assert {cid for h, cid, _title in found if h == "build-03"} == {"5.25"}
    assert rep.gate(audits[3], 2, errors=False) == []
    audit = sample()
    result_by_id(audit, "2.12")["level"] = None
    assert "2.12" in [cid for _host, cid, _title in rep.gate(audit, 1)]


@pytest.mark.parametrize("level", [0, -1, "1", 1.5, True])
def test_gate_refuses_bad_levels(level: object) -> None:
    with pytest.raises(rep.ReportError, match="level must be a positive integer"):
        rep.gate(sample(), level)  # type: ignore[arg-type]


# --- any text at all -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_evidence_renders_valid_junit_and_inert_html(text: str) -> None:
    audit = sample()
    audit["results"] = [result_by_id(audit, "2.2"), result_by_id(audit, "2.3")]
    audit["results"][0]["evidence"] = [text]
    audit["results"][0]["items"] = [{"name": text, "status": "fail", "detail": text}]
    root = parse_junit(rep.to_junit(audit))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == rep.clean(text)
    page = rep.to_html(audit)
    assert_inert(page)
    row = row_html(page, "2.2")
    evidence = re.search(r'<ul class="ev"><li>(.*?)</li></ul>', row, re.S)
    assert evidence is not None
    assert html.unescape(evidence.group(1)) == rep.clean(text)
