# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this plugin_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Reports of a CIS audit: JSON, JUnit XML, a self-contained HTML page per host, a fleet matrix and a gate.

Input is the `audit` value that dockguard.hardening.cis_audit returns (see docs/reports.md);
a registered module result holding it under `audit` is accepted too. Everything here is pure
and stdlib only: the filter plugins in plugins/filter/cis_report.py call it on the controller
(it lives in plugin_utils: it is never shipped to a managed host).

Order everywhere is worst first: fail, error, manual, waived, not_applicable, pass, then by
control id in numeric order (2.9 before 2.10). A waiver is never dropped: a waived control
shows the verdict it would otherwise have, and an expired waiver leaves the control failing
and is flagged as expired.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import typing as t
import xml.etree.ElementTree as ET
from urllib.parse import quote

STATUSES = ("fail", "error", "manual", "waived", "not_applicable", "pass")
LABELS = {
    "fail": "FAIL",
    "error": "ERROR",
    "manual": "MANUAL",
    "waived": "WAIVED",
    "not_applicable": "N/A",
    "pass": "PASS",
}
GROUP_TITLES = {
    "fail": "Failed: fix these",
    "error": "Errors: the audit could not judge these",
    "manual": "Manual: a person has to review these",
    "waived": "Waived: accepted risks, each with its justification",
    "not_applicable": "Not applicable on this host",
    "pass": "Passed",
}
_RANK = {status: rank for rank, status in enumerate(STATUSES)}
# characters XML 1.0 cannot carry at all (terminal escapes, NUL in captured output, ...)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Audit = t.Mapping[str, t.Any]
Result = t.Mapping[str, t.Any]


class ReportError(ValueError):
    """An audit that does not have the shape cis_audit returns."""


# --- input ---------------------------------------------------------------------------------------


def _unwrap(obj: object) -> object:
    """A registered cis_audit result carries the audit under `audit`."""
    if isinstance(obj, t.Mapping) and "results" not in obj and isinstance(obj.get("audit"), t.Mapping):
        return obj["audit"]
    return obj


def check_audit(obj: object, where: str = "audit") -> Audit:
    """The audit itself, or ReportError naming the first thing that is not as cis_audit returns it."""
    audit = _unwrap(obj)
    if not isinstance(audit, t.Mapping):
        raise ReportError(f"{where} must be a dict (the 'audit' value of cis_audit), got {type(audit).__name__}")
    host = audit.get("host")
    if not isinstance(host, str) or not host:
        raise ReportError(f"{where} has no 'host' (a non-empty string); keys present: {sorted(audit)}")
    results = audit.get("results")
    if not isinstance(results, list):
        raise ReportError(f"{where} for host {host}: 'results' must be a list, got {type(results).__name__}")
    for index, result in enumerate(results):
        _check_result(result, f"{where} for host {host}: results[{index}]")
    return audit


def _check_result(result: object, where: str) -> None:
    if not isinstance(result, t.Mapping):
        raise ReportError(f"{where} must be a dict, got {type(result).__name__}")
    cid = result.get("id")
    if not isinstance(cid, str) or not cid:
        raise ReportError(f"{where} has no 'id' (a string such as '2.2')")
    if result.get("status") not in _RANK:
        raise ReportError(f"{where} (id {cid}): status {result.get('status')!r} is not one of {', '.join(STATUSES)}")
    waiver = result.get("waiver")
    if waiver is not None and not isinstance(waiver, t.Mapping):
        raise ReportError(f"{where} (id {cid}): 'waiver' must be null or a dict, got {type(waiver).__name__}")


def as_audits(obj: object) -> list[Audit]:
    """One audit or a list of them (or of registered results), checked."""
    obj = _unwrap(obj)
    if isinstance(obj, t.Mapping):
        return [check_audit(obj)]
    if not isinstance(obj, (list, tuple)):
        raise ReportError(f"expected an audit or a list of audits, got {type(obj).__name__}")
    return [check_audit(item, f"audit #{index}") for index, item in enumerate(obj)]


# --- small helpers -------------------------------------------------------------------------------


def id_key(cid: str) -> tuple[tuple[int, int | str], ...]:
    """Numeric order of dotted ids: 1.1.9 < 1.1.10 < 2.2."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in str(cid).split("."))


def worst_first(results: t.Iterable[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (_RANK[r["status"]], id_key(r["id"])))


def counts(audit: Audit) -> dict[str, int]:
    """Status counts computed from the results (never trusted from `summary`)."""
    out = dict.fromkeys(STATUSES, 0)
    for result in audit["results"]:
        out[result["status"]] += 1
    out["total"] = len(audit["results"])
    return out


def expired_waiver(result: Result) -> bool:
    waiver = result.get("waiver")
    return bool(waiver and waiver.get("expired"))


def report_filename(host: str) -> str:
    """File name of a host's HTML report: `<host>.html`, with characters unsafe in a path replaced."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(host)).lstrip(".")
    return f"{name or '_'}.html"


def clean(value: object) -> str:
    """Text with characters that XML cannot carry shown as \\xNN instead of breaking the document."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _value(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if not isinstance(value, str) else value


def waiver_text(result: Result) -> str:
    """One line that says what a waiver does to this control ('' without a waiver)."""
    waiver = result.get("waiver")
    if not waiver:
        return ""
    would = LABELS.get(str(waiver.get("status")), str(waiver.get("status") or "?"))
    why = waiver.get("justification") or "(no justification given)"
    expires = waiver.get("expires")
    if waiver.get("expired"):
        return f"Waiver EXPIRED on {expires or '?'}: verdict stands as {LABELS[result['status']]}. Was: {why}"
    until = f"until {expires}" if expires else "no expiry"
    if result["status"] == "waived":
        return f"Waived ({until}); would be {would}. {why}"
    return f"Waiver on record ({until}) but the control is {LABELS[result['status']]}. {why}"


def remediation_text(result: Result) -> str:
    rem = result.get("remediation") or {}
    parts = [str(rem.get("text") or "")]
    setting = _setting(rem)
    if rem.get("role"):
        parts.append(f"role {rem['role']}{' ' + setting if setting else ''}")
    elif setting:
        parts.append(setting)
    return " | ".join(p for p in parts if p)


def _setting(rem: t.Mapping[str, t.Any]) -> str:
    """`variable: value`, or the variable alone when no value is given (null means 'see the text', not null)."""
    if not rem.get("variable"):
        return ""
    value = rem.get("value")
    return str(rem["variable"]) if value is None else f"{rem['variable']}: {_value(value)}"


def _evidence(result: Result) -> list[str]:
    return [str(e) for e in result.get("evidence") or []]


def _items(result: Result) -> list[t.Mapping[str, t.Any]]:
    items = [i for i in result.get("items") or [] if isinstance(i, t.Mapping)]
    return sorted(items, key=lambda i: _RANK.get(str(i.get("status")), len(STATUSES)))


# --- JSON ----------------------------------------------------------------------------------------


def to_json(audit: object) -> str:
    """The audit as stable JSON: sorted keys, two-space indent, UTF-8 text, trailing newline."""
    return json.dumps(check_audit(audit), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# --- JUnit XML -----------------------------------------------------------------------------------


def _details(result: Result) -> str:
    lines = [f"{result['id']} {result.get('title', '')}", f"Status: {LABELS[result['status']]}"]
    evidence = _evidence(result)
    if evidence:
        lines += ["Evidence:", *(f"  - {e}" for e in evidence)]
    items = _items(result)
    if items:
        lines += [
            "Items:",
            *(
                f"  - [{LABELS.get(str(i.get('status')), i.get('status'))}] {i.get('name')}: {i.get('detail', '')}"
                for i in items
            ),
        ]
    remediation = remediation_text(result)
    if remediation:
        lines.append(f"Remediation: {remediation}")
    waiver = waiver_text(result)
    if waiver:
        lines.append(waiver)
    return clean("\n".join(lines))


def _message(result: Result, prefix: str) -> str:
    evidence = _evidence(result)
    first = evidence[0] if evidence else result.get("title", "")
    return clean(f"{prefix}: {first}" if prefix else first)


def _testcase(result: Result) -> ET.Element:
    section = " ".join(str(p) for p in (result.get("section"), result.get("section_title")) if p)
    case = ET.Element(
        "testcase",
        classname=clean(section or "CIS"),
        name=clean(f"{result['id']} {result.get('slug') or result.get('title', '')}".strip()),
        time="0",
    )
    status = result["status"]
    details = _details(result)
    if status == "fail":
        kind = "fail (waiver expired)" if expired_waiver(result) else "fail"
        ET.SubElement(case, "failure", message=_message(result, ""), type=kind).text = details
    elif status == "error":
        ET.SubElement(case, "error", message=_message(result, "audit error"), type="error").text = details
    elif status == "manual":
        ET.SubElement(case, "skipped", message=_message(result, "manual review needed"))
    elif status == "not_applicable":
        ET.SubElement(case, "skipped", message=_message(result, "not applicable"))
    elif status == "waived":
        ET.SubElement(case, "skipped", message=clean(waiver_text(result) or "waived"))
    ET.SubElement(case, "system-out").text = details
    return case


def _suite_counts(audit: Audit) -> dict[str, str]:
    c = counts(audit)
    return {
        "tests": str(c["total"]),
        "failures": str(c["fail"]),
        "errors": str(c["error"]),
        "skipped": str(c["manual"] + c["not_applicable"] + c["waived"]),
        "time": f"{float(audit.get('duration') or 0):.3f}",
    }


def _testsuite(audit: Audit) -> ET.Element:
    bench = audit.get("benchmark") or {}
    engine = audit.get("engine") or {}
    attrs = {"name": clean(audit["host"]), "hostname": clean(audit["host"]), **_suite_counts(audit)}
    suite = ET.Element("testsuite", attrs)
    started = str(audit.get("started") or "")
    if started:
        suite.set("timestamp", clean(started.removesuffix("Z")))
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("benchmark", bench.get("name")),
        ("benchmark.version", bench.get("version")),
        ("benchmark.ids", bench.get("ids")),
        ("engine.version", engine.get("version")),
        ("engine.rootless", engine.get("rootless")),
        ("audit.level", (audit.get("options") or {}).get("level")),
        ("waivers.expired", sum(1 for r in audit["results"] if expired_waiver(r))),
    ):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=clean(_value(value)))
    suite.extend(_testcase(r) for r in sorted(audit["results"], key=lambda r: id_key(r["id"])))
    return suite


def to_junit(audits: object) -> str:
    """JUnit XML: <testsuites> with one <testsuite> per host and one <testcase> per control."""
    checked = as_audits(audits)
    suites = [_testsuite(a) for a in checked]
    bench = (checked[0].get("benchmark") or {}) if checked else {}
    root = ET.Element("testsuites", name=clean(f"{bench.get('name', 'CIS audit')} {bench.get('version', '')}".strip()))
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    root.set("time", f"{sum(float(s.get('time', '0')) for s in suites):.3f}")
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- HTML, shared --------------------------------------------------------------------------------


def esc(value: object) -> str:
    """Text for HTML element content and quoted attributes: <, >, &, ' and " escaped."""
    return html.escape(clean(value), quote=True)


_CSS = """
:root{--fail:#b3261e;--error:#6b2fa3;--manual:#9a6700;--waived:#1f5fbf;--not_applicable:#5f6368;--pass:#1e7b34;
--t-fail:#fdecea;--t-error:#f3e8fb;--t-manual:#fff6d6;--t-waived:#e6effc;--t-not_applicable:#f1f3f4;
--t-pass:#e7f4ea}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;margin:0;
background:#fff}
header{padding:18px 28px 12px;border-bottom:1px solid #d0d7de;background:#f6f8fa}
h1{font-size:24px;margin:0 0 4px}
h1 small{font-size:15px;font-weight:400;color:#57606a;margin-left:8px}
h2{font-size:17px;margin:22px 0 8px}
main{padding:4px 28px 28px}
.meta{display:flex;flex-wrap:wrap;gap:4px 22px;margin:6px 0 10px;color:#444c56}
.meta b{color:#1f2328}
.badges{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.badge{display:inline-block;border-radius:4px;padding:3px 9px;font-weight:700;font-size:13px;color:#fff;
text-decoration:none;white-space:nowrap;letter-spacing:.02em}
.badge.big{font-size:15px;padding:6px 12px}
.badge.zero{opacity:.35}
.badge.fail{background:var(--fail)}
.badge.error{background:var(--error)}
.badge.manual{background:var(--manual)}
.badge.waived{background:var(--waived)}
.badge.not_applicable{background:var(--not_applicable)}
.badge.pass{background:var(--pass)}
.badge.total{background:#fff;color:#1f2328;border:1px solid #8c959f}
.alert{margin:10px 0 0;padding:8px 12px;border:2px solid var(--fail);background:#fff4d6;border-radius:4px;
font-weight:600}
.expired{display:inline-block;margin-top:4px;padding:1px 6px;border:2px solid var(--fail);background:#fff4d6;
color:var(--fail);font-weight:700;font-size:12px;border-radius:3px}
table{border-collapse:collapse;width:100%;table-layout:fixed}
th,td{border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f6f8fa;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#57606a}
tr.fail td{background:var(--t-fail)}
tr.error td{background:var(--t-error)}
tr.manual td{background:var(--t-manual)}
tr.waived td{background:var(--t-waived)}
tr.not_applicable td{background:var(--t-not_applicable)}
tr.pass td{background:var(--t-pass)}
td.st{border-left:6px solid var(--c)}
tr.fail{--c:var(--fail)}
tr.error{--c:var(--error)}
tr.manual{--c:var(--manual)}
tr.waived{--c:var(--waived)}
tr.not_applicable{--c:var(--not_applicable)}
tr.pass{--c:var(--pass)}
td.id{white-space:nowrap;font-weight:700;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}
.sec{display:block;color:#57606a;font-size:12px;margin-top:2px}
ul{margin:0;padding-left:16px}
li{margin:1px 0}
.ev li,.items li{white-space:pre-wrap}
.items{list-style:none;padding:0;margin-top:4px;font-size:13px}
.chip{display:inline-block;min-width:44px;text-align:center;border-radius:3px;padding:0 4px;margin-right:4px;
font-size:11px;font-weight:700;color:#fff}
.chip.fail{background:var(--fail)}
.chip.error{background:var(--error)}
.chip.manual{background:var(--manual)}
.chip.waived{background:var(--waived)}
.chip.not_applicable{background:var(--not_applicable)}
.chip.pass{background:var(--pass)}
.waiver{margin-top:6px;padding:4px 6px;border-left:3px solid var(--waived);background:#fff;font-size:12px;
white-space:pre-wrap}
.waiver.was-expired{border-left-color:var(--fail)}
.waiver .why{margin-top:3px;color:#1f2328}.waiver .chip{margin:0 0 0 2px}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;background:#eef1f4;padding:0 3px;
border-radius:3px}
details.group{margin:14px 0;border:1px solid #d0d7de;border-radius:6px}
details.group>summary{cursor:pointer;padding:8px 12px;font-size:16px;font-weight:600;background:#f6f8fa;
border-radius:6px}
details.group[open]>summary{border-bottom:1px solid #d0d7de;border-radius:6px 6px 0 0}
details.group>table{border:0}
details.more>summary{cursor:pointer;color:#0969da;font-size:12px}
.sections td,.sections th{text-align:center}
.sections td:first-child,.sections th:first-child{text-align:left}
.sections td.n{font-weight:700}
.sections td.z{color:#afb8c1}
#filter{margin:12px 0 0;padding:6px 10px;width:340px;font-size:14px;border:1px solid #8c959f;border-radius:4px}
footer{padding:10px 28px;color:#57606a;font-size:12px;border-top:1px solid #d0d7de}
.matrix{table-layout:auto;width:auto}
.matrix td{vertical-align:middle;font-size:13px}
.matrix th.num{min-width:76px;overflow-wrap:normal}
.matrix td.cell{text-align:center;padding:3px 4px;font-size:11px;font-weight:700;min-width:46px}
.matrix td.cell a{color:inherit;text-decoration:none;display:block}
.matrix td.cell.fail{background:var(--fail);color:#fff}
.matrix td.cell.error{background:var(--error);color:#fff}
.matrix td.cell.manual{background:#f5d77a;color:#3d2c00}
.matrix td.cell.waived{background:#b9d0f5;color:#0b2e66}
.matrix td.cell.not_applicable{background:#e4e6e8;color:#5f6368}
.matrix td.cell.pass{background:#c9e7d0;color:#124d21}
.matrix td.cell.missing{background:#fff;color:#8c959f}
.matrix td.cell.exp{outline:3px solid #f0b400;outline-offset:-3px}
.matrix th.host{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;text-transform:none;
font-size:12px;letter-spacing:0;padding:6px 3px}
.matrix th.host a{color:#0969da}
.matrix td.ctl{min-width:360px;max-width:520px}
.matrix td.num{text-align:center;font-weight:700}
.legend{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
@page{size:A4 landscape;margin:10mm}
@media print{header{background:#fff}
details::details-content{content-visibility:visible;display:contents}
details.group>summary{background:#fff}
#filter{display:none}
tr{break-inside:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font-size:11px}}
"""

# Optional: a text filter and all groups opened before printing. The page reads fully without it.
_JS = (
    "(function(){var f=document.getElementById('filter');if(f){f.hidden=false;f.addEventListener('input',function(){"
    "var q=f.value.toLowerCase();document.querySelectorAll('tr[data-text]').forEach(function(r){"
    "r.style.display=(!q||r.getAttribute('data-text').indexOf(q)>=0)?'':'none';});"
    "if(q){document.querySelectorAll('details.group').forEach(function(d){d.open=true;});}});}"
    "window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){"
    "d.open=true;});});})();"
)
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
# Defence in depth behind the escaping: no script runs but ours, nothing is loaded from anywhere.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_JS_HASH}'; base-uri 'none'; form-action 'none'"
)


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{esc(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            *body,
            f"<script>{_JS}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _badge(status: str, text: str, extra: str = "", href: str = "") -> str:
    tag = f'a href="{esc(href)}"' if href else "span"
    return f'<{tag} class="badge {status}{extra}">{esc(text)}</{tag.split()[0]}>'


def _legend() -> str:
    return '<div class="legend">' + "".join(_badge(s, LABELS[s]) for s in STATUSES) + "</div>"


# --- HTML, one host ------------------------------------------------------------------------------


def _engine_text(engine: t.Mapping[str, t.Any]) -> str:
    mode = "rootless" if engine.get("rootless") else "rootful"
    user = f" as {engine['user']}" if engine.get("user") else ""
    api = "" if engine.get("api", True) else ", Engine API not reachable"
    return f"Docker Engine {engine.get('version') or '?'} ({mode}{user}{api})"


def _scope_text(options: t.Mapping[str, t.Any]) -> str:
    parts = [f"level ≤ {options.get('level', '?')}"]
    if options.get("sections"):
        parts.append("sections " + ", ".join(str(s) for s in options["sections"]))
    if options.get("controls"):
        parts.append("controls " + ", ".join(str(c) for c in options["controls"]))
    return "; ".join(parts)


def _host_header(audit: Audit, c: dict[str, int]) -> list[str]:
    bench = audit.get("benchmark") or {}
    bench_text = f"{bench.get('name', 'CIS Docker Benchmark')} v{bench.get('version', '?')}"
    meta = [
        ("Engine", _engine_text(audit.get("engine") or {})),
        ("Started", str(audit.get("started") or "?")),
        ("Duration", f"{float(audit.get('duration') or 0):.2f} s"),
        ("Scope", _scope_text(audit.get("options") or {})),
        ("Control ids", f"CIS v{bench.get('ids') or bench.get('version', '?')} numbering"),
    ]
    out = [
        "<header>",
        f"<h1>{esc(audit['host'])}<small>{esc(bench_text)} audit</small></h1>",
        '<div class="meta">' + "".join(f"<span>{esc(k)}: <b>{esc(v)}</b></span>" for k, v in meta) + "</div>",
        '<div class="badges">',
        *(
            _badge(s, f"{c[s]} {LABELS[s]}", " big" + (" zero" if not c[s] else ""), f"#g-{s}" if c[s] else "")
            for s in STATUSES
        ),
        _badge("total", f"{c['total']} controls", " big"),
        "</div>",
    ]
    expired = [r for r in audit["results"] if expired_waiver(r)]
    if expired:
        ids = ", ".join(f"{r['id']} (expired {(r.get('waiver') or {}).get('expires') or '?'})" for r in expired)
        out.append(f'<p class="alert">⚠ {len(expired)} expired waiver(s), counted as findings again: {esc(ids)}</p>')
    out += ['<input id="filter" type="search" placeholder="Filter rows: id, title, evidence, container…" hidden>']
    out.append("</header>")
    return out


def _section_table(audit: Audit) -> list[str]:
    sections: dict[str, dict[str, t.Any]] = {}
    for r in audit["results"]:
        key = str(r.get("section") or r["id"].split(".")[0])
        entry = sections.setdefault(key, {"title": r.get("section_title") or "", **dict.fromkeys(STATUSES, 0)})
        entry[r["status"]] += 1
    head = "".join(f'<th><span class="chip {s}">{LABELS[s]}</span></th>' for s in STATUSES)
    rows = []
    for key in sorted(sections, key=id_key):
        entry = sections[key]
        cells = "".join(f'<td class="{"n" if entry[s] else "z"}">{entry[s]}</td>' for s in STATUSES)
        rows.append(f"<tr><td>{esc(key)} {esc(entry['title'])}</td>{cells}</tr>")
    return [
        "<h2>By CIS section</h2>",
        '<table class="sections"><colgroup><col style="width:34%"></colgroup>',
        f"<thead><tr><th>Section</th>{head}</tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]


def _items_html(result: Result) -> str:
    items = _items(result)
    if not items:
        return ""

    def li(item: t.Mapping[str, t.Any]) -> str:
        status = str(item.get("status"))
        css = status if status in _RANK else "manual"
        chip = f'<span class="chip {css}">{esc(LABELS.get(status, status))}</span>'
        return f"<li>{chip}<b>{esc(item.get('name', ''))}</b> {esc(item.get('detail', ''))}</li>"

    shown, rest = items[:8], items[8:]
    out = '<ul class="items">' + "".join(li(i) for i in shown) + "</ul>"
    if rest:
        out += (
            f'<details class="more"><summary>{len(rest)} more</summary>'
            f'<ul class="items">{"".join(li(i) for i in rest)}</ul></details>'
        )
    return out


def _remediation_html(result: Result) -> str:
    rem = result.get("remediation") or {}
    out = esc(rem.get("text") or "")
    if rem.get("role"):
        out += f"<div>role <code>{esc(rem['role'])}</code></div>"
    if rem.get("variable"):
        out += f"<div><code>{esc(_setting(rem))}</code></div>"
    return out


def _waiver_html(result: Result, waiver: t.Mapping[str, t.Any]) -> str:
    would = str(waiver.get("status") or "")
    chip = f'<span class="chip {would if would in _RANK else "manual"}">{esc(LABELS.get(would, would or "?"))}</span>'
    expires = waiver.get("expires")
    if waiver.get("expired"):
        head = f'<span class="expired">WAIVER EXPIRED</span><div><b>expired {esc(expires or "?")}</b></div>'
    elif result["status"] == "waived":
        head = f"<div>would be {chip}</div><div><b>{esc(f'until {expires}' if expires else 'no expiry')}</b></div>"
    else:
        head = f"<div>waiver on record, not needed</div><div><b>{esc(expires or 'no expiry')}</b></div>"
    cls = "waiver was-expired" if waiver.get("expired") else "waiver"
    why = waiver.get("justification") or "(no justification given)"
    return f'<div class="{cls}">{head}<div class="why">{esc(why)}</div></div>'


def _status_html(result: Result) -> str:
    status = result["status"]
    out = _badge(status, LABELS[status])
    waiver = result.get("waiver")
    if waiver:
        out += _waiver_html(result, waiver)
    return out


def _row(result: Result) -> str:
    status = result["status"]
    evidence = "".join(f"<li>{esc(e)}</li>" for e in _evidence(result))
    section = " ".join(str(p) for p in (result.get("section"), result.get("section_title")) if p)
    scored = "" if result.get("scored", True) else " · not scored"
    text = " ".join([result["id"], str(result.get("title", "")), *_evidence(result), waiver_text(result)])
    text += " " + " ".join(f"{i.get('name', '')} {i.get('detail', '')}" for i in _items(result))
    return (
        f'<tr class="{status}" id="c-{esc(result["id"])}" data-text="{esc(text.lower())}">'
        f'<td class="st">{_status_html(result)}</td>'
        f'<td class="id">{esc(result["id"])}</td>'
        f'<td>{esc(result.get("title", ""))}<span class="sec">{esc(section)}{scored}'
        f"{' · ' + esc(result['slug']) if result.get('slug') else ''}</span></td>"
        f'<td class="lvl">L{esc(result.get("level", "?"))}</td>'
        f'<td><ul class="ev">{evidence}</ul>{_items_html(result)}</td>'
        f"<td>{_remediation_html(result)}</td>"
        "</tr>"
    )


_COLS = (
    '<colgroup><col style="width:14%"><col style="width:6%"><col style="width:24%"><col style="width:4%">'
    '<col><col style="width:22%"></colgroup>'
    "<thead><tr><th>Status / waiver</th><th>Id</th><th>Control</th><th>Lvl</th><th>Evidence and items</th>"
    "<th>Remediation</th></tr></thead>"
)


def to_html(audit: object) -> str:
    """One self-contained HTML page for one host: inline CSS, no external assets, worst first."""
    checked = check_audit(audit)
    c = counts(checked)
    bench = checked.get("benchmark") or {}
    body = _host_header(checked, c)
    body.append("<main>")
    body += _section_table(checked)
    body.append("<h2>Controls, worst first</h2>")
    ordered = worst_first(checked["results"])
    for status in STATUSES:
        rows = [_row(r) for r in ordered if r["status"] == status]
        if not rows:
            continue
        opened = " open" if status not in ("pass", "not_applicable") else ""
        body += [
            f'<details class="group {status}" id="g-{status}"{opened}>',
            f"<summary>{_badge(status, LABELS[status])} {len(rows)} · {esc(GROUP_TITLES[status])}</summary>",
            f"<table>{_COLS}<tbody>",
            *rows,
            "</tbody></table></details>",
        ]
    body += [
        "</main>",
        f"<footer>dockguard.hardening CIS audit report · {esc(checked['host'])} · {esc(checked.get('started') or '')}"
        " · self-contained: no external resources</footer>",
    ]
    return _page(f"{checked['host']}: {bench.get('name', 'CIS audit')} {bench.get('version', '')}", body)


# --- fleet ---------------------------------------------------------------------------------------


def _control_key(result: Result) -> str:
    return str(result.get("slug") or result["id"])


def _host_entry(audit: Audit) -> dict[str, t.Any]:
    c = counts(audit)
    return {
        "host": audit["host"],
        "report": report_filename(audit["host"]),
        "started": audit.get("started"),
        "engine_version": (audit.get("engine") or {}).get("version"),
        "counts": c,
        "failing": c["fail"],
        "errors": c["error"],
        "expired_waivers": sum(1 for r in audit["results"] if expired_waiver(r)),
        "drift": _drift_of(audit),
    }


_DRIFT_LISTS = ("new_failures", "expired_waivers", "new_items", "fixed", "changed")


def _drift_of(audit: Audit) -> dict[str, t.Any] | None:
    """The audit's drift (added by the audit role from its history), kept to what reports show."""
    drift = audit.get("drift")
    if not isinstance(drift, t.Mapping):
        return None
    out: dict[str, t.Any] = {
        "first_audit": bool(drift.get("first_audit")),
        "previous_started": drift.get("previous_started"),
    }
    for key in _DRIFT_LISTS:
        out[key] = [dict(e) for e in drift.get(key) or [] if isinstance(e, t.Mapping)]
    return out


def _new_control(result: Result) -> dict[str, t.Any]:
    return {
        "key": _control_key(result),
        "id": result["id"],
        "title": result.get("title", ""),
        "section": result.get("section"),
        "section_title": result.get("section_title"),
        "level": result.get("level"),
        "statuses": {},
        "failing_hosts": [],
        "error_hosts": [],
        "waived_hosts": [],
        "expired_waiver_hosts": [],
        "evidence": {},
    }


def _check_unique_hosts(audits: list[Audit]) -> None:
    seen: dict[str, str] = {}
    for audit in audits:
        name = report_filename(audit["host"])
        if name in seen:
            raise ReportError(f"hosts {seen[name]!r} and {audit['host']!r} would share the report file {name}")
        seen[name] = audit["host"]


def fleet_summary(audits: object) -> dict[str, t.Any]:
    """Hosts x controls: per-host counts, and controls ordered by how many hosts fail them."""
    checked = as_audits(audits)
    _check_unique_hosts(checked)
    hosts = sorted(
        (_host_entry(a) for a in checked),
        key=lambda h: (-h["failing"], -h["errors"], -h["counts"]["manual"], h["host"]),
    )
    controls: dict[str, dict[str, t.Any]] = {}
    for audit in checked:
        host = audit["host"]
        for r in audit["results"]:
            entry = controls.setdefault(_control_key(r), _new_control(r))
            entry["statuses"][host] = r["status"]
            entry["evidence"][host] = _evidence(r)[:1]
            lists = {"fail": "failing_hosts", "error": "error_hosts", "waived": "waived_hosts"}
            if r["status"] in lists:
                entry[lists[r["status"]]].append(host)
            if expired_waiver(r):
                entry["expired_waiver_hosts"].append(host)
    for entry in controls.values():
        entry["worst"] = min(entry["statuses"].values(), key=_RANK.__getitem__)
    ordered = sorted(
        controls.values(),
        key=lambda e: (-len(e["failing_hosts"]), -len(e["error_hosts"]), _RANK[e["worst"]], id_key(e["id"])),
    )
    totals = dict.fromkeys(STATUSES, 0)
    for h in hosts:
        for s in STATUSES:
            totals[s] += h["counts"][s]
    bench = (checked[0].get("benchmark") or {}) if checked else {}
    return {
        "benchmark": dict(bench),
        "hosts": hosts,
        "controls": ordered,
        "matrix": {a["host"]: {_control_key(r): r["status"] for r in a["results"]} for a in checked},
        "totals": totals,
    }


def _fleet_cell(control: t.Mapping[str, t.Any], host: t.Mapping[str, t.Any]) -> str:
    status = control["statuses"].get(host["host"])
    if status is None:
        return '<td class="cell missing" title="not audited on this host">&ndash;</td>'
    expired = host["host"] in control["expired_waiver_hosts"]
    evidence = (control["evidence"].get(host["host"]) or [""])[0]
    tip = f"{host['host']} · {control['id']} · {LABELS[status]}{' · waiver expired' if expired else ''}: {evidence}"
    href = f"./{quote(host['report'])}#c-{quote(str(control['id']))}"
    label = LABELS[status] + ("!" if expired else "")
    return (
        f'<td class="cell {status}{" exp" if expired else ""}" title="{esc(tip)}">'
        f'<a href="{esc(href)}">{esc(label)}</a></td>'
    )


def _fleet_rows(controls: list[t.Mapping[str, t.Any]], hosts: list[t.Mapping[str, t.Any]]) -> list[str]:
    rows = []
    for ctl in controls:
        cells = "".join(_fleet_cell(ctl, h) for h in hosts)
        rows.append(
            f'<tr data-text="{esc((ctl["id"] + " " + ctl["title"]).lower())}"><td class="id">{esc(ctl["id"])}</td>'
            f'<td class="ctl">{esc(ctl["title"])}<span class="sec">L{esc(ctl.get("level") or "?")} · '
            f"{esc(ctl.get('section') or '')} {esc(ctl.get('section_title') or '')}</span></td>"
            f'<td class="num">{len(ctl["failing_hosts"])}</td>{cells}</tr>'
        )
    return rows


def _fleet_table(controls: list[t.Mapping[str, t.Any]], hosts: list[t.Mapping[str, t.Any]]) -> list[str]:
    head = "".join(f'<th class="host"><a href="./{esc(quote(h["report"]))}">{esc(h["host"])}</a></th>' for h in hosts)
    return [
        '<table class="matrix">',
        f"<thead><tr><th>Id</th><th>Control</th><th class='num'>Failing hosts</th>{head}</tr></thead><tbody>",
        *_fleet_rows(controls, hosts),
        "</tbody></table>",
    ]


def _fleet_hosts_table(hosts: list[t.Mapping[str, t.Any]]) -> list[str]:
    head = "".join(f'<th><span class="chip {s}">{LABELS[s]}</span></th>' for s in STATUSES)
    rows = []
    for h in hosts:
        cells = "".join(f'<td class="{"n" if h["counts"][s] else "z"}">{h["counts"][s]}</td>' for s in STATUSES)
        expired = f'<span class="expired">{h["expired_waivers"]} expired</span>' if h["expired_waivers"] else ""
        rows.append(
            f'<tr><td><a href="./{esc(quote(h["report"]))}">{esc(h["host"])}</a></td>{cells}'
            f"<td>{expired}</td><td>{esc(h.get('engine_version') or '?')}</td>"
            f"<td>{esc(h.get('started') or '')}</td></tr>"
        )
    return [
        '<table class="sections"><colgroup><col style="width:20%"></colgroup>',
        f"<thead><tr><th>Host (report)</th>{head}<th>Waivers</th><th>Engine</th><th>Audited</th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]


_DRIFT_TITLES = {
    "new_failures": ("fail", "New failures"),
    "expired_waivers": ("fail", "Waivers expired"),
    "new_items": ("fail", "New items in failing controls"),
    "fixed": ("pass", "Fixed"),
    "changed": ("manual", "Other changes"),
}


def _drift_entry(key: str, entry: t.Mapping[str, t.Any]) -> str:
    text = f"{entry.get('id', '?')} {entry.get('title', '')}"
    if key == "new_items":
        text += ": " + ", ".join(str(i) for i in entry.get("items") or [])
    elif key in ("new_failures", "fixed", "changed") and entry.get("was"):
        text += f" (was {LABELS.get(str(entry['was']), entry['was'])})"
    elif key == "expired_waivers" and entry.get("expires"):
        text += f" (expired {entry['expires']})"
    return f"<li>{esc(text)}</li>"


def _fleet_drift(hosts: list[t.Mapping[str, t.Any]]) -> list[str]:
    """Changes since each host's previous audit, news first: what a person reads before the matrix."""
    known = [h for h in hosts if h.get("drift")]
    if not known:
        return []
    out = ["<h2>Since the last audit</h2>", '<table class="sections"><tbody>']
    for h in sorted(known, key=lambda h: -sum(len(h["drift"][k]) for k in _DRIFT_LISTS[:3])):
        drift = h["drift"]
        since = "first audit" if drift["first_audit"] else f"since {drift.get('previous_started') or '?'}"
        cells = []
        for key in _DRIFT_LISTS:
            if drift[key]:
                status, title = _DRIFT_TITLES[key]
                items = "".join(_drift_entry(key, e) for e in drift[key])
                cells.append(f"{_badge(status, f'{len(drift[key])} {title}')}<ul>{items}</ul>")
        body = "".join(cells) or "no change"
        out.append(
            f'<tr><td><a href="./{esc(quote(h["report"]))}">{esc(h["host"])}</a><br>'
            f'<span class="sec">{esc(since)}</span></td><td>{body}</td></tr>'
        )
    out.append("</tbody></table>")
    return out


def fleet_html(audits: object) -> str:
    """One self-contained HTML page: one row per control, one column per host, worst first both ways."""
    summary = fleet_summary(audits)
    hosts, controls, totals = summary["hosts"], summary["controls"], summary["totals"]
    bench = summary["benchmark"]
    findings = [c for c in controls if c["failing_hosts"] or c["error_hosts"]]
    rest = [c for c in controls if not (c["failing_hosts"] or c["error_hosts"])]
    started = sorted(str(h["started"]) for h in hosts if h.get("started"))
    when = f"{started[0]} to {started[-1]}" if started else "?"
    body = [
        "<header>",
        f"<h1>Fleet: {len(hosts)} host(s)<small>{esc(bench.get('name', 'CIS Docker Benchmark'))} "
        f"v{esc(bench.get('version', '?'))}</small></h1>",
        f'<div class="meta"><span>Audited: <b>{esc(when)}</b></span><span>Controls: <b>{len(controls)}</b></span>'
        f"<span>Controls failing somewhere: <b>{len(findings)}</b></span></div>",
        '<div class="badges">',
        *(_badge(s, f"{totals[s]} {LABELS[s]}", " big" + ("" if totals[s] else " zero")) for s in STATUSES),
        "</div>",
        '<input id="filter" type="search" placeholder="Filter controls: id or title…" hidden>',
        "</header>",
        "<main>",
        *_fleet_drift(hosts),
        "<h2>Hosts, worst first</h2>",
        *_fleet_hosts_table(hosts),
        "<h2>Controls &times; hosts</h2>",
        _legend(),
        '<p class="sec">A cell links to that control in the host\'s report. FAIL! marks an expired waiver.</p>',
        f'<details class="group fail" open><summary>{len(findings)} control(s) failing or in error on at least one '
        "host, most failing hosts first</summary>",
        *_fleet_table(findings, hosts),
        "</details>",
        f'<details class="group pass"><summary>{len(rest)} control(s) without failures or errors '
        "(manual, waived, not applicable, pass)</summary>",
        *_fleet_table(rest, hosts),
        "</details>",
        "</main>",
        "<footer>dockguard.hardening CIS fleet summary · self-contained: no external resources</footer>",
    ]
    return _page(f"Fleet: {bench.get('name', 'CIS audit')} {bench.get('version', '')}", body)


# --- gate ----------------------------------------------------------------------------------------


def gate(audits: object, level: int = 2, errors: bool = True, new_only: bool = False) -> list[tuple[str, str, str]]:
    """(host, id, title) of every control of level <= `level` that fails (or errs, unless errors=False).

    Waived controls do not count; a control whose waiver expired has status fail and counts.
    With new_only, only what the audit's `drift` (see _cis_drift) names counts: controls failing
    since the previous audit, and failing controls that name a new item (a container that
    appeared); a team adopts the gate on an old fleet without fixing everything first.
    """
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise ReportError(f"level must be a positive integer (1 or 2), got {level!r}")
    bad = {"fail", "error"} if errors else {"fail"}
    out = []
    for audit in as_audits(audits):
        wanted = _new_ids(audit) if new_only else None
        for r in sorted(audit["results"], key=lambda r: id_key(r["id"])):
            # a control without a numeric level counts at every level: fail closed
            control_level = r.get("level") if isinstance(r.get("level"), int) else 1
            if r["status"] in bad and control_level <= level and (wanted is None or r["id"] in wanted):
                out.append((audit["host"], r["id"], str(r.get("title", ""))))
    return out


def _new_ids(audit: Audit) -> set[str]:
    drift = audit.get("drift")
    if not isinstance(drift, t.Mapping):
        raise ReportError(
            f"host {audit['host']}: the gate on new failures needs the audit's 'drift' "
            "(the audit role adds it from the previous result in audit_history_dir)"
        )
    found = set()
    for key in ("new_failures", "new_items"):
        for entry in drift.get(key) or []:
            if isinstance(entry, t.Mapping) and entry.get("id"):
                found.add(str(entry["id"]))
    return found
