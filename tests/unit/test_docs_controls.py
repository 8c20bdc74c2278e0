# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/cis-controls.md is generated from the catalogue and the checks, and must not go stale."""

from __future__ import annotations

import ast
import importlib.util
import pathlib
import re
import sys
import types
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import checks as _cis_checks

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cis-controls.md"


def _load_generator() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("gen_controls_doc", ROOT / "tools" / "gen_controls_doc.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def test_docs_cis_controls_is_up_to_date() -> None:
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    fresh = gen.generate()
    assert current == fresh, "docs/cis-controls.md is stale: run python3 tools/gen_controls_doc.py"


def test_generation_is_deterministic() -> None:
    assert gen.generate() == gen.generate()


def _rows(text: str) -> dict[str, list[str]]:
    """Table rows keyed by their v1.8.0 id (unique, and the only id v1.8.0's 2.7 has)."""
    out = {}
    for line in text.splitlines():
        if re.match(r"^\| (\d[\d.]*|-) \|", line):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            out[cells[1]] = cells
    return out


def test_every_control_has_one_row_with_its_catalogue_data() -> None:
    rows = _rows(DOC.read_text(encoding="utf-8"))
    controls = [*cat.CONTROLS, cat.EXTRA_V1_8_0]
    assert len(rows) == len(controls) == 118
    for c in controls:
        row = rows[cat.V1_8_0[c.id]]
        assert row[0] == (c.id if c.id in cat.BY_ID else "-")
        assert row[2].startswith(f"`{c.slug}` {c.title}")
        assert row[3] == str(c.level)
        assert row[4] == ("yes" if c.scored else "no")
        assert cat.remediation(c.id).text in row[8]


@pytest.mark.parametrize(
    ("v180", "verdicts", "judged", "not_applicable", "remediation"),
    [
        ("2.2", "pass, fail", "enable_icc=false", "-", "`daemon_icc: false` (role `dockguard.hardening.daemon`)"),
        ("2.16", "pass, fail, not_applicable", "LiveRestoreEnabled", "Swarm mode is active", "daemon_live_restore"),
        ("5.2", "pass, fail, not_applicable", "AppArmor", "no running containers", "AppArmor profile"),
        ("5.10", "pass, fail, not_applicable", "`HostConfig.NetworkMode` is `host`", "no running", "--network host"),
        ("7.5", "pass, fail, not_applicable", "AutoLockManagers", "swarm mode is not active", "--autolock=true"),
        ("1.2.1", "manual", "own OS benchmark", "-", "See CIS Docker Benchmark"),
        (
            "3.14",
            "pass, fail, not_applicable",
            "Argument: `tls:tlskey 400`",
            "no TLS on TCP",
            "dockguard.hardening.tls",
        ),
    ],
)
def test_rows_say_how_each_control_is_judged(
    v180: str, verdicts: str, judged: str, not_applicable: str, remediation: str
) -> None:
    row = _rows(DOC.read_text(encoding="utf-8"))[v180]
    assert row[5] == verdicts
    assert judged in row[6]
    assert not_applicable.lower() in row[7].lower() if not_applicable != "-" else row[7] == "-"
    assert remediation in row[8]


def _without_docstring(fn: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    def copy(f: t.Any, arg: str) -> t.Any:
        return fn(f, arg)

    copy.__doc__ = None
    return copy


def test_a_check_without_a_docstring_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_cis_checks.CHECKS, "icc", _without_docstring(_cis_checks.CHECKS["icc"]))
    with pytest.raises(gen.GenError, match=r"check 'icc' .* has no docstring"):
        gen.generate()


def _fake_check(source: str) -> t.Callable[..., t.Any]:
    """A check defined in the checks module's namespace, so its helpers resolve as they do for real checks."""
    namespace = dict(vars(_cis_checks))
    exec(compile(ast.parse(source), _cis_checks.__file__, "exec"), namespace)
    fn = namespace["fake"]
    fn.__module__ = _cis_checks.__name__
    return t.cast("t.Callable[..., t.Any]", fn)


def test_undocumented_not_applicable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check whose code can say not_applicable must say when in a docstring, its own or a helper's."""
    source = (
        "def fake(f, arg):\n"
        '    """Pass when the storage driver is not aufs."""\n'
        "    if f.target.rootless:\n"
        '        return Verdict("not_applicable", ["rootless"])\n'
        '    return Verdict("pass", [])\n'
    )
    _generate_with(monkeypatch, "no_aufs", source, "can return not_applicable but no docstring says when")


def test_documented_but_impossible_not_applicable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        "def fake(f, arg):\n"
        '    """Pass when the storage driver is not aufs.\n\n    Not applicable: never, really.\n    """\n'
        '    return Verdict("pass", [])\n'
    )
    _generate_with(monkeypatch, "no_aufs", source, "but the code never returns it")


def _generate_with(monkeypatch: pytest.MonkeyPatch, name: str, source: str, refusal: str) -> None:
    """The generator, with the check NAME replaced by the one in source, refuses with that message."""
    fake = _fake_check(source)
    monkeypatch.setattr(gen.inspect, "getsource", _source_of(fake, source))
    monkeypatch.setitem(_cis_checks.CHECKS, name, fake)
    with pytest.raises(gen.GenError, match=refusal):
        gen.generate()


def _source_of(fake: t.Callable[..., t.Any], source: str) -> t.Callable[[t.Any], str]:
    real = gen.inspect.getsource

    def getsource(obj: t.Any) -> str:
        return source if obj is fake else t.cast("str", real(obj))

    return getsource


def test_a_helpers_not_applicable_counts_for_the_checks_that_call_it() -> None:
    """Every per-container check gets _per_container's reason, without repeating it."""
    analyzer = gen.Analyzer(_cis_checks)
    privileged = analyzer.describe("privileged")
    assert privileged.not_applicable == ("no running containers.",)
    assert privileged.statuses == ("pass", "fail", "not_applicable")
    assert analyzer.describe("manual_host").statuses == ("manual",)


def test_check_mode_of_the_tool_reports_a_stale_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "cis-controls.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("icc-disabled", "icc-off"), encoding="utf-8")
    monkeypatch.setattr(gen, "DOC", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == gen.generate()
