# SPDX-License-Identifier: GPL-3.0-or-later
"""Check mode predicted the converge: one rule for every scenario.

.config/molecule/config.yml adds this file to every scenario's verifier. It
reads the task results that molecule/shared/callback_plugins/dockguard_changes.py
recorded (DOCKGUARD_CHANGES_LOG) and, on each host, compares the tasks the
`check` step reported as changed with those the `converge` right after it
changed. The rule:

    predicted == changed, both without the scenario's explicit exceptions

The exceptions are the inventory variable `dg_check_mode_unpredictable` (empty
in .config/molecule/config.yml; a scenario's molecule.yml lists its own under
provisioner.inventory.group_vars.all, or host_vars): task names without the
role prefix, or fnmatch patterns for names that carry a templated part, each
with a comment saying why check mode cannot predict it. An exception must earn
its place: each one matches a task that check mode and the converge disagreed
on, on some host of the scenario; a stale one fails the test.

The idempotence step (nothing changed on the second converge) is Molecule's own.
"""

from __future__ import annotations

import fnmatch
import json
import os
import typing as t

import pytest

VARIABLE = "dg_check_mode_unpredictable"


def load_runs() -> list[tuple[bool, list[dict[str, t.Any]]]]:
    """converge.yml runs of this `molecule test`, in order: (check mode, records)."""
    path = os.environ.get("DOCKGUARD_CHANGES_LOG")
    assert path, "DOCKGUARD_CHANGES_LOG is not set: .config/molecule/config.yml sets it for every scenario"
    with open(path, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    # start after the last prepare: a log may hold an earlier `molecule converge` by hand
    prepares = [i for i, r in enumerate(records) if r["playbook"] == "prepare.yml"]
    records = records[prepares[-1] + 1 :] if prepares else records
    runs: dict[str, tuple[bool, list[dict[str, t.Any]]]] = {}
    for r in records:
        if r["playbook"] == "converge.yml":
            runs.setdefault(r["run"], (r["check"], []))[1].append(r)
    return list(runs.values())


def check_and_converge() -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]:
    runs = load_runs()
    modes = [check for check, _records in runs]
    assert True in modes, f"no check-mode run of converge.yml recorded (runs in check mode: {modes})"
    first = modes.index(True)
    assert first + 1 < len(runs) and not modes[first + 1], f"no converge right after the check run: {modes}"
    return runs[first][1], runs[first + 1][1]


def changed(records: list[dict[str, t.Any]], host: str) -> set[str]:
    return {r.get("name") or r["task"].split(" : ", 1)[-1] for r in records if r["host"] == host and r["changed"]}


def excluded(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def test_check_mode_predicted_the_converge(host: t.Any) -> None:
    name = host.backend.get_hostname()
    variables = host.ansible.get_variables()
    assert VARIABLE in variables, f"{VARIABLE} is not defined: .config/molecule/config.yml defines it as []"
    patterns = list(variables[VARIABLE])
    check, converge = check_and_converge()
    assert any(r["host"] == name for r in check), f"the check run recorded nothing on {name}"
    assert any(r["host"] == name for r in converge), f"the converge recorded nothing on {name}"

    predicted = {n for n in changed(check, name) if not excluded(n, patterns)}
    done = {n for n in changed(converge, name) if not excluded(n, patterns)}
    assert predicted == done, (
        f"on {name}, check mode and the converge disagree (beyond {VARIABLE}):\n"
        f"  predicted, not changed: {sorted(predicted - done)}\n"
        f"  changed, not predicted: {sorted(done - predicted)}"
    )

    # every exception earns its place on some host of the scenario
    hosts = {r["host"] for r in check + converge}
    disagreed = set().union(*(changed(check, h) ^ changed(converge, h) for h in hosts))
    stale = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in disagreed)]
    if stale:
        pytest.fail(f"{VARIABLE} lists what check mode and the converge agreed on everywhere: {stale}; remove it")
