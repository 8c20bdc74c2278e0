# SPDX-License-Identifier: GPL-3.0-or-later
"""Molecule for users: a user's role tested from an empty directory with only the installed tarball.

The tarball of `ansible-galaxy collection build` is installed into an empty
collections path (conftest.py's `built`, next to the collections the `ansible`
package bundles for the dependencies). A project directory of the user's gets the
example of docs/molecule-for-users.md (docs/examples/molecule): a role of ten
lines and a scenario whose create.yml and destroy.yml import the collection's
dockguard.hardening.molecule_create and molecule_destroy. `molecule test` then
makes a real container test host (debian12, a systemd container running its own
dockerd), converges the role, checks idempotence, and verifies with
dockguard.hardening.cis_audit and the audit role's level-1 gate.

The gate must also bite: with the host kept (`--destroy never`), /etc/docker made
world-writable (CIS 3.6, a level 1 control) makes `molecule verify` fail on that control.

Needs root and a Docker engine (the test host is real); about five minutes.
Runs under the scenario lock /tmp/dg-molecule-user-example.lock; its host
dg-user-example collides with no scenario of molecule/.
"""

from __future__ import annotations

import collections.abc
import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time
import typing as t

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "molecule"
DOC = ROOT / "docs" / "molecule-for-users.md"
HOST = "dg-user-example"
LOCK = "/tmp/dg-molecule-user-example.lock"
TIMEOUT = float(os.environ.get("DOCKGUARD_MOLECULE_TIMEOUT", "1800"))


@contextlib.contextmanager
def locked() -> collections.abc.Iterator[None]:
    with open(LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def molecule(args: list[str], project: pathlib.Path, env: dict[str, str], log: pathlib.Path) -> tuple[int, float]:
    """`molecule ARGS` in the user's project: its exit code and wall time; its whole process group killed on timeout."""
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["molecule", *args],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = -9
    return rc, time.monotonic() - started


def tail(log: pathlib.Path, lines: int = 120) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def container_exists(name: str) -> bool:
    proc = subprocess.run(["docker", "container", "inspect", name], capture_output=True, check=False)
    return proc.returncode == 0


@pytest.fixture
def project(tmp_path: pathlib.Path) -> pathlib.Path:
    """The user's project: an empty directory, then the documented example's files and nothing else."""
    project = tmp_path / "my-project"
    project.mkdir()
    assert not any(project.iterdir())
    shutil.copytree(EXAMPLE, project, dirs_exist_ok=True)
    return project


def test_the_example_is_what_the_doc_shows() -> None:
    """Every file of the example appears whole in docs/molecule-for-users.md (what is proven is what is shown)."""
    doc = DOC.read_text()
    files = sorted(p for p in EXAMPLE.rglob("*") if p.is_file())
    assert {p.relative_to(EXAMPLE).as_posix() for p in files} == {
        "roles/my_docker_host/tasks/main.yml",
        "molecule/default/molecule.yml",
        "molecule/default/create.yml",
        "molecule/default/destroy.yml",
        "molecule/default/converge.yml",
        "molecule/default/verify.yml",
    }
    for path in files:
        assert path.read_text() in doc, f"{path.relative_to(ROOT)} is not shown whole in {DOC.relative_to(ROOT)}"
    role = (EXAMPLE / "roles/my_docker_host/tasks/main.yml").read_text().splitlines()
    assert len(role) <= 10, role


@pytest.mark.molecule
def test_molecule_test_of_a_users_role_from_the_installed_tarball(
    built: dict[str, t.Any], project: pathlib.Path, sh: t.Callable[..., str], tmp_path: pathlib.Path
) -> None:
    env = {
        **built["env"],
        "ANSIBLE_FORCE_COLOR": "0",
        "PY_COLORS": "0",
        "NO_COLOR": "1",
        "HOME": os.environ.get("HOME", "/root"),
    }
    # Only the installed copy of the collection is on the collections path, not the checkout.
    argv = ["ansible-galaxy", "collection", "list", "dockguard.hardening", "--format", "json"]
    listed = json.loads(sh(argv, env=env))
    assert list(listed) == [str(built["installed"].parent.parent)], listed
    assert not any(str(ROOT) in p.read_text() for p in project.rglob("*") if p.is_file())

    with locked():
        try:
            log = tmp_path / "molecule-test.log"
            rc, seconds = molecule(["test", "--destroy", "never"], project, env, log)
            print(f"molecule test: rc={rc} in {seconds:.0f} s; log {log}")
            assert rc == 0, f"molecule test failed (rc={rc}) in {seconds:.0f} s:\n{tail(log)}"
            text = log.read_text()
            # the shipped playbooks made the host, from the installed collection
            assert "TASK [Start the test hosts]" in text
            assert f"{HOST} (debian12)" in text
            # the user's role ran, was idempotent, and the gate judged it
            assert "TASK [my_docker_host : Install the team's tools on every Docker host]" in text
            assert "idempotence: Executed: Successful" in text
            assert f"{HOST}: 0 fail, 0 error" in text
            assert container_exists(HOST), "--destroy never keeps the host"

            # The gate bites: a level 1 control broken on the host fails verify, naming it.
            subprocess.run(["docker", "exec", HOST, "chmod", "0777", "/etc/docker"], check=True)
            bad = tmp_path / "molecule-verify-broken.log"
            rc, _seconds = molecule(["verify"], project, env, bad)
            broken = bad.read_text()
            assert rc != 0, f"verify passed with a world-writable /etc/docker:\n{tail(bad)}"
            assert "CIS gate (level <= 1): 1 failing controls" in broken, tail(bad)
            assert "3.6" in broken.split("CIS gate (level <= 1)")[1], tail(bad)
        finally:
            rc, _seconds = molecule(["destroy"], project, env, tmp_path / "molecule-destroy.log")
        assert rc == 0, tail(tmp_path / "molecule-destroy.log")
        assert not container_exists(HOST), f"{HOST} outlived molecule destroy"
