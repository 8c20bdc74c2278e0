# SPDX-License-Identifier: GPL-3.0-or-later
"""The cis_* filters: as Python functions, through a real ansible-playbook run, and as ansible-doc renders them."""

from __future__ import annotations

import copy
import inspect
import json
import os
import pathlib
import subprocess
import sys
import typing as t

import ansible_collections
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.dockguard.hardening.plugins.filter import cis_report as flt
from ansible_collections.dockguard.hardening.plugins.plugin_utils import _cis_report as rep

ROOT = pathlib.Path(__file__).resolve().parents[4]
FIXTURE = ROOT / "tests" / "unit" / "fixtures" / "audit_sample.json"
FILTERS = flt.FilterModule().filters()
BIN = pathlib.Path(sys.executable).parent


def sample() -> dict[str, t.Any]:
    data = json.loads(FIXTURE.read_text())
    return copy.deepcopy(data[0] if isinstance(data, list) else data)


def fleet() -> list[dict[str, t.Any]]:
    second = sample()
    second["host"] = "web-02"
    for r in second["results"]:
        if r["id"] in ("2.2", "1.1.1"):
            r["status"] = "pass"
    return [sample(), second]


def ansible_env() -> dict[str, str]:
    bundled = next(p for p in ansible_collections.__path__ if pathlib.Path(p).parent.name == "site-packages")
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": f"{os.environ['DG_COLLECTIONS']}:{pathlib.Path(bundled).parent}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }


def test_exposed_filters() -> None:
    assert sorted(FILTERS) == [
        "cis_drift",
        "cis_fleet_html",
        "cis_fleet_summary",
        "cis_gate",
        "cis_html",
        "cis_json",
        "cis_junit",
        "cis_report_filename",
    ]


def test_filters_render_what_the_module_utils_render() -> None:
    audit, audits = sample(), fleet()
    assert FILTERS["cis_json"](audit) == rep.to_json(audit)
    assert FILTERS["cis_junit"](audits) == rep.to_junit(audits)
    assert FILTERS["cis_html"](audit) == rep.to_html(audit)
    assert FILTERS["cis_fleet_html"](audits) == rep.fleet_html(audits)
    assert FILTERS["cis_fleet_summary"](audits) == rep.fleet_summary(audits)
    assert FILTERS["cis_gate"](audits, 1) == [list(g) for g in rep.gate(audits, 1)]
    assert FILTERS["cis_report_filename"]("web-01") == "web-01.html"


@pytest.mark.parametrize(
    "name", ["cis_json", "cis_junit", "cis_html", "cis_fleet_html", "cis_fleet_summary", "cis_gate"]
)
def test_bad_input_is_a_filter_error_naming_the_filter(name: str) -> None:
    audit = sample()
    audit["results"][0]["status"] = "passed"
    with pytest.raises(AnsibleFilterError) as err:
        FILTERS[name]([audit] if "fleet" in name or name == "cis_gate" else audit)
    assert str(err.value).startswith(f"{name}: ")
    assert "status 'passed' is not one of fail, error, manual, waived, not_applicable, pass" in str(err.value)


def test_gate_arguments() -> None:
    audit = sample()
    assert FILTERS["cis_gate"](audit, "1") == FILTERS["cis_gate"](audit, 1)
    assert FILTERS["cis_gate"](audit, 2, False) == [list(g) for g in rep.gate(audit, 2, errors=False)]
    with pytest.raises(AnsibleFilterError, match="level must be an integer"):
        FILTERS["cis_gate"](audit, "one")
    with pytest.raises(AnsibleFilterError, match="level must be a positive integer"):
        FILTERS["cis_gate"](audit, 0)
    with pytest.raises(AnsibleFilterError, match="errors must be a boolean"):
        FILTERS["cis_gate"](audit, 1, "no")
    with pytest.raises(AnsibleFilterError, match="expected a host name"):
        FILTERS["cis_report_filename"]("")


DOCS = ROOT / "docs" / "reports.md"


def documented_play() -> list[dict[str, t.Any]]:
    """The playbook docs/reports.md recommends, with the audit task standing in for captured audits."""
    text = DOCS.read_text()
    marker = "<!-- the block below is run by tests/unit/plugins/filter/test_cis_report.py -->\n```yaml\n"
    assert marker in text
    play = yaml.safe_load(text.split(marker, 1)[1].split("```", 1)[0])
    tasks = play[0]["tasks"]
    assert tasks[0]["name"] == "Audit the host"
    assert "dockguard.hardening.cis_audit" in tasks[0]
    tasks[0] = {
        "name": "Stand-in for cis_audit: a captured audit",
        "ansible.builtin.set_fact": {
            "__cis_audit": {
                "audit": "{{ lookup('ansible.builtin.file', audits_dir ~ '/' ~ inventory_hostname) | from_json }}"
            }
        },
    }
    return t.cast("list[dict[str, t.Any]]", play)


def test_documented_playbook_writes_every_report(tmp_path: pathlib.Path) -> None:
    audits = fleet()
    (tmp_path / "audits").mkdir()
    for audit in audits:
        (tmp_path / "audits" / audit["host"]).write_text(json.dumps(audit))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(documented_play(), sort_keys=False))
    (tmp_path / "hosts.ini").write_text(
        "[docker_hosts]\n"
        + "".join(f"{a['host']} ansible_connection=local ansible_python_interpreter={sys.executable}\n" for a in audits)
        + f"[all:vars]\nansible_python_interpreter={sys.executable}\n"
    )
    proc = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(tmp_path / "hosts.ini"),
            str(tmp_path / "play.yml"),
            "-e",
            f"audits_dir={tmp_path / 'audits'}",
            "-e",
            "ansible_become=false",
        ],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # the play ends at the gate: these audits fail level 1 controls
    assert proc.returncode == 2, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "CIS level 1 failures: web-01 1.1.1 Ensure a separate partition" in proc.stdout, proc.stdout[-6000:]
    out = tmp_path / "reports"
    assert sorted(p.name for p in out.iterdir()) == [
        "cis-junit.xml",
        "index.html",
        "summary.json",
        "web-01.html",
        "web-01.json",
        "web-02.html",
        "web-02.json",
    ]
    for audit in audits:
        assert (out / f"{audit['host']}.html").read_text() == rep.to_html(audit)
        assert (out / f"{audit['host']}.json").read_text() == rep.to_json(audit)
    assert (out / "index.html").read_text() == rep.fleet_html(audits)
    assert (out / "cis-junit.xml").read_text() == rep.to_junit(audits)
    assert json.loads((out / "summary.json").read_text()) == rep.fleet_summary(audits)


def test_every_filter_is_documented_for_ansible_doc() -> None:
    names = [f"dockguard.hardening.{name}" for name in sorted(FILTERS)]
    proc = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "filter", "--json", *names],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    docs = json.loads(proc.stdout)
    assert sorted(docs) == names
    for name, doc in docs.items():
        short = name.rsplit(".", 1)[1]
        assert doc["doc"]["name"] == short
        assert doc["doc"]["short_description"]
        assert "_input" in doc["doc"]["options"], name
        assert f"dockguard.hardening.{short}" in doc["examples"], name
        assert "_value" in doc["return"], name
        params = list(inspect.signature(FILTERS[short]).parameters)[1:]
        assert sorted(params) == sorted(o for o in doc["doc"]["options"] if o != "_input"), name
