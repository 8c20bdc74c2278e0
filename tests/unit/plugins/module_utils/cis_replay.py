# SPDX-License-Identifier: GPL-3.0-or-later
"""Replay facts captured from real test hosts (tests/unit/fixtures/hosts/*.json).

tools/capture_audit_facts.py recorded, inside real Docker test hosts, every file
stat, read, directory listing, command and Engine API answer the audit used.
ReplayHost serves them back through the audit's Host interface, so checks are
judged on what real hosts showed. Anything not recorded is absent (a missing
file, an empty directory, a 404), as on a host without it.

Shared by test__cis_audit.py (whole audits) and test__cis_checks.py (one check
at a time, on small, explicit changes to a captured host).
"""

from __future__ import annotations

import copy
import json
import pathlib
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import facts
from ansible_collections.dockguard.hardening.plugins.module_utils._engine import EngineError

HOSTS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "hosts"


class ReplayHost:
    def __init__(self, data: dict[str, t.Any]) -> None:
        self.data = data
        self.api_calls: list[str] = []
        self.runs: list[str] = []

    def stat(self, path: str) -> facts.FileInfo:
        rec = self.data["stat"].get(path)
        return facts.FileInfo(**rec) if rec else facts.FileInfo(path, False)

    def read(self, path: str) -> str:
        rec = self.data["read"].get(path)
        if rec is None or isinstance(rec, dict):
            raise FileNotFoundError(2, "No such file or directory", path)
        return t.cast("str", rec)

    def listdir(self, path: str) -> list[str]:
        return list(self.data["listdir"].get(path, []))

    def readlink(self, path: str) -> str:
        rec = self.data["readlink"].get(path)
        if rec is None or isinstance(rec, dict):
            raise FileNotFoundError(2, "No such file or directory", path)
        return t.cast("str", rec)

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        self.runs.append(" ".join(argv))
        rc, out, err = self.data["run"].get(" ".join(argv), [127, "", f"{argv[0]}: command not found"])
        return rc, out, err

    def api(self, path: str) -> t.Any:
        self.api_calls.append(path)
        rec = self.data["api"].get(path)
        if rec is None:
            raise EngineError(f"GET {path} answered 404: no such object", status=404)
        if isinstance(rec, dict) and set(rec) == {"error", "status"}:
            raise EngineError(rec["error"], status=rec["status"])
        return copy.deepcopy(rec)


def load(name: str) -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", json.loads((HOSTS / f"{name}.json").read_text()))


def target_of(data: dict[str, t.Any]) -> facts.Target:
    return facts.Target(**{**data["target"], "unit_dirs": tuple(data["target"]["unit_dirs"])})


def facts_of(data: dict[str, t.Any]) -> facts.Facts:
    """The facts of a captured host; data["trusted_users"] (set by a test, never captured) is the audit's option."""
    return facts.Facts(ReplayHost(data), target_of(data), data.get("trusted_users"))
