# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""SELinux for Docker: is the kernel running SELinux with a policy that has container types, are the
policy's container modules enabled, are Docker's directories labelled.

Facts come from the kernel (/sys/fs/selinux: enforce, policyvers), the policy's
configuration (/etc/selinux/config, contexts/lxc_contexts) and the policy tools
(semodule -l, restorecon -n). A host without SELinux is refused before anything
is written, naming what is missing.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._apparmor import read_sys
from ansible_collections.dockguard.hardening.plugins.module_utils._common import commands, files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

SELINUXFS = "/sys/fs/selinux"
LSM_LIST = "/sys/kernel/security/lsm"
CONFIG = "/etc/selinux/config"
# the label keys of lxc_contexts the engine reads (container processes and files)
CONTAINER_KEYS = ("process", "file")
_RELABEL = re.compile(r"^(?:Would relabel|Relabeled) (\S+) from (\S+) to (\S+)", re.MULTILINE)


class SELinuxError(DockguardError):
    """SELinux is missing or not usable for Docker; nothing was changed unless the message says so."""


class Status(t.NamedTuple):
    enabled: bool
    mode: str  # enforcing, permissive, disabled
    policy: str  # SELINUXTYPE
    why: str  # why not enabled


def parse_config(text: str) -> dict[str, str]:
    """KEY=value lines of /etc/selinux/config."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip().strip("\"'")
    return out


def parse_lxc_contexts(text: str) -> dict[str, str]:
    """key = "label" lines of contexts/lxc_contexts."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip().strip("\"'")
    return out


def parse_modules(text: str) -> dict[str, bool]:
    """{module: enabled} from `semodule -l` (newer: names only, all enabled) or `semodule --list=full`."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) >= 3 and parts[0].isdigit():  # --list=full: priority name kind [disabled]
            out[parts[1]] = "disabled" not in parts[3:]
        else:
            out[parts[0]] = "Disabled" not in parts[1:] and "disabled" not in parts[1:]
    return out


def parse_relabels(text: str) -> list[dict[str, str]]:
    """The files restorecon -v relabels (or would, with -n)."""
    return [{"path": m.group(1), "from": m.group(2), "to": m.group(3)} for m in _RELABEL.finditer(text)]


def status_from(enforce: str | None, lsm: str, config: dict[str, str]) -> Status:
    policy = config.get("SELINUXTYPE", "")
    if enforce is None:
        why = f"{SELINUXFS} is missing: the kernel does not run SELinux (active LSMs: {lsm or '?'})"
        return Status(False, "disabled", policy, why)
    mode = "enforcing" if enforce.strip() == "1" else "permissive"
    return Status(True, mode, policy, "")


def container_labels(contexts: dict[str, str], policy: str) -> dict[str, str]:
    """The container labels the policy gives the engine; SELinuxError when it gives none."""
    missing = [k for k in CONTAINER_KEYS if not contexts.get(k)]
    if missing:
        raise SELinuxError(
            f"the SELinux policy {policy or '?'} gives no container labels ({', '.join(missing)} missing in "
            f"/etc/selinux/{policy or 'POLICY'}/contexts/lxc_contexts): dockerd with selinux-enabled cannot label "
            "containers. Install a policy with container types (Debian: selinux-policy-default)."
        )
    return {k: contexts[k] for k in CONTAINER_KEYS}


class Host:
    def __init__(self, module: t.Any) -> None:
        self.module = module

    def status(self) -> Status:
        enforce = read_sys(os.path.join(SELINUXFS, "enforce"))
        lsm = (read_sys(LSM_LIST) or "").strip()
        config = parse_config(files.read_text(CONFIG, missing_ok=True) or "")
        return status_from(enforce, lsm, config)

    def contexts(self, policy: str) -> dict[str, str]:
        text = files.read_text(f"/etc/selinux/{policy}/contexts/lxc_contexts", missing_ok=True) or ""
        return parse_lxc_contexts(text)

    def _bin(self, name: str, package: str) -> str:
        found = self.module.get_bin_path(name, opt_dirs=["/sbin", "/usr/sbin"])
        if not found:
            raise SELinuxError(f"{name} was not found: install {package}")
        return str(found)

    def modules(self) -> dict[str, bool]:
        argv = [self._bin("semodule", "policycoreutils"), "--list-modules=full"]
        _rc, out, _err = commands.run(self.module, argv, check=True, what="semodule --list-modules=full")
        return parse_modules(out)

    def packaged_module(self, policy: str, name: str) -> str | None:
        """The policy package's own build of a module that is not installed (Debian ships more than it installs)."""
        for ext in ("pp", "pp.bz2"):
            path = f"/usr/share/selinux/{policy}/{name}.{ext}"
            if os.path.isfile(path):
                return path
        return None

    def install_module(self, path: str) -> None:
        argv = [self._bin("semodule", "policycoreutils"), "--install", path]
        commands.run(self.module, argv, check=True, what=f"semodule --install {path}")

    def enable_module(self, name: str) -> None:
        argv = [self._bin("semodule", "policycoreutils"), "--enable", name]
        commands.run(self.module, argv, check=True, what=f"semodule --enable {name}")

    def relabel(self, paths: list[str], dry: bool) -> list[dict[str, str]]:
        existing = [p for p in paths if os.path.exists(p)]
        if not existing:
            return []
        argv = [self._bin("restorecon", "policycoreutils"), "-R", "-v", *(["-n"] if dry else []), *existing]
        _rc, out, _err = commands.run(self.module, argv, check=True, what="restorecon")
        return parse_relabels(out)


class Manager:
    """SELinux ready for dockerd's selinux-enabled: model -> diff -> apply -> verify."""

    def __init__(self, params: dict[str, t.Any], host: Host, check_mode: bool) -> None:
        self.p = params
        self.host = host
        self.check_mode = check_mode

    def run(self) -> dict[str, t.Any]:
        st = self.host.status()
        if not st.enabled:
            raise SELinuxError(
                f"SELinux cannot label containers on this host: {st.why}. Nothing was written. Boot with "
                "selinux=1 security=selinux and a policy (Debian: selinux-basics selinux-policy-default), or leave "
                "SELinux off for Docker (lsm_selinux_enabled: false)."
            )
        if self.p["require_enforcing"] and st.mode != "enforcing":
            raise SELinuxError(
                f"require_enforcing=true: SELinux is {st.mode} on this host; nothing was changed. Set it enforcing "
                "(setenforce 1, SELINUX=enforcing in /etc/selinux/config) or set require_enforcing=false."
            )
        labels = container_labels(self.host.contexts(st.policy), st.policy)
        modules = self.host.modules()
        to_install = {m: self.host.packaged_module(st.policy, m) for m in self.p["policy_modules"] if m not in modules}
        missing = [m for m, path in to_install.items() if path is None]
        if missing:
            raise SELinuxError(
                f"policy_modules: {', '.join(missing)} neither installed in the policy {st.policy!r} (semodule -l) "
                f"nor shipped by it (/usr/share/selinux/{st.policy}/NAME.pp); install the policy package that has them"
            )
        to_enable = [m for m in self.p["policy_modules"] if m in modules and not modules[m]]
        relabels = self.host.relabel(self.p["relabel"], dry=True)
        result: dict[str, t.Any] = {
            "changed": bool(to_install or to_enable or relabels),
            "installed_modules": sorted(to_install),
            "mode": st.mode,
            "policy": st.policy,
            "labels": labels,
            "enabled_modules": to_enable,
            "relabelled": relabels[:50],
            "relabelled_count": len(relabels),
        }
        if self.check_mode or not result["changed"]:
            return result
        for path in to_install.values():
            self.host.install_module(t.cast(str, path))
        for name in to_enable:
            self.host.enable_module(name)
        if relabels:
            self.host.relabel(self.p["relabel"], dry=False)
        left = self.host.relabel(self.p["relabel"], dry=True)
        now = self.host.modules()
        still = [m for m in self.p["policy_modules"] if not now.get(m)]
        if left or still:
            raise SELinuxError(
                f"after the change, {len(left)} files still carry the wrong label and modules {still} are still "
                "disabled",
                **result,
            )
        return result
