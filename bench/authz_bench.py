# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: latency the dockguard authorization plugin adds to Engine API calls, and its memory.

Creates a Debian test host (tools/testhost.py), installs the engine, applies the authz role with its
defaults (ansible-playbook, docker connection), then inside the host measures over --calls calls each,
with the plugin and without it (authorization-plugins removed from daemon.json, dockerd restarted):
  - GET /_ping (a cheap read: judged as a read);
  - POST /containers/create with a compliant body naming an image the engine does not have (the plugin
    judges the whole body; the engine answers 404 at once, so the engine's own work stays small and equal);
  - the plugin's resident memory (VmRSS of the service) after the runs, and its peak (VmHWM).
Prints a Markdown table and writes it to bench/results-authz.md.

    python bench/authz_bench.py [--distro debian12] [--calls 2000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
HOST = "dg-bench-authz"

# the audit bench's host preparation (wait for systemd, install the engine, a busybox image)
sys.path.insert(0, str(ROOT / "bench"))
from audit_bench import IMAGE as PREPARE  # noqa: E402

PLAYBOOK = """
- hosts: all
  gather_facts: false
  roles:
    - role: dockguard.hardening.authz
"""

# Runs inside the host: stdlib only.
MEASURE = r"""
import http.client, json, socket, statistics, subprocess, sys, time

CALLS = int(sys.argv[1])
BODY = json.dumps({"Image": "dg-no-such-image:1", "Cmd": ["true"], "User": "1000",
                   "HostConfig": {"Memory": 67108864, "PidsLimit": 50}})

class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect("/var/run/docker.sock")

def wait():
    for _ in range(300):
        try:
            c = Unix("localhost"); c.request("GET", "/_ping"); c.getresponse().read(); return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("dockerd did not come back")

def series(method, path, body, expect):
    c = Unix("localhost")
    out = []
    for i in range(CALLS + 50):
        t0 = time.perf_counter()
        c.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        r = c.getresponse(); r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status != expect:
            raise SystemExit(f"{method} {path}: status {r.status}, expected {expect}")
        if i >= 50:  # warm-up discarded
            out.append(dt)
    out.sort()
    return {"p50": statistics.median(out), "p99": out[int(len(out) * 0.99) - 1], "n": len(out)}

def run():
    return {"ping": series("GET", "/_ping", None, 200),
            "create": series("POST", "/v1.41/containers/create", BODY, 404)}

def plugins(on):
    with open("/etc/docker/daemon.json") as fh:
        cfg = json.load(fh)
    if on:
        cfg["authorization-plugins"] = ["dockguard-authz"]
    else:
        cfg.pop("authorization-plugins", None)
    with open("/etc/docker/daemon.json", "w") as fh:
        json.dump(cfg, fh, indent=2)
    subprocess.run(["systemctl", "restart", "docker"], check=True)
    wait()

def rss():
    pid = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", "dockguard-authz.service"],
                         capture_output=True, text=True).stdout.strip()
    status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)
    return {k: int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}

wait()
result = {"with": run(), "memory": rss()}
plugins(False)
result["without"] = run()
plugins(True)
result["engine"] = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True,
                                  text=True).stdout.strip()
result["log_lines"] = sum(1 for _ in open("/var/log/dockguard-authz/decisions.jsonl"))
print(json.dumps(result))
"""


def sh(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, text=True, **kw)  # type: ignore[call-overload]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--distro", default="debian12")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    testhost = [sys.executable, str(ROOT / "tools" / "testhost.py")]
    sh([*testhost, "image", args.distro])
    sh([*testhost, "create", HOST, args.distro])
    try:
        sh(["docker", "exec", HOST, "bash", "-c", PREPARE])
        with tempfile.TemporaryDirectory() as tmp:
            inv, play = pathlib.Path(tmp, "inventory"), pathlib.Path(tmp, "play.yml")
            inv.write_text(f"{HOST} ansible_connection=community.docker.docker\n")
            play.write_text(PLAYBOOK)
            sh(["ansible-playbook", "-i", str(inv), str(play)], stdout=subprocess.DEVNULL, env=os.environ.copy())
        out = sh(
            ["docker", "exec", "-i", HOST, "python3", "-", str(args.calls)], input=MEASURE, capture_output=True
        ).stdout
        res = json.loads(out)
    finally:
        if not args.keep:
            sh([*testhost, "destroy", HOST])
    lines = [
        f"dockguard-authz, default policy, Engine {res['engine']} on a {args.distro} test host; 2 cores; "
        f"{res['with']['ping']['n']} calls per row after 50 warm-up calls, one kept-alive connection.",
        "",
        "| call | p50 without (ms) | p50 with (ms) | added p50 (ms) "
        "| p99 without (ms) | p99 with (ms) | added p99 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in (("ping", "GET /_ping"), ("create", "POST /containers/create (judged, 404)")):
        w, wo = res["with"][key], res["without"][key]
        lines.append(
            f"| {name} | {wo['p50']:.2f} | {w['p50']:.2f} | {w['p50'] - wo['p50']:.2f} | {wo['p99']:.2f} | "
            f"{w['p99']:.2f} | {w['p99'] - wo['p99']:.2f} |"
        )
    mem = res["memory"]
    lines += [
        "",
        f"Plugin memory after the runs: VmRSS {mem['VmRSS']:.1f} MiB, peak VmHWM {mem['VmHWM']:.1f} MiB "
        f"({res['log_lines']} decision log lines written).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench" / "results-authz.md").write_text(text)


if __name__ == "__main__":
    main()
