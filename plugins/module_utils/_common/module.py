# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The end of every module's main(): run it, report a failure once, exit."""

from __future__ import annotations

import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import failure


def execute(module: t.Any, run: t.Callable[[t.Any], dict[str, t.Any]]) -> None:
    """exit_json with run(module)'s result, or fail_json with what went wrong.

    A DockguardError gives its message and result keys; anything else is an
    unexpected error with its traceback. Warnings in the result go through
    module.warn. A result's path is reported as the module saw it: Ansible's own
    look at it (add_path_info) would follow a link a user swapped in since.
    """
    module.add_path_info = lambda kwargs: kwargs
    try:
        result = run(module)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_json(**failure(exc))
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    module.exit_json(**result)
