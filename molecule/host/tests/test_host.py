# SPDX-License-Identifier: GPL-3.0-or-later
"""What the host role leaves on a real host: in a VM the kernel's audit rules and the events they record, on a
container host the rules file and no load; on both the docker group and cis_audit's verdicts.

The last test of this file makes the VM's rules immutable (auditctl -e 2): it must stay last.
"""

from __future__ import annotations

import json
import typing as t

import pytest

RULES = "/etc/audit/rules.d/50-dockguard-docker.rules"
TRUSTED = ["alice", "bob"]
# every 1.1.x control that has a rule on a Debian 12 Docker host with a daemon.json
SERVED = ["1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "1.1.9", "1.1.10", "1.1.11", "1.1.12", "1.1.14",
          "1.1.15", "1.1.16", "1.1.17", "1.1.18"]  # fmt: skip
NOT_HERE = ["1.1.13"]  # /etc/sysconfig/docker: a RHEL path


def in_container(host: t.Any) -> bool:
    return bool(host.run("systemd-detect-virt --container").rc == 0)


def module(host: t.Any, name: str, args: dict[str, t.Any], check: bool = False) -> dict[str, t.Any]:
    # no --args at all for no options: ansible-core 2.19 takes --args '{}' for raw params, which a module refuses
    # ("does not support raw params"), and the ad-hoc result of that is only changed=false and the msg
    return t.cast(
        "dict[str, t.Any]",
        host.backend.run_ansible(f"dockguard.hardening.{name}", json.dumps(args) if args else None, check=check),
    )


def audit(host: t.Any, **args: t.Any) -> dict[str, tuple[str, list[str]]]:
    result = module(host, "cis_audit", args)
    assert "audit" in result, result
    return {r["id"]: (r["status"], r["evidence"]) for r in result["audit"]["results"]}


@pytest.fixture(scope="module")
def section1(host: t.Any) -> dict[str, tuple[str, list[str]]]:
    """cis_audit of section 1 after the converge, once per host (each module run costs seconds)."""
    return audit(host, sections=["1"])


def vm_only(host: t.Any) -> None:
    if in_container(host):
        pytest.skip("a container host shares this machine's kernel: no rule is loaded there")


def since(host: t.Any) -> str:
    """ausearch's -ts arguments for now, on the host's clock."""
    return str(host.check_output("LC_ALL=C date '+%x %T'"))


def events(host: t.Any, start: str, *args: str) -> str:
    cmd = host.run(f"LC_ALL=C ausearch --input-logs -i -k docker -ts {start} {' '.join(args)}")
    assert cmd.rc == 0, cmd.stderr  # 1: <no matches>
    return str(cmd.stdout)


# -- the rules file -----------------------------------------------------------------------------------


def test_one_rules_file_with_a_rule_per_existing_path(host: t.Any) -> None:
    f = host.file(RULES)
    assert (f.user, f.group, f.mode) == ("root", "root", 0o640)
    lines = [line for line in f.content_string.splitlines() if not line.startswith("#")]
    assert lines == [
        "-w /usr/sbin/dockerd -p wxa -k docker",
        "-a always,exit -F path=/run/containerd -F perm=rwa -k docker",
        "-w /var/lib/docker -p wa -k docker",
        "-w /etc/docker -p wa -k docker",
        "-w /lib/systemd/system/docker.service -p wa -k docker",
        "-w /run/containerd/containerd.sock -p wa -k docker",
        "-w /lib/systemd/system/docker.socket -p wa -k docker",
        "-w /etc/default/docker -p wa -k docker",
        "-w /etc/docker/daemon.json -p wa -k docker",
        "-w /etc/containerd/config.toml -p wa -k docker",
        "-w /usr/bin/containerd -p wxa -k docker",
        "-w /usr/bin/containerd-shim -p wxa -k docker",
        "-w /usr/bin/containerd-shim-runc-v1 -p wxa -k docker",
        "-w /usr/bin/containerd-shim-runc-v2 -p wxa -k docker",
        "-w /usr/sbin/runc -p wxa -k docker",
        "-w /usr/bin/runc -p wxa -k docker",
    ]
    assert "## CIS 1.1.13 (/etc/sysconfig/docker) has no rule: /etc/sysconfig/docker does not exist" in f.content_string


def test_the_module_says_where_it_stands(host: t.Any) -> None:
    r = module(host, "audit_rules", {}, check=True)
    assert r["changed"] is False, r
    assert [s["control"] for s in r["without_rule"]] == NOT_HERE
    if in_container(host):
        assert r["loaded"] is False and r["in_container"]
        assert "loading it is the host's business" in r["load_skipped"]
    else:
        assert r["loaded"] is True and r["in_container"] is None and r["enabled"] == 1


def test_never_loaded_from_a_container(host: t.Any) -> None:
    if not in_container(host):
        pytest.skip("a VM loads its own rules")
    # the kernel refuses a container's audit requests here (own PID namespace), and the role never asked:
    # auditd is not installed and the module ran no auditctl
    assert not host.exists("auditctl")
    assert not host.service("auditd").is_running


# -- the kernel's rules and their events (VM) -----------------------------------------------------------


def test_every_rule_is_loaded(host: t.Any) -> None:
    vm_only(host)
    loaded = host.check_output("auditctl -l")
    for rule in ("-w /etc/docker -p wa -k docker", "-w /usr/sbin/runc -p wxa -k docker", "-w /var/lib/docker -p wa"):
        assert rule in loaded, loaded
    # CIS 1.1.4's rule, written as "-a always,exit -F path=/run/containerd -F perm=rwa -k docker" (the first test),
    # is listed as a watch: auditctl -l prints a rule of all syscalls with only path, perm and key fields as -w
    # (auditctl-listing.c, is_watch); seen on the Debian 12 VM, audit 3.0.9
    assert "-w /run/containerd -p rwa -k docker" in loaded, loaded
    assert host.service("auditd").is_running and host.service("auditd").is_enabled


def test_writing_daemon_json_is_an_event(host: t.Any) -> None:
    vm_only(host)
    start = since(host)
    # the same content written again: a write the rule sees, and nothing for dockerd to notice
    host.check_output(
        "cp /etc/docker/daemon.json /tmp/dg.json && cat /tmp/dg.json > /etc/docker/daemon.json && rm /tmp/dg.json"
    )
    assert "/etc/docker/daemon.json" in events(host, start, "-f /etc/docker/daemon.json")


def test_running_docker_is_an_event(host: t.Any) -> None:
    vm_only(host)
    start = since(host)
    host.check_output("docker run --rm sentinel:1")
    found = events(host, start)
    assert "runc" in found and "/var/lib/docker" in found, found[-2000:]


# -- cis_audit agrees ---------------------------------------------------------------------------------


def test_cis_audit_passes_every_audit_control_the_role_serves(
    host: t.Any, section1: dict[str, tuple[str, list[str]]]
) -> None:
    verdicts = section1
    assert {i: v for i, v in verdicts.items() if i in SERVED and v[0] != "pass"} == {}
    assert {i: verdicts[i][0] for i in NOT_HERE} == {"1.1.13": "not_applicable"}
    source = "auditctl -l" if not in_container(host) else "rules files only"
    assert verdicts["1.1.18"][1][0].startswith(source), verdicts["1.1.18"]
    assert "/usr/sbin/runc" in verdicts["1.1.18"][1][0]


# -- who controls the daemon ------------------------------------------------------------------------------


def test_docker_group_is_the_trusted_list(host: t.Any) -> None:
    assert host.group("docker").members == TRUSTED  # mallory removed, bob added


def test_cis_1_1_2_passes_with_the_list_and_fails_naming_an_untrusted_member(
    host: t.Any, section1: dict[str, tuple[str, list[str]]]
) -> None:
    assert section1["1.1.2"][0] == "manual"  # without a list a person judges
    assert audit(host, controls=["1.1.2"], trusted_users=TRUSTED)["1.1.2"][0] == "pass"
    host.check_output("gpasswd -a mallory docker")
    try:
        status, evidence = audit(host, controls=["1.1.2"], trusted_users=TRUSTED)["1.1.2"]
        assert (status, evidence[0]) == ("fail", "docker group members not in trusted_users: mallory")
    finally:
        host.check_output("gpasswd -d mallory docker")


def test_unknown_users_are_refused_naming_them(host: t.Any) -> None:
    r = module(host, "docker_group", {"users": ["alice", "nosuchuser"]})
    # testinfra's ad-hoc runner drops "failed" (ansible-core 2.19): a failure is a msg without the result's keys
    assert "members" not in r and "users=['nosuchuser']: no such user" in r["msg"], r
    assert host.group("docker").members == TRUSTED


def test_cis_1_2_2_is_judged_from_apt(host: t.Any, section1: dict[str, tuple[str, list[str]]]) -> None:
    status, evidence = section1["1.2.2"]
    assert status in ("pass", "fail"), evidence
    assert "offered by the host's apt sources" in evidence[1], evidence


# -- bad input ----------------------------------------------------------------------------------------------


def test_a_control_outside_the_audit_rules_is_refused_and_nothing_changes(host: t.Any) -> None:
    before = host.file(RULES).content_string
    r = module(host, "audit_rules", {"controls": ["1.1.3", "2.2"]})
    assert "rules" not in r and "controls=['2.2']: not audit rule controls of the catalogue" in r["msg"], r
    assert host.file(RULES).content_string == before


def test_a_rule_auditctl_rejects_is_named_and_the_file_restored(host: t.Any) -> None:
    vm_only(host)
    before = host.file(RULES).content_string
    host.check_output("echo '-w /nonexistent-dg/x -p wa -k broken' > /etc/audit/rules.d/90-dg-broken.rules")
    try:
        r = module(host, "audit_rules", {"key": "docker-other"})
        assert "rules" not in r, r
        assert "'-w /nonexistent-dg/x -p wa -k broken'" in r["msg"] and "not one of this module's" in r["msg"], r
        assert f"{RULES} was restored as it was" in r["msg"], r
        assert host.file(RULES).content_string == before
    finally:
        host.check_output("rm -f /etc/audit/rules.d/90-dg-broken.rules && augenrules --load")
    assert "-w /etc/docker -p wa -k docker" in host.check_output("auditctl -l")


# -- immutable rules: keep last -----------------------------------------------------------------------------


def test_zz_immutable_rules_are_written_not_loaded_and_a_reboot_is_required(host: t.Any) -> None:
    vm_only(host)
    host.check_output("auditctl -e 2")
    r = module(host, "audit_rules", {"key": "docker-next"})
    assert r["changed"] and r["reboot_required"] and not r["loaded"], r
    assert "immutable" in r["load_skipped"]
    assert "-k docker-next" in host.file(RULES).content_string
    assert "docker-next" not in host.check_output("auditctl -l")
