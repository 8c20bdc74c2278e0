# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the CIS audit on a real test host with 0, 10, 40 and 100 running containers.

Creates a Debian test host (tools/testhost.py), installs the engine, and for
each container count measures, over --repeat runs (median):
  - module time: the `duration` cis_audit reports (facts + every check);
  - task time: wall time of the Ansible task around it (ansible ad-hoc, docker connection);
  - peak memory: max RSS of the audit run directly in the host with the same module_utils.
Prints a Markdown table and writes it to bench/results-audit.md.

    python bench/audit_bench.py [--distro debian13] [--counts 0,10,40,100] [--repeat 5] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
HOST = "dg-bench-audit"

IMAGE = r"""
set -e
export DEBIAN_FRONTEND=noninteractive
for i in $(seq 60); do systemctl is-system-running 2>/dev/null | grep -qE "running|degraded" && break; sleep 1; done
command -v dockerd >/dev/null || { apt-get update -qq; apt-get install -y -qq docker.io busybox-static >/dev/null; }
command -v docker >/dev/null || apt-get install -y -qq docker-cli >/dev/null
[ -x /bin/busybox ] || apt-get install -y -qq busybox-static >/dev/null
docker image inspect dg-busybox:1 >/dev/null 2>&1 || {
  d=$(mktemp -d); mkdir -p $d/bin; cp /bin/busybox $d/bin/; ln -s busybox $d/bin/sleep; ln -s busybox $d/bin/sh
  tar -C $d -c . | docker import -c 'CMD ["/bin/sleep","1000000"]' - dg-busybox:1 >/dev/null
}
"""

DIRECT = r"""
import json, resource, subprocess, sys, time
sys.path.insert(0, "/tmp/dg-bench")
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import audit, facts
def run(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True)
    except FileNotFoundError:
        return 127, "", "not found"
    return p.returncode, p.stdout, p.stderr
t0 = time.monotonic()
tgt = facts.system_target()
out = audit.run(facts.Facts(facts.LocalHost(run, tgt.socket, 10.0), tgt))
print(json.dumps({"seconds": time.monotonic() - t0, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "results": len(out["results"])}))
"""


def sh(*argv: str, input: str | None = None) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, input=input).stdout


def dexec(script: str) -> str:
    return sh("docker", "exec", "-i", HOST, "bash", "-s", input=script)


def set_containers(n: int) -> None:
    have = int(dexec("docker ps -q --filter label=dg-bench | wc -l").strip())
    if have < n:
        dexec(
            f"for i in $(seq {have + 1} {n}); do docker run -d -l dg-bench --memory 32m dg-busybox:1 >/dev/null; done"
        )
    elif have > n:
        dexec(f"docker ps -q --filter label=dg-bench | head -n {have - n} | xargs -r docker rm -f >/dev/null")


def ansible_task(inventory: str) -> tuple[float, float]:
    t0 = time.monotonic()
    out = subprocess.run(
        ["ansible", "-i", inventory, HOST, "-m", "dockguard.hardening.cis_audit", "-a", "level=2", "-o"],
        capture_output=True, text=True, check=True, env=dict(os.environ, ANSIBLE_DEPRECATION_WARNINGS="0"),
    )  # fmt: skip
    wall = time.monotonic() - t0
    data = json.loads(out.stdout[out.stdout.index("{") :])
    return wall, float(data["audit"]["duration"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distro", default="debian13")
    ap.add_argument("--counts", default="0,10,40,100")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="leave the test host running")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    testhost = [sys.executable, str(ROOT / "tools" / "testhost.py")]
    subprocess.run([*testhost, "image", args.distro], check=True)
    subprocess.run([*testhost, "destroy", HOST], check=False, capture_output=True)
    subprocess.run([*testhost, "create", HOST, args.distro], check=True)
    rows = []
    try:
        dexec(IMAGE)
        dest = "/tmp/dg-bench/ansible_collections/dockguard/hardening"
        tar = subprocess.run(["tar", "-C", str(ROOT), "-c", "plugins"], check=True, capture_output=True).stdout
        subprocess.run(
            ["docker", "exec", "-i", HOST, "sh", "-c", f"mkdir -p {dest} && tar -C {dest} -x"], input=tar, check=True
        )
        version = dexec("docker version --format '{{.Server.Version}}'").strip()
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as inv:
            inv.write(f"all:\n  hosts:\n    {HOST}:\n      ansible_connection: community.docker.docker\n"
                      "      ansible_python_interpreter: /usr/bin/python3\n")  # fmt: skip
        for n in counts:
            set_containers(n)
            ansible_task(inv.name)  # warm-up
            walls, modules, direct, rss = [], [], [], []
            for _run in range(args.repeat):
                wall, module = ansible_task(inv.name)
                walls.append(wall)
                modules.append(module)
                d = json.loads(sh("docker", "exec", "-i", HOST, "python3", "-", input=DIRECT))
                direct.append(d["seconds"])
                rss.append(d["maxrss_kb"])
            rows.append((n, statistics.median(modules), statistics.median(direct), statistics.median(walls), max(rss)))
            n_, module_s, _direct, task_s, rss_kb = rows[-1]
            print(
                f"{n_:>4} containers: module {module_s:.3f}s, task {task_s:.2f}s, rss {rss_kb / 1024:.1f} MiB",
                flush=True,
            )
    finally:
        if not args.keep:
            subprocess.run([*testhost, "destroy", HOST], check=False, capture_output=True)
    cpuinfo = pathlib.Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    lines = [
        f"CIS audit, all 117 controls, Engine {version} on a {args.distro} test host; {os.cpu_count()} cores ({cpu}); "
        f"median of {args.repeat} runs.",
        "",
        "| running containers | module time (s) | audit in-process (s) | Ansible task (s) | peak RSS (MiB) |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {m:.3f} | {d:.3f} | {w:.2f} | {r / 1024:.1f} |" for n, m, d, w, r in rows]
    table = "\n".join(lines) + "\n"
    print(table)
    (ROOT / "bench" / "results-audit.md").write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
