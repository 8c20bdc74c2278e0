# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate docs/cis-controls.md, the control reference, from the audit's own code.

Every fact in the page comes from the collection:

- the controls, their ids (v1.6.0 and v1.8.0), slug, title, level, scored or not and
  remediation from plugins/module_utils/_cis/catalogue.py;
- how each control is judged, and what makes it not applicable, from the docstring of
  its check (plugins/module_utils/_cis/checks_<section>_*.py, registered in _cis/checks.py,
  whose docstring states the format): the first paragraph says how it is judged, a
  paragraph starting "Not applicable:" says when it does not apply (in the check or in a
  helper of the _cis package it calls, such as per_container);
- the verdicts a check can give, read from its code: the status strings of the
  Verdict(...) calls in the check and in the helpers it calls.

The generator refuses (exit 1, naming the check) when a check has no docstring, or
when its code can return not_applicable and no docstring says when (or the other way
round), so the page cannot quietly drift from the checks.

  python3 tools/gen_controls_doc.py           rewrite docs/cis-controls.md
  python3 tools/gen_controls_doc.py --check   exit 1 when the file is stale
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import pathlib
import sys
import tempfile
import textwrap
import types
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cis-controls.md"
COMMAND = "python3 tools/gen_controls_doc.py"


def _import_collection() -> tuple[types.ModuleType, types.ModuleType]:
    """The catalogue and the checks, from this checkout (linked as tests/unit/conftest.py does)."""
    # the link scripts/bootstrap.sh makes outside the checkout, or one in a temporary directory
    collections = pathlib.Path(os.environ.get("DG_COLLECTIONS") or tempfile.mkdtemp(prefix="dg-collections-"))
    link = collections / "ansible_collections" / "dockguard" / "hardening"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    if str(collections) not in sys.path:
        sys.path.insert(0, str(collections))
    from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue, checks

    return catalogue, checks


class GenError(Exception):
    """The checks' documentation does not match their code; the message names the check."""


STATUS_ORDER = ("pass", "fail", "manual", "not_applicable")
NA_PREFIX = "Not applicable:"


def _paragraphs(doc: str) -> list[str]:
    text = inspect.cleandoc(doc)
    return [" ".join(line.strip() for line in p.splitlines()) for p in text.split("\n\n") if p.strip()]


def _tree(fn: t.Callable[..., t.Any]) -> ast.AST:
    return ast.parse(textwrap.dedent(inspect.getsource(fn)))


class CheckDoc(t.NamedTuple):
    judged: str
    not_applicable: tuple[str, ...]
    statuses: tuple[str, ...]


class Analyzer:
    """Reads the checks: which helper each function calls, which statuses each can return.

    checks is the registry module (_cis.checks, with CHECKS). A helper is followed when a check calls
    it by name and it is a function of the _cis package (the check's own section module or common.py).
    """

    def __init__(self, checks: types.ModuleType) -> None:
        self.checks = checks
        self.package = checks.__name__.rpartition(".")[0] + "."

    def _helper(self, fn: t.Callable[..., t.Any], name: str) -> types.FunctionType | None:
        obj = getattr(fn, "__globals__", {}).get(name)
        if isinstance(obj, types.FunctionType) and obj.__module__.startswith(self.package):
            return obj
        return None

    def _calls_and_statuses(self, fn: t.Callable[..., t.Any]) -> tuple[list[t.Callable[..., t.Any]], set[str]]:
        calls: dict[str, t.Callable[..., t.Any]] = {}
        statuses: set[str] = set()
        for node in ast.walk(_tree(fn)):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id == "Verdict" and node.args:
                statuses |= {
                    c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
            elif (helper := self._helper(fn, node.func.id)) is not None:
                calls[node.func.id] = helper
        return [calls[name] for name in sorted(calls)], statuses

    def reach(self, fn: t.Callable[..., t.Any]) -> tuple[list[t.Callable[..., t.Any]], set[str]]:
        """The function and every module function it calls, transitively (in a stable order), and their statuses."""
        seen: list[t.Callable[..., t.Any]] = []
        statuses: set[str] = set()
        todo = [fn]
        while todo:
            current = todo.pop(0)
            if current in seen:
                continue
            seen.append(current)
            calls, found = self._calls_and_statuses(current)
            statuses |= found
            todo.extend(calls)
        return seen, statuses

    def describe(self, check_name: str) -> CheckDoc:
        fn = self.checks.CHECKS[check_name]
        where = f"check {check_name!r} ({fn.__qualname__} in {fn.__module__.rpartition('.')[2]}.py)"
        if not fn.__doc__ or not fn.__doc__.strip():
            raise GenError(f"{where} has no docstring: its first paragraph says how the control is judged")
        doc = fn.__doc__
        if fn.__closure__:  # a check made by a factory: its docstring may name the factory's arguments
            names = {k: v for k, v in inspect.getclosurevars(fn).nonlocals.items() if isinstance(v, str)}
            try:
                doc = doc.format_map(names)
            except (KeyError, ValueError) as exc:
                raise GenError(f"{where}: docstring placeholder {exc} is not one of {sorted(names)}") from exc
        paras = _paragraphs(doc)
        if paras[0].startswith(NA_PREFIX):
            raise GenError(f"{where}: the first paragraph must say how the control is judged")
        reached, statuses = self.reach(fn)
        na: list[str] = []
        for func in reached:
            for p in _paragraphs(func.__doc__ or "") if func is not fn else paras:
                if p.startswith(NA_PREFIX) and p[len(NA_PREFIX) :].strip() not in na:
                    na.append(p[len(NA_PREFIX) :].strip())
        unknown = statuses - {*STATUS_ORDER, "error"}
        if unknown:
            raise GenError(f"{where}: unknown verdict statuses {sorted(unknown)}")
        if "not_applicable" in statuses and not na:
            raise GenError(f"{where} can return not_applicable but no docstring says when ({NA_PREFIX} ...)")
        if na and "not_applicable" not in statuses:
            raise GenError(f"{where}: a docstring says {NA_PREFIX} {na[0]!r}, but the code never returns it")
        return CheckDoc(paras[0], tuple(na), tuple(s for s in STATUS_ORDER if s in statuses))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _yaml_value(value: t.Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value == []:
        return "[]"
    return str(value)


def _remediation(rem: t.Any) -> str:
    parts = []
    if rem.variable:
        value = "" if rem.value is None else f": {_yaml_value(rem.value)}"
        parts.append(f"`{rem.variable}{value}` (role `{rem.role}`).")
    elif rem.role:
        parts.append(f"Role `{rem.role}`.")
    parts.append(rem.text)
    return " ".join(parts)


STATUS_TEXT = (
    ("pass", "The control is met; the evidence says what was read (`icc false from /etc/docker/daemon.json`)."),
    ("fail", "The control is not met; the evidence and, per container or file, the items name the culprits."),
    (
        "manual",
        "A person must judge: the audit shows what it saw (the docker group's members, published ports, "
        "the Engine version) and never passes such a control by itself.",
    ),
    (
        "not_applicable",
        "The control cannot apply on this host, with the reason (no running containers, no AppArmor in "
        "the kernel, swarm not active, the file is not installed, a rootless daemon).",
    ),
    (
        "waived",
        "A `fail`, `manual` or `error` that an unexpired waiver accepts; the report keeps the verdict "
        "it would have had and the justification (see docs/audit.md).",
    ),
    (
        "error",
        "A fact the control needs could not be read (daemon down, unreadable file, a container that "
        "vanished mid-audit); only the controls needing that fact are in error, with the reason. "
        "Any control can end in `error`.",
    ),
)


def generate() -> str:
    cat, checks = _import_collection()
    analyzer = Analyzer(checks)
    controls = list(cat.CONTROLS)
    extra = cat.EXTRA_V1_8_0
    after = "2.6"  # v1.8.0's 2.7 sits between v1.6.0's 2.6 and 2.7
    controls.insert([c.id for c in controls].index(after) + 1, extra)
    docs = {c.check: analyzer.describe(c.check) for c in controls}

    always_manual = [
        c for c in controls if docs[c.check].statuses and set(docs[c.check].statuses) <= {"manual", "not_applicable"}
    ]
    out = [
        "# CIS Docker Benchmark controls",
        "",
        f"<!-- Generated by {COMMAND} from plugins/module_utils/_cis/catalogue.py and the checks; do not edit. -->",
        "",
        f"Every control `dockguard.hardening.cis_audit` judges: the {len(cat.CONTROLS)} controls of the "
        f'{cat.BENCHMARK} v{cat.VERSION}, and v1.8.0\'s new 2.7 (judged only with `ids: "1.8.0"`). '
        "How to run the audit, waivers and the CI gate: [audit.md](audit.md); the reports: [reports.md](reports.md).",
        "",
        "## Statuses",
        "",
        "| status | meaning |",
        "| --- | --- |",
        *(f"| `{s}` | {text} |" for s, text in STATUS_TEXT),
        "",
        "## Reading the tables",
        "",
        "- **v1.6.0 / v1.8.0**: the control's id in each numbering. v1.8.0 inserts a new 2.7 (devicemapper), "
        "so v1.6.0's 2.7-2.18 are v1.8.0's 2.8-2.19; `ids: \"1.8.0\"` reports, selects and waives by v1.8.0 ids.",
        "- **slug**: the stable name (`icc-disabled`); `controls` and waivers take it as well as the id.",
        "- **L**: the CIS profile level (1 or 2); `level: 1` audits level 1 controls only. "
        "**scored**: whether CIS scores the control.",
        "- **verdicts**: what the check can return besides `error`, read from its code. "
        f"{len(always_manual)} controls are `manual` by design (a person must judge), "
        "unless they do not apply.",
        "- **how it is judged**: what the check reads and how it decides, from the check's docstring. "
        "File and audit-rule controls name their target in the argument: `unit:NAME` is the unit's file "
        "found the way systemd finds it, `bin:NAME` the installed binary (for dockerd, the running one), "
        "`tls:KEY` the file that daemon setting names, `socket` the daemon's socket, `daemon.json` the "
        "daemon's configuration file, `certs.d` the files under /etc/docker/certs.d; an owner or mode follows.",
        "- **not applicable when**: what makes the control `not_applicable`.",
        "- **remediation**: the role variable that fixes it (with the value the role sets), or what to do.",
    ]
    for section, section_title in cat.SECTIONS.items():
        rows = [c for c in controls if c.section == section]
        out += [
            "",
            f"## {section}. {section_title} ({len(rows)})",
            "",
            "| v1.6.0 | v1.8.0 | slug and title | L | scored | verdicts | how it is judged | not applicable when "
            "| remediation |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for c in rows:
            doc = docs[c.check]
            v160 = "-" if c.id == extra.id else c.id
            title = cat.TITLE_CHANGES_V1_8_0.get(c.id)
            title_text = c.title + (f" (v1.8.0: {title})" if title else "")
            judged = doc.judged + (f" Argument: `{c.arg}`." if c.arg else "")
            na = "; or ".join(p.rstrip(".") for p in doc.not_applicable)
            na = na[:1].upper() + na[1:] + "." if na else "-"
            rem = _remediation(cat.remediation(c.id))
            cells = [
                v160,
                cat.V1_8_0[c.id],
                f"`{c.slug}` {title_text}",
                str(c.level),
                "yes" if c.scored else "no",
                ", ".join(doc.statuses),
                judged,
                na,
                rem,
            ]
            out.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/cis-controls.md is stale")
    args = parser.parse_args(argv)
    try:
        text = generate()
    except GenError as exc:
        print(f"gen_controls_doc: {exc}", file=sys.stderr)
        return 1
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC.relative_to(ROOT)} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
