# SPDX-License-Identifier: GPL-3.0-or-later
"""What the daemon role leaves on a real Docker host, read from the host itself."""

from __future__ import annotations

import json
import os
import typing as t

import pytest
from testinfra.modules.ansible import AnsibleException

EXPECTED = {
    "icc": False,
    "log-level": "info",
    "iptables": True,
    "insecure-registries": [],
    # converge.yml: these test hosts can grant at most 20000 open files
    "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 16384, "Soft": 16384}},
    "no-new-privileges": True,
    "live-restore": True,
    "userland-proxy": False,
    "experimental": False,
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    # planted by prepare.yml, not managed by the role: kept
    "max-concurrent-downloads": 5,
}


def docker_json(host: t.Any, *args: str) -> t.Any:
    cmd = host.run("docker " + " ".join(args) + " --format '{{json .}}'")
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout)


def ansible(host: t.Any, args: dict[str, t.Any]) -> t.Any:
    """Run daemon_config on the host for real; AnsibleException when it fails.

    testinfra's ad-hoc runner drops the "failed" flag of ansible-core 2.19's
    output, so a result without the module's always-returned "config" is a failure.
    """
    result = host.backend.run_ansible("dockguard.hardening.daemon_config", json.dumps(args), check=False)
    if result.get("failed") or "config" not in result:
        raise AnsibleException(result)
    return result


def test_daemon_json_is_the_hardened_baseline(host: t.Any) -> None:
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config == EXPECTED


def test_running_daemon_reports_the_settings(host: t.Any) -> None:
    info = docker_json(host, "info")
    assert info["LiveRestoreEnabled"] is True
    assert info["ExperimentalBuild"] is False
    assert info["Debug"] is False
    assert info["LoggingDriver"] == "json-file"


def test_containers_cannot_gain_privileges(host: t.Any) -> None:
    out = host.check_output("docker run --rm sentinel:1 grep NoNewPrivs /proc/self/status")
    assert out.split() == ["NoNewPrivs:", "1"]


def test_default_ulimit_applies_to_new_containers(host: t.Any) -> None:
    assert host.check_output("docker run --rm sentinel:1 sh -c 'ulimit -n'") == "16384"


def test_ulimits_the_host_cannot_grant_are_refused(host: t.Any) -> None:
    cap_bnd = int(host.check_output("awk '/^CapBnd/ {print $2}' /proc/self/status"), 16)
    hard = host.check_output("awk '/^Max open files/ {print $5}' /proc/self/limits")
    if cap_bnd & (1 << 24) or hard == "unlimited":
        pytest.skip("this host can raise limits (CAP_SYS_RESOURCE): nothing to refuse")
    before = host.file("/etc/docker/daemon.json").content_string
    too_high = int(hard) + 1
    args = {"settings": {"default-ulimits": {"nofile": {"Name": "nofile", "Hard": too_high, "Soft": too_high}}}}
    with pytest.raises(AnsibleException) as failure:
        ansible(host, args)
    msg = failure.value.result["msg"]
    assert f"default-ulimits.nofile Hard={too_high} exceeds the hard limit {hard}" in msg
    assert host.file("/etc/docker/daemon.json").content_string == before


def test_new_containers_get_bounded_logs(host: t.Any) -> None:
    host.run("docker rm -f dg-logs")
    host.check_output("docker run -d --name dg-logs sentinel:1 sleep 60")
    try:
        config = docker_json(host, "inspect", "dg-logs")["HostConfig"]["LogConfig"]
    finally:
        host.run("docker rm -f dg-logs")
    assert config == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}


def test_published_ports_need_no_userland_proxy(host: t.Any) -> None:
    host.run("docker rm -f dg-port")
    host.check_output("docker run -d --name dg-port -p 127.0.0.1:18080:80 sentinel:1 sleep 60")
    try:
        proxies = host.run("pgrep -c -x docker-proxy")
    finally:
        host.run("docker rm -f dg-port")
    assert proxies.stdout.strip() == "0"


@pytest.mark.parametrize(
    ("path", "owner", "group", "mode"),
    [
        ("/etc/docker", "root", "root", 0o755),  # CIS 3.5, 3.6
        ("/etc/docker/daemon.json", "root", "root", 0o644),  # CIS 3.17, 3.18
        ("/lib/systemd/system/docker.service", "root", "root", 0o644),  # CIS 3.1, 3.2
        ("/lib/systemd/system/docker.socket", "root", "root", 0o644),  # CIS 3.3, 3.4
        ("/etc/default/docker", "root", "root", 0o644),  # CIS 3.19, 3.20
        ("/run/docker.sock", "root", "docker", 0o660),  # CIS 3.15, 3.16
    ],
)
def test_owner_and_mode(host: t.Any, path: str, owner: str, group: str, mode: int) -> None:
    f = host.file(path)
    assert f.exists
    assert (f.user, f.group, f.mode) == (owner, group, mode)


def test_socket_mode_is_set_by_the_socket_unit(host: t.Any) -> None:
    props = host.check_output("systemctl show -p SocketMode -p SocketGroup -p SocketUser docker.socket")
    assert sorted(props.splitlines()) == ["SocketGroup=docker", "SocketMode=0660", "SocketUser=root"]


def test_container_started_before_the_restart_still_runs(host: t.Any) -> None:
    state = docker_json(host, "inspect", "sentinel")["State"]
    assert state["Running"] is True
    assert state["StartedAt"] == host.file("/root/sentinel.started").content_string.strip()
    # and the daemon really was restarted under it
    sentinel_age = host.check_output(f"ps -o etimes= -p {state['Pid']}")
    daemon_age = host.check_output("ps -o etimes= -p $(systemctl show -p MainPID --value docker.service)")
    assert int(daemon_age) < int(sentinel_age)


def changed_tasks(records: list[dict[str, t.Any]], run: str, hostname: str) -> set[str]:
    return {r["task"] for r in records if r["run"] == run and r["host"] == hostname and r["changed"]}


def test_check_mode_predicted_the_converge(host: t.Any) -> None:
    path = os.environ["DOCKGUARD_CHANGES_LOG"]
    with open(path, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    runs = []
    for r in records:
        if r["playbook"] == "converge.yml" and r["run"] not in [x[0] for x in runs]:
            runs.append((r["run"], r["check"]))
    assert [check for _run, check in runs][:3] == [True, False, False], runs  # check, converge, idempotence
    name = host.backend.get_hostname()
    predicted = changed_tasks(records, runs[0][0], name)
    done = changed_tasks(records, runs[1][0], name)
    assert done, "the converge changed nothing on a stock host"
    assert predicted == done
    assert changed_tasks(records, runs[2][0], name) == set()


def test_a_config_that_stops_dockerd_is_rolled_back(host: t.Any) -> None:
    before = host.file("/etc/docker/daemon.json").content_string
    with pytest.raises(AnsibleException) as failure:
        # valid JSON and a known key: only the daemon can tell it cannot start with it
        ansible(host, {"settings": {"storage-driver": "zfs"}, "timeout": 30})
    result = failure.value.result
    assert result["rolled_back"] is True
    assert "dockerd did not come back with the new configuration" in result["msg"]
    assert "Restored /etc/docker/daemon.json" in result["msg"]
    assert "the daemon is answering again" in result["msg"]
    assert any("zfs" in line or "graphdriver" in line for line in result["journal"])
    assert host.file("/etc/docker/daemon.json").content_string == before
    assert docker_json(host, "info")["Driver"] == "overlay2"
    assert docker_json(host, "inspect", "sentinel")["State"]["Running"] is True


def test_icc_applies_once_no_container_holds_the_bridge(host: t.Any) -> None:
    # While the sentinel ran, live-restore kept the old default bridge (the role
    # warns "deferred"). With no container left, a safe restart applies icc=false.
    host.check_output("docker rm -f sentinel")
    result = ansible(host, {"restart": "always"})
    assert result["restarted"] is True
    assert "deferred" not in result
    bridge = docker_json(host, "network", "inspect", "bridge")
    assert bridge["Options"]["com.docker.network.bridge.enable_icc"] == "false"


# Every control the daemon role enforces, judged by the collection's own audit.
ENFORCED = [
    "2.2", "2.3", "2.4", "2.5", "2.8", "2.14", "2.15", "2.16", "2.18",
    "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.15", "3.16", "3.17", "3.18", "3.19", "3.20",
]  # fmt: skip


def test_cis_audit_passes_every_control_the_role_enforces(host: t.Any) -> None:
    # runs after the icc test: no container holds the old bridge any more
    result = host.backend.run_ansible("dockguard.hardening.cis_audit", json.dumps({"controls": ENFORCED}), check=False)
    assert "audit" in result, result
    verdicts = {r["id"]: (r["status"], r["evidence"]) for r in result["audit"]["results"]}
    assert sorted(verdicts, key=lambda i: [int(x) for x in i.split(".")]) == ENFORCED
    assert {i: v for i, v in verdicts.items() if v[0] != "pass"} == {}
