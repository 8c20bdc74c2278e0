# SPDX-License-Identifier: GPL-3.0-or-later
"""The CIS audit replayed on facts captured from real test hosts.

tests/unit/fixtures/hosts/*.json were recorded by tools/capture_audit_facts.py
inside real Docker test hosts: every file stat, read, directory listing,
command and Engine API answer the audit used. ReplayHost serves them back, so
each check is judged here on what real hosts showed. Anything not recorded is
absent (a missing file, an empty directory, a 404), as on a host without it.
"""

from __future__ import annotations

import datetime
import typing as t

import pytest
from cis_replay import ReplayHost, load

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import audit, facts
from ansible_collections.dockguard.hardening.plugins.module_utils._engine import EngineError

TODAY = datetime.date(2026, 11, 29)


def run_audit(data: dict[str, t.Any], **kw: t.Any) -> tuple[dict[str, dict[str, t.Any]], ReplayHost]:
    host = ReplayHost(data)
    target = facts.Target(**{**data["target"], "unit_dirs": tuple(data["target"]["unit_dirs"])})
    out = audit.run(facts.Facts(host, target), today=TODAY, **kw)
    return {r["id"]: r for r in out["results"]}, host


def failing(result: dict[str, t.Any]) -> set[str]:
    return {i["name"] for i in result["items"] if i["status"] == "fail"}


# -- verdicts on real hosts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("cid", "stock", "hardened"),
    [
        ("2.2", "fail", "pass"),  # icc
        ("2.3", "pass", "pass"),  # log-level unset = info
        ("2.8", "manual", "pass"),  # default ulimits
        ("2.14", "fail", "pass"),  # no-new-privileges
        ("2.15", "fail", "pass"),  # live-restore
        ("2.16", "fail", "pass"),  # userland-proxy
        ("2.18", "pass", "pass"),  # experimental
        ("3.15", "pass", "pass"),  # socket root:docker
        ("3.16", "pass", "pass"),  # socket 0660
        ("3.17", "not_applicable", "pass"),  # no daemon.json on a stock host
        ("3.18", "not_applicable", "pass"),
    ],
)
def test_stock_and_hardened_debian12(cid: str, stock: str, hardened: str) -> None:
    s = run_audit(load("deb12-stock"))[0]
    h = run_audit(load("deb12-hardened"))[0]
    assert (s[cid]["status"], h[cid]["status"]) == (stock, hardened), (s[cid]["evidence"], h[cid]["evidence"])


def test_hardened_evidence_says_where_the_setting_comes_from() -> None:
    h = run_audit(load("deb12-hardened"))[0]
    assert h["2.14"]["evidence"] == ["no-new-privileges True from /etc/docker/daemon.json"]
    assert "enable_icc=false" in " ".join(h["2.2"]["evidence"])


@pytest.mark.parametrize(
    ("cid", "culprits"),
    [
        ("5.5", {"p1"}),  # --privileged
        ("5.4", {"p1"}),  # privileged holds every capability
        ("5.22", {"p1"}),  # privileged runs without seccomp
        ("5.32", {"sock"}),  # docker.sock mounted
        ("5.10", {"hostnet"}),  # --network host
        ("5.11", {"hostnet", "sock", "p1", "sshd"}),  # no memory limit
        ("5.29", {"hostnet", "sock", "p1", "sshd"}),  # no pids limit
        ("5.7", {"sshd"}),  # an sshd process inside
        ("4.1", {"hostnet", "sock", "p1", "sshd"}),  # runs as root
        ("5.30", {"sock", "p1", "sshd"}),  # on docker0 (hostnet is on the host network)
    ],
)
def test_planted_containers_fail_and_are_named(cid: str, culprits: set[str]) -> None:
    r = run_audit(load("deb13-stock-planted"))[0]
    assert r[cid]["status"] == "fail"
    assert failing(r[cid]) == culprits
    assert "good" not in failing(r[cid])


def test_compliant_container_passes_section_5() -> None:
    r = run_audit(load("deb12-hardened"), sections=["5"])[0]
    for cid in ("5.4", "5.5", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.26", "5.27", "5.29"):
        assert r[cid]["status"] == "pass", (cid, r[cid]["evidence"])
        assert [i["name"] for i in r[cid]["items"]] == ["good"]


def test_no_containers_is_not_applicable_not_pass() -> None:
    r = run_audit(load("deb12-stock"), sections=["5"])[0]
    assert r["5.5"]["status"] == "not_applicable"
    assert r["5.5"]["evidence"] == ["no running containers"]


def test_every_control_gets_exactly_one_result_with_its_fields() -> None:
    r = run_audit(load("deb13-stock-planted"))[0]
    assert len(r) == 117
    for res in r.values():
        assert res["status"] in audit.STATUSES
        assert res["evidence"], res["id"]
        assert set(res) >= {"id", "slug", "title", "level", "status", "evidence", "remediation", "waiver"}


def test_manual_controls_are_never_pass() -> None:
    r = run_audit(load("deb13-stock-planted"))[0]
    for cid in ("1.1.2", "1.2.1", "1.2.2", "4.2", "4.3", "5.23", "5.28", "6.1", "6.2"):
        assert r[cid]["status"] == "manual", cid


def test_audit_rules_read_from_rules_files_when_auditctl_is_missing() -> None:
    data = load("deb12-stock")
    data["listdir"]["/etc/audit/rules.d"] = ["docker.rules"]
    data["read"]["/etc/audit/rules.d/docker.rules"] = (
        "-w /etc/docker -k docker\n-a always,exit -F path=/usr/bin/containerd -k docker\n"
    )
    r = run_audit(data, sections=["1"])[0]
    assert r["1.1.6"]["status"] == "pass"
    assert "rules files only" in r["1.1.6"]["evidence"][0]
    assert r["1.1.14"]["status"] == "pass"
    assert r["1.1.5"]["status"] == "fail"


def test_live_audit_rules_from_auditctl() -> None:
    data = load("deb12-stock")
    data["run"]["auditctl -l"] = [0, "-w /var/lib/docker -p rwxa -k docker\n", ""]
    r = run_audit(data, controls=["1.1.5", "1.1.6"])[0]
    assert r["1.1.5"]["status"] == "pass"
    assert r["1.1.5"]["evidence"] == ["auditctl -l: -w /var/lib/docker -p rwxa -k docker"]
    assert r["1.1.6"]["status"] == "fail"


def test_dockerd_binary_found_where_debian_puts_it() -> None:
    r = run_audit(load("deb12-stock"), controls=["1.1.3"])[0]
    assert r["1.1.3"]["evidence"][0] == (
        "no audit rule watches /usr/sbin/dockerd (rules files only (auditctl -l: auditctl: command not found))"
    )


# -- errors stay on the controls they touch ----------------------------------------------------


def test_daemon_down_errors_only_the_controls_that_need_the_api() -> None:
    data = load("deb12-hardened")
    data["api"] = {}
    host = ReplayHost(data)

    def down(path: str) -> t.Any:
        raise EngineError("/var/run/docker.sock: the Engine API does not answer: [Errno 111] refused")

    host.api = down  # type: ignore[method-assign]
    target = facts.Target(**{**data["target"], "unit_dirs": tuple(data["target"]["unit_dirs"])})
    out = audit.run(facts.Facts(host, target), today=TODAY)
    r = {x["id"]: x for x in out["results"]}
    assert r["2.15"]["status"] == "error"
    assert "[Errno 111] refused" in r["2.15"]["evidence"][0]
    assert r["5.5"]["status"] == "error"
    # file and configuration controls are still judged
    assert r["3.17"]["status"] == "pass"
    assert r["2.14"]["status"] == "pass"
    assert len(r) == 117


def test_container_vanishing_mid_audit_is_an_error_on_container_controls() -> None:
    data = load("deb13-stock-planted")
    gone = next(p for p in data["api"] if p.startswith("/containers/") and p != "/containers/json")
    del data["api"][gone]
    r = run_audit(data, sections=["5"])[0]
    assert r["5.5"]["status"] == "fail"  # p1 still fails, whatever vanished
    errored = [i for i in r["5.16"]["items"] if i["status"] == "error"]
    assert len(errored) == 1 and errored[0]["detail"] == "vanished during the audit"
    assert r["5.16"]["status"] == "error"


def test_unreadable_daemon_json_is_an_error_on_config_controls() -> None:
    data = load("deb12-hardened")
    data["read"]["/etc/docker/daemon.json"] = "{not json"
    r = run_audit(data, sections=["2"])[0]
    assert r["2.14"]["status"] == "error"
    assert "daemon.json" in r["2.14"]["evidence"][0]
    assert r["2.15"]["status"] == "pass"  # from docker info


def test_api_is_asked_once_per_container_not_per_check() -> None:
    data = load("deb13-stock-planted")
    host = run_audit(data)[1]
    per_container = [p for p in host.api_calls if p.startswith("/containers/") and p != "/containers/json"]
    assert len(per_container) == len(set(per_container)) == 5
    assert host.api_calls.count("/info") == 1
    assert host.runs == ["auditctl -l", "apt-cache policy docker.io docker-ce moby-engine"]  # each once


# -- selection, levels, waivers, numbering --------------------------------------------------------


def test_level_1_excludes_level_2_controls() -> None:
    r = run_audit(load("deb12-stock"), level=1)[0]
    assert "2.9" not in r and "1.1.7" not in r
    assert "2.2" in r


def test_select_by_slug_and_section() -> None:
    r = run_audit(load("deb12-stock"), controls=["icc-disabled", "3.1"])[0]
    assert sorted(r) == ["2.2", "3.1"]
    r = run_audit(load("deb12-stock"), sections=["7"])[0]
    assert len(r) == 9 and {x["status"] for x in r.values()} == {"not_applicable"}


def test_unknown_control_or_section_is_refused() -> None:
    with pytest.raises(audit.AuditError, match=r"unknown control '9.9'"):
        run_audit(load("deb12-stock"), controls=["9.9"])
    with pytest.raises(audit.AuditError, match="unknown sections"):
        run_audit(load("deb12-stock"), sections=["8"])


def test_v180_numbering() -> None:
    r = run_audit(load("deb12-hardened"), ids="1.8.0", sections=["2"])[0]
    assert r["2.7"]["slug"] == "no-devicemapper" and r["2.7"]["status"] == "pass"
    assert r["2.15"]["slug"] == "no-new-privileges" and r["2.15"]["cis_1_6_0"] == "2.14"
    assert r["2.19"]["slug"] == "experimental-disabled"
    assert len(r) == 19


def test_waiver_marks_failure_waived_and_keeps_the_verdict() -> None:
    waivers = [{"id": "2.2", "justification": "legacy app needs icc (SEC-42)", "expires": "2027-01-31"}]
    r = run_audit(load("deb12-stock"), controls=["2.2"], waivers=waivers)[0]
    assert r["2.2"]["status"] == "waived"
    assert r["2.2"]["waiver"] == {
        "justification": "legacy app needs icc (SEC-42)",
        "expires": "2027-01-31",
        "expired": False,
        "status": "fail",
    }


def test_expired_waiver_does_not_waive_but_is_shown() -> None:
    waivers = [{"id": "icc-disabled", "justification": "old", "expires": "2026-11-28"}]
    r = run_audit(load("deb12-stock"), controls=["2.2"], waivers=waivers)[0]
    assert r["2.2"]["status"] == "fail"
    assert r["2.2"]["waiver"]["expired"] is True


def test_waiver_on_a_passing_control_keeps_pass() -> None:
    r = run_audit(load("deb12-stock"), controls=["2.3"], waivers=[{"id": "2.3", "justification": "x"}])[0]
    assert r["2.3"]["status"] == "pass"
    assert r["2.3"]["waiver"]["status"] == "pass"


@pytest.mark.parametrize(
    ("waiver", "message"),
    [
        ({"id": "2.2", "justification": " "}, "justification is required"),
        ({"id": "2.2", "justification": "x", "expires": "next week"}, "is not a date"),
        ({"id": "nope", "justification": "x"}, "unknown control 'nope'"),
    ],
)
def test_bad_waivers_are_refused(waiver: dict[str, str], message: str) -> None:
    with pytest.raises(audit.AuditError, match=message):
        run_audit(load("deb12-stock"), waivers=[waiver])


def test_waiver_outside_the_selection_is_reported_unused() -> None:
    host = ReplayHost(load("deb12-stock"))
    data = host.data
    target = facts.Target(**{**data["target"], "unit_dirs": tuple(data["target"]["unit_dirs"])})
    waivers = [{"id": "2.2", "justification": "x"}]
    out = audit.run(facts.Facts(host, target), controls=["2.3"], waivers=waivers, today=TODAY)
    assert out["unused_waivers"] == ["2.2"]


def test_summary_counts_every_result() -> None:
    host = ReplayHost(load("deb13-stock-planted"))
    data = host.data
    target = facts.Target(**{**data["target"], "unit_dirs": tuple(data["target"]["unit_dirs"])})
    out = audit.run(facts.Facts(host, target), today=TODAY)
    s = out["summary"]
    assert s["total"] == 117 == sum(v for k, v in s.items() if k != "total")
    assert s["fail"] > 10 and s["pass"] > 10


# -- a rootless user's daemon (captured from a real rootless dockerd) ------------------------


@pytest.mark.parametrize(
    ("cid", "status", "evidence"),
    [
        ("2.1", "pass", "rootless daemon of alice"),
        ("2.9", "pass", "rootless daemon: container root is the unprivileged user"),
        ("2.4", "not_applicable", "rootless daemon: networking is in the user's namespace (slirp4netns)"),
        ("3.3", "not_applicable", "rootless daemon: started by the user's docker.service, there is no socket unit"),
        ("3.1", "pass", "/home/alice/.config/systemd/user/docker.service: alice:alice 0644 (file)"),
        ("3.5", "pass", "/home/alice/.config/docker: alice:alice 0755 (dir)"),
        ("3.23", "not_applicable", "rootless daemon: containerd runs inside the user's namespace"),
    ],
)
def test_rootless_daemon(cid: str, status: str, evidence: str) -> None:
    r = run_audit(load("deb12-rootless"))[0]
    assert (r[cid]["status"], r[cid]["evidence"]) == (status, [evidence])


def test_rootless_socket_sticky_bit_is_not_a_permission() -> None:
    r = run_audit(load("deb12-rootless"), controls=["3.15", "3.16"])[0]
    assert r["3.16"]["status"] == "pass"
    assert r["3.16"]["evidence"][0].startswith("/run/user/1000/docker.sock: alice:")
    assert "1660" in r["3.16"]["evidence"][0]


def test_setuid_bit_on_a_file_fails_a_mode_control() -> None:
    data = load("deb12-hardened")
    path = "/etc/docker/daemon.json"
    data["stat"][path] = {**data["stat"][path], "mode": 0o4644}
    r = run_audit(data, controls=["3.18"])[0]
    assert r["3.18"]["status"] == "fail"
