# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user gets: `ansible-galaxy collection build` of this checkout, installed and documented.

The tarball is built from the working tree as it is (a checkout that has run
the tests), installed into an empty collections path, and every module and
role is read with ansible-doc from there, not from the checkout. The tarball
carries only files git tracks, none of the caches, and none of what only the
project's own developers need (galaxy.yml's build_ignore).
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import typing as t

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/meta/argument_specs.yml"))

# Never in a tarball, at any depth: caches, virtualenvs, VCS, test output.
CACHE_NAMES = {
    ".cache",
    ".venv",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    ".git",
    ".tox",
    ".ansible",
    ".benchmarks",
}
# Only the project's developers need these (build_ignore).
DEVELOPER_ONLY = [
    ".ci/",
    ".config/",
    "bench/",
    "molecule/",
    "scripts/",
    "tools/",
    "tests/lint/",
    "tests/molecule/",
    "tests/packaging/",
    "tests/output/",
    "docs/examples/",
    "docs/testing.md",
    "changelogs/fragments/",
    ".gitignore",
    ".ansible-lint",
    "pyproject.toml",
    "requirements.txt",
    "ansible.cfg",
]


def tracked() -> set[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {f for f in out.split("\0") if f}


def test_the_tarball_carries_no_cache(built: dict[str, t.Any]) -> None:
    caches = [n for n in built["names"] if CACHE_NAMES & set(pathlib.PurePosixPath(n).parts)]
    assert not caches, f"caches in {built['tarball'].name}: {caches[:20]}"
    assert not [n for n in built["names"] if n.endswith((".pyc", ".tar.gz", ".log"))]


def test_the_tarball_leaves_out_what_only_developers_need(built: dict[str, t.Any]) -> None:
    found = [n for n in built["names"] for d in DEVELOPER_ONLY if n == d.rstrip("/") or n.startswith(d)]
    assert not found, f"galaxy.yml build_ignore should leave these out: {found[:20]}"


def test_the_tarball_carries_only_tracked_files(built: dict[str, t.Any]) -> None:
    files = {n for n in built["names"] if n not in ("MANIFEST.json", "FILES.json")}
    known = tracked()
    dirs = {str(p) for f in known for p in pathlib.PurePosixPath(f).parents}
    untracked = sorted(n for n in files if n not in known and n not in dirs)
    assert not untracked, f"files git does not track (git add them, or build_ignore them): {untracked[:20]}"


def test_the_tarball_carries_what_a_user_needs(built: dict[str, t.Any]) -> None:
    names = set(built["names"])
    assert {"MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml"} <= names
    assert {f"plugins/modules/{m}.py" for m in MODULES} <= names
    assert {f"roles/{r}/meta/argument_specs.yml" for r in ROLES} <= names
    assert any(n.startswith("playbooks/") for n in names)
    manifest = json.loads((built["installed"] / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == GALAXY["version"]


def test_every_module_documents_itself_from_the_install(built: dict[str, t.Any], sh: t.Callable[..., str]) -> None:
    assert MODULES, "no module found"
    names = [f"{FQCN}.{m}" for m in MODULES]
    docs = json.loads(sh(["ansible-doc", "-t", "module", "--json", *names], env=built["env"]))
    assert sorted(docs) == names
    for name, doc in docs.items():
        assert doc["doc"]["short_description"], name
        assert doc["examples"] and doc["return"], f"{name} has no EXAMPLES or RETURN"
        assert pathlib.Path(doc["doc"]["filename"]).is_relative_to(built["installed"]), doc["doc"]["filename"]
    # and the text a user reads renders
    text = sh(["ansible-doc", "-t", "module", *names], env=built["env"])
    for name in names:
        assert f"> MODULE {name}" in text, name


def test_every_role_documents_itself_from_the_install(built: dict[str, t.Any], sh: t.Callable[..., str]) -> None:
    assert ROLES, "no role found"
    listed = json.loads(sh(["ansible-doc", "-t", "role", "-l", "--json", FQCN], env=built["env"]))
    assert sorted(listed) == [f"{FQCN}.{r}" for r in ROLES]
    for role in ROLES:
        text = sh(["ansible-doc", "-t", "role", f"{FQCN}.{role}"], env=built["env"])
        assert str(built["installed"]) in text, f"{role} was not read from the install:\n{text[:500]}"
        assert "ENTRY POINT: *main*" in text, text[:500]
