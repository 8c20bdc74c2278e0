# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ansible_collections.dockguard.hardening importable from this checkout.

`ansible_collections` is a namespace package (no __init__.py): the `ansible`
package ships one in site-packages with the bundled collections, and
scripts/bootstrap.sh links this repository as
$DG_COLLECTIONS/ansible_collections/dockguard/hardening, outside the checkout.
With $DG_COLLECTIONS on sys.path both portions merge into one package, so
`ansible_collections.dockguard.hardening` and e.g. `ansible_collections.community.docker`
both resolve (tests/unit/test_collection_import.py checks it).

Nothing is written into the checkout: without scripts/bootstrap.sh the link
goes to a temporary directory, and Hypothesis keeps its example database in
$DG_WORK/hypothesis (or that temporary directory) instead of ./.hypothesis.
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import configuration

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORK = pathlib.Path(os.environ.get("DG_WORK") or tempfile.mkdtemp(prefix="dg-unit-"))
COLLECTIONS = pathlib.Path(os.environ.get("DG_COLLECTIONS") or WORK / "collections")
LINK = COLLECTIONS / "ansible_collections" / "dockguard" / "hardening"

if not LINK.exists():  # without scripts/bootstrap.sh: the same link it makes
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(ROOT)
os.environ["DG_COLLECTIONS"] = str(COLLECTIONS)  # for tests that start ansible-doc or ansible-playbook
if str(COLLECTIONS) not in sys.path:
    # a namespace package recomputes its __path__ when sys.path changes, so this
    # works even if something imported ansible_collections before this conftest
    sys.path.insert(0, str(COLLECTIONS))
configuration.set_hypothesis_home_dir(WORK / "hypothesis")


@pytest.fixture(autouse=True)
def _no_warnings_from_other_tests() -> Iterator[None]:
    """AnsibleModule's warnings and deprecations are process-wide: a module test sees only its own."""
    from ansible.module_utils.common import warnings

    warnings._global_warnings.clear()
    warnings._global_deprecations.clear()
    yield
