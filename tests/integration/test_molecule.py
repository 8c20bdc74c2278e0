# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Molecule scenario, run against real Docker test hosts.

Each scenario is one test: `molecule test -s NAME` (create, prepare, check,
converge, idempotence, verify, destroy). Scenarios do not depend on each other
(own hosts, shared create/destroy), so the selected ones are started together,
DOCKGUARD_MOLECULE_JOBS at a time (default 2), and each test waits for its own.
Needs a Docker engine: scripts/test.sh starts one when none answers.
"""

from __future__ import annotations

import collections.abc
import concurrent.futures
import os
import pathlib
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOGS = ROOT / ".cache" / "molecule-logs"
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml") if p.parent.name != "shared")


def run_scenario(scenario: str) -> tuple[int, float]:
    log = LOGS / f"{scenario}.log"
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            ["molecule", "test", "-s", scenario],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0"),
            check=False,
        )
    return proc.returncode, time.monotonic() - started


@pytest.fixture(scope="session")
def runs(
    request: pytest.FixtureRequest,
) -> collections.abc.Iterator[dict[str, concurrent.futures.Future[tuple[int, float]]]]:
    selected = [
        item.callspec.params["scenario"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_scenario" and hasattr(item, "callspec")
    ]
    LOGS.mkdir(parents=True, exist_ok=True)
    jobs = max(1, int(os.environ.get("DOCKGUARD_MOLECULE_JOBS", "2")))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        yield {s: pool.submit(run_scenario, s) for s in selected}


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str, runs: dict[str, concurrent.futures.Future[tuple[int, float]]]) -> None:
    rc, seconds = runs[scenario].result()
    log = LOGS / f"{scenario}.log"
    print(f"molecule test -s {scenario}: rc={rc} in {seconds:.0f} s")
    if rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-120:]
        pytest.fail(f"molecule test -s {scenario} failed (rc={rc}); full log {log}:\n" + "\n".join(tail))
