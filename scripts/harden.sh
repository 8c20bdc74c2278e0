#!/usr/bin/env bash
# The main job: harden Docker hosts (playbooks/harden.yml: the daemon role only),
# show what changed, then audit them against every control of the CIS Docker
# Benchmark and write the reports to ./dockguard-reports.
#   scripts/harden.sh                  a disposable local test host (Debian 12)
#   scripts/harden.sh -i INVENTORY ... your hosts (extra args go to ansible-playbook)
# Runs on a fresh Debian machine as root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

args=("$@")
if [ "${#args[@]}" -eq 0 ]; then
  host="${DOCKGUARD_LOCAL_HOST:-dockguard-local}"
  python3 tools/testhost.py create "$host" "${DOCKGUARD_LOCAL_DISTRO:-debian12}"
  inv="$DG_CACHE/local-inventory.yml"
  # Test hosts have no CAP_SYS_RESOURCE: their hard open-files limit is the
  # machine's, which the default ulimit (64000) may exceed; daemon_config
  # refuses that, so the local host gets what it can grant.
  nofile=$(docker exec "$host" sh -c 'ulimit -Hn')
  [ "$nofile" = unlimited ] || [ "$nofile" -ge 64000 ] && nofile=64000
  cat > "$inv" <<YAML
all:
  hosts:
    $host:
      ansible_connection: community.docker.docker
      daemon_default_ulimits:
        nofile: {Name: nofile, Hard: $nofile, Soft: $nofile}
YAML
  args=(-i "$inv")
  echo "[harden] no inventory given: hardening the disposable test host '$host'"
  echo "[harden] remove it afterwards with: python3 tools/testhost.py destroy $host"
fi

# Show only what changed, with diffs.
ANSIBLE_DISPLAY_OK_HOSTS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
  ansible-playbook playbooks/harden.yml --diff "${args[@]}"

# Then prove it: every CIS control judged, reports per host and for the fleet.
reports="${DOCKGUARD_REPORT_DIR:-$PWD/dockguard-reports}"
ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
  ansible-playbook playbooks/audit.yml -e "audit_report_dir=$reports" "${args[@]}"
echo "[harden] CIS reports: $reports/fleet.html (per host: <host>.html, .json, .xml)"
