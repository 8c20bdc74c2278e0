# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""CIS section 6, security operations: image and container sprawl, for a person to judge.

Docstrings follow the format stated in _cis.checks.
"""

from __future__ import annotations

from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict, section

CHECKS, check = section()


@check("image_sprawl")
def _image_sprawl(f: Facts, arg: str) -> Verdict:
    """Manual: counts the local images and those no running container uses."""
    images = f.images()
    used = {str(c.inspect.get("Image")) for c in f.containers()}
    unused = [i for i in images if i.get("Id") not in used]
    return Verdict("manual", [f"{len(images)} images, {len(unused)} not used by a running container"])


@check("container_sprawl")
def _container_sprawl(f: Facts, arg: str) -> Verdict:
    """Manual: counts the containers by state (running, stopped, paused)."""
    info = f.info()
    return Verdict(
        "manual",
        [
            f"{info.get('Containers', 0)} containers: {info.get('ContainersRunning', 0)} running, "
            f"{info.get('ContainersStopped', 0)} stopped, {info.get('ContainersPaused', 0)} paused"
        ],
    )
