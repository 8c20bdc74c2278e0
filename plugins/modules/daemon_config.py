#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daemon_config
short_description: Manage the Docker daemon's daemon.json and apply it without losing the daemon
version_added: 0.1.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Sets, removes or owns the keys of C(/etc/docker/daemon.json), or of a rootless user's
    C(~/.config/docker/daemon.json) through O(path) and O(user).
  - Values are compared structurally, never as text; keys the task does not name are kept.
  - Before anything is written the new configuration is validated against a model of the daemon's
    documented keys (unknown keys and wrong value types are refused with the key named) and with
    C(dockerd --validate) where the installed engine has it (Engine 23 and later).
  - A key that is also given as a dockerd flag in the service unit or one of its drop-ins makes dockerd
    refuse to start. Such a conflict is an error that names both places, or is resolved with a managed
    systemd drop-in when O(conflicts=resolve).
  - The file is written atomically, owned by root (or the rootless user) with mode V(0644), after a backup.
  - A restart after a change waits for the Engine API and confirms that the running daemon reports the
    new settings. When the daemon does not come back, the previous file is restored, the daemon is
    restarted and the task fails with what went wrong, a journal excerpt, and what was restored.
  - When the new configuration turns C(live-restore) on, the running daemon is told to reload first, so
    that running containers survive the restart.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  path:
    description:
      - The configuration file.
      - Defaults to C(/etc/docker/daemon.json), or to C(~USER/.config/docker/daemon.json) when O(user) is set.
    type: path
  user:
    description:
      - Manage the rootless daemon of this user instead of the system daemon.
      - The file is then owned by the user, the service is the user's C(docker.service) in their systemd
        user manager, and the API is C(/run/user/UID/docker.sock).
    type: str
  settings:
    description:
      - Keys to set. Each key replaces the whole value it had; other keys of the file are kept unless
        O(exclusive=true).
    type: dict
    default: {}
  remove_keys:
    description:
      - Keys to remove from the file.
    type: list
    elements: str
    default: []
  exclusive:
    description:
      - Own the whole file, which then holds exactly O(settings).
    type: bool
    default: false
  allow_unknown_keys:
    description:
      - Keys accepted although the model of daemon keys does not know them, for settings of engines newer
        than this collection. C(dockerd --validate) still checks them where available.
    type: list
    elements: str
    default: []
  allow_insecure_tcp:
    description:
      - Accept TCP entries in C(hosts) without C(tlsverify). dockerd reads as TCP both C(tcp://) entries and
        addresses without a scheme such as C(0.0.0.0:2375) or C(:2375). Anyone who reaches such a port is
        root on the host; leave this false.
    type: bool
    default: false
  validate:
    description:
      - V(auto) runs C(dockerd --validate --config-file) when the installed dockerd supports it.
      - V(always) fails when dockerd cannot validate the file.
      - V(never) checks only against the model of daemon keys.
    type: str
    choices: [auto, always, never]
    default: auto
  conflicts:
    description:
      - What to do when a key is also set by a dockerd flag in the service unit, a drop-in or its
        environment file.
      - V(fail) stops with an error naming both places.
      - V(resolve) writes the drop-in O(dropin_path) that starts dockerd without the conflicting flags.
        A flag that comes from a variable (C(Environment=) or C(EnvironmentFile=)) is not resolved; the
        task fails naming the place that sets it.
    type: str
    choices: [fail, resolve]
    default: fail
  dropin_path:
    description:
      - The drop-in written when O(conflicts=resolve).
      - Defaults to C(/etc/systemd/system/SERVICE.d/99-dockguard-daemon-config.conf), or the user's
        C(~/.config/systemd/user/SERVICE.d/) when O(user) is set.
    type: path
  restart:
    description:
      - V(on_change) restarts the daemon safely when the file or drop-in changed, or when the file is newer
        than the running daemon.
      - V(always) restarts it safely on every run (for handlers).
      - V(never) only reports RV(restart_pending), for hosts whose owners schedule restarts themselves.
    type: str
    choices: [on_change, always, never]
    default: on_change
  service:
    description:
      - The systemd service of the daemon.
    type: str
    default: docker.service
  socket_unit:
    description:
      - The socket unit restarted with O(service) when it is loaded, so that socket settings apply.
    type: str
    default: docker.socket
  docker_host:
    description:
      - The Engine API socket used to confirm the daemon is back.
      - Defaults to C(unix:///var/run/docker.sock), or the user's C(unix:///run/user/UID/docker.sock).
    type: str
  timeout:
    description:
      - Seconds to wait for the Engine API to answer after a restart. Must be positive.
    type: int
    default: 60
  lock_timeout:
    description:
      - Seconds to wait for another C(daemon_config) run on the same daemon to finish.
      - Runs on one daemon are serialized for the whole read, write, restart and verification, so that
        two tasks at once neither lose each other's keys nor roll back each other's changes. When the lock
        cannot be had in time the task fails and changes nothing.
    type: int
    default: 300
  backup:
    description:
      - Keep a timestamped copy of the previous file next to it.
    type: bool
    default: true
notes:
  - A key in O(settings) replaces the key's whole value. To change one entry of C(log-opts), give the
    whole C(log-opts) object.
  - The module never follows a symlinked configuration file; a symlink is refused.
  - With O(user), every file in the user's home (C(daemon.json), the drop-in, the directories above them and
    the user's unit files it reads) is reached by walking from the home one component at a time without
    following symlinks; a symlink or hard link anywhere on the way, a file owned by someone else, or a home
    that is missing or not the user's is refused with the path named, and nothing is written.
    Directories it creates there belong to the user; it never changes the owner of a file it did not create.
  - A configuration file larger than 1 MiB is refused rather than read.
  - Requires Python 3.9 or later on the managed host.
seealso:
  - name: dockerd daemon configuration file
    description: The reference of daemon.json keys.
    link: https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file
  - module: community.docker.docker_host_info
"""

EXAMPLES = r"""
---
- name: Harden the daemon and restart it safely
  dockguard.hardening.daemon_config:
    settings:
      icc: false
      live-restore: true
      no-new-privileges: true
      userland-proxy: false
      log-driver: json-file
      log-opts:
        max-size: 10m
        max-file: "3"

- name: Remove a key and only report that a restart is pending
  dockguard.hardening.daemon_config:
    remove_keys:
      - insecure-registries
    restart: never
  register: daemon

- name: Listen on TLS as well, replacing the unit's -H fd:// with a managed drop-in
  dockguard.hardening.daemon_config:
    settings:
      hosts: ["fd://", "tcp://0.0.0.0:2376"]
      tlsverify: true
      tlscacert: /etc/docker/tls/ca.pem
      tlscert: /etc/docker/tls/server-cert.pem
      tlskey: /etc/docker/tls/server-key.pem
    conflicts: resolve

- name: A rootless user's daemon
  dockguard.hardening.daemon_config:
    user: alice
    settings:
      no-new-privileges: true
"""

RETURN = r"""
path:
  description: The configuration file managed.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
config:
  description: The configuration in effect in the file after the task (predicted in check mode).
  returned: always
  type: dict
  sample: {"icc": false, "live-restore": true, "log-opts": {"max-size": "10m"}}
changes:
  description: Keys added, removed and changed by the task.
  returned: always
  type: dict
  sample: {"added": {"icc": false}, "removed": {}, "changed": {"log-level": {"before": "debug", "after": "info"}}}
restart_pending:
  description: The running daemon does not yet run with the file's content (only with O(restart=never)).
  returned: always
  type: bool
  sample: false
restarted:
  description: The daemon was restarted (or would be, in check mode) and confirmed running the new settings.
  returned: always
  type: bool
  sample: true
verified:
  description: Per changed key that the Engine API exposes, what the running daemon reported after the restart.
  returned: when restarted
  type: list
  elements: dict
  sample: [{"key": "live-restore", "expected": true, "observed": true}]
validated_by:
  description: The checks the new configuration passed.
  returned: always
  type: list
  elements: str
  sample: ["model", "dockerd --validate"]
conflicts:
  description: Keys also set as dockerd flags, with where the flag is.
  returned: always
  type: list
  elements: dict
  sample: [{"key": "hosts", "flag": "-H fd://", "origin": "/lib/systemd/system/docker.service:13"}]
dropin:
  description: The managed drop-in written to resolve conflicts, if any.
  returned: when a drop-in is managed
  type: str
  sample: /etc/systemd/system/docker.service.d/99-dockguard-daemon-config.conf
deferred:
  description:
    - Keys of the default bridge (such as C(icc)) that the restarted daemon did not apply because live-restore
      kept containers running on the bridge. They apply at the first restart with no container running.
  returned: when a restart deferred some keys
  type: list
  elements: str
  sample: ["icc"]
backup_file:
  description: The copy of the previous file.
  returned: when the file changed and O(backup=true)
  type: str
  sample: /etc/docker/daemon.json.2201.2026-11-28@16:51:12~
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils._common import lock
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon import apply
from ansible_collections.dockguard.hardening.plugins.module_utils._daemon.host import SystemHost

DROPIN_NAME = apply.DROPIN_NAME
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\@-]+")


def run(module: AnsibleModule) -> dict:
    """Check the numbers, find the target, and apply under the daemon's lock."""
    params = module.params
    if params["timeout"] <= 0:
        raise DockguardError(f"timeout={params['timeout']}: must be a positive number of seconds (default 60)")
    if not UNIT_NAME.fullmatch(params["service"]) or (
        params["socket_unit"] and not UNIT_NAME.fullmatch(params["socket_unit"])
    ):
        raise DockguardError(
            f"service={params['service']!r}, socket_unit={params['socket_unit']!r}: a unit name is letters, digits "
            "and :-_.\\@ only, such as docker.service"
        )
    if params["lock_timeout"] < 0:
        raise DockguardError(f"lock_timeout={params['lock_timeout']}: must be zero or more seconds")
    account = None
    if params["user"]:
        import pwd

        try:
            account = pwd.getpwnam(params["user"])
        except KeyError:
            raise DockguardError(f"user={params['user']!r}: no such user on this host") from None
    tgt = apply.make_target(params, account)
    manager = apply.Manager(params, tgt, SystemHost(module), module.check_mode, module._diff)
    # one lock per file (however the service is spelled), then one per daemon (whichever file names it),
    # always in this order
    service = params["service"] if "." in params["service"] else params["service"] + ".service"
    file_key = f"daemon_config:file:{os.path.normpath(tgt.path)}"
    unit_key = f"daemon_config:unit:{tgt.user or ''}:{service}"
    file_lock = lock.exclusive(file_key, f"the daemon of {tgt.path}", params["lock_timeout"])
    unit_lock = lock.exclusive(unit_key, f"the service {service}", params["lock_timeout"])
    with file_lock, unit_lock:
        result = manager.run()
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path"},
            "user": {"type": "str"},
            "settings": {"type": "dict", "default": {}},
            "remove_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
            "exclusive": {"type": "bool", "default": False},
            "allow_unknown_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
            "allow_insecure_tcp": {"type": "bool", "default": False},
            "validate": {"type": "str", "choices": ["auto", "always", "never"], "default": "auto"},
            "conflicts": {"type": "str", "choices": ["fail", "resolve"], "default": "fail"},
            "dropin_path": {"type": "path"},
            "restart": {"type": "str", "choices": ["on_change", "always", "never"], "default": "on_change"},
            "service": {"type": "str", "default": "docker.service"},
            "socket_unit": {"type": "str", "default": "docker.socket"},
            "docker_host": {"type": "str"},
            "timeout": {"type": "int", "default": 60},
            "lock_timeout": {"type": "int", "default": 300},
            "backup": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    execute(module, run)


if __name__ == "__main__":
    main()
