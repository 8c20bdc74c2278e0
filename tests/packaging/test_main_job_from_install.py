# SPDX-License-Identifier: GPL-3.0-or-later
"""The release runs the main job from an empty collections path.

The tarball of `ansible-galaxy collection build`, installed into an empty
collections path (conftest.py's `built`: only the install, and the collections the
`ansible` package bundles for the dependencies), hardens a real Docker test host
with the baseline profile (`ansible-playbook dockguard.hardening.harden`) and
audits it (`dockguard.hardening.audit`) with the profile's waivers and the gate at
level 2: the audit play fails if any control fails that the profile does not waive
with a reason. A second harden run changes nothing.

Needs root and a Docker engine; a few minutes. Its host dg-pkg-main collides with
no Molecule scenario; /tmp/dg-molecule-pkg-main.lock keeps two runs apart.
"""

from __future__ import annotations

import collections.abc
import contextlib
import fcntl
import json
import pathlib
import subprocess
import sys
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = "dg-pkg-main"
LOCK = "/tmp/dg-molecule-pkg-main.lock"
TESTHOST = [sys.executable, str(ROOT / "tools" / "testhost.py")]


@contextlib.contextmanager
def disposable_host() -> collections.abc.Iterator[str]:
    with open(LOCK, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        made = subprocess.run(
            [*TESTHOST, "create", HOST, "debian12"], capture_output=True, text=True, timeout=1800, check=False
        )
        assert made.returncode == 0, f"creating the test host failed:\n{made.stdout[-3000:]}\n{made.stderr[-3000:]}"
        try:
            yield HOST
        finally:
            subprocess.run([*TESTHOST, "destroy", HOST], check=False, capture_output=True, timeout=300)
            fcntl.flock(fh, fcntl.LOCK_UN)


def playbook(args: list[str], env: dict[str, str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ansible-playbook", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=1800, check=False
    )


def recap(out: str) -> dict[str, int]:
    line = next(x for x in reversed(out.splitlines()) if x.startswith(HOST) and "ok=" in x)
    return {k: int(v) for k, v in (w.split("=") for w in line.split(":", 1)[1].split())}


def test_harden_and_audit_from_the_installed_tarball(built: dict[str, t.Any], tmp_path: pathlib.Path) -> None:
    env = {**built["env"], "ANSIBLE_HOST_KEY_CHECKING": "false"}
    reports = tmp_path / "reports"
    with disposable_host() as host:
        # The test host's hard open-files limit is this machine's: the confinement
        # role's default (16384) is capped to it, as scripts/harden.sh does.
        hard = subprocess.run(
            ["docker", "exec", host, "sh", "-c", "ulimit -Hn"], capture_output=True, text=True, check=True
        ).stdout.strip()
        nofile = 16384 if hard == "unlimited" else min(int(hard), 16384)
        inventory = tmp_path / "inventory.json"
        inventory.write_text(
            json.dumps(
                {
                    "all": {
                        "hosts": {
                            host: {
                                "ansible_connection": "community.docker.docker",
                                "confinement_default_ulimits": {
                                    "nofile": {"Name": "nofile", "Hard": nofile, "Soft": min(nofile, 1024)},
                                    "nproc": {"Name": "nproc", "Hard": 8192, "Soft": 8192},
                                },
                            }
                        }
                    }
                }
            )
        )
        profile = ["-i", str(inventory), "-e", "dockguard_profile=baseline"]
        first = playbook(["dockguard.hardening.harden", *profile], env, tmp_path)
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
        assert recap(first.stdout)["changed"] > 0
        again = playbook(["dockguard.hardening.harden", *profile], env, tmp_path)
        assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-3000:]
        assert recap(again.stdout)["changed"] == 0, again.stdout[-8000:]
        audit = playbook(
            [
                "dockguard.hardening.audit",
                *profile,
                "-e",
                json.dumps({"audit_report_dir": str(reports), "audit_fail_level": 2}),
            ],
            env,
            tmp_path,
        )
        report = reports / f"{host}.json"
        assert report.is_file(), f"no report (rc={audit.returncode}):\n{audit.stdout[-6000:]}\n{audit.stderr[-3000:]}"
        result = json.loads(report.read_text())
        statuses = {r["id"]: r["status"] for r in result["results"]}
        failing = sorted(cid for cid, status in statuses.items() if status in ("fail", "error"))
        assert audit.returncode == 0 and not failing, f"failing: {failing}\n{audit.stdout[-6000:]}"
        # the profile's waivers were applied, each with its reason, and nothing passed by being waived
        waived = {cid for cid, status in statuses.items() if status == "waived"}
        # 1.1.1's waiver goes unused here: the container host's data-root is a volume of its own
        assert statuses["1.1.1"] == "pass", statuses["1.1.1"]
        assert waived == {"2.9", "2.12", "2.13", "4.5"}, waived
        assert not result["unused_waivers"]
        # the hardening is what passes: the daemon, file, audit-rule and confinement controls
        for cid in ("1.1.3", "1.1.5", "2.2", "2.8", "2.14", "2.17", "3.17"):
            assert statuses[cid] == "pass", (cid, statuses[cid])
