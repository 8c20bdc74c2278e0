# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that turn dockguard.hardening.cis_audit results into reports.

Each filter is documented in its own file beside this one (cis_html.yml, ...), as
ansible-doc expects for a plugin file that holds several filters; the work is done
in plugins/plugin_utils/_cis_report.py (controller-side code).
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.dockguard.hardening.plugins.plugin_utils import _cis_drift, _cis_report

_R = t.TypeVar("_R")


def _plain(value: object) -> object:
    """Plain dicts, lists and scalars: Ansible hands filters its own container and string types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _call(name: str, func: t.Callable[..., _R], data: object, *args: object) -> _R:
    try:
        return func(_plain(data), *args)
    except _cis_report.ReportError as exc:
        raise AnsibleFilterError(f"{name}: {exc}") from exc


def cis_json(audit: object) -> str:
    return _call("cis_json", _cis_report.to_json, audit)


def cis_junit(audits: object) -> str:
    return _call("cis_junit", _cis_report.to_junit, audits)


def cis_html(audit: object) -> str:
    return _call("cis_html", _cis_report.to_html, audit)


def cis_fleet_html(audits: object) -> str:
    return _call("cis_fleet_html", _cis_report.fleet_html, audits)


def cis_fleet_summary(audits: object) -> dict[str, t.Any]:
    return _call("cis_fleet_summary", _cis_report.fleet_summary, audits)


def cis_gate(audits: object, level: int = 2, errors: bool = True, new_only: bool = False) -> list[list[str]]:
    for name, flag in (("errors", errors), ("new_only", new_only)):
        if not isinstance(flag, bool):
            raise AnsibleFilterError(f"cis_gate: {name} must be a boolean, got {flag!r}")
    try:
        level = int(str(level))
    except ValueError as exc:
        raise AnsibleFilterError(f"cis_gate: level must be an integer (1 or 2), got {level!r}") from exc
    return [list(found) for found in _call("cis_gate", _cis_report.gate, audits, level, errors, new_only)]


def cis_drift(current: object, previous: object = None) -> dict[str, t.Any]:
    def compare(now: object, before: object) -> dict[str, t.Any]:
        return _cis_drift.drift(before, now)

    return _call("cis_drift", compare, current, _plain(previous))


def cis_report_filename(host: object) -> str:
    if not isinstance(host, str) or not host:
        raise AnsibleFilterError(f"cis_report_filename: expected a host name, got {host!r}")
    return _cis_report.report_filename(host)


class FilterModule:
    """CIS audit reports."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "cis_json": cis_json,
            "cis_junit": cis_junit,
            "cis_html": cis_html,
            "cis_fleet_html": cis_fleet_html,
            "cis_fleet_summary": cis_fleet_summary,
            "cis_gate": cis_gate,
            "cis_drift": cis_drift,
            "cis_report_filename": cis_report_filename,
        }
