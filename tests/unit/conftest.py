# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ansible_collections.dockguard.hardening importable from this checkout.

`ansible_collections` is a namespace package (no __init__.py): the `ansible`
package ships one in site-packages with the bundled collections, and
scripts/bootstrap.sh links this repository as
.cache/collections/ansible_collections/dockguard/hardening. With
.cache/collections on sys.path both portions merge into one package, so
`ansible_collections.dockguard.hardening` and e.g. `ansible_collections.community.docker`
both resolve (tests/unit/test_collection_import.py checks it).
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "dockguard" / "hardening"

if not LINK.exists():  # without scripts/bootstrap.sh: the same link it makes
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(ROOT)
if str(COLLECTIONS) not in sys.path:
    # a namespace package recomputes its __path__ when sys.path changes, so this
    # works even if something imported ansible_collections before this conftest
    sys.path.insert(0, str(COLLECTIONS))
