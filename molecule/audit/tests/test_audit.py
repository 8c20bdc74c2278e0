# SPDX-License-Identifier: GPL-3.0-or-later
"""The CIS audit judged on real hosts: named verdicts, reports, waivers and the gate."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import typing as t
import xml.etree.ElementTree as ET

import pytest

REPORTS = pathlib.Path(os.environ.get("DOCKGUARD_REPORT_DIR", "/nonexistent"))
ROOT = pathlib.Path(__file__).resolve().parents[3]


def name(host: t.Any) -> str:
    return str(host.backend.get_hostname())


def audit(host: t.Any, check: bool = False, **args: t.Any) -> dict[str, t.Any]:
    args.setdefault("level", 2)  # testinfra takes empty arguments "{}" for raw parameters
    result = host.backend.run_ansible("dockguard.hardening.cis_audit", json.dumps(args), check=check)
    assert "audit" in result, result
    assert result.get("changed") is False
    return t.cast("dict[str, t.Any]", result["audit"])


def verdicts(a: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {r["id"]: r for r in a["results"]}


_AUDITS: dict[str, dict[str, dict[str, t.Any]]] = {}


def full(host: t.Any) -> dict[str, dict[str, t.Any]]:
    """The whole audit of a host, run once per host for the verdict tests."""
    if name(host) not in _AUDITS:
        _AUDITS[name(host)] = verdicts(audit(host))
    return _AUDITS[name(host)]


def failing(result: dict[str, t.Any]) -> set[str]:
    return {i["name"] for i in result["items"] if i["status"] == "fail"}


STOCK = "dg-audit-stock"
HARD = "dg-audit-hard"

# (control, verdict on the stock host, verdict on the hardened host)
DAEMON_VERDICTS = [
    ("2.2", "fail", "pass"),
    ("2.14", "fail", "pass"),
    ("2.15", "fail", "pass"),
    ("2.16", "fail", "pass"),
    ("2.8", "manual", "pass"),
    ("2.18", "pass", "pass"),
    ("3.1", "pass", "pass"),
    ("3.2", "pass", "pass"),
    ("3.5", "pass", "pass"),
    ("3.6", "pass", "pass"),
    ("3.15", "pass", "pass"),
    ("3.16", "pass", "pass"),
    ("3.17", "not_applicable", "pass"),
    ("3.18", "not_applicable", "pass"),
]


@pytest.mark.parametrize(("cid", "stock", "hard"), DAEMON_VERDICTS)
def test_daemon_and_file_verdicts(host: t.Any, cid: str, stock: str, hard: str) -> None:
    r = full(host)[cid]
    assert r["status"] == (stock if name(host) == STOCK else hard), r["evidence"]


@pytest.mark.parametrize(
    ("cid", "culprits"),
    [
        ("5.5", {"privileged"}),
        ("5.4", {"privileged"}),
        ("5.32", {"docker-sock"}),
        ("5.10", {"host-net"}),
        ("5.11", {"no-memory"}),
        ("5.7", {"sshd"}),
        ("5.22", {"privileged"}),
    ],
)
def test_planted_containers_fail_their_controls_by_name(host: t.Any, cid: str, culprits: set[str]) -> None:
    r = full(host)[cid]
    if name(host) == STOCK:
        assert r["status"] == "fail"
        assert failing(r) == culprits
        assert ", ".join(sorted(culprits)) in r["evidence"][0] or all(c in r["evidence"][0] for c in culprits)
    else:
        assert r["status"] == "pass", r["evidence"]
        assert [i["name"] for i in r["items"]] == ["good"]


def test_check_mode_judges_the_same(host: t.Any) -> None:
    real = {i: r["status"] for i, r in full(host).items()}
    checked = {i: r["status"] for i, r in verdicts(audit(host, check=True)).items()}
    assert real == checked
    assert len(real) == 117


def test_rootless_controls_do_not_apply_to_a_missing_user(host: t.Any) -> None:
    result = host.backend.run_ansible("dockguard.hardening.cis_audit", json.dumps({"user": "nobody-here"}), check=False)
    assert "no such user" in result.get("msg", ""), result


@pytest.mark.parametrize("timeout", [0, -5])
def test_timeout_must_be_positive(host: t.Any, timeout: int) -> None:
    result = host.backend.run_ansible("dockguard.hardening.cis_audit", json.dumps({"timeout": timeout}), check=False)
    # testinfra hands back a failed module's result without its "failed" key: no audit, the message
    assert "audit" not in result, result
    assert result.get("msg", "").startswith(f"timeout={timeout}: the seconds to wait for each Engine API answer")


def test_a_daemon_that_does_not_answer_errors_only_the_controls_that_need_it(host: t.Any) -> None:
    absent = "/run/dg-no-daemon-here.sock"
    out = verdicts(audit(host, docker_host=f"unix://{absent}", sections=["2", "3"], timeout=2))
    assert out["2.15"]["status"] == "error"  # live-restore is read from docker info
    assert out["2.15"]["evidence"][0].startswith(f"{absent}: the Engine API does not answer: "), out["2.15"]
    # file controls are still judged, as in the full audit of this host
    for cid in ("3.1", "3.2", "3.17"):
        assert out[cid]["status"] == full(host)[cid]["status"], out[cid]


# -- reports written by converge (playbooks/audit.yml) ---------------------------------------


def report(host: t.Any) -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", json.loads((REPORTS / f"{name(host)}.json").read_text()))


def test_json_report_is_the_audit_of_this_host(host: t.Any) -> None:
    data = report(host)
    assert data["host"] == name(host)
    assert data["summary"]["total"] == 117 == len(data["results"])
    assert data["engine"]["api"] is True


def test_waiver_is_shown_and_expired_waiver_does_not_waive(host: t.Any) -> None:
    r = {x["id"]: x for x in report(host)["results"]}
    assert r["2.13"]["status"] == "waived"
    assert r["2.13"]["waiver"]["status"] == "fail"
    assert "node agent" in r["2.13"]["waiver"]["justification"]
    assert r["2.12"]["status"] == "fail"
    assert r["2.12"]["waiver"]["expired"] is True
    html = (REPORTS / f"{name(host)}.html").read_text()
    assert "node agent" in html and "Expired exception" in html


def test_junit_report_parses_and_counts_match(host: t.Any) -> None:
    data = report(host)
    suite = ET.parse(REPORTS / f"{name(host)}.xml").getroot()
    suites = suite.findall("testsuite") if suite.tag == "testsuites" else [suite]
    cases = [c for s in suites for c in s.findall("testcase")]
    assert len(cases) == 117
    failures = sum(1 for c in cases if c.find("failure") is not None)
    assert failures == data["summary"]["fail"]


def test_html_report_is_self_contained(host: t.Any) -> None:
    html = (REPORTS / f"{name(host)}.html").read_text()
    assert name(host) in html
    assert "<script src" not in html and "<link" not in html and "http://" not in html.split("<body", 1)[1]


def test_fleet_summary_lists_hosts_worst_first(host: t.Any) -> None:
    fleet = json.loads((REPORTS / "fleet.json").read_text())
    text = json.dumps(fleet)
    assert STOCK in text and HARD in text
    assert (REPORTS / "fleet.html").read_text().count("<html") == 1


# -- the CI gate ------------------------------------------------------------------------------


class Run(t.NamedTuple):
    returncode: int
    output: str  # stdout and stderr: ansible-core 2.19 prints task failures on stderr


def gate(*extra: str, history: str = "") -> Run:
    """The audit playbook with the gate; no reports and (unless given) no history are written."""
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    quiet = {"audit_fleet_report": False, "audit_report_formats": [], "audit_history_dir": history}
    proc = subprocess.run(
        ["ansible-playbook", "-i", inventory, "dockguard.hardening.audit", "-e", json.dumps(quiet), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
    )  # fmt: skip
    return Run(proc.returncode, proc.stdout + proc.stderr)


def test_gate_fails_the_play_naming_the_failing_controls(host: t.Any) -> None:
    if name(host) != STOCK:
        pytest.skip("the gate runs once, from the stock host's test")
    out = gate("-e", "audit_fail_level=1", "-e", '{"audit_controls": ["2.2", "2.15", "5.5"]}')
    assert out.returncode == 2, out.output[-2000:]
    assert "CIS gate (level <= 1)" in out.output
    for cid in ("2.2", "2.15", "5.5"):
        assert f"{STOCK} {cid} " in out.output
    assert f"{HARD} 2.2 " not in out.output


def test_gate_passes_a_hardened_host_and_ignores_level_2(host: t.Any) -> None:
    if name(host) != HARD:
        pytest.skip("runs once")
    # 2.9 (userns) is level 2 and fails on this host: a level 1 gate lets it by
    out = gate("--limit", HARD, "-e", "audit_fail_level=1", "-e", '{"audit_controls": ["2.2", "2.9", "2.14"]}')
    assert out.returncode == 0, out.output[-2000:]
    out = gate("--limit", HARD, "-e", "audit_fail_level=2", "-e", '{"audit_controls": ["2.2", "2.9", "2.14"]}')
    assert out.returncode == 2 and f"{HARD} 2.9 " in out.output


def test_waivers_open_the_gate(host: t.Any) -> None:
    if name(host) != STOCK:
        pytest.skip("runs once")
    waivers = [{"id": "2.2", "justification": "test"}, {"id": "no-privileged", "justification": "test"}]
    extra = json.dumps({"audit_controls": ["2.2", "5.5"], "audit_waivers": waivers})
    out = gate("--limit", STOCK, "-e", "audit_fail_level=1", "-e", extra)
    assert out.returncode == 0, out.output[-2000:]
    assert f"{STOCK}: 0 fail, 0 error, 0 manual, 2 waived" in out.output


def test_drift_between_audits_and_the_gate_on_new_failures(host: t.Any, tmp_path: pathlib.Path) -> None:
    """Three audits of the stock host kept in a history: first (all new), unchanged, a container added."""
    if name(host) != STOCK:
        pytest.skip("runs once")
    history = tmp_path / "history"
    scope = ["--limit", STOCK, "-e", json.dumps({"audit_controls": ["2.2", "5.10", "5.5"]})]
    gate_new = ["-e", "audit_fail_level=2", "-e", "audit_fail_new_only=true"]
    first = gate(*scope, *gate_new, history=str(history))
    assert first.returncode == 2, first.output[-2000:]  # first audit: every failure is new
    saved = json.loads((history / f"{STOCK}.json").read_text())
    assert saved["host"] == STOCK and saved["drift"]["first_audit"] is True
    assert {e["id"] for e in saved["drift"]["new_failures"]} == {"2.2", "5.10", "5.5"}

    again = gate(*scope, *gate_new, history=str(history))
    assert again.returncode == 0, again.output[-2000:]  # nothing new: the gate on new failures passes
    assert f"{STOCK} since " in again.output and "0 new failure(s)" in again.output
    everything = gate(*scope, "-e", "audit_fail_level=2", history=str(history))
    assert everything.returncode == 2  # while the plain gate still fails on the old failures

    host.run_expect([0], "docker run -d --name drift-hostnet --network host dg-busybox:1 sleep 600")
    try:
        third = gate(*scope, *gate_new, history=str(history))
    finally:
        host.run_expect([0], "docker rm -f drift-hostnet")
    assert third.returncode == 2, third.output[-2000:]
    assert f"{STOCK} 5.10 " in third.output and f"{STOCK} 2.2 " not in third.output
    drift = json.loads((history / f"{STOCK}.json").read_text())["drift"]
    assert [(e["id"], e["items"]) for e in drift["new_items"]] == [("5.10", ["drift-hostnet"])]
