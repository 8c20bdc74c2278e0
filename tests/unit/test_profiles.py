# SPDX-License-Identifier: GPL-3.0-or-later
"""The hardening profiles of playbooks/vars/profiles.yml against the CIS catalogue.

Each waiver names a control the same way in both numberings (by slug), carries a
reason, and never waives a control that a role of its own profile remediates
(that would hide the role's failure); a waiver that stops applying when a variable
is given names the variable of the optional role that remediates the control.
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import audit as cis_audit
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = yaml.safe_load((ROOT / "playbooks" / "vars" / "profiles.yml").read_text())
PROFILES = DOC["dockguard_profiles"]
OPTIONAL = {o["when_var"]: o["role"] for o in DOC["dockguard_optional_roles"]}
WAIVERS = [(name, w) for name, profile in PROFILES.items() for w in profile["waivers"]]


def test_the_profiles_are_the_documented_ones() -> None:
    assert set(PROFILES) == {"baseline", "strict"}
    assert set(PROFILES["baseline"]["roles"]) < set(PROFILES["strict"]["roles"])
    for profile in PROFILES.values():
        assert all((ROOT / "roles" / role / "meta" / "argument_specs.yml").is_file() for role in profile["roles"])


@pytest.mark.parametrize(("profile", "waiver"), WAIVERS, ids=[f"{p}-{w['id']}" for p, w in WAIVERS])
def test_a_waiver_means_one_control_in_both_numberings(profile: str, waiver: dict[str, str]) -> None:
    assert set(waiver) <= {"id", "justification", "expires", "unless_var"}
    assert len(waiver["justification"].split()) >= 8, "a waiver says why"
    v160 = cis_audit.resolve(waiver["id"], "1.6.0")
    v180 = cis_audit.resolve(waiver["id"], "1.8.0")
    assert v160.slug == v180.slug == waiver["id"], "waivers name controls by slug"


@pytest.mark.parametrize(("profile", "waiver"), WAIVERS, ids=[f"{p}-{w['id']}" for p, w in WAIVERS])
def test_no_profile_waives_what_its_own_roles_remediate(profile: str, waiver: dict[str, str]) -> None:
    control = cis_audit.resolve(waiver["id"], "1.6.0")
    fix = cat.REMEDIATION.get(control.id)
    role = (fix.role or "").rsplit(".", 1)[-1] if fix else ""
    assert role not in PROFILES[profile]["roles"], f"{profile} applies {role}, yet waives {control.id}"
    if "unless_var" in waiver:
        assert OPTIONAL.get(waiver["unless_var"]) == role, (waiver["unless_var"], role)


def test_strict_waives_nothing_baseline_does_not() -> None:
    baseline = {w["id"] for w in PROFILES["baseline"]["waivers"]}
    assert {w["id"] for w in PROFILES["strict"]["waivers"]} <= baseline
