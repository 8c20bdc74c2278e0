# SPDX-License-Identifier: GPL-3.0-or-later
"""The VM test host itself (tools/testhost.py, distro debian12-vm).

What the other scenarios rely on when they pick a VM: a kernel of its own,
whose auditing really records events (and never this machine's), AppArmor
enforced with Docker running under it and seccomp, and a SELinux boot.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import time
import typing as t
import uuid

import pytest

# the LSM each host of molecule.yml boots with (tools/testhost.py create --lsm)
LSM = {"dg-vmhost-aa": "apparmor", "dg-vmhost-se": "selinux"}


def name(host: t.Any) -> str:
    return str(host.backend.get_hostname())


def controller_audit_rules() -> str | None:
    """This machine's own kernel audit rules, when it has auditctl at all."""
    if shutil.which("auditctl") is None:
        return None
    return subprocess.run(["auditctl", "-l"], check=True, capture_output=True, text=True).stdout


def test_a_kernel_of_its_own(host: t.Any) -> None:
    here = pathlib.Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    there = host.file("/proc/sys/kernel/random/boot_id").content_string.strip()
    assert there and there != here
    assert host.check_output("uname -r").endswith("-amd64")


def test_kernel_audit_records_an_event_by_key(host: t.Any) -> None:
    key = f"dg_vmhost_{uuid.uuid4().hex[:8]}"
    path = f"/etc/{key}"
    rules_here = controller_audit_rules()
    host.check_output(f"auditctl -w {path} -p wa -k {key}")
    try:
        assert f"-k {key}" in host.check_output("auditctl -l")
        host.check_output(f"touch {path}")
        found = None
        for _retry in range(20):  # auditd writes the event shortly after
            found = host.run(f"ausearch --input-logs -k {key} -f {path}")
            if found.rc == 0:
                break
            time.sleep(0.5)
        assert found is not None and found.rc == 0, found.stderr if found else ""
        assert f'key="{key}"' in found.stdout and path in found.stdout
        # this machine's kernel was never told: its rules are as they were
        assert controller_audit_rules() == rules_here
    finally:
        host.run(f"auditctl -W {path} -p wa -k {key}")
        host.run(f"rm -f {path}")
    assert f"-k {key}" not in host.check_output("auditctl -l")


def test_the_lsm_it_was_booted_with(host: t.Any) -> None:
    lsms = host.file("/sys/kernel/security/lsm").content_string.strip().split(",")
    wanted = LSM[name(host)]
    assert wanted in lsms, lsms
    if wanted == "apparmor":
        assert host.run("aa-status --enabled").rc == 0
        assert int(host.check_output("aa-status --enforced")) > 0
    else:
        assert "apparmor" not in lsms
        status = {}
        for line in host.check_output("sestatus").splitlines():
            field, colon, value = line.partition(":")
            if colon:
                status[field.strip()] = value.strip()
        assert status["SELinux status"] == "enabled", status
        assert status["Current mode"] == "permissive", status
        assert status["Loaded policy name"] == "default", status


def test_docker_runs_with_seccomp_and_the_lsm(host: t.Any) -> None:
    assert host.service("docker").is_running
    options = host.check_output("docker info --format '{{json .SecurityOptions}}'")
    assert "name=seccomp" in options, options
    if LSM[name(host)] == "apparmor":
        assert "name=apparmor" in options, options
    else:
        assert "name=apparmor" not in options, options


@pytest.mark.parametrize("unit", ["auditd", "ssh", "systemd-networkd"])
def test_services_a_scenario_relies_on(host: t.Any, unit: str) -> None:
    assert host.service(unit).is_running
