#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: selinux_docker
short_description: Make a host's SELinux ready for dockerd's selinux-enabled, or refuse where it cannot be
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Checks that the kernel runs SELinux (C(/sys/fs/selinux)), optionally that it enforces, and that the loaded
    policy gives containers labels (C(process) and C(file) in C(contexts/lxc_contexts)). A host without them fails
    the task, naming what is missing, before anything is written; run it before setting C(selinux-enabled) with
    M(dockguard.hardening.daemon_config).
  - Installs the policy modules Docker needs (V(container) of the reference policy) from the policy package's own
    build (C(/usr/share/selinux/POLICY/NAME.pp)) when the package ships but does not install them, and enables them
    when they are disabled.
  - Relabels Docker's directories with C(restorecon -R) (a filesystem never labelled under the policy makes
    labelled mounts fail); check mode lists what C(restorecon -n) would relabel.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  policy_modules:
    description:
      - Policy modules that must be installed and enabled. One the policy package ships but did not install is
        installed, a disabled one is enabled, one the package does not have fails the task.
    type: list
    elements: str
    default: [container]
  relabel:
    description:
      - Paths relabelled recursively with C(restorecon). Missing paths are skipped.
    type: list
    elements: path
    default: [/var/lib/docker, /var/lib/containerd, /etc/docker, /run/docker]
  require_enforcing:
    description:
      - Fail unless SELinux enforces. With V(false) a permissive host is accepted (denials only logged).
    type: bool
    default: false
notes:
  - Requires C(policycoreutils) (C(semodule), C(restorecon)) and Python 3.9 or later.
  - The diff of this module is its result (RV(enabled_modules), RV(relabelled)); no file is edited as text.
seealso:
  - module: dockguard.hardening.daemon_config
  - name: dockerd selinux-enabled
    description: The daemon option that labels containers.
    link: https://docs.docker.com/reference/cli/dockerd/
"""

EXAMPLES = r"""
---
- name: SELinux ready for Docker (fails on a host without SELinux)
  dockguard.hardening.selinux_docker:
  register: selinux

- name: Then label containers
  dockguard.hardening.daemon_config:
    settings:
      selinux-enabled: true
"""

RETURN = r"""
mode:
  description: The SELinux mode of the running kernel.
  returned: always
  type: str
  sample: permissive
policy:
  description: The policy type (SELINUXTYPE).
  returned: always
  type: str
  sample: default
labels:
  description: The container labels the policy gives the engine (lxc_contexts).
  returned: always
  type: dict
  sample: {"process": "system_u:system_r:container_t:s0", "file": "system_u:object_r:container_file_t:s0"}
installed_modules:
  description: Policy modules installed by the task from the policy package's own build.
  returned: always
  type: list
  elements: str
  sample: ["container"]
enabled_modules:
  description: Policy modules enabled by the task.
  returned: always
  type: list
  elements: str
  sample: ["container"]
relabelled:
  description: Files relabelled (or that would be, in check mode), the first 50.
  returned: always
  type: list
  elements: dict
  sample:
    - path: /var/lib/docker
      from: system_u:object_r:unlabeled_t:s0
      to: system_u:object_r:container_var_lib_t:s0
relabelled_count:
  description: How many files were (or would be) relabelled.
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _selinux
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute


def run(module: AnsibleModule) -> dict:
    result = _selinux.Manager(module.params, _selinux.Host(module), module.check_mode).run()
    if module._diff:
        result["diff"] = {
            "before": {
                "missing_modules": result["installed_modules"],
                "disabled_modules": result["enabled_modules"],
                "mislabelled": result["relabelled_count"],
            },
            "after": {"missing_modules": [], "disabled_modules": [], "mislabelled": 0},
        }
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "policy_modules": {"type": "list", "elements": "str", "default": ["container"]},
            "relabel": {
                "type": "list",
                "elements": "path",
                "default": ["/var/lib/docker", "/var/lib/containerd", "/etc/docker", "/run/docker"],
            },
            "require_enforcing": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    execute(module, run)


if __name__ == "__main__":
    main()
