# SPDX-License-Identifier: GPL-3.0-or-later
"""The import set-up of conftest.py: our collection and the bundled ones side by side."""

from __future__ import annotations

import importlib
import os
import pathlib

import ansible_collections
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_collection_resolves_to_this_checkout() -> None:
    from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json

    assert pathlib.Path(_daemon_json.__file__).resolve() == ROOT / "plugins" / "module_utils" / "_daemon_json.py"


def test_namespace_package_merges_both_portions() -> None:
    portions = [pathlib.Path(p) for p in ansible_collections.__path__]
    assert pathlib.Path(os.environ["DG_COLLECTIONS"]) / "ansible_collections" in portions
    assert any(p.parent.name == "site-packages" for p in portions), portions
    assert not hasattr(ansible_collections, "__file__") or ansible_collections.__file__ is None


@pytest.mark.parametrize("name", ["ansible_collections.community.docker", "ansible_collections.ansible.posix"])
def test_bundled_collections_still_resolve(name: str) -> None:
    module = importlib.import_module(name)
    assert "site-packages" in str(next(iter(module.__path__)))


def test_the_link_lives_outside_the_checkout() -> None:
    """Tests write nothing into the checkout: the collection link is in a cache or temporary directory."""
    collections = pathlib.Path(os.environ["DG_COLLECTIONS"]).resolve()
    assert not collections.is_relative_to(ROOT), collections
    assert (collections / "ansible_collections" / "dockguard" / "hardening").resolve() == ROOT
