#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: authz_policy
short_description: Validate the dockguard authorization plugin's policy and install it atomically
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Validates a policy of the dockguard authorization plugin (rules, their actions and parameters, exceptions with
    a justification and an expiry) and writes it, as canonical JSON, to O(path).
  - A policy that fails validation is refused with the key, the value and the fix named, and nothing is written;
    the policy in force stays in force.
  - The file is written atomically (root:root V(0644)), so the plugin, which re-reads the file when it changes,
    never sees half a policy. The plugin itself also refuses to load an invalid file.
  - Every rule is written with the CIS control it serves, so the stored policy reads at a glance.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  policy:
    description:
      - The policy. Keys V(mode) (V(enforce) or V(warn)), V(rules) (a rule name to an action V(deny), V(warn) or
        V(off), or to a mapping with V(action) and the rule's parameters) and V(exceptions) (each with V(user)
        and/or V(image), V(rules), V(justification) and V(expires)).
      - Rules not named keep their default action. See C(docs/authz.md) for every rule and its control.
    type: dict
    required: true
  path:
    description:
      - Where the plugin reads its policy.
    type: path
    default: /etc/dockguard/authz/policy.json
  backup:
    description:
      - Keep a timestamped copy of the previous file next to it.
    type: bool
    default: false
notes:
  - Requires Python 3.9 or later on the managed host.
seealso:
  - name: Docker authorization plugins
    description: The protocol the plugin speaks.
    link: https://docs.docker.com/engine/extend/plugins_authorization/
"""

EXAMPLES = r"""
---
- name: Enforce the default rules, with one exception
  dockguard.hardening.authz_policy:
    policy:
      mode: enforce
      rules:
        capabilities: {action: deny, allow: [NET_BIND_SERVICE]}
        image_registries: {action: deny, allow: [registry.example.com]}
      exceptions:
        - user: node-agent
          rules: [privileged, devices]
          justification: the node agent reads the host's devices (ticket OPS-12)
          expires: 2027-03-31

- name: Roll out in warn mode first
  dockguard.hardening.authz_policy:
    policy:
      mode: warn
"""

RETURN = r"""
path:
  description: The policy file.
  returned: always
  type: str
  sample: /etc/dockguard/authz/policy.json
policy:
  description: The policy as stored (every rule with its control, action and parameters).
  returned: always
  type: dict
  sample: {"version": 1, "mode": "enforce", "rules": {"privileged": {"control": "5.5", "action": "deny"}}}
enforced:
  description: The rules that refuse (action deny, in enforce mode), by name, with their control.
  returned: always
  type: dict
  sample: {"privileged": "5.5", "docker_socket": "5.32"}
expired_exceptions:
  description: Indexes of the exceptions already expired (kept in the file, never applied).
  returned: always
  type: list
  elements: int
  sample: [2]
backup_file:
  description: The backup of the previous file.
  returned: when a backup was made
  type: str
  sample: /etc/dockguard/authz/policy.json.1234.2026-12-01@11:00:00~
"""

import datetime
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils._authz import policy as pol
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute


def run(module: AnsibleModule) -> dict[str, t.Any]:
    path = module.params["path"]
    policy = pol.load(module.params["policy"])
    after = policy.to_json()
    before = files.read_text(path, missing_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    result: dict[str, t.Any] = {
        "path": path,
        "policy": policy.canonical(),
        "enforced": {
            n: r.spec.control for n, r in policy.rules.items() if r.action == "deny" and policy.mode == "enforce"
        },
        "expired_exceptions": [e.number for e in policy.exceptions if e.expired(now)],
        "changed": before != after,
    }
    if result["expired_exceptions"]:
        module.warn(f"policy exceptions {result['expired_exceptions']} have expired and no longer apply")
    if module._diff:
        result["diff"] = {"before": before or "", "after": after, "before_header": path, "after_header": path}
    if result["changed"] and not module.check_mode:
        backup = files.atomic_write(module, path, after, mode=0o644, backup=module.params["backup"])
        if backup:
            result["backup_file"] = backup
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "policy": {"type": "dict", "required": True},
            "path": {"type": "path", "default": "/etc/dockguard/authz/policy.json"},
            "backup": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    execute(module, run)


if __name__ == "__main__":
    main()
