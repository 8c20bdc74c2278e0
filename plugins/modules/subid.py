#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: subid
short_description: Subordinate UID and GID ranges of a user in /etc/subuid and /etc/subgid
version_added: 0.2.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Manages one user's entries in C(/etc/subuid) and C(/etc/subgid) in one call, as user namespaces (Docker's
    C(userns-remap), rootless Docker, C(newuidmap)) need them.
  - With O(start) the range is exactly the one given. Without it, a valid existing range is kept as it is, and a user
    without one gets the lowest free range of O(count) IDs at or above O(pool_start), the same start in both files
    when one is free in both.
  - A free range never overlaps another owner's range, never contains the UID (or GID) of an existing account, and
    stays within C(SUB_UID_MIN)/C(SUB_UID_MAX) (C(SUB_GID_MIN)/C(SUB_GID_MAX)) of C(/etc/login.defs).
  - Each line is read the way every program that uses the files reads it (shadow-utils' C(newuidmap), C(useradd)
    and C(usermod); dockerd's two parsers), and a range that any of them reads counts as taken. So a line ending in
    a carriage return (C(bob:100000:65536\r)), with blanks around it, with a fourth field, with an octal or
    hexadecimal number, or commented out with C(#) is avoided as the program that reads it sees it.
  - The task fails, naming the line and what it clashes with, when a requested or existing range of the user overlaps
    another owner's range or an account's ID, holds fewer than O(min_count) IDs, or is read differently by those
    programs. Nothing is written then.
  - Lines of other owners, comments and malformed lines are left exactly as they are; the user's entry is written
    where its old line was, or appended.
  - Both files change or neither does. Before the first write both files are planned and checked, and both targets
    checked writable (a read-only file or mount fails here, naming the file and the reason); when the second write
    still fails, the first file is restored as it was. Runs on the same files are serialized by a lock.
  - Files are written atomically (root:root 0644) after an optional backup.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  name:
    description:
      - The user whose subordinate IDs are managed. Entries written under the user's numeric UID are recognised as
        the user's too.
      - The user must exist when O(state=present); in check mode a missing user is planned for with a warning,
        since a task of the same play would create it before the real run.
    type: str
    required: true
    aliases: [user]
  group:
    description:
      - The owner of the entry in the subgid file. Defaults to O(name), as shadow-utils writes it.
      - Docker's C(userns-remap) with C(USER:GROUP) looks up the subgid range of GROUP.
    type: str
  state:
    description:
      - V(present) ensures a valid range in both files; V(absent) removes only this user's lines.
    type: str
    choices: [present, absent]
    default: present
  start:
    description:
      - The first subordinate ID (0 or more). Omit it to keep a valid existing range or allocate a free one.
    type: int
  count:
    description:
      - How many subordinate IDs to allocate (or to set, with O(start)); a positive number, at least O(min_count).
    type: int
    default: 65536
  min_count:
    description:
      - The fewest IDs a valid range holds (positive). Docker images carry IDs up to 65535, so a remapped root needs
        65536.
    type: int
    default: 65536
  pool_start:
    description:
      - The lowest ID the allocator considers (positive, and never below C(SUB_UID_MIN) of login.defs).
    type: int
    default: 100000
  on_invalid:
    description:
      - What to do with this user's existing entries that overlap another range or an account, or are too small.
      - V(fail) stops naming them; V(replace) drops them and allocates a new range when no valid one remains.
    type: str
    choices: [fail, replace]
    default: fail
  subuid_path:
    description: The subordinate UID file.
    type: path
    default: /etc/subuid
  subgid_path:
    description: The subordinate GID file.
    type: path
    default: /etc/subgid
  login_defs_path:
    description: The shadow-utils defaults read for the C(SUB_*_MIN)/C(SUB_*_MAX) bounds.
    type: path
    default: /etc/login.defs
  backup:
    description: Keep a timestamped copy of a file before changing it.
    type: bool
    default: true
notes:
  - Accounts are read through the system's user and group database (C(getent)-equivalent), so accounts from LDAP or
    other NSS sources are avoided as well as local ones.
seealso:
  - name: subuid(5)
    description: The format of /etc/subuid.
    link: https://man7.org/linux/man-pages/man5/subuid.5.html
  - name: Isolate containers with a user namespace
    description: Docker's userns-remap.
    link: https://docs.docker.com/engine/security/userns-remap/
"""

EXAMPLES = r"""
---
- name: A free range for dockremap (kept on later runs)
  dockguard.hardening.subid:
    name: dockremap

- name: An exact range for a rootless Docker user
  dockguard.hardening.subid:
    name: alice
    start: 231072
    count: 65536

- name: Replace a broken entry instead of failing on it
  dockguard.hardening.subid:
    name: bob
    on_invalid: replace

- name: Remove a user's ranges (other lines untouched)
  dockguard.hardening.subid:
    name: olduser
    state: absent
"""

RETURN = r"""
subuid:
  description: The user's range in the subuid file after the task (predicted in check mode); null when absent.
  returned: always
  type: dict
  sample: {"path": "/etc/subuid", "owner": "alice", "start": 165536, "count": 65536, "changed": true}
subgid:
  description: The range in the subgid file after the task; null when absent.
  returned: always
  type: dict
  sample: {"path": "/etc/subgid", "owner": "alice", "start": 165536, "count": 65536, "changed": true}
removed:
  description: Lines removed, with file and line number.
  returned: always
  type: list
  elements: str
  sample: ["/etc/subuid:3 'alice:100000:1000'"]
docker_unreadable:
  description:
    - Lines of either file that make dockerd refuse the whole file (not three C(:)-separated fields, and neither
      empty nor a comment). The module leaves them as they are; dockerd's C(userns-remap) fails until they are fixed.
  returned: always
  type: list
  elements: str
  sample: ["/etc/subuid:4 'this line is not an entry'"]
backup_files:
  description: Copies of the files before the change.
  returned: when a file changed and O(backup=true)
  type: list
  elements: str
  sample: ["/etc/subuid.2201.2026-11-28@16:51:12~"]
written:
  description:
    - On a failed write, the files left with the new content (a restore that failed as well); empty when the files
      are as they were.
  returned: when writing failed
  type: list
  elements: str
  sample: []
restored:
  description: On a failed write, the files written and then restored as they were.
  returned: when writing failed
  type: list
  elements: str
  sample: ["/etc/subuid"]
"""

import grp
import os
import pwd
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _subid as si
from ansible_collections.dockguard.hardening.plugins.module_utils._common import lock
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute

# How long a run waits for another run changing the same files, and where the locks live.
LOCK_TIMEOUT = 60
LOCK_DIR = lock.LOCK_DIR


class Subid:
    def __init__(self, module: AnsibleModule, fs: si.HostFiles | None = None) -> None:
        self.module = module
        self.p = module.params
        self.fs = fs or si.HostFiles(module)

    def accounts(self) -> tuple[dict[int, str], dict[int, str]]:
        users = {pw.pw_uid: pw.pw_name for pw in pwd.getpwall()}
        groups = {gr.gr_gid: gr.gr_name for gr in grp.getgrall()}
        return users, groups

    def owners(self) -> tuple[list[str], list[str]]:
        name = self.p["name"]
        group = self.p["group"] or name
        uid_owners, gid_owners = [name], [group]
        try:
            uid_owners.append(str(pwd.getpwnam(name).pw_uid))
        except KeyError:
            self.missing("user", "name", name)
        try:
            gid_owners.append(str(grp.getgrnam(group).gr_gid))
        except KeyError:
            if self.p["group"]:
                self.missing("group", "group", group)
        return uid_owners, gid_owners

    def missing(self, kind: str, option: str, value: str) -> None:
        """A missing account: an error, except in check mode, where an earlier task would create it."""
        if self.p["state"] != "present":
            return
        if self.module.check_mode:
            self.module.warn(f"{option}={value!r}: no such {kind} yet; planned as if it exists before the real run")
            return
        raise si.SubidError(f"{option}={value!r}: no such {kind} on this host; create the {kind} first")

    def read(self, path: str) -> str:
        return self.fs.read(path) or ""

    def plans(self) -> list[si.Plan]:
        uid_owners, gid_owners = self.owners()
        uid_text, gid_text = self.read(self.p["subuid_path"]), self.read(self.p["subgid_path"])
        if self.p["state"] == "absent":
            return [
                si.plan_absent(self.p["subuid_path"], uid_text, uid_owners),
                si.plan_absent(self.p["subgid_path"], gid_text, gid_owners),
            ]
        users, groups = self.accounts()
        defs = si.parse_login_defs(self.read(self.p["login_defs_path"]))
        common = {
            "count": self.p["count"],
            "start": self.p["start"],
            "pool_start": self.p["pool_start"],
            "min_count": self.p["min_count"],
            "on_invalid": self.p["on_invalid"],
        }
        # each file avoids what the other file has taken, so both get the same start when one is free in both
        files = (
            (self.p["subuid_path"], uid_text, uid_owners, users, "UID", (gid_text, gid_owners, groups)),
            (self.p["subgid_path"], gid_text, gid_owners, groups, "GID", (uid_text, uid_owners, users)),
        )
        return [
            si.plan_present(path, text, owners, ids, si.bounds(defs, kind), avoid=si.taken(*other), **common)
            for path, text, owners, ids, kind, other in files
        ]

    def run(self) -> dict[str, t.Any]:
        p = self.p
        si.check_options(p["start"], p["count"], p["min_count"], p["pool_start"])
        if self.module.check_mode:
            return self.apply()
        paths = f"{os.path.realpath(p['subuid_path'])}\0{os.path.realpath(p['subgid_path'])}"
        what = f"{p['subuid_path']} and {p['subgid_path']}"
        with lock.exclusive(f"subid:{paths}", what, LOCK_TIMEOUT, lock_dir=LOCK_DIR):
            return self.apply()

    def apply(self) -> dict[str, t.Any]:
        """Plan both files (every check done), then write both or neither."""
        plans = self.plans()
        result: dict[str, t.Any] = {"changed": False, "removed": [], "docker_unreadable": []}
        diffs, changes = [], []
        for key, plan in (("subuid", plans[0]), ("subgid", plans[1])):
            after = si.render(plan)
            changed = after != plan.text
            rng = plan.range
            result[key] = {"path": plan.path, "owner": plan.owner, **rng.as_dict(), "changed": changed} if rng else None
            result["removed"] += [x.describe(plan.path) for x in plan.remove]
            result["docker_unreadable"] += si.docker_unreadable(after, plan.path)
            for warning in plan.warnings:
                self.module.warn(warning)
            if changed:
                existed = plan.text or os.path.lexists(plan.path)
                changes.append(si.Change(plan.path, plan.text if existed else None, after))
                diffs.append(
                    {"before": plan.text, "after": after, "before_header": plan.path, "after_header": plan.path}
                )
        result["changed"] = bool(changes)
        if changes and not self.module.check_mode:
            done = si.commit(changes, self.fs, backup=self.p["backup"])
            if done.backup_files:
                result["backup_files"] = done.backup_files
        if self.module._diff:
            result["diff"] = diffs
        return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True, "aliases": ["user"]},
            "group": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "start": {"type": "int"},
            "count": {"type": "int", "default": 65536},
            "min_count": {"type": "int", "default": 65536},
            "pool_start": {"type": "int", "default": 100000},
            "on_invalid": {"type": "str", "choices": ["fail", "replace"], "default": "fail"},
            "subuid_path": {"type": "path", "default": "/etc/subuid"},
            "subgid_path": {"type": "path", "default": "/etc/subgid"},
            "login_defs_path": {"type": "path", "default": "/etc/login.defs"},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    execute(module, lambda m: Subid(m).run())


if __name__ == "__main__":
    main()
