# SPDX-License-Identifier: GPL-3.0-or-later
"""The tarball of `ansible-galaxy collection build`, built once for tests/packaging and installed."""

from __future__ import annotations

import os
import pathlib
import subprocess
import tarfile
import typing as t

import ansible_collections
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())


def run(argv: list[str], env: dict[str, str] | None = None, cwd: pathlib.Path = ROOT) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


@pytest.fixture(scope="session")
def sh() -> t.Callable[..., str]:
    """run(argv, env=None, cwd=ROOT): its stdout, or the test fails with both outputs."""
    return run


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    tmp = tmp_path_factory.mktemp("galaxy")
    run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp / "dist"), str(ROOT)], cwd=tmp)
    (tarball,) = (tmp / "dist").glob("*.tar.gz")
    collections = tmp / "collections"
    collections.mkdir()
    bundled = next(p for p in ansible_collections.__path__ if pathlib.Path(p).parent.name == "site-packages")
    (tmp / "ansible.cfg").write_text("[defaults]\n")  # not the checkout's configuration
    env = {
        **os.environ,
        # only the installed copy (never the checkout's link), and the collections the
        # `ansible` package bundles (for the dependencies)
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}:{pathlib.Path(bundled).parent}",
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CONFIG": str(tmp / "ansible.cfg"),
    }
    run(
        ["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", str(collections), str(tarball)],
        env=env,
        cwd=tmp,
    )
    installed = collections / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert (installed / "MANIFEST.json").is_file(), f"nothing installed at {installed}"
    with tarfile.open(tarball) as tar:
        names = [m.name for m in tar.getmembers()]
    return {"tarball": tarball, "names": names, "installed": installed, "env": env}
