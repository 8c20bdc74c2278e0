# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped create/destroy playbooks (playbooks/molecule_create.yml, molecule_destroy.yml), run for real.

One create and one destroy: the project's scenarios import the same playbooks the
collection ships to its users. Making a host is proven by every Molecule scenario and by
tests/packaging/test_molecule_for_users.py; these prove, in seconds, what must hold
before anything is made (a wrong platform stops the play) and that destroy forgets.
"""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]


def playbook(name: str, variables: dict[str, object], tmp_path: pathlib.Path) -> subprocess.CompletedProcess[str]:
    extra = tmp_path / "vars.yml"
    extra.write_text(yaml.safe_dump(variables))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(tmp_path / "none.cfg"))
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", f"dockguard.hardening.{name}", "-e", f"@{extra}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("shared", ["create", "destroy"])
def test_the_scenarios_import_the_shipped_playbooks(shared: str) -> None:
    (play,) = yaml.safe_load((ROOT / "molecule" / "shared" / f"{shared}.yml").read_text())
    assert play == {
        "name": f"{shared.capitalize()} the test hosts",
        "ansible.builtin.import_playbook": f"dockguard.hardening.molecule_{shared}",
    }


@pytest.mark.parametrize(
    ("platform", "complaint"),
    [
        ({"name": "dg-unit-never", "distro": "debian11"}, "needs name and distro"),
        ({"name": "dg-unit-never"}, "needs name and distro"),
        ({"name": "dg-unit-never", "distro": "debian12", "image": "debian:12"}, "(unknown: image)"),
    ],
)
def test_a_wrong_platform_stops_create_before_anything_is_made(
    platform: dict[str, str], complaint: str, tmp_path: pathlib.Path
) -> None:
    instances = tmp_path / "instance_config.yml"
    proc = playbook(
        "molecule_create",
        {"molecule_yml": {"platforms": [platform]}, "molecule_instance_config": str(instances)},
        tmp_path,
    )
    assert proc.returncode != 0, proc.stdout
    assert complaint in proc.stdout, proc.stdout
    assert "TASK [Build missing base images" not in proc.stdout
    assert not instances.exists()


def test_destroy_of_hosts_that_are_not_there_forgets_them(tmp_path: pathlib.Path) -> None:
    instances = tmp_path / "instance_config.yml"
    instances.write_text("- instance: dg-unit-never\n")
    proc = playbook(
        "molecule_destroy",
        {
            "molecule_yml": {"platforms": [{"name": "dg-unit-never", "distro": "debian12"}]},
            "molecule_instance_config": str(instances),
        },
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert yaml.safe_load(instances.read_text()) == []
