# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""CIS section 7, swarm: applies only when swarm mode is active.

Docstrings follow the format stated in _cis.checks.
"""

from __future__ import annotations

from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict, section, yesno

CHECKS, check = section()


def _swarm_only(f: Facts) -> Verdict | None:
    """None when swarm mode is active; else the not_applicable verdict.

    Not applicable: swarm mode is not active.
    """
    if not f.swarm_active():
        return Verdict("not_applicable", ["swarm mode is not active"])
    return None


@check("swarm_manual")
def _swarm_manual(f: Facts, arg: str) -> Verdict:
    """Manual: swarm mode is active and this control is reviewed by hand."""
    return _swarm_only(f) or Verdict("manual", ["swarm is active: review this control by hand"])


@check("swarm_managers")
def _swarm_managers(f: Facts, arg: str) -> Verdict:
    """Manual: gives the number of manager nodes (an odd number, 3 or 5, tolerates failures)."""
    na = _swarm_only(f)
    if na:
        return na
    managers = int((f.info().get("Swarm") or {}).get("Managers") or 0)
    return Verdict("manual", [f"{managers} manager nodes (an odd number, 3 or 5, tolerates failures)"])


@check("swarm_overlay_encrypted")
def _overlay_encrypted(f: Facts, arg: str) -> Verdict:
    """Pass when every overlay network (ingress included) has the `encrypted` option."""
    na = _swarm_only(f)
    if na:
        return na
    overlays = [n for n in f.networks() if n.get("Driver") == "overlay"]  # ingress too: it carries published ports
    plain = [str(n.get("Name")) for n in overlays if "encrypted" not in (n.get("Options") or {})]
    if not overlays:
        return Verdict("pass", ["no overlay networks"])
    return yesno(
        not plain,
        [
            f"unencrypted overlay networks: {', '.join(plain)}"
            if plain
            else f"{len(overlays)} overlay networks, all encrypted"
        ],
    )


def _manager_only(f: Facts) -> Verdict | None:
    """None on an active swarm's manager; else the not_applicable verdict.

    Not applicable: this node is not a swarm manager.
    """
    na = _swarm_only(f)
    if na:
        return na
    if not (f.info().get("Swarm") or {}).get("ControlAvailable"):
        return Verdict("not_applicable", ["this node is not a swarm manager"])
    return None


@check("swarm_autolock")
def _autolock(f: Facts, arg: str) -> Verdict:
    """Pass when the swarm's managers auto-lock (`AutoLockManagers`)."""
    na = _manager_only(f)
    if na:
        return na
    lock = bool(((f.swarm().get("Spec") or {}).get("EncryptionConfig") or {}).get("AutoLockManagers"))
    return yesno(lock, [f"AutoLockManagers={lock}"])


@check("swarm_cert_expiry")
def _swarm_cert(f: Facts, arg: str) -> Verdict:
    """Manual: gives the swarm's `NodeCertExpiry` for a person to confirm the rotation period."""
    na = _manager_only(f)
    if na:
        return na
    expiry = ((f.swarm().get("Spec") or {}).get("CAConfig") or {}).get("NodeCertExpiry")
    return Verdict("manual", [f"NodeCertExpiry={expiry} ns: confirm the rotation period"])
