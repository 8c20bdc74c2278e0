# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: building the collection's seccomp profile, and container start time with and without it.

  - build: _seccomp.profile.build + render (which checks the profile), in-process on the controller,
    median of --builds runs;
  - start: wall time of `docker run --rm IMAGE true` inside a test host, median of --repeat runs per
    variant, the variants interleaved so that drift hits all of them alike:
      stock       the engine's own default profile (the daemon's default on a stock host);
      dockguard   the collection's profile (the same JSON the role deploys, given per container);
      unconfined  no seccomp at all.

The host must run the engine with its own default profile (a stock host) and have IMAGE: by default a new
test host is made (tools/testhost.py, engine installed, base image loaded) and destroyed afterwards.
Prints a Markdown table and appends it to bench/results-seccomp.md.

    python bench/seccomp_bench.py [--distro debian13] [--host EXISTING] [--repeat 15] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("DG_COLLECTIONS", ""))

from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp import profile  # noqa: E402

TESTHOST = [sys.executable, str(ROOT / "tools/testhost.py")]
SETUP = r"""
set -e
export DEBIAN_FRONTEND=noninteractive
for i in $(seq 60); do systemctl is-system-running 2>/dev/null | grep -qE "running|degraded" && break; sleep 1; done
command -v dockerd >/dev/null || { apt-get update -qq; apt-get install -y -qq docker.io >/dev/null; }
command -v docker >/dev/null || apt-get install -y -qq docker-cli >/dev/null
"""
# Runs inside the host: argv = image, repeat, then "name=options" per variant; prints {name: [seconds]}.
TIMER = r"""
import json, subprocess, sys, time
image, repeat, variants = sys.argv[1], int(sys.argv[2]), [v.split("=", 1) for v in sys.argv[3:]]
out = {name: [] for name, _opts in variants}
subprocess.run(["docker", "run", "--rm", image, "true"], check=True)  # warm the image cache
for _ in range(repeat):
    for name, opts in variants:
        t0 = time.monotonic()
        subprocess.run(["docker", "run", "--rm", *opts.split(), image, "true"], check=True)
        out[name].append(time.monotonic() - t0)
print(json.dumps(out))
"""


def sh(*argv: str, stdin: str | None = None) -> str:
    return subprocess.run(argv, input=stdin, check=True, capture_output=True, text=True).stdout


def in_host(host: str, script: str, *args: str, stdin: str | None = None) -> str:
    return sh("docker", "exec", "-i", host, *args, stdin=stdin or script)


def build_times(runs: int) -> tuple[float, int, int]:
    times = []
    for _round in range(runs):
        t0 = time.perf_counter()
        text = profile.render(profile.build(platform.machine()))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(text), len(json.loads(text)["syscalls"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distro", default="debian13", choices=["debian12", "debian13"])
    ap.add_argument("--host", help="an existing stock test host to use (kept)")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--builds", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the host made for the run")
    args = ap.parse_args()

    build_s, size, rules = build_times(args.builds)
    host = args.host or f"dg-bench-seccomp-{args.distro}"
    image = sh(*TESTHOST, "image", "debian12").strip()
    if not args.host:
        sh(*TESTHOST, "create", host, args.distro)
    try:
        in_host(host, SETUP, "bash", "-s")
        if subprocess.run(
            ["docker", "exec", host, "docker", "image", "inspect", image], capture_output=True, check=False
        ).returncode:
            sh(*TESTHOST, "load-image", host, image)
        info = json.loads(in_host(host, "", "docker", "info", "--format", "{{json .}}", stdin=""))
        running = [o for o in info.get("SecurityOptions") or [] if "seccomp" in o]
        if not any(o.endswith(("profile=default", "profile=builtin")) for o in running):
            raise SystemExit(f"{host}: the daemon runs {running}, not the engine's own profile: use a stock host")
        in_host(
            host, "", "sh", "-c", "cat > /root/dg-bench-seccomp.json", stdin=profile.render(profile.build("x86_64"))
        )
        variants = ["stock=", "dockguard=--security-opt seccomp=/root/dg-bench-seccomp.json",
                    "unconfined=--security-opt seccomp=unconfined"]  # fmt: skip
        got = json.loads(in_host(host, TIMER, "python3", "-", image, str(args.repeat), *variants, stdin=TIMER))
    finally:
        if not args.host and not args.keep:
            sh(*TESTHOST, "destroy", host)
    version = info.get("ServerVersion")
    lines = [
        f"\n## Engine {version} ({args.distro if not args.host else host}), {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}\n",
        f"Profile build + render + check: {build_s * 1000:.1f} ms (median of {args.builds}); "
        f"{size} bytes, {rules} rules.\n",
        f"Container start (`docker run --rm IMAGE true`), median of {args.repeat} interleaved runs:\n",
        "| seccomp | median (s) | min (s) | max (s) |",
        "|---|---:|---:|---:|",
    ]
    for name, times in got.items():
        lines.append(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} | {max(times):.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(ROOT / "bench/results-seccomp.md", "a") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
