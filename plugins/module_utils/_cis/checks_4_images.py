# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""CIS section 4, images: the user containers run as, content trust, health checks, and the manual controls.

Docstrings follow the format stated in _cis.checks.
"""

from __future__ import annotations

import re

from ansible_collections.dockguard.hardening.plugins.module_utils._cis.common import FALSE_WORDS, per_container
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import Container, Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict, section

CHECKS, check = section()


@check("container_user")
def _container_user(f: Facts, arg: str) -> Verdict:
    """Fail each running container whose configured user is empty, `root` or `0`."""

    def judge(c: Container) -> str | None:
        user = str((c.inspect.get("Config") or {}).get("User") or "")
        name = user.split(":", maxsplit=1)[0]
        return None if user and name not in ("root", "0") else f"runs as {user or 'root (no USER)'}"

    return per_container(f, judge, "runs as a non-root user")


@check("manual_images")
def _manual_images(f: Facts, arg: str) -> Verdict:
    """Manual: about how images are built and sourced; the evidence lists the local images to review."""
    images = f.images()
    tags = sorted({tag for i in images for tag in i["_tags"]})
    shown = ", ".join(tags[:8]) + (" ..." if len(tags) > 8 else "")
    return Verdict("manual", [f"{len(images)} local images: {shown or 'none tagged'}"])


_DCT = re.compile(r"^[ \t]*(?:export[ \t]+)?DOCKER_CONTENT_TRUST=['\"]?([^'\"\s]*)['\"]?[ \t]*$", re.MULTILINE)
_DCT_SERVER = re.compile(
    r"^[ \t]*(?:export[ \t]+)?DOCKER_CONTENT_TRUST_SERVER=['\"]?([^'\"\s]+)['\"]?[ \t]*$", re.MULTILINE
)


@check("content_trust")
def _content_trust(f: Facts, arg: str) -> Verdict:
    """Pass when `DOCKER_CONTENT_TRUST` is on, and nowhere off, in what sets users' and services' environment:
    /etc/environment and /etc/profile.d/*.sh (and the user's profile files for a rootless daemon), the files sudo
    reads through `Defaults env_file=`, and systemd's `DefaultEnvironment=`. The evidence names every place found,
    the Notary server (`DOCKER_CONTENT_TRUST_SERVER`) when one is set, and the ways of running docker left without it.
    """
    found = []  # (where, value, channel)
    servers: set[str] = set()
    for path, text in f.environment_files():
        channel = "rootless user" if path.startswith(f.target.home + "/") and f.target.rootless else "login shells"
        if path == "/etc/environment":
            channel = "PAM"
        for m in _DCT.finditer(text):
            found.append((path, m.group(1), channel))
        servers.update(m.group(1) for m in _DCT_SERVER.finditer(text))
    for env_file, text, sudoers in f.sudo_env_files():
        for m in _DCT.finditer(text):
            found.append((f"{env_file} (sudo env_file, {sudoers})", m.group(1), "sudo"))
    for path, assignments in f.systemd_default_environment():
        if "DOCKER_CONTENT_TRUST" in assignments:
            found.append((f"{path} (systemd DefaultEnvironment)", assignments["DOCKER_CONTENT_TRUST"], "systemd"))
        if assignments.get("DOCKER_CONTENT_TRUST_SERVER"):
            servers.add(assignments["DOCKER_CONTENT_TRUST_SERVER"])
    # the docker CLI turns content trust on for any non-empty value Go's ParseBool does not read as false
    on = [(p, v, c) for p, v, c in found if v and v not in FALSE_WORDS]
    off = [f"DOCKER_CONTENT_TRUST={v!r} in {p}" for p, v, c in found if not v or v in FALSE_WORDS]
    if on and not off:
        evidence = [f"DOCKER_CONTENT_TRUST on in {', '.join(f'{p} ({v})' for p, v, _unused in on)}"]
        if servers:
            evidence.append(f"Notary server: {', '.join(sorted(servers))}")
        missing = [c for c in ("login shells", "PAM", "sudo", "systemd") if c not in {c for _unused, _unused2, c in on}]
        if missing and not f.target.rootless:
            evidence.append(f"not set for: {', '.join(missing)}")
        return Verdict("pass", evidence)
    return Verdict("fail", off or ["DOCKER_CONTENT_TRUST is not set for users"])


@check("image_healthcheck")
def _image_healthcheck(f: Facts, arg: str) -> Verdict:
    """Fail each local image without a HEALTHCHECK (or with HEALTHCHECK NONE).

    Not applicable: no local images.
    """
    images = f.images()
    if not images:
        return Verdict("not_applicable", ["no local images"])
    items = []
    for img in images:
        name = (img["_tags"] or [str(img.get("Id", ""))[7:19]])[0]
        hc = (img.get("Config") or {}).get("Healthcheck") or {}
        ok = bool(hc.get("Test")) and hc.get("Test") != ["NONE"]
        items.append(
            {"name": name, "status": "pass" if ok else "fail", "detail": "HEALTHCHECK" if ok else "no HEALTHCHECK"}
        )
    failed = [i["name"] for i in items if i["status"] == "fail"]
    if failed:
        return Verdict(
            "fail",
            [f"{len(failed)} of {len(items)} images without HEALTHCHECK: {', '.join(failed[:10])}"],
            tuple(items),
        )
    return Verdict("pass", [f"all {len(items)} images have a HEALTHCHECK"], tuple(items))
