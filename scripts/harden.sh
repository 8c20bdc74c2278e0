#!/usr/bin/env bash
# The main job: harden Docker hosts with a profile (playbooks/harden.yml,
# playbooks/vars/profiles.yml), show what changed, then audit them against every
# control of the CIS Docker Benchmark (with the profile's waivers) and write the
# reports to ./dockguard-reports.
#   scripts/harden.sh [--profile baseline|strict]          a disposable local test host (Debian 12 container)
#   scripts/harden.sh --vm [--profile ...]                 a disposable local VM (own kernel: AppArmor, auditd)
#   scripts/harden.sh [--profile ...] -i INVENTORY ...     your hosts (other args go to ansible-playbook)
# Runs on a fresh Debian machine as root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

profile=baseline
vm=false
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="${2:?--profile needs a name: baseline or strict}"; shift 2 ;;
    --profile=*) profile="${1#--profile=}"; shift ;;
    --vm) vm=true; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ "${#args[@]}" -eq 0 ]; then
  inv="$DG_CACHE/local-inventory.yml"
  if [ "$vm" = true ]; then
    host="${DOCKGUARD_LOCAL_HOST:-dockguard-local-vm}"
    python3 tools/testhost.py create "$host" "${DOCKGUARD_LOCAL_DISTRO:-debian12}-vm"
    python3 - "$host" "$inv" <<'PY'
import json, subprocess, sys
host, inv = sys.argv[1], sys.argv[2]
info = json.loads(subprocess.run([sys.executable, "tools/testhost.py", "info", host], check=True, capture_output=True, text=True).stdout)
vars_ = {"ansible_host": info["address"], "ansible_port": info["port"], "ansible_user": info["user"],
         "ansible_ssh_private_key_file": info["identity_file"],
         "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
open(inv, "w").write(json.dumps({"all": {"hosts": {host: vars_}}}))
PY
  else
    host="${DOCKGUARD_LOCAL_HOST:-dockguard-local}"
    python3 tools/testhost.py create "$host" "${DOCKGUARD_LOCAL_DISTRO:-debian12}"
    # Test hosts have no CAP_SYS_RESOURCE: their hard open-files limit is the
    # machine's, which the confinement role's default (16384) may exceed;
    # daemon_config refuses that, so the local host gets what it can grant.
    nofile=$(docker exec "$host" sh -c 'ulimit -Hn')
    [ "$nofile" = unlimited ] || [ "$nofile" -ge 16384 ] && nofile=16384
    soft=$(( nofile < 1024 ? nofile : 1024 ))
    cat > "$inv" <<YAML
all:
  hosts:
    $host:
      ansible_connection: community.docker.docker
      confinement_default_ulimits:
        nofile: {Name: nofile, Hard: $nofile, Soft: $soft}
        nproc: {Name: nproc, Hard: 8192, Soft: 8192}
YAML
  fi
  args=(-i "$inv")
  echo "[harden] no inventory given: hardening the disposable test host '$host' (profile $profile)"
  echo "[harden] remove it afterwards with: python3 tools/testhost.py destroy $host"
fi

# Show only what changed, with diffs.
ANSIBLE_DISPLAY_OK_HOSTS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
  ansible-playbook playbooks/harden.yml --diff -e "dockguard_profile=$profile" "${args[@]}"

# Then prove it: every CIS control judged, reports per host and for the fleet.
reports="${DOCKGUARD_REPORT_DIR:-$PWD/dockguard-reports}"
ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
  ansible-playbook playbooks/audit.yml -e "audit_report_dir=$reports" -e "dockguard_profile=$profile" "${args[@]}"
echo "[harden] CIS reports: $reports/fleet.html (per host: <host>.html, .json, .xml)"
