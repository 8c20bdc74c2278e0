# SPDX-License-Identifier: GPL-3.0-or-later
"""The linters a change must keep clean, each as a test: no ignore lists anywhere.

Nothing here writes into the checkout: the tools' caches go to $DG_WORK (this
checkout's state, outside it: scripts/bootstrap.sh) and ansible-test's own
virtualenv to $DG_CACHE/sanity-venv-HASH, shared by every checkout on the machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORK = pathlib.Path(os.environ.get("DG_WORK") or tempfile.mkdtemp(prefix="dg-lint-"))
CACHE = pathlib.Path(os.environ.get("DG_CACHE") or WORK)
# Under CI a test that cannot run fails: a skip there would land a change nobody checked.
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Python on managed hosts: RHEL 9's platform Python and newer.
PYTHON_FLOOR = "3.9"
# pip in ansible-test's per-test virtualenvs could not reach PyPI at all: the
# network, not the project (a TLS failure is not in this list: it was ours, see
# tools/get_pip_offline.py and docs/testing.md).
NETWORK_DOWN = re.compile(
    r"Failed to establish a new connection|Temporary failure in name resolution|Network is unreachable"
    r"|Name or service not known|Connection refused"
)
NOT_APPLICABLE = "No tests applicable."
PYTHON_DIRS = ["plugins", "tests", "tools", "molecule"]


def tool_env() -> dict[str, str]:
    """The linters' caches outside the checkout (as scripts/bootstrap.sh exports them)."""
    env = dict(os.environ)
    env.setdefault("RUFF_CACHE_DIR", str(WORK / "ruff"))
    env.setdefault("MYPY_CACHE_DIR", str(WORK / "mypy"))
    env.setdefault("PYTHONPYCACHEPREFIX", str(WORK / "pycache"))
    return env


def run(argv: list[str], cwd: pathlib.Path = ROOT, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=tool_env())
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
    return proc


def test_ruff_check() -> None:
    run(["ruff", "check", *PYTHON_DIRS])


def test_ruff_format() -> None:
    run(["ruff", "format", "--check", *PYTHON_DIRS])


def test_mypy() -> None:
    # pyproject.toml's mypy_path is $DG_COLLECTIONS: the link as ansible_collections/dockguard/hardening
    assert os.environ.get("DG_COLLECTIONS"), "DG_COLLECTIONS is not set: source scripts/bootstrap.sh first"
    # a fresh cache: an incremental one, with the same files also seen through the link, reports
    # modules that were moved since as missing ("has no attribute"); a full run takes seconds
    with tempfile.TemporaryDirectory(prefix="dg-mypy-") as cache:
        run([sys.executable, "-m", "mypy", "--cache-dir", cache, "plugins", "tools"])


def vermin_argv(*paths: str) -> list[str]:
    return [
        "vermin",
        f"--target={PYTHON_FLOOR}-",
        "--no-tips",
        "--violations",
        "--no-eval-annotations",
        "--no-make-paths-absolute",
        *paths,
    ]


def test_the_python_floor_check_sees_newer_code(tmp_path: pathlib.Path) -> None:
    """The same vermin command refuses what 3.9 cannot run, and lets string annotations be."""
    newer = tmp_path / "newer.py"
    newer.write_text(
        "import datetime\n\nNOW = datetime.datetime.now(datetime.UTC)\nPAIRS = list(zip([1], [2], strict=True))\n"
    )
    proc = subprocess.run(vermin_argv(str(newer)), capture_output=True, text=True, check=False, env=tool_env())
    assert proc.returncode != 0, proc.stdout
    assert "datetime.UTC" in proc.stdout and "zip(strict)" in proc.stdout, proc.stdout
    fine = tmp_path / "fine.py"
    fine.write_text(
        "from __future__ import annotations\n\n\ndef f(x: int | None) -> list[str] | None:\n    return None\n"
    )
    proc = subprocess.run(vermin_argv(str(fine)), capture_output=True, text=True, check=False, env=tool_env())
    assert proc.returncode == 0, proc.stdout


def test_modules_run_on_the_python_floor() -> None:
    """Modules and module_utils run on the managed host: Python 3.9 (RHEL 9) and newer.

    vermin reads the code for what each construct and standard-library name
    needs. Annotations are not evaluated (--no-eval-annotations: every file has
    `from __future__ import annotations`), so `X | None` in an annotation is fine;
    a 3.10+ construct or API elsewhere (match, zip(strict=), datetime.UTC, ...)
    fails with its file and line.
    """
    proc = run(vermin_argv("plugins/modules", "plugins/module_utils"))
    # vermin exits 0 also when it found nothing to judge: make sure it read the code
    assert re.search(r"Analyzing \d+ files", proc.stdout), proc.stdout


def test_no_ignore_files() -> None:
    ignores = list((ROOT / "tests" / "sanity").glob("ignore-*.txt"))
    assert ignores == [], "sanity ignore files are not allowed: fix the code instead"


def test_ansible_lint_production() -> None:
    run(["ansible-lint", "--offline", "--profile", "production", "--strict"])


def tracked_files() -> list[str]:
    """What ansible-test looks at: the files git tracks (with their working-tree content)."""
    out = subprocess.run(["git", "ls-files", "-c", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [f for f in out.stdout.split("\0") if f and os.path.lexists(ROOT / f)]


@contextlib.contextmanager
def ansible_test_lock() -> Iterator[None]:
    """One ansible-test sanity at a time on this machine.

    Every run shares ~/.ansible/test/venv and ansible-test does not lock it: two
    runs building the same per-test virtualenv delete it under each other
    ("Directory not empty"). $DG_CACHE/sanity-venv-HASH is shared too.
    """
    lock = pathlib.Path.home() / ".ansible" / "test" / ".dockguard-sanity.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sanity_venv() -> pathlib.Path:
    """A virtualenv of its own for ansible-test: its pinned sanity tools would clash with ansible-lint's.

    Built once per machine for an ansible-core pin and a Python, outside the checkout.
    """
    core = next(
        line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("ansible-core==")
    )
    recipe = f"{core}\n{sys.version}"
    venv = CACHE / f"sanity-venv-{hashlib.sha256(recipe.encode()).hexdigest()[:16]}"
    stamp = venv / ".dockguard-recipe"
    if not stamp.exists() or stamp.read_text() != recipe:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", core],
            check=True,
            env=dict(os.environ, PIP_CACHE_DIR=str(CACHE / "pip")),
        )
        stamp.write_text(recipe)
    # ansible-test downloads a pip bootstrap script from a host not reachable here:
    # give it tools/get_pip_offline.py under the name it looks for.
    pyreq = next(venv.glob("lib/python3*/site-packages/ansible_test/_internal/python_requirements.py"))
    found = re.search(r"pip='([0-9.]+)'", pyreq.read_text())
    assert found, f"no pip version in {pyreq}"
    cache = pathlib.Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tools" / "get_pip_offline.py", cache / f"get_pip_{found.group(1).replace('.', '_')}.py")
    return venv


def copy_tracked(dest: pathlib.Path) -> None:
    """The tracked tree at .../ansible_collections/dockguard/hardening, as a git work tree of its own."""
    for rel in tracked_files():
        src, target = ROOT / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, target)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)


def junit_results(junit_dir: pathlib.Path) -> dict[str, tuple[str, str]]:
    """Sanity test name -> (outcome, detail) from ansible-test's --junit files."""
    results: dict[str, tuple[str, str]] = {}
    for path in sorted(junit_dir.glob("ansible-test-sanity-*.xml")):
        for case in ET.parse(path).iter("testcase"):
            name = re.sub(r"-python-[0-9.]+$", "", case.get("name", ""))
            failure = case.find("failure")
            skipped = case.find("skipped")
            if failure is not None:
                results[name] = ("failed", failure.get("message", ""))
            elif skipped is not None:
                reason = (skipped.text or "").strip()
                results[name] = ("not applicable" if reason == NOT_APPLICABLE else "skipped", reason)
            else:
                results[name] = ("passed", "")
    return results


def test_ansible_test_sanity(capsys: pytest.CaptureFixture[str]) -> None:
    # ansible-test wants the collection at .../ansible_collections/NS/NAME, and
    # its --venv/--docker modes download from hosts this machine cannot reach:
    # run --local --requirements in a virtualenv of its own, where it builds one
    # virtualenv per sanity test (cached under ~/.ansible/test/venv).
    env_python = f"{sys.version_info.major}.{sys.version_info.minor}"
    with ansible_test_lock(), tempfile.TemporaryDirectory(prefix="dg-sanity-") as tmp:
        ansible_test = str(sanity_venv() / "bin" / "ansible-test")
        dest = pathlib.Path(tmp) / "ansible_collections" / "dockguard" / "hardening"
        copy_tracked(dest)
        listed = subprocess.run(
            [ansible_test, "sanity", "--list-tests", "--python", env_python],
            cwd=dest,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        argv = [ansible_test, "sanity", "--local", "--requirements", "--python", env_python, "--color", "no", "--junit"]
        proc = subprocess.run(argv, cwd=dest, capture_output=True, text=True, timeout=3000, check=False)
        results = junit_results(dest / "tests" / "output" / "junit")
    out = proc.stdout + proc.stderr
    summary = "\n".join(
        f"  {name:24} {results.get(name, ('did not run', ''))[0]}"
        + (f": {results[name][1]}" if name in results and results[name][0] == "skipped" else "")
        for name in listed
    )
    with capsys.disabled():
        print(f"\nansible-test sanity (rc={proc.returncode}), {len(listed)} tests:\n{summary}")
    findings = "ERROR: Found" in out
    if proc.returncode != 0 and not findings and NETWORK_DOWN.search(out):
        # Outside the project: the machine cannot reach PyPI, where ansible-test
        # installs each sanity test's pinned tools from. A skip by hand; under CI
        # a failure, since a skipped sanity run would land unchecked code.
        message = "PyPI is unreachable: ansible-test cannot install its sanity tools\n" + out[-3000:]
        if CI:
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    if proc.returncode != 0:
        errors = "\n".join(line for line in out.splitlines() if line.startswith(("ERROR:", "FATAL:")))
        pytest.fail(f"ansible-test sanity failed (rc={proc.returncode}):\n{summary}\n{errors}\n\n{out[-3000:]}")
    missing = re.findall(r'Required program "([^"]+)" not found', out)
    assert not missing, f"sanity tests skipped for want of {missing}: scripts/bootstrap.sh installs them\n{summary}"
    assert set(listed) == set(results), f"ansible-test reported no result for {sorted(set(listed) - set(results))}"
    skipped = {name: r[1] for name, r in results.items() if r[0] == "skipped"}
    assert not skipped, f"sanity tests skipped: {skipped}"
    assert any(r[0] == "passed" for r in results.values()), summary
