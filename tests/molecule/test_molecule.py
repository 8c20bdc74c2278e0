# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Molecule scenario, run against real Docker test hosts.

Each scenario is one test: `molecule test -s NAME` (the sequence of
.config/molecule/config.yml: create, prepare, check, converge, idempotence,
verify, destroy). Scenarios do not depend on each other (own hosts, shared
create/destroy), so the selected ones are started together,
DOCKGUARD_MOLECULE_JOBS at a time (default 2), and each test waits for its own.

A scenario that runs longer than DOCKGUARD_MOLECULE_TIMEOUT seconds (default
2700, from when it starts, not while it waits for a free job) is killed with
everything it started, its hosts destroyed, and its test fails with the tail of
its log. Logs go to $DG_WORK/molecule-logs, outside the checkout.

Two runs of one scenario on a machine would destroy each other's hosts (their
names are fixed): a run takes /tmp/dg-molecule-NAME.lock first, the lock that
`flock /tmp/dg-molecule-NAME.lock molecule test -s NAME` takes by hand.

Needs a Docker engine: scripts/test.sh starts one when none answers. Lives out
of tests/integration, which is ansible-test's (its integration targets).
"""

from __future__ import annotations

import collections.abc
import concurrent.futures
import contextlib
import dataclasses
import fcntl
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOGS = pathlib.Path(os.environ.get("DG_WORK") or tempfile.mkdtemp(prefix="dg-molecule-")) / "molecule-logs"
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml") if p.parent.name != "shared")
TIMEOUT = float(os.environ.get("DOCKGUARD_MOLECULE_TIMEOUT", "2700"))
# Started first, longest first (VM scenarios and the ones with many services), so the
# last slot to finish is not one that started late with a long scenario; the rest follow
# in name order.
LONGEST_FIRST = ("lsm", "content_trust", "host", "logging", "vmhost", "authz", "signatures", "confinement")
TAIL_LINES = 150


@dataclasses.dataclass
class Run:
    scenario: str
    rc: int
    seconds: float
    waited: float
    timed_out: bool
    log: pathlib.Path


@contextlib.contextmanager
def scenario_lock(scenario: str) -> collections.abc.Iterator[None]:
    with open(f"/tmp/dg-molecule-{scenario}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def stop(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """End the process group of a molecule run: molecule, ansible-playbook, pytest, docker exec..."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_scenario(
    scenario: str,
    timeout: float = TIMEOUT,
    command: list[str] | None = None,
    cleanup: list[str] | None = None,
    logs: pathlib.Path = LOGS,
) -> Run:
    """`molecule test -s SCENARIO` (or command), killed after timeout and then cleaned up (`molecule destroy`)."""
    log = logs / f"{scenario}.log"
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0")
    queued = time.monotonic()
    with scenario_lock(scenario), log.open("w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            command or ["molecule", "test", "-s", scenario],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            stop(proc)
            rc = proc.returncode if proc.returncode is not None else -9
            out.write(f"\n=== killed after {timeout:.0f} s (DOCKGUARD_MOLECULE_TIMEOUT); destroying its hosts ===\n")
            out.flush()
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    cleanup or ["molecule", "destroy", "-s", scenario],
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    timeout=600,
                    check=False,
                )
        seconds = time.monotonic() - started
    return Run(scenario, rc, seconds, started - queued, timed_out, log)


@pytest.fixture(scope="session")
def runs(
    request: pytest.FixtureRequest,
) -> collections.abc.Iterator[dict[str, concurrent.futures.Future[Run]]]:
    selected = [
        item.callspec.params["scenario"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_scenario" and hasattr(item, "callspec")
    ]
    LOGS.mkdir(parents=True, exist_ok=True)
    jobs = max(1, int(os.environ.get("DOCKGUARD_MOLECULE_JOBS", "2")))
    order = sorted(selected, key=lambda s: (LONGEST_FIRST.index(s) if s in LONGEST_FIRST else len(LONGEST_FIRST), s))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        yield {s: pool.submit(run_scenario, s) for s in order}


def tail(log: pathlib.Path, lines: int = TAIL_LINES) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str, runs: dict[str, concurrent.futures.Future[Run]]) -> None:
    run = runs[scenario].result()
    print(f"molecule test -s {scenario}: rc={run.rc} in {run.seconds:.0f} s (waited {run.waited:.0f} s for a slot)")
    if run.timed_out:
        pytest.fail(
            f"molecule test -s {scenario} did not finish within {TIMEOUT:.0f} s (DOCKGUARD_MOLECULE_TIMEOUT): "
            f"killed, hosts destroyed; full log {run.log}:\n{tail(run.log)}"
        )
    if run.rc != 0:
        pytest.fail(f"molecule test -s {scenario} failed (rc={run.rc}); full log {run.log}:\n{tail(run.log)}")


def alive(pid: int) -> bool:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie is dead, only not reaped yet


def test_a_scenario_over_its_time_is_killed_with_its_children(tmp_path: pathlib.Path) -> None:
    """The timeout itself: the whole process group goes (not only molecule), the cleanup runs, the log says so."""
    pidfile = tmp_path / "child.pid"
    cleaned = tmp_path / "cleaned"
    started = time.monotonic()
    run = run_scenario(
        "dg-timeout-selftest",
        timeout=3,
        command=["sh", "-c", f"sleep 300 & echo $! > {pidfile}; echo converging; wait"],
        cleanup=["touch", str(cleaned)],
        logs=tmp_path,
    )
    assert time.monotonic() - started < 60
    assert run.timed_out and run.rc != 0
    assert cleaned.exists(), "the hosts of a killed scenario are destroyed"
    log = run.log.read_text()
    assert "converging" in log and "killed after 3 s" in log
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while alive(child):
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            pytest.fail(f"the scenario's child {child} outlived the kill")
        time.sleep(0.05)


def test_a_scenario_in_time_keeps_its_exit_code(tmp_path: pathlib.Path) -> None:
    run = run_scenario(
        "dg-exit-selftest", timeout=60, command=["sh", "-c", "echo verify failed; exit 3"], logs=tmp_path
    )
    assert (run.rc, run.timed_out) == (3, False)
    assert tail(run.log) == "verify failed"
