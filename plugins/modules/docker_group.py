#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_group
short_description: Keep the docker group to an exact list of trusted users (CIS Docker Benchmark 1.1.2)
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Sets the members of the group that owns Docker's API socket to exactly O(users) - users not in the list are
    removed and named in RV(removed), missing ones added (RV(added)).
  - B(Membership of the docker group is root-equivalent.) A member can start a privileged container that mounts the
    host's C(/) and so controls the whole host. The module warns on every run, naming every member.
  - Users that do not exist are refused, naming them, before anything changes (in check mode they are planned with a
    warning, as an earlier task of the play may create them).
  - A user whose primary group is the group (the gid in C(/etc/passwd)) cannot be removed by any member list; when
    such a user is not in O(users), nothing is changed and the task fails naming them.
  - The members are set in one step with C(gpasswd -M), which rewrites C(/etc/group) and C(/etc/gshadow) together
    under their locks, and read back. dockerd is not restarted - a removed user loses access with their next login
    session (an open session keeps the group until it ends).
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  users:
    description:
      - The trusted users, the only members the group keeps. An empty list leaves the group with no members (only root
        reaches the socket).
    type: list
    elements: str
    required: true
  group:
    description:
      - The group that owns the API socket (the daemon role's C(daemon_socket_group)).
      - When it does not exist and O(users) is empty there is nothing to do; with users, the task fails (install the
        engine first; its package creates the group).
    type: str
    default: docker
notes:
  - Accounts are read through the system's account database (C(getent)-equivalent); C(gpasswd) writes only the local
    files, so a group served by LDAP or sssd is reported as not changed, and the task fails.
seealso:
  - module: dockguard.hardening.cis_audit
    description: Its O(dockguard.hardening.cis_audit#module:trusted_users) judges CIS 1.1.2 against the same list.
"""

EXAMPLES = r"""
---
- name: Only alice and bob control the daemon
  dockguard.hardening.docker_group:
    users: [alice, bob]
  register: docker_group

- name: Nobody but root
  dockguard.hardening.docker_group:
    users: []
"""

RETURN = r"""
group:
  description: The group managed.
  returned: always
  type: str
  sample: docker
members:
  description: Every member after the task (predicted in check mode), primary-group members included.
  returned: always
  type: list
  elements: str
  sample: [alice, bob]
added:
  description: Users added to the group's member list.
  returned: always
  type: list
  elements: str
  sample: [bob]
removed:
  description: Users removed from the group's member list - they no longer control the daemon.
  returned: always
  type: list
  elements: str
  sample: [mallory]
primary_members:
  description: Users whose primary group is the group.
  returned: always
  type: list
  elements: str
  sample: []
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _docker_group as dg
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute

ARGUMENT_SPEC: dict[str, t.Any] = {
    "users": {"type": "list", "elements": "str", "required": True},
    "group": {"type": "str", "default": "docker"},
}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    execute(module, lambda m: dg.DockerGroup(m, m.params["group"], m.params["users"]).run())


if __name__ == "__main__":
    main()
