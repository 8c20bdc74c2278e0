# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""AppArmor profiles: compile with the real parser, write atomically, load, and verify in the kernel.

Facts come from the kernel: /sys/module/apparmor/parameters/enabled says whether
AppArmor runs, /sys/kernel/security/apparmor/profiles lists every loaded profile
with its mode, and the policy directory holds, per loaded profile, the SHA-1 of
the binary policy it was loaded from (raw_sha1). A profile counts as ours when
that hash equals the hash of the binary the parser makes from our file, so a
profile of the same name loaded by someone else (dockerd generating its own
docker-default) is seen and replaced.

The flow: compile the new text in a private temporary directory (a text the
parser rejects is refused with its line, before anything is written) -> compare
with the file and the kernel -> write -> load -> verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common import commands, files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

ENABLED_PARAM = "/sys/module/apparmor/parameters/enabled"
SECURITYFS = "/sys/kernel/security/apparmor"
PROFILES_LIST = f"{SECURITYFS}/profiles"
POLICY_PROFILES = f"{SECURITYFS}/policy/profiles"
LSM_LIST = "/sys/kernel/security/lsm"
PROFILE_DIR = "/etc/apparmor.d"
MODES = ("enforce", "complain")
# Profile names the module writes and loads: no path-like names with odd characters, no spaces.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+:@/-]*")
# "... for FILE in profile WHERE at line N: ..." (WHERE: the file the line is in, an include perhaps)
_LOCATION = re.compile(r"(?:in profile (\S+) )?at line (\d+)")


class AppArmorError(DockguardError):
    """A profile that cannot be written, loaded or verified; nothing was changed unless the message says so."""


class Kernel(t.NamedTuple):
    enabled: bool
    why: str  # why not, when not enabled


class Compiled(t.NamedTuple):
    names: list[str]
    sha1: str  # of the binary policy the parser makes from the text


class Loaded(t.NamedTuple):
    mode: str
    raw_sha1: str | None  # None: the kernel does not expose it


def parse_profiles_list(text: str) -> dict[str, str]:
    """{name: mode} from the kernel's profile list ("name (mode)" per line)."""
    out = {}
    for line in text.splitlines():
        line = line.rstrip()
        if not line.endswith(")") or " (" not in line:
            continue
        name, mode = line[:-1].rsplit(" (", 1)
        out[name] = mode
    return out


def parser_message(stderr: str, stdout: str, text: str, tmp_path: str, shown: str) -> str:
    """What the parser said, with the temporary path replaced by the target, and the offending line quoted."""
    said = (stderr.strip() or stdout.strip() or "no output").replace(tmp_path, shown)
    lines = [ln for ln in said.splitlines() if ln.strip()]
    first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else said)
    msg = first.rstrip(".")
    m = _LOCATION.search(first)
    if m and m.group(1) in (None, shown):
        number = int(m.group(2))
        src = text.splitlines()
        if 1 <= number <= len(src):
            msg += f" (line {number}: {src[number - 1].strip()!r})"
    return msg


def check_name(name: str, option: str = "name") -> None:
    if not NAME.fullmatch(name) or "//" in name or ".." in name:
        raise AppArmorError(
            f"{option}={name!r}: not a profile name this module manages; use letters, digits and _.+:@/- "
            "(such as docker-default or dockguard-nginx)"
        )


def plan(
    name: str,
    mode: str,
    before: str | None,
    after: str,
    compiled: Compiled,
    loaded: dict[str, Loaded] | None,
) -> list[str]:
    """Why the file must be written and/or the profile loaded ([] when all is in place).

    loaded is None when the profile is only written (no kernel to load into).
    """
    if name not in compiled.names:
        raise AppArmorError(
            f"name={name!r}: the profile text declares {', '.join(compiled.names) or 'no profile'}, not {name!r}; "
            "give the name the text declares (profile NAME ... {)"
        )
    reasons = []
    if before != after:
        reasons.append("file" if before is None else "file differs")
    if loaded is None:
        return reasons
    for declared in compiled.names:
        have = loaded.get(declared)
        if have is None:
            reasons.append(f"{declared} not loaded")
        elif have.mode != mode:
            reasons.append(f"{declared} loaded in {have.mode} mode")
        elif have.raw_sha1 is not None and have.raw_sha1 != compiled.sha1:
            reasons.append(f"{declared} loaded from another policy (sha1 {have.raw_sha1[:12]})")
    return reasons


class Host:
    """The host side: kernel facts, the parser, files. Every call goes through commands.run."""

    def __init__(self, module: t.Any, parser: str | None = None) -> None:
        self.module = module
        self.parser = parser

    def kernel(self) -> Kernel:
        flag = read_sys(ENABLED_PARAM)
        lsm = (read_sys(LSM_LIST) or "").strip()
        if flag is None:
            return Kernel(False, f"this kernel has no AppArmor ({ENABLED_PARAM} missing; active LSMs: {lsm or '?'})")
        if flag.strip() != "Y":
            return Kernel(False, f"AppArmor is built in but disabled ({ENABLED_PARAM} is {flag.strip()!r})")
        if not os.path.exists(PROFILES_LIST):
            return Kernel(False, f"AppArmor is enabled but {PROFILES_LIST} is missing (securityfs not mounted?)")
        if "apparmor" not in lsm.split(","):
            return Kernel(False, f"AppArmor is not an active LSM (active LSMs: {lsm or '?'})")
        return Kernel(True, "")

    def loaded(self) -> dict[str, Loaded]:
        modes = parse_profiles_list(read_sys(PROFILES_LIST) or "")
        hashes = self._raw_hashes(set(modes))
        return {n: Loaded(m, hashes.get(n)) for n, m in modes.items()}

    def _raw_hashes(self, names: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        try:
            entries = os.listdir(POLICY_PROFILES)
        except OSError:
            return out
        for entry in entries:
            base = os.path.join(POLICY_PROFILES, entry)
            name = (read_sys(os.path.join(base, "name")) or "").strip()
            digest = (read_sys(os.path.join(base, "raw_sha1")) or "").strip()
            if name in names and digest:
                out[name] = digest
        return out

    def compile(self, text: str, shown: str) -> Compiled:
        """Names and binary hash of text, from the real parser; AppArmorError naming the line when it refuses."""
        tmpdir = tempfile.mkdtemp(prefix="dockguard-apparmor-")
        try:
            src = os.path.join(tmpdir, os.path.basename(shown) or "profile")
            binary = os.path.join(tmpdir, "policy.bin")
            with open(src, "w", encoding="utf-8") as fh:
                fh.write(text)
            # --skip-kernel-load: compile only; nothing reaches the kernel. Includes resolve in /etc/apparmor.d.
            common = [self._parser(), "--skip-kernel-load", "--skip-cache"]
            rc, out, err = commands.run(self.module, [*common, "--ofile", binary, src])
            if rc != 0:
                raise AppArmorError(
                    f"content: apparmor_parser refuses the profile for {shown}: "
                    f"{parser_message(err, out, text, src, shown)}. Nothing was written; the loaded profile is "
                    "untouched. Fix the profile text.",
                    rc=rc,
                )
            rc, out, err = commands.run(self.module, [*common, "--names", src])
            if rc != 0:
                raise AppArmorError(f"apparmor_parser --names failed for {shown}: {commands.first_line(out, err)}")
            with open(binary, "rb") as fh:
                digest = hashlib.sha1(fh.read(), usedforsecurity=False).hexdigest()
            names = [n.strip() for n in out.splitlines() if n.strip()]
            return Compiled(names, digest)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def load(self, path: str, mode: str, cache: bool) -> None:
        argv = [self._parser(), "--replace"]
        argv += ["--write-cache"] if cache else ["--skip-cache"]
        argv += ["--Complain"] if mode == "complain" else []
        rc, out, err = commands.run(self.module, [*argv, path])
        if rc != 0:
            raise AppArmorError(f"apparmor_parser --replace {path} failed (rc={rc}): {commands.first_line(out, err)}")

    def unload(self, path: str) -> None:
        rc, out, err = commands.run(self.module, [self._parser(), "--remove", path])
        if rc != 0:
            raise AppArmorError(f"apparmor_parser --remove {path} failed (rc={rc}): {commands.first_line(out, err)}")

    def parser_found(self) -> bool:
        """apparmor_parser is on the host (check mode asks before an earlier task has installed it)."""
        try:
            self._parser()
        except AppArmorError:
            return False
        return True

    def _parser(self) -> str:
        if self.parser is None:
            found = self.module.get_bin_path("apparmor_parser", opt_dirs=["/sbin", "/usr/sbin"])
            if not found:
                raise AppArmorError(
                    "apparmor_parser was not found (PATH, /sbin, /usr/sbin): install the apparmor package, "
                    "or give parser=PATH"
                )
            self.parser = found
        return self.parser


def file_diff(path: str, before: str | None, after: str) -> dict[str, str]:
    """The task's diff of the profile file (absent before: said in its header)."""
    return {
        "before": before or "",
        "after": after,
        "before_header": path if before is not None else f"{path} (absent)",
        "after_header": path,
    }


def read_sys(path: str) -> str | None:
    """A kernel interface file (sysfs, securityfs), or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


class Manager:
    """One profile file: model -> diff -> apply -> verify."""

    def __init__(self, params: dict[str, t.Any], host: Host, check_mode: bool, diff: bool) -> None:
        self.p = params
        self.host = host
        self.check_mode = check_mode
        self.diff = diff

    @property
    def path(self) -> str:
        return self.p["path"] or os.path.join(PROFILE_DIR, self.p["name"].replace("/", "."))

    def run(self) -> dict[str, t.Any]:
        check_name(self.p["name"])
        if self.p["mode"] not in MODES:
            raise AppArmorError(f"mode={self.p['mode']!r}: one of {', '.join(MODES)}")
        kernel = self.host.kernel()
        if self.p["state"] == "absent":
            return self.absent(kernel)
        if self.p["load"] and not kernel.enabled:
            raise AppArmorError(
                f"AppArmor cannot enforce profile {self.p['name']!r} on this host: {kernel.why}. Nothing was written. "
                "Boot a kernel with AppArmor (apparmor=1 security=apparmor), or set load=false to only write the "
                "checked profile for a later boot."
            )
        return self.present(self.p["load"])

    def present(self, load: bool) -> dict[str, t.Any]:
        path, after = self.path, self.p["content"]
        if after is None:
            raise AppArmorError("content is required with state=present: the profile text to write and load")
        if not after.endswith("\n"):
            after += "\n"
        before = files.read_text(path, missing_ok=True)
        if self.check_mode and not self.host.parser_found():
            return self.predict_without_parser(path, before, after, load)
        compiled = self.host.compile(after, path)
        loaded = self.host.loaded() if load else None
        reasons = plan(self.p["name"], self.p["mode"], before, after, compiled, loaded)
        result: dict[str, t.Any] = {
            "changed": bool(reasons),
            "path": path,
            "profiles": compiled.names,
            "reasons": reasons,
            "loaded": False,
            "policy_sha1": compiled.sha1,
        }
        if self.diff:
            result["diff"] = file_diff(path, before, after)
        if reasons and not self.check_mode:
            backup = self.write_and_load(path, before, after, load, reasons)
            if backup:
                result["backup_file"] = backup
        if load:
            result["loaded"] = bool(reasons) and not self.check_mode
            if not self.check_mode:
                result["verified"] = self.verify(compiled)
        return result

    def predict_without_parser(self, path: str, before: str | None, after: str, load: bool) -> dict[str, t.Any]:
        """Check mode before the apparmor package is installed (by an earlier task of the same run, say).

        Without the parser the text cannot be compiled: what the converge would do is predicted from the
        file's text and the kernel's profile list by name and mode (not by policy hash), and the warning
        says that the parser's check of the text is still to come.
        """
        name, mode = self.p["name"], self.p["mode"]
        reasons = []
        if before != after:
            reasons.append("file" if before is None else "file differs")
        if load:
            have = self.host.loaded().get(name)
            if have is None:
                reasons.append(f"{name} not loaded")
            elif have.mode != mode:
                reasons.append(f"{name} loaded in {have.mode} mode")
        result: dict[str, t.Any] = {
            "changed": bool(reasons),
            "path": path,
            "profiles": [name],
            "reasons": reasons,
            "loaded": False,
            "policy_sha1": None,
            "warnings": [
                "check mode: apparmor_parser is not installed yet, so the profile text was not compiled; the "
                "prediction compares the file's text and the loaded profile's name and mode only. The real run "
                "refuses a text the parser rejects before anything is written."
            ],
        }
        if self.diff:
            result["diff"] = file_diff(path, before, after)
        return result

    def write_and_load(self, path: str, before: str | None, after: str, load: bool, reasons: list[str]) -> str | None:
        backup = None
        if before != after:
            backup = files.atomic_write(self.host.module, path, after, mode=0o644, backup=self.p["backup"])
        if not load:
            return backup
        try:
            self.host.load(path, self.p["mode"], self.p["cache"])
        except AppArmorError as exc:
            restored = self.restore(path, before, after)
            raise AppArmorError(f"{exc.msg}; {restored}. The profile loaded before is untouched.") from None
        return backup

    def restore(self, path: str, before: str | None, after: str) -> str:
        if before == after:
            return "the file was unchanged"
        try:
            if before is None:
                files.remove(path)
                return f"{path} was removed again"
            files.atomic_write(self.host.module, path, before, mode=0o644)
        except files.FileError as exc:
            return f"restoring {path} failed too: {exc.msg}"
        return f"{path} was restored"

    def verify(self, compiled: Compiled) -> list[dict[str, t.Any]]:
        """Every declared profile is in the kernel's list, in the asked mode, from this policy."""
        loaded = self.host.loaded()
        out, bad = [], []
        for name in compiled.names:
            have = loaded.get(name)
            entry = {
                "profile": name,
                "mode": have.mode if have else None,
                "policy_sha1": have.raw_sha1 if have else None,
            }
            out.append(entry)
            if have is None or have.mode != self.p["mode"] or (have.raw_sha1 not in (None, compiled.sha1)):
                bad.append(f"{name}: {'not loaded' if have is None else f'{have.mode}, policy {have.raw_sha1}'}")
        if bad:
            raise AppArmorError(
                f"after loading {self.path} the kernel does not report the profile as asked "
                f"({self.p['mode']}, policy {compiled.sha1}): {'; '.join(bad)}",
                verified=out,
            )
        return out

    def absent(self, kernel: Kernel) -> dict[str, t.Any]:
        path = self.path
        before = files.read_text(path, missing_ok=True)
        loaded = self.host.loaded() if kernel.enabled else {}
        is_loaded = self.p["name"] in loaded
        unload = is_loaded and self.p["load"]
        changed = before is not None or unload
        result: dict[str, t.Any] = {"changed": changed, "path": path, "loaded": False}
        if self.diff:
            result["diff"] = {"before": before or "", "after": "", "before_header": path, "after_header": path}
        if not changed or self.check_mode:
            return result
        if unload:
            if before is None:
                raise AppArmorError(
                    f"profile {self.p['name']!r} is loaded but {path} is missing: the module unloads only "
                    "profiles it can read from their file; give path="
                )
            self.host.unload(path)
        if before is not None:
            if self.p["backup"]:
                result["backup_file"] = files.make_backup(path)
            with contextlib.suppress(FileNotFoundError):
                files.remove(path)
        return result
