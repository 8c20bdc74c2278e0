# SPDX-License-Identifier: GPL-3.0-or-later
"""Make ansible_collections.dockguard.hardening importable from this checkout."""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"
LINK = COLLECTIONS / "ansible_collections" / "dockguard" / "hardening"
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(ROOT)
sys.path.insert(0, str(COLLECTIONS))
