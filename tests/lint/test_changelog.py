# SPDX-License-Identifier: GPL-3.0-or-later
"""The changelog: fragments antsibull-changelog accepts, and CHANGELOG.rst built from changelog.yaml.

A change lands with a fragment in changelogs/fragments; a release (`antsibull-changelog release`)
folds them into changelogs/changelog.yaml under galaxy.yml's version and writes CHANGELOG.rst.
The check runs on a copy, so nothing is written into the checkout.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run(argv: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_fragments_and_changelog_lint_clean() -> None:
    proc = run(["antsibull-changelog", "lint"], ROOT)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_changelog_rst_is_generated_from_changelog_yaml(tmp_path: pathlib.Path) -> None:
    copy = tmp_path / "collection"
    copy.mkdir()
    for name in ("galaxy.yml", "changelogs", "CHANGELOG.rst", "plugins", "roles", "meta"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, symlinks=True)
        elif source.exists():
            shutil.copy(source, copy / name)
    assert (copy / "CHANGELOG.rst").is_file(), "no CHANGELOG.rst: run `antsibull-changelog release`"
    proc = run(["antsibull-changelog", "generate"], copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (copy / "CHANGELOG.rst").read_text() == (ROOT / "CHANGELOG.rst").read_text(), (
        "CHANGELOG.rst is not what changelogs/changelog.yaml generates: run `antsibull-changelog generate`"
    )


def test_the_released_version_is_galaxy_yml_version() -> None:
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    releases = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert version in releases, f"galaxy.yml says {version}; changelog.yaml has releases {sorted(releases)}"
    assert (ROOT / "CHANGELOG.rst").read_text().count(f"v{version}") >= 1
