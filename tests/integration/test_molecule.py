# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Molecule scenario, run against real Docker test hosts.

Each scenario is one test: `molecule test -s NAME` (create, prepare, check,
converge, idempotence, verify, destroy). Needs a Docker engine: scripts/test.sh
starts one when none answers.
"""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml") if p.parent.name != "shared")


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str) -> None:
    log = ROOT / ".cache" / "molecule-logs" / f"{scenario}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.run(
            ["molecule", "test", "-s", scenario],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0"),
            check=False,
        )
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-120:]
        pytest.fail(f"molecule test -s {scenario} failed (rc={proc.returncode}); full log {log}:\n" + "\n".join(tail))
