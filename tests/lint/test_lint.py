# SPDX-License-Identifier: GPL-3.0-or-later
"""The linters a change must keep clean, each as a test: no ignore lists anywhere."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# pip inside ansible-test's per-test virtualenvs runs with a scrubbed
# environment and fails TLS verification against PyPI on these machines.
BOOTSTRAP_FAILURE = "No matching distribution found for pip=="
PYTHON_DIRS = ["plugins", "tests", "tools", "molecule"]


def run(argv: list[str], cwd: pathlib.Path = ROOT, timeout: int = 1800) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")


def test_ruff_check() -> None:
    run(["ruff", "check", *PYTHON_DIRS])


def test_ruff_format() -> None:
    run(["ruff", "format", "--check", *PYTHON_DIRS])


def test_mypy() -> None:
    run([sys.executable, "-m", "mypy", "plugins", "tools"])


def test_no_ignore_files() -> None:
    ignores = list((ROOT / "tests" / "sanity").glob("ignore-*.txt"))
    assert ignores == [], "sanity ignore files are not allowed: fix the code instead"


def test_ansible_lint_production() -> None:
    run(["ansible-lint", "--offline", "--profile", "production", "--strict"])


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [f for f in out.stdout.splitlines() if (ROOT / f).is_file()]


def sanity_venv() -> pathlib.Path:
    """A virtualenv of its own for ansible-test: its pinned sanity tools would clash with ansible-lint's."""
    venv = ROOT / ".cache" / "sanity-venv"
    core = next(
        line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("ansible-core==")
    )
    stamp = venv / ".dockguard-core"
    if not stamp.exists() or stamp.read_text() != core:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", core], check=True)
        stamp.write_text(core)
    # ansible-test downloads a pip bootstrap script from a host not reachable here:
    # give it tools/get_pip_offline.py under the name it looks for.
    pyreq = next(venv.glob("lib/python3*/site-packages/ansible_test/_internal/python_requirements.py"))
    found = re.search(r"pip='([0-9.]+)'", pyreq.read_text())
    assert found, f"no pip version in {pyreq}"
    cache = pathlib.Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tools" / "get_pip_offline.py", cache / f"get_pip_{found.group(1).replace('.', '_')}.py")
    return venv


def test_ansible_test_sanity() -> None:
    # ansible-test wants the collection at .../ansible_collections/NS/NAME, and
    # its --venv/--docker modes download from hosts this machine cannot reach:
    # run --local in a virtualenv that holds ansible-test's own pinned tools.
    venv = sanity_venv()
    with tempfile.TemporaryDirectory(prefix="dg-sanity-") as tmp:
        dest = pathlib.Path(tmp) / "ansible_collections" / "dockguard" / "hardening"
        for rel in tracked_files():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target)
        subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
        subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
        env_python = f"{sys.version_info.major}.{sys.version_info.minor}"
        argv = [str(venv / "bin" / "ansible-test"), "sanity", "--local", "--requirements"]
        argv += ["--python", env_python, "--color", "no"]
        proc = subprocess.run(argv, cwd=dest, capture_output=True, text=True, timeout=3000, check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 and BOOTSTRAP_FAILURE in out and "ERROR: Found" not in out:
        # Not a finding about our code: ansible-test could not build the
        # virtualenv a sanity test runs in (see docs/testing.md).
        pytest.skip(f"ansible-test could not bootstrap its per-test virtualenvs here: {BOOTSTRAP_FAILURE}")
    if proc.returncode != 0:
        pytest.fail(f"ansible-test sanity failed (rc={proc.returncode}):\n{out[-8000:]}")
