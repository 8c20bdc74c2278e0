# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Running commands: argv lists only, C locale, one seam."""

from __future__ import annotations

import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

# Parsed output must not depend on the managed host's locale.
C_ENV = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}


class CommandError(DockguardError):
    """A command that had to succeed did not."""


def first_line(out: str, err: str) -> str:
    """The line of a command's output that says why it failed."""
    text = err.strip() or out.strip() or "no output"
    return text.splitlines()[0].rstrip(".")


def run(module: t.Any, argv: t.Sequence[str], check: bool = False, what: str | None = None) -> tuple[int, str, str]:
    """Run argv (never a shell string) in the C locale; raise CommandError when check and rc != 0."""
    rc, out, err = module.run_command(list(argv), environ_update=C_ENV, expand_user_and_vars=False)
    if check and rc != 0:
        name = what or " ".join(argv[:3])
        raise CommandError(f"{name} failed (rc={rc}): {first_line(out, err)}", rc=rc, cmd=list(argv))
    return rc, out, err
