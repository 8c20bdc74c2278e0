# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared check-mode comparison (molecule/shared/tests/test_check_mode.py) on recorded logs.

Every scenario's verifier runs it against real hosts; here it reads logs made
up for the purpose, to prove it fails where it must: a task predicted and not
done, one done and not predicted, a stale exception, no check run at all.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import types
import typing as t

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location(
    "dg_shared_check_mode", ROOT / "molecule" / "shared" / "tests" / "test_check_mode.py"
)
assert SPEC and SPEC.loader
RULE = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(RULE)


class FakeHost:
    def __init__(self, name: str, unpredictable: list[str]) -> None:
        self.backend = types.SimpleNamespace(get_hostname=lambda: name)
        self.ansible = types.SimpleNamespace(get_variables=lambda: {RULE.VARIABLE: unpredictable})


def record(run: str, playbook: str, check: bool, host: str, name: str, changed: bool) -> dict[str, t.Any]:
    return {
        "run": run,
        "playbook": playbook,
        "check": check,
        "host": host,
        "task": f"dockguard.hardening.daemon : {name}",
        "name": name,
        "role": "dockguard.hardening.daemon",
        "changed": changed,
        "status": "ok",
    }


def write_log(path: pathlib.Path, predicted: dict[str, list[str]], done: dict[str, list[str]]) -> None:
    lines = [record("p", "prepare.yml", False, h, "Prepare", True) for h in done]
    for run, check, changes in (("c", True, predicted), ("v", False, done), ("i", False, {h: [] for h in done})):
        for host, names in changes.items():
            lines.append(record(run, "converge.yml", check, host, "Gather", False))
            lines.extend(record(run, "converge.yml", check, host, n, True) for n in names)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def verdict(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, host: FakeHost) -> str:
    monkeypatch.setenv("DOCKGUARD_CHANGES_LOG", str(tmp_path / "changes.jsonl"))
    try:
        RULE.test_check_mode_predicted_the_converge(host)
    except (AssertionError, pytest.fail.Exception) as failure:
        return f"fail: {failure}"
    return "pass"


def test_equal_predictions_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    write_log(tmp_path / "changes.jsonl", {"a": ["Write daemon.json"]}, {"a": ["Write daemon.json"]})
    assert verdict(monkeypatch, tmp_path, FakeHost("a", [])) == "pass"


@pytest.mark.parametrize(
    ("predicted", "done", "shown"),
    [
        (["Write daemon.json", "Planned, a key"], ["Write daemon.json"], "predicted, not changed: ['Planned, a key']"),
        (["Write daemon.json"], ["Write daemon.json", "Restart"], "changed, not predicted: ['Restart']"),
    ],
)
def test_a_difference_fails_naming_the_task(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, predicted: list[str], done: list[str], shown: str
) -> None:
    write_log(tmp_path / "changes.jsonl", {"a": predicted}, {"a": done})
    result = verdict(monkeypatch, tmp_path, FakeHost("a", []))
    assert result.startswith("fail") and shown in result, result


def test_an_exception_used_on_another_host_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    # b installs for the first time (its key only for real); a renews, predicted in full
    write_log(
        tmp_path / "changes.jsonl",
        {"a": ["Key for a", "Restart"], "b": ["Directory"]},
        {"a": ["Key for a", "Restart"], "b": ["Directory", "Key for a", "Restart"]},
    )
    for name in ("a", "b"):
        assert verdict(monkeypatch, tmp_path, FakeHost(name, ["Key for *", "Restart"])) == "pass", name


def test_a_stale_exception_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    write_log(tmp_path / "changes.jsonl", {"a": ["Write daemon.json"]}, {"a": ["Write daemon.json"]})
    result = verdict(monkeypatch, tmp_path, FakeHost("a", ["Write daemon.json", "Load the images *"]))
    assert result.startswith("fail") and "['Write daemon.json', 'Load the images *']" in result, result


def test_no_check_run_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    log = tmp_path / "changes.jsonl"
    write_log(log, {"a": ["Write daemon.json"]}, {"a": ["Write daemon.json"]})
    log.write_text("".join(line for line in log.read_text().splitlines(keepends=True) if '"check": true' not in line))
    result = verdict(monkeypatch, tmp_path, FakeHost("a", []))
    assert result.startswith("fail") and "no check-mode run" in result, result


def test_a_host_with_no_record_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    write_log(tmp_path / "changes.jsonl", {"a": ["Write daemon.json"]}, {"a": ["Write daemon.json"]})
    result = verdict(monkeypatch, tmp_path, FakeHost("b", []))
    assert result.startswith("fail") and "recorded nothing on b" in result, result
