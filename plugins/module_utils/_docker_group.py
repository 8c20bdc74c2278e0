# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Who controls the daemon (CIS Docker Benchmark 1.1.2): the docker group kept to an exact list of trusted users.

A member of the group that owns the API socket is root on the host (`docker run
-v /:/host --privileged ...`). The group's members are read through the system's
account database (grp/pwd: what a login is granted), planned against the list
(pure), and set in one step with shadow-utils' `gpasswd -M`, which rewrites
/etc/group and /etc/gshadow together under their locks. The result is read back
and compared with the list.

A user whose primary group is the group (the gid in /etc/passwd) is a member
that no member list removes: when such a user is not trusted, nothing is changed
and the task fails naming them and the fix.
"""

from __future__ import annotations

import grp
import pwd
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common import commands
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

ROOT_EQUIVALENT = (
    "members of the {group} group are root-equivalent: each of {who} can start a privileged container that "
    "mounts / and so controls the whole host (CIS 1.1.2). Trust them as you trust root."
)


class GroupError(DockguardError):
    """Bad input (unknown users, a group missing), or a change that did not take; nothing half-done."""


class GroupState(t.NamedTuple):
    name: str
    gid: int
    listed: tuple[str, ...]  # members in the group database
    primary: tuple[str, ...]  # accounts with the group as primary group


class Plan(t.NamedTuple):
    after: list[str]  # the listed members to set
    added: list[str]
    removed: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def read_state(group: str) -> GroupState | None:
    """The group's members as a login gets them; None when there is no such group."""
    try:
        gr = grp.getgrnam(group)
    except KeyError:
        return None
    primary = sorted(pw.pw_name for pw in pwd.getpwall() if pw.pw_gid == gr.gr_gid)
    return GroupState(gr.gr_name, gr.gr_gid, tuple(gr.gr_mem), tuple(primary))


def unknown_users(users: t.Sequence[str]) -> list[str]:
    out = []
    for user in users:
        try:
            pwd.getpwnam(user)
        except KeyError:
            out.append(user)
    return out


def plan(state: GroupState, trusted: t.Sequence[str]) -> Plan:
    """Set the listed members to exactly the trusted users (a trusted user with the group as primary group needs no
    listing); GroupError naming the untrusted users whose primary group it is."""
    wanted = sorted(set(trusted))
    stuck = [u for u in state.primary if u not in wanted]
    if stuck:
        raise GroupError(
            f"{', '.join(stuck)} {'has' if len(stuck) == 1 else 'have'} {state.name} as primary group (gid "
            f"{state.gid} in /etc/passwd), which no member list removes; nothing was changed. Give "
            f"{'that user' if len(stuck) == 1 else 'them'} another primary group (usermod -g GROUP USER), or add "
            f"{'it' if len(stuck) == 1 else 'them'} to users if trusted"
        )
    after = [u for u in wanted if u not in state.primary or u in state.listed]
    current = sorted(set(state.listed))
    return Plan(after, [u for u in after if u not in current], [u for u in current if u not in after])


def render(members: t.Sequence[str], primary: t.Sequence[str]) -> str:
    """The membership as diff text: one member a line, primary-group members marked."""
    lines = [f"{m}\n" for m in sorted(set(members))]
    lines += [f"{m} (primary group)\n" for m in primary if m not in members]
    return "".join(lines)


class DockerGroup:
    """The manager: read, plan, set with gpasswd -M, read back."""

    def __init__(self, module: t.Any, group: str, users: list[str]) -> None:
        self.module = module
        self.group = group
        self.users = users

    def run(self) -> dict[str, t.Any]:
        check = self.module.check_mode
        unknown = unknown_users(self.users)
        if unknown and not check:
            raise GroupError(
                f"users={unknown}: no such user on this host; nothing was changed. Create "
                f"{'it' if len(unknown) == 1 else 'them'} first, or remove {'it' if len(unknown) == 1 else 'them'} "
                "from users"
            )
        warnings = []
        if unknown:  # check mode: an earlier task of the play would create them
            warnings.append(f"users={unknown}: no such user yet; planned as if created before the real run")
        state = read_state(self.group)
        if state is None:
            return self._no_group(warnings)
        p = plan(state, self.users)
        everyone = sorted(set(p.after) | set(state.primary))
        if everyone:
            warnings.append(ROOT_EQUIVALENT.format(group=self.group, who=", ".join(everyone)))
        result: dict[str, t.Any] = {
            "changed": p.changed,
            "group": self.group,
            "members": everyone,
            "added": p.added,
            "removed": p.removed,
            "primary_members": list(state.primary),
            "warnings": warnings,
            "diff": {
                "before": render(state.listed, state.primary),
                "after": render(p.after, state.primary),
                "before_header": f"members of {self.group}",
                "after_header": f"members of {self.group}",
            },
        }
        if p.changed and not check:
            self._apply(p)
        if not self.module._diff:
            del result["diff"]
        return result

    def _no_group(self, warnings: list[str]) -> dict[str, t.Any]:
        if self.users and not self.module.check_mode:
            raise GroupError(
                f"group={self.group!r}: no such group on this host, so users={self.users} cannot join it; nothing was "
                "changed. Install the engine first (its package creates the group; the daemon role does), or name the "
                "socket's group"
            )
        if self.users:
            warnings.append(f"group={self.group!r}: no such group yet; planned as if the engine created it")
        empty = {"before": "", "after": render(self.users, ()), "before_header": self.group, "after_header": self.group}
        return {
            "changed": bool(self.users),
            "group": self.group,
            "members": sorted(set(self.users)),
            "added": sorted(set(self.users)),
            "removed": [],
            "primary_members": [],
            "warnings": warnings,
            **({"diff": empty} if self.module._diff else {}),
        }

    def _apply(self, p: Plan) -> None:
        gpasswd = self.module.get_bin_path("gpasswd", required=False, opt_dirs=["/usr/sbin", "/sbin"])
        if gpasswd is None:
            raise GroupError("gpasswd is not installed (package passwd); nothing was changed")
        commands.run(self.module, [gpasswd, "-M", ",".join(p.after), self.group], check=True, what="gpasswd -M")
        state = read_state(self.group)
        got = sorted(set(state.listed)) if state else []
        if got != p.after:
            raise GroupError(
                f"after gpasswd -M, the {self.group} group lists {got or 'nobody'}, not {p.after or 'nobody'}: the "
                "group may come from another account database (LDAP, sssd) that gpasswd does not write"
            )
