#!/usr/bin/env bash
# Set up the controller side on a fresh Debian machine (as root), idempotently:
# a virtualenv with the pinned tools, and the collection linked where Ansible
# finds it. Source it: it exports PATH and ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
DG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DG_VENV="${DOCKGUARD_VENV:-$DG_ROOT/.venv}"
DG_CACHE="$DG_ROOT/.cache"
export DG_ROOT DG_VENV DG_CACHE

_dg_log() { printf '[bootstrap] %s\n' "$*" >&2; }

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  _dg_log "installing python3-venv"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip git >/dev/null
fi
# ansible-test sanity's shellcheck test skips without it: install it so that test runs.
if ! command -v shellcheck >/dev/null; then
  _dg_log "installing shellcheck"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
if [ ! -x "$DG_VENV/bin/python" ]; then
  _dg_log "creating $DG_VENV"
  python3 -m venv "$DG_VENV"
fi
req_sum="$(sha256sum "$DG_ROOT/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$DG_VENV/.dockguard-requirements" 2>/dev/null)" != "$req_sum" ]; then
  _dg_log "installing pinned requirements (a few minutes on a fresh machine)"
  "$DG_VENV/bin/pip" install -q --disable-pip-version-check -r "$DG_ROOT/requirements.txt"
  echo "$req_sum" > "$DG_VENV/.dockguard-requirements"
fi
# The collection is this repository: make it importable as dockguard.hardening.
mkdir -p "$DG_CACHE/collections/ansible_collections/dockguard"
ln -sfn "$DG_ROOT" "$DG_CACHE/collections/ansible_collections/dockguard/hardening"
export PATH="$DG_VENV/bin:$PATH"
# The collections bundled with the `ansible` package (community.docker, ...).
_dg_bundled="$("$DG_VENV/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(list(ansible_collections.__path__)[0]))')"
export ANSIBLE_COLLECTIONS_PATH="$DG_CACHE/collections:$_dg_bundled"
export ANSIBLE_CONFIG="$DG_ROOT/ansible.cfg"
