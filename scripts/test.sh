#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine as root:
# unit tests, ruff, mypy, ansible-lint (production), ansible-test sanity and
# every Molecule scenario on real Docker test hosts. One pytest run; its
# summary line is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
python3 tools/testhost.py engine          # start a Docker engine when none answers
exec python -m pytest -p no:cacheprovider -o addopts="" -q -rfE tests/unit tests/lint tests/integration "$@"
