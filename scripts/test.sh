#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root, as one pytest run
# whose summary line is the last thing printed:
#   tests/unit       pure logic, modules against fake hosts
#   tests/lint       ruff, mypy, vermin (Python 3.9 on managed hosts), ansible-lint,
#                    ansible-test sanity, the shared Molecule configuration
#   tests/packaging  ansible-galaxy collection build, install, ansible-doc of every
#                    module and role from the install
#   tests/molecule   every Molecule scenario on real Docker test hosts
#                    (DOCKGUARD_MOLECULE_JOBS at a time, DOCKGUARD_MOLECULE_TIMEOUT each)
# Nothing is written into the checkout: scripts/bootstrap.sh puts the virtualenv,
# caches, the collection link and logs under $DG_CACHE (default /var/cache/dockguard).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
python3 tools/testhost.py engine          # start a Docker engine when none answers
exec python -m pytest -q -rfE tests/unit tests/lint tests/packaging tests/molecule "$@"
