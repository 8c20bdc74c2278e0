# SPDX-License-Identifier: GPL-3.0-or-later
"""Real Docker test hosts for dockguard.hardening: the command line.

The code (the container flags, the image and VM recipes, create, destroy, ...) is
the collection's own plugins/plugin_utils/_testhost.py, which the shipped
playbooks/molecule_create.yml and molecule_destroy.yml run for Molecule
scenarios, ours and our users'. This file only loads that one copy and runs
its command line, with the same commands and flags:

  python3 tools/testhost.py engine | image DISTRO | create NAME DISTRO [...] |
          destroy NAME... | info NAME | ssh NAME -- CMD | load-image HOST IMAGE

`python3 tools/testhost.py --help` prints the full help. Stdlib only: it runs
with any Python 3.11+, without Ansible installed.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import types

CODE = pathlib.Path(__file__).resolve().parents[1] / "plugins" / "plugin_utils" / "_testhost.py"


def load() -> types.ModuleType:
    """The collection's _testhost module, loaded from its file (no ansible_collections package needed)."""
    spec = importlib.util.spec_from_file_location("dockguard_testhost", CODE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {CODE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    sys.exit(load().main(prog="tools/testhost.py"))
