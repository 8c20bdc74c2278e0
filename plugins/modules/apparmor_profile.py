#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: apparmor_profile
short_description: Write an AppArmor profile, load it with apparmor_parser and verify it in the kernel
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Compiles the profile text with the host's C(apparmor_parser) before anything is written. A text the parser
    rejects fails the task with the parser's message and the offending line; the file and the profile loaded in
    the kernel stay as they were.
  - Writes the file atomically (root:root V(0644), after an optional backup) and loads it with
    C(apparmor_parser --replace), writing the parser's cache unless O(cache=false).
  - Verifies in the kernel's profile list (C(/sys/kernel/security/apparmor/profiles)) that every profile the text
    declares is loaded in O(mode), and, where the kernel exposes it (C(raw_sha1) in its policy directory), that it
    was loaded from exactly this text's binary policy. A profile of the same name loaded from other text (dockerd
    generating its own C(docker-default), say) is reported as a change and replaced.
  - On a kernel without AppArmor the task fails before writing anything, unless O(load=false), which only writes
    the checked file (for a later boot with AppArmor).
  - In check mode on a host without C(apparmor_parser) yet (an earlier task of the same run installs it), the text
    cannot be compiled, so the task predicts from the text and the loaded profile's name and mode, and warns.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  name:
    description:
      - The profile the text declares (C(profile NAME ... {)). The task fails when the text does not declare it.
    type: str
    required: true
  content:
    description:
      - The profile text. Required with O(state=present).
    type: str
  path:
    description:
      - The profile file. Defaults to C(/etc/apparmor.d/NAME) (a C(/) in the name becomes C(.)).
    type: path
  state:
    description:
      - V(present) writes, loads and verifies; V(absent) unloads the profile (when loaded) and removes the file.
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - The mode the profile must run in. V(complain) loads it with C(--Complain) (logs, does not deny).
    type: str
    choices: [enforce, complain]
    default: enforce
  load:
    description:
      - Load the profile into the kernel and verify it. With V(false) the checked file is only written, which is
        also the only thing possible on a kernel without AppArmor.
    type: bool
    default: true
  cache:
    description:
      - Write the parser's binary cache when loading (C(--write-cache)), so later boots load faster.
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of the previous file next to it.
    type: bool
    default: true
notes:
  - Requires the C(apparmor) package (C(apparmor_parser)) on the host, and Python 3.9 or later.
  - A profile replaced in the kernel applies at once to the processes already confined by it.
seealso:
  - name: apparmor_parser(8)
    description: The AppArmor profile compiler and loader.
    link: https://manpages.debian.org/bookworm/apparmor/apparmor_parser.8.en.html
  - name: AppArmor security profiles for Docker
    description: How dockerd uses the C(docker-default) profile.
    link: https://docs.docker.com/engine/security/apparmor/
"""

EXAMPLES = r"""
---
- name: A profile for one service, enforced
  dockguard.hardening.apparmor_profile:
    name: dockguard-web
    content: "{{ lookup('ansible.builtin.template', 'dockguard-web.apparmor.j2') }}"

- name: Only write (and check) a profile on a host booted without AppArmor
  dockguard.hardening.apparmor_profile:
    name: dockguard-web
    content: "{{ lookup('ansible.builtin.file', 'dockguard-web.apparmor') }}"
    load: false

- name: Remove it
  dockguard.hardening.apparmor_profile:
    name: dockguard-web
    state: absent
"""

RETURN = r"""
path:
  description: The profile file.
  returned: always
  type: str
  sample: /etc/apparmor.d/docker-default
profiles:
  description: The profiles the text declares, as the parser reads it (only O(name) when check mode had no parser).
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["docker-default"]
reasons:
  description: Why the file was written or the profile loaded; empty when everything was in place.
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["file differs", "docker-default loaded from another policy (sha1 5d2c0f9e1a3b)"]
policy_sha1:
  description:
    - SHA-1 of the binary policy the parser makes from the text (compare C(raw_sha1) in the kernel).
    - V(null) in check mode when C(apparmor_parser) is not installed yet.
  returned: when O(state=present)
  type: str
  sample: 9cf622d3d71f7c3208b3c03735daf395864d711e
loaded:
  description: The profile was (re)loaded by this task.
  returned: always
  type: bool
  sample: true
verified:
  description: What the kernel reports for each declared profile after the task.
  returned: when loaded and not in check mode
  type: list
  elements: dict
  sample: [{"profile": "docker-default", "mode": "enforce", "policy_sha1": "9cf622d3d71f7c3208b3c03735daf395864d711e"}]
backup_file:
  description: The copy of the previous file.
  returned: when the file changed and O(backup=true)
  type: str
  sample: /etc/apparmor.d/docker-default.2201.2026-12-01@11:02:03~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _apparmor
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute


def run(module: AnsibleModule) -> dict:
    host = _apparmor.Host(module)
    return _apparmor.Manager(module.params, host, module.check_mode, module._diff).run()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "content": {"type": "str"},
            "path": {"type": "path"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "mode": {"type": "str", "choices": ["enforce", "complain"], "default": "enforce"},
            "load": {"type": "bool", "default": True},
            "cache": {"type": "bool", "default": True},
            "backup": {"type": "bool", "default": True},
        },
        required_if=[("state", "present", ["content"])],
        supports_check_mode=True,
    )
    execute(module, run)


if __name__ == "__main__":
    main()
