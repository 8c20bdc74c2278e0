# SPDX-License-Identifier: GPL-3.0-or-later
"""Record which tasks changed, per run, so a test can compare a check-mode run with the real one.

Test tooling of dockguard.hardening (not shipped in the collection). Appends
one JSON line per task result to $DOCKGUARD_CHANGES_LOG; every scenario's
verifier compares its check run with its converge from it
(molecule/shared/tests/test_check_mode.py).

A line: run (one per ansible-playbook), playbook (file name), check (check
mode), host (the inventory host, also for a delegated task), task (the name
with its role, "ns.coll.role : name"), name (without the role), role,
changed, status (ok or failed).
"""

from __future__ import annotations

import json
import os
import time
import typing as t

from ansible import context
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: dockguard_changes
type: aggregate
short_description: Record changed tasks per run
description:
  - Appends a JSON line per task result to the file named by E(DOCKGUARD_CHANGES_LOG).
requirements:
  - enable in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "dockguard_changes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._run = f"{time.time():.6f}-{os.getpid()}"
        self._playbook = ""
        self._log = os.environ.get("DOCKGUARD_CHANGES_LOG")

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self._playbook = os.path.basename(playbook._file_name)

    def _record(self, result: t.Any, status: str) -> None:
        if not self._log:
            return
        line = {
            "run": self._run,
            "playbook": self._playbook,
            "check": bool(context.CLIARGS.get("check")),
            "host": result._host.get_name(),
            "task": result._task.get_name(),
            "name": result._task.name or result._task.action,
            "role": result._task._role.get_name() if result._task._role else None,
            "changed": bool(result._result.get("changed")),
            "status": status,
        }
        with open(self._log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._record(result, "failed")
