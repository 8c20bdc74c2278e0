# SPDX-License-Identifier: GPL-3.0-or-later
"""Capture what the CIS audit reads from a real test host, as a unit-test fixture.

Runs the audit inside the host (docker exec) with a recording Host that logs
every stat, read, listdir, readlink, command and Engine API answer, and writes
them as JSON. tests/unit replays the file: checks are tested against what real
hosts showed, not against hand-written guesses.

    python tools/capture_audit_facts.py HOST OUT.json [--user USER]
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]

INNER = r"""
import json, os, subprocess, sys
sys.path.insert(0, "/tmp/dg-capture")
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine as engine
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import audit, facts

user = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None

def run(argv):
    try:
        env = {"LANG": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        p = subprocess.run(argv, capture_output=True, text=True, env=env)
    except FileNotFoundError:
        return 127, "", argv[0] + ": command not found"
    return p.returncode, p.stdout, p.stderr

if user:
    import pwd
    pw = pwd.getpwnam(user)
    tgt = facts.rootless_target(user, pw.pw_uid, pw.pw_dir)
else:
    tgt = facts.system_target()
real = facts.LocalHost(run, tgt.socket, 10.0)
log = {"target": tgt._asdict(), "stat": {}, "read": {}, "listdir": {}, "readlink": {}, "run": {}, "api": {}}

# read(path), logged under log[kind][path]: the answer, or the error (with the API's status) it raised
def recorded(kind, path, read, errors=OSError):
    try:
        r = read(path)
    except errors as exc:
        log[kind][path] = {"error": str(exc), **({"status": exc.status} if kind == "api" else {})}; raise
    log[kind][path] = r; return r

class Recorder:
    def stat(self, path):
        r = real.stat(path); log["stat"][path] = r._asdict(); return r
    def read(self, path):
        return recorded("read", path, real.read)
    def listdir(self, path):
        r = real.listdir(path); log["listdir"][path] = r; return r
    def readlink(self, path):
        return recorded("readlink", path, real.readlink)
    def run(self, argv):
        r = real.run(argv); log["run"][" ".join(argv)] = list(r); return r
    def api(self, path):
        return recorded("api", path, real.api, engine.EngineError)

res = audit.run(facts.Facts(Recorder(), tgt), ids="1.8.0")
real.close()
log["expected"] = {r["cis_1_8_0"]: r["status"] for r in res["results"]}
json.dump(log, sys.stdout, indent=1, sort_keys=True)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("out")
    ap.add_argument("--user", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = pathlib.Path(tmp) / "c.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(ROOT / "plugins", arcname="ansible_collections/dockguard/hardening/plugins")
        subprocess.run(["docker", "exec", args.host, "mkdir", "-p", "/tmp/dg-capture"], check=True)
        with tar_path.open("rb") as fh:
            extract = ["docker", "exec", "-i", args.host, "tar", "-C", "/tmp/dg-capture", "-x"]
            subprocess.run(extract, stdin=fh, check=True)
    for pkg in ("ansible_collections", "ansible_collections/dockguard", "ansible_collections/dockguard/hardening"):
        subprocess.run(["docker", "exec", args.host, "touch", f"/tmp/dg-capture/{pkg}/__init__.py"], check=False)
    out = subprocess.run(
        ["docker", "exec", "-i", args.host, "python3", "-", args.user],
        input=INNER,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        return 1
    pathlib.Path(args.out).write_text(out.stdout + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
