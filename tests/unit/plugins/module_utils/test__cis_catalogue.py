# SPDX-License-Identifier: GPL-3.0-or-later
"""The control catalogue against the project's control list and the roles' variables.

The list (tests/unit/fixtures/cis_docker_controls.tsv) follows docker-bench-security's numbering and titles of
CIS Docker Benchmark v1.6.0; its CIS level and assessment columns are marked unverified (not checked against the
CIS PDF, see tests/unit/fixtures/README.md). These tests prove the catalogue agrees with that list, no more.
"""

from __future__ import annotations

import csv
import pathlib

import pytest
import yaml

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.checks import CHECKS

ROOT = pathlib.Path(__file__).resolve().parents[4]
TSV = ROOT / "tests" / "unit" / "fixtures" / "cis_docker_controls.tsv"


def benchmark_rows() -> list[dict[str, str]]:
    with TSV.open() as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_every_v160_control_is_present_once_in_benchmark_order() -> None:
    rows = benchmark_rows()
    assert len(rows) == 117
    assert [c.id for c in cat.CONTROLS] == [r["id"] for r in rows]


@pytest.mark.parametrize("row", benchmark_rows(), ids=lambda r: r["id"])
def test_control_matches_the_benchmark(row: dict[str, str]) -> None:
    control = cat.BY_ID[row["id"]]
    assert control.title == row["title"].strip()
    assert control.section == row["section"].split()[0]
    assert control.scored == (row["dbs_scoring"] == "scored")
    assert control.level == (2 if row["cis_level_unverified"] == "L2" else 1)


def test_slugs_are_unique_and_stable_shaped() -> None:
    slugs = [c.slug for c in cat.CONTROLS] + [cat.EXTRA_V1_8_0.slug]
    assert len(slugs) == len(set(slugs))
    assert all(s == s.lower() and " " not in s and s.strip("-") == s for s in slugs)


def test_every_control_has_a_registered_check() -> None:
    missing = [c.id for c in (*cat.CONTROLS, cat.EXTRA_V1_8_0) if c.check not in CHECKS]
    assert missing == []


@pytest.mark.parametrize(
    ("v160", "v180"),
    [
        ("2.1", "2.1"),
        ("2.6", "2.6"),
        ("2.7", "2.8"),
        ("2.14", "2.15"),
        ("2.18", "2.19"),
        ("1.1.9", "1.1.9"),
        ("5.32", "5.32"),
    ],
)
def test_v180_renumbering(v160: str, v180: str) -> None:
    assert cat.V1_8_0[v160] == v180


def test_v180_ids_are_unique_and_include_the_new_2_7() -> None:
    ids = list(cat.V1_8_0.values())
    assert len(ids) == len(set(ids)) == 118
    assert cat.V1_8_0[cat.EXTRA_V1_8_0.id] == "2.7"
    assert "docker.sock" in cat.TITLE_CHANGES_V1_8_0["1.1.9"]


def role_variables() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for spec in (ROOT / "roles").glob("*/meta/argument_specs.yml"):
        doc = yaml.safe_load(spec.read_text())
        names: set[str] = set()
        for entry in (doc.get("argument_specs") or {}).values():
            names |= set((entry.get("options") or {}).keys())
        out[f"dockguard.hardening.{spec.parent.parent.name}"] = names
    return out


def test_remediation_variables_exist_in_the_named_role() -> None:
    roles = role_variables()
    wrong = []
    for cid, rem in cat.REMEDIATION.items():
        if rem.variable is None:
            continue
        if rem.role not in roles or rem.variable not in roles[rem.role]:
            wrong.append((cid, rem.role, rem.variable))
    assert wrong == []


def test_every_control_has_remediation_text() -> None:
    assert all(cat.remediation(c.id).text for c in cat.CONTROLS)
    assert cat.remediation("4.2").text == "See CIS Docker Benchmark v1.6.0 control 4.2."


def test_role_defaults_name_catalogue_ids() -> None:
    """Every 'CIS x.y' a role's defaults cite is a control of the catalogue."""
    import re

    cited = set()
    for defaults in (ROOT / "roles").glob("*/defaults/main.yml"):
        cited |= set(re.findall(r"CIS (\d+\.\d+(?:\.\d+)?)", defaults.read_text()))
    assert cited, "the roles' defaults cite no control"
    assert sorted(cited - set(cat.BY_ID)) == []
