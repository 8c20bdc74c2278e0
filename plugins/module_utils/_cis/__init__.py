# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The CIS Docker Benchmark engine behind dockguard.hardening.cis_audit.

- catalogue: every control once, as a keyword record with its remediation;
- facts: what the audit reads from a host, behind the small Host seam, read once;
- checks: the registry of checks (how the checks' docstrings are written is stated there);
  checks_1_host ... checks_7_swarm hold the checks of each benchmark section,
  verdict.py the Verdict and registration, common.py the judging helpers they share;
- audit: selection, waivers, one result per control, the summary.

Rendering reports is controller-side: plugins/plugin_utils/_cis_report.py.
"""
