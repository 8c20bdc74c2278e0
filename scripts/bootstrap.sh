#!/usr/bin/env bash
# Set up the controller side on a fresh Debian machine (as root), idempotently:
# a virtualenv with the pinned tools, and the collection linked where Ansible
# finds it. Source it: it exports PATH, ANSIBLE_COLLECTIONS_PATH and the cache
# locations below.
#
# Nothing is written into the checkout. What is built is cached outside it, by
# a hash of what it is built from, so a fresh clone on the same machine reuses it:
#   $DG_CACHE      DOCKGUARD_CACHE, default /var/cache/dockguard (~/.cache/dockguard
#                  when that is not writable)
#     venv-HASH    the pinned tools: HASH of requirements.txt and the python3 that
#                  builds it (DOCKGUARD_VENV overrides the whole path)
#     pip/         pip's downloads
#     sanity-venv-HASH  ansible-test's own virtualenv (tests/lint)
#     checkouts/NAME-HASH = $DG_WORK, this checkout's own state (HASH of its path):
#                  collections/ (the link), pycache/, ruff/, mypy/, hypothesis/,
#                  molecule-logs/
# Base images of the test hosts are cached in the Docker engine, tagged by a hash
# of their recipe (tools/testhost.py).
# Strict while it runs (a failed step stops it), the caller's shell options back after.
_dg_opts=""
case $- in *e*) ;; *) _dg_opts+="set +e;" ;; esac
case $- in *u*) ;; *) _dg_opts+="set +u;" ;; esac
shopt -qo pipefail || _dg_opts+="set +o pipefail;"
set -euo pipefail
DG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DG_CACHE="${DOCKGUARD_CACHE:-/var/cache/dockguard}"
if ! mkdir -p "$DG_CACHE" 2>/dev/null || [ ! -w "$DG_CACHE" ]; then
  DG_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/dockguard"
  mkdir -p "$DG_CACHE"
fi

_dg_log() { printf '[bootstrap] %s\n' "$*" >&2; }
# apt may be busy (another checkout's bootstrap, a test host being built): wait for its lock.
_dg_apt() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  _dg_log "installing python3-venv"
  _dg_apt update -qq
  _dg_apt install -y -qq python3 python3-venv python3-pip git >/dev/null
fi
# ansible-test sanity's shellcheck test skips without it: install it so that test runs.
if ! command -v shellcheck >/dev/null; then
  _dg_log "installing shellcheck"
  _dg_apt update -qq
  _dg_apt install -y -qq shellcheck >/dev/null
fi

_dg_sum="$({ cat "$DG_ROOT/requirements.txt"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)"
DG_VENV="${DOCKGUARD_VENV:-$DG_CACHE/venv-$_dg_sum}"
_dg_venv_ready() {
  [ -x "$DG_VENV/bin/python" ] && [ "$(cat "$DG_VENV/.dockguard-requirements" 2>/dev/null)" = "$_dg_sum" ]
}
if ! _dg_venv_ready; then
  # Several shells may source this at once: one builds, the others wait and reuse.
  exec {_dg_lock_fd}>"$DG_CACHE/.venv.lock"
  flock "$_dg_lock_fd"
  if ! _dg_venv_ready; then
    if [ -z "${DOCKGUARD_VENV:-}" ] || [ ! -x "$DG_VENV/bin/python" ]; then
      _dg_log "creating $DG_VENV (a few minutes the first time on a machine)"
      python3 -m venv --clear "$DG_VENV"
    fi
    _dg_log "installing pinned requirements into $DG_VENV"
    PIP_CACHE_DIR="$DG_CACHE/pip" "$DG_VENV/bin/pip" install -q --disable-pip-version-check \
      -r "$DG_ROOT/requirements.txt"
    echo "$_dg_sum" > "$DG_VENV/.dockguard-requirements"
  fi
  flock -u "$_dg_lock_fd"
  exec {_dg_lock_fd}>&-
fi

# This checkout's own state, outside it.
DG_WORK="$DG_CACHE/checkouts/$(basename "$DG_ROOT")-$(printf '%s' "$DG_ROOT" | sha256sum | cut -c1-12)"
DG_COLLECTIONS="$DG_WORK/collections"
# The collection is this repository: make it importable as dockguard.hardening.
mkdir -p "$DG_COLLECTIONS/ansible_collections/dockguard"
ln -sfn "$DG_ROOT" "$DG_COLLECTIONS/ansible_collections/dockguard/hardening"
export DG_ROOT DG_CACHE DG_VENV DG_WORK DG_COLLECTIONS
export PATH="$DG_VENV/bin:$PATH"
# Tools' caches (pyproject.toml's mypy_path reads DG_COLLECTIONS).
export PYTHONPYCACHEPREFIX="$DG_WORK/pycache"
export RUFF_CACHE_DIR="$DG_WORK/ruff"
export MYPY_CACHE_DIR="$DG_WORK/mypy"
# The collections bundled with the `ansible` package (community.docker, ...).
_dg_bundled="$("$DG_VENV/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(list(ansible_collections.__path__)[0]))')"
export ANSIBLE_COLLECTIONS_PATH="$DG_COLLECTIONS:$_dg_bundled"
export ANSIBLE_CONFIG="$DG_ROOT/ansible.cfg"
eval "$_dg_opts"
unset _dg_opts
