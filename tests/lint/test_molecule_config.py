# SPDX-License-Identifier: GPL-3.0-or-later
"""Scenarios share one Molecule base (.config/molecule/config.yml) and keep only what differs.

Molecule merges the base and a scenario's molecule.yml dict by dict, and a list
in molecule.yml replaces the base's. It also moves the legacy keys
provisioner.env / config_options / playbooks to the `ansible` section AFTER
that merge, replacing the base's section whole: a scenario written the old way
would silently lose the shared callback, collections path or create/destroy
playbooks. So a scenario may say only what is its own.
"""

from __future__ import annotations

import pathlib
import typing as t

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE = ROOT / ".config" / "molecule" / "config.yml"
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))

# What a scenario may set: (section, key) -> why it is its own
ALLOWED: dict[str, set[str]] = {
    "platforms": set(),  # its hosts: name, distro, network (containers), lsm, memory (VMs)
    "provisioner": {"inventory"},  # its variables (group_vars, host_vars), dg_check_mode_unpredictable
    "ansible": {"env"},  # its own environment variables
    "verifier": {"env"},
    "scenario": {"test_sequence"},  # a different sequence (e.g. no idempotence)
}
PLATFORM_KEYS = {"name", "distro", "network", "lsm", "memory"}
VM_ONLY_KEYS = {"lsm", "memory"}  # a VM's LSM and RAM (tools/testhost.py create --lsm/--memory)


def load(path: pathlib.Path) -> dict[str, t.Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def distros(table: str = "DISTROS") -> set[str]:
    """The distros the test-host code can build, read from its DISTROS (containers) or VM_DISTROS table."""
    import ast

    tree = ast.parse((ROOT / "plugins" / "plugin_utils" / "_testhost.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == table:
            return set(ast.literal_eval(node.value))  # type: ignore[arg-type]
    raise AssertionError(f"no {table} in plugins/plugin_utils/_testhost.py")


def test_the_base_holds_what_every_scenario_shares() -> None:
    base = load(BASE)
    assert base["prerun"] is False
    assert base["driver"]["name"] == "default"
    assert base["ansible"]["cfg"]["defaults"]["callbacks_enabled"] == "dockguard_changes"
    assert set(base["ansible"]["env"]) >= {"DOCKGUARD_CHANGES_LOG", "ANSIBLE_COLLECTIONS_PATH"}
    for playbook in ("create", "destroy"):
        path = base["ansible"]["playbooks"][playbook].replace("${MOLECULE_PROJECT_DIRECTORY}", str(ROOT))
        assert pathlib.Path(path).is_file(), path
    assert base["provisioner"]["inventory"]["group_vars"]["all"]["dg_check_mode_unpredictable"] == []
    shared = [
        f.replace("${MOLECULE_PROJECT_DIRECTORY}", str(ROOT)) for f in base["verifier"]["additional_files_or_dirs"]
    ]
    assert str(ROOT / "molecule" / "shared" / "tests" / "test_check_mode.py") in shared
    assert all(pathlib.Path(f).is_file() for f in shared), shared
    assert base["verifier"]["name"] == "testinfra"
    assert {"check", "converge", "verify"} <= set(base["scenario"]["test_sequence"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_scenario_keeps_only_what_differs(scenario: str) -> None:
    base = load(BASE)
    own = load(ROOT / "molecule" / scenario / "molecule.yml")
    extra = set(own) - set(ALLOWED)
    assert not extra, f"molecule/{scenario}/molecule.yml sets {sorted(extra)}: shared in {BASE.relative_to(ROOT)}"
    for section, keys in ALLOWED.items():
        if section == "platforms" or section not in own:
            continue
        assert isinstance(own[section], dict), f"{scenario}: {section} must be a mapping"
        extra = set(own[section]) - keys
        assert not extra, (
            f"molecule/{scenario}/molecule.yml sets {section}.{sorted(extra)}: shared in {BASE.relative_to(ROOT)}"
            + (
                " (the legacy provisioner keys would replace the shared ansible section)"
                if section == "provisioner"
                else ""
            )
        )
    sequence = own.get("scenario", {}).get("test_sequence")
    assert sequence != base["scenario"]["test_sequence"], f"{scenario}: the shared test_sequence repeated"
    if sequence is not None:
        assert "check" in sequence and "converge" in sequence, f"{scenario}: check mode is compared with converge"


def test_every_host_name_is_used_once() -> None:
    """Scenarios run side by side on one engine: two with one host name would destroy each other's host."""
    seen: dict[str, str] = {}
    vms = distros("VM_DISTROS")
    known = distros() | vms
    for scenario in SCENARIOS:
        platforms = load(ROOT / "molecule" / scenario / "molecule.yml").get("platforms")
        assert platforms, f"molecule/{scenario}/molecule.yml has no platforms"
        for p in platforms:
            assert set(p) <= PLATFORM_KEYS, f"{scenario}: platform keys {sorted(set(p) - PLATFORM_KEYS)}"
            assert p["distro"] in known, f"{scenario}: {p['name']} has distro {p['distro']!r}; known: {sorted(known)}"
            if p["distro"] in vms:
                assert "network" not in p, f"{scenario}: {p['name']} is a VM (own user-mode network): no network"
            else:
                assert not VM_ONLY_KEYS & set(p), f"{scenario}: {p['name']} is a container: lsm/memory are VM keys"
            assert p["name"] not in seen, f"{p['name']} is a host of both {seen[p['name']]} and {scenario}"
            seen[p["name"]] = scenario
