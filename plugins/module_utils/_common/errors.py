# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The one error base of the collection's module_utils.

Domain code raises a subclass; only a module's main() turns it into fail_json.
An error may carry extra result keys (a rollback report, say) in details.
"""

from __future__ import annotations

import traceback
import typing as t


class DockguardError(Exception):
    """An error a module reports as its failure message, with optional result keys."""

    def __init__(self, msg: str, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


def failure(exc: BaseException) -> dict[str, t.Any]:
    """fail_json's arguments for an exception a module's main() caught.

    A DockguardError gives its message and details; anything else is an
    unexpected error, reported with its traceback.
    """
    if isinstance(exc, DockguardError):
        return {"msg": exc.msg, **exc.details}
    return {"msg": f"unexpected error: {exc}", "exception": traceback.format_exc()}
