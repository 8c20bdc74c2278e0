# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: harden and audit one host vs a fleet of N in one play, and the idempotent re-run.

On this machine, with real test hosts (tools/testhost.py, Debian 12 containers running their
own dockerd), it measures with Ansible's own levers only (forks = fleet size, pipelining, a
jsonfile fact cache; the ansible.posix.json callback for timings):

  1. harden (playbooks/harden.yml, --profile's roles) + audit of ONE fresh host: wall time;
  2. the same of N fresh hosts in one play: wall time, and where it goes (per role, per module);
  3. the idempotent re-run of harden on the N hosts (changed must be 0) against a no-op play with
     the same number of tasks per host (ansible.builtin.command true) on the same hosts.

Prints a Markdown report and writes it to bench/results-fleet.md.

    python bench/fleet_bench.py [--hosts 10] [--profile baseline] [--keep]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[1]
PREFIX = "dg-bench-fleet"


def sh(argv: list[str], **kw: t.Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, text=True, capture_output=True, check=False, **kw)


def create(names: list[str], distro: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "tools" / "testhost.py"), "image", distro], check=True)
    procs = [
        subprocess.Popen([sys.executable, str(ROOT / "tools" / "testhost.py"), "create", n, distro]) for n in names
    ]
    if any(p.wait() for p in procs):
        raise SystemExit("creating the test hosts failed")


def destroy(names: list[str]) -> None:
    sh([sys.executable, str(ROOT / "tools" / "testhost.py"), "destroy", *names])


def inventory(path: pathlib.Path, names: list[str]) -> None:
    hosts = {n: {"ansible_connection": "community.docker.docker"} for n in names}
    path.write_text(json.dumps({"all": {"hosts": hosts}}))


def play(
    playbook: str, inv: pathlib.Path, work: pathlib.Path, forks: int, extra: list[str]
) -> tuple[float, dict[str, t.Any]]:
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_PIPELINING="true",
        ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile",
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(work / "facts"),
        ANSIBLE_GATHERING="smart",
    )
    start = time.monotonic()
    proc = sh(["ansible-playbook", "-i", str(inv), playbook, *extra], env=env, cwd=ROOT)
    wall = time.monotonic() - start
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise SystemExit(f"{playbook} printed no JSON (rc={proc.returncode}):\n{tail}") from exc
    if proc.returncode not in (0, 2) or any(s.get("failures") or s.get("unreachable") for s in data["stats"].values()):
        raise SystemExit(f"{playbook} failed: {json.dumps(data['stats'])}\n{proc.stderr[-3000:]}")
    return wall, data


def seconds(duration: dict[str, str]) -> float:
    def parse(stamp: str) -> float:
        return time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + stamp[20:26] or "0")

    # a task that never ended for a host (an include, a task skipped by a failed host) counts nothing
    return parse(duration["end"]) - parse(duration["start"]) if "end" in duration else 0.0


def where(data: dict[str, t.Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per role (from the task name's `role : ` prefix) and per module (the result's action)."""
    roles: collections.defaultdict[str, float] = collections.defaultdict(float)
    modules: collections.defaultdict[str, float] = collections.defaultdict(float)
    for p in data["plays"]:
        for task in p["tasks"]:
            spent = seconds(task["task"]["duration"])
            name = task["task"]["name"]
            roles[name.split(" : ", 1)[0] if " : " in name else "(play)"] += spent
            actions = {r.get("action", "?") for r in task["hosts"].values()}
            modules[sorted(actions)[0] if actions else "?"] += spent
    return dict(roles), dict(modules)


def executed(data: dict[str, t.Any]) -> int:
    """Tasks a host ran (ok + changed; skipped ones cost no module run), most of any host."""
    return max(s["ok"] + s["changed"] for s in data["stats"].values())


def changed(data: dict[str, t.Any]) -> int:
    return sum(s["changed"] for s in data["stats"].values())


def top(counter: dict[str, float], n: int = 8) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in sorted(counter.items(), key=lambda kv: -kv[1])[:n])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--profile", default="baseline")
    parser.add_argument("--distro", default="debian12")
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    args = parser.parse_args()
    names = [f"{PREFIX}-{i}" for i in range(args.hosts + 1)]
    single, fleet = names[:1], names[1:]
    work = pathlib.Path(tempfile.mkdtemp(prefix="dg-fleet-"))
    harden = ["-e", f"dockguard_profile={args.profile}"]
    audit = ["-e", json.dumps({"audit_report_dir": str(work / "reports"), "audit_history_dir": ""})]
    lines = [f"# Fleet benchmark: {args.hosts} hosts vs 1, profile {args.profile}", ""]
    try:
        create(names, args.distro)
        inv1, invn = work / "one.json", work / "fleet.json"
        inventory(inv1, single)
        inventory(invn, fleet)
        one_h, _unused = play("playbooks/harden.yml", inv1, work, 1, harden)
        one_a, _unused = play("playbooks/audit.yml", inv1, work, 1, audit)
        n_h, data_h = play("playbooks/harden.yml", invn, work, args.hosts, harden)
        n_a, _unused = play("playbooks/audit.yml", invn, work, args.hosts, audit)
        again, data_again = play("playbooks/harden.yml", invn, work, args.hosts, harden)
        tasks = executed(data_again)
        noop = work / "noop.yml"
        noop.write_text(
            "- hosts: all\n  gather_facts: false\n  tasks:\n"
            + "".join(
                f"    - name: noop {i}\n      ansible.builtin.command: 'true'\n      changed_when: false\n"
                for i in range(tasks)
            )
        )
        noop_s, _unused = play(str(noop), invn, work, args.hosts, [])
        roles, modules = where(data_h)
        lines += [
            f"| what | 1 host s | {args.hosts} hosts s | ratio |",
            "|---|---:|---:|---:|",
            f"| harden (fresh hosts) | {one_h:.1f} | {n_h:.1f} | {n_h / one_h:.2f} |",
            f"| audit | {one_a:.1f} | {n_a:.1f} | {n_a / one_a:.2f} |",
            "",
            f"Idempotent re-run of harden on {args.hosts} hosts: {again:.1f} s, changed={changed(data_again)}; "
            f"no-op play with the same {tasks} tasks per host: {noop_s:.1f} s; ratio {again / noop_s:.2f} "
            "(target <= 1.5).",
            "",
            f"Where harden's time goes on {args.hosts} hosts (task wall time, summed over tasks):",
            f"- per role: {top(roles)}",
            f"- per module: {top(modules)}",
            "",
            f"Levers: forks={args.hosts}, pipelining, jsonfile fact cache, gathering=smart; machine: "
            f"{os.cpu_count()} cores.",
        ]
    finally:
        if not args.keep:
            destroy(names)
    report = "\n".join(lines) + "\n"
    print(report)
    (ROOT / "bench" / "results-fleet.md").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
