# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment for AWX / Automation Platform, as far as this machine can take it.

`ansible-builder create` turns execution-environment.yml into a build context; `ansible-builder
introspect` reads the installed collection's meta/execution-environment.yml, which is what an
image build does inside the base image. The image itself is not built here: its base image
comes from a container registry, which this machine cannot reach.
"""

from __future__ import annotations

import pathlib
import shutil
import typing as t

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def requirement_names(path: pathlib.Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line.split()[0].split(">")[0].split("=")[0].split("[")[0].lower())
    return names


def test_introspect_finds_the_collections_python_and_system_requirements(
    built: dict[str, t.Any], sh: t.Callable[..., str]
) -> None:
    collections = built["installed"].parents[2]
    found = yaml.safe_load(sh(["ansible-builder", "introspect", "--sanitize", str(collections)], env=built["env"]))
    python = " ".join(found["python"]).lower()
    system = " ".join(found["system"]).lower()
    for name in requirement_names(ROOT / "meta" / "ee-requirements.txt"):
        assert name in python, f"{name} from meta/ee-requirements.txt not in the introspected requirements: {python}"
    for name in ("openssh-client", "openssl"):
        assert name in system, f"{name} not in the introspected system requirements: {system}"


def test_create_makes_a_build_context_that_installs_this_collection(
    built: dict[str, t.Any], sh: t.Callable[..., str], tmp_path: pathlib.Path
) -> None:
    shutil.copy(ROOT / "execution-environment.yml", tmp_path)
    shutil.copy(built["tarball"], tmp_path / "dockguard-hardening.tar.gz")
    sh(
        [
            "ansible-builder",
            "create",
            "-f",
            "execution-environment.yml",
            "--context",
            "context",
            "--output-filename",
            "Containerfile",
        ],
        cwd=tmp_path,
    )
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert definition["images"]["base_image"]["name"] in containerfile
    assert (
        "ansible-core==" in containerfile or "ansible-core==" in (context / "_build" / "requirements.txt").read_text()
    )
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    names = [c["name"] for c in requirements["collections"]]
    assert "collections/dockguard-hardening.tar.gz" in names
    assert {"community.docker", "community.crypto", "ansible.posix"} <= set(names)
    assert (context / "_build" / "collections" / "dockguard-hardening.tar.gz").read_bytes() == built[
        "tarball"
    ].read_bytes()
