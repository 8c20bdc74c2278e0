# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Kernel audit rules for Docker's files (CIS Docker Benchmark 1.1.3-1.1.18), generated from the catalogue.

The rules come from the catalogue's audit_rule controls, one per control, and
each path is resolved on the host by the same function the audit's check uses
(_cis.checks_1_host.audit_path): the data-root from `docker info`, the
configuration file from dockerd's command line, the unit files from systemd's
directories, a binary where it is installed (through a symlink to the file it
leads to). A new audit_rule control in the catalogue is a new rule here; there
is no second list. Paths that do not exist are skipped, each with the reason.

Phases: plan (pure) -> render one rules file -> compare with the file and with
the kernel's loaded rules (`auditctl -l`) -> write atomically -> load with
`augenrules --load` -> verify with `auditctl -l` that every rule is loaded. A
load or verification that fails restores the previous file and reloads it.

Never loaded: inside a container (audit rules are not namespaced; a container
with CAP_AUDIT_CONTROL would change its host's kernel), and when the kernel's
rules are immutable (`auditctl -s` says enabled 2), which only a reboot lifts.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import checks_1_host as host_checks
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import FactError, Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._common import commands, files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

RULES_DIR = "/etc/audit/rules.d"
DEFAULT_PATH = f"{RULES_DIR}/50-dockguard-docker.rules"
PERMS = "rwxa"  # auditctl's permission letters, in the order it prints them
# CIS 1.1.4 asks for "-a exit,always -F path=/run/containerd -F perm=war": its permissions, kept as the benchmark's.
SYSCALL_PERMS = "rwa"
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.rules")
_BAD_PATH_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")
_FAILED_LINE = re.compile(r"error in line (\d+) of (\S+)")

Run = t.Callable[[list[str]], tuple[int, str, str]]


class AuditRulesError(DockguardError):
    """Bad options, a path no rule can name, or a load that failed (and was rolled back)."""


class Rule(t.NamedTuple):
    controls: tuple[str, ...]  # the CIS ids it serves
    path: str
    perms: str
    key: str
    syscall: bool = False  # -a always,exit -F path= (the inode itself) instead of -w (recursive for a directory)

    def line(self) -> str:
        if self.syscall:
            return f"-a always,exit -F path={self.path} -F perm={self.perms} -k {self.key}"
        return f"-w {self.path} -p {self.perms} -k {self.key}"

    def signature(self) -> tuple[str, frozenset[str], str]:
        return _slashless(self.path), frozenset(self.perms), self.key


class Skipped(t.NamedTuple):
    control: str
    what: str  # the catalogue's argument
    reason: str


class Plan(t.NamedTuple):
    rules: list[Rule]
    skipped: list[Skipped]
    warnings: list[str]


def _slashless(path: str) -> str:
    return path.rstrip("/") or "/"


# -- options ---------------------------------------------------------------------------------


def audit_controls() -> list[cat.Control]:
    """The catalogue's controls judged by an audit rule, in catalogue order."""
    return [c for c in cat.CONTROLS if c.check == "audit_rule"]


def select(refs: t.Sequence[str]) -> list[cat.Control]:
    """The audit_rule controls named by id or slug (all of them when refs is empty)."""
    known = audit_controls()
    if not refs:
        return known
    by_ref = {c.id: c for c in known} | {c.slug: c for c in known}
    unknown = [r for r in refs if str(r).strip() not in by_ref]
    if unknown:
        raise AuditRulesError(
            f"controls={unknown}: not audit rule controls of the catalogue; choose from "
            f"{', '.join(c.id for c in known)} (or their slugs, e.g. {known[0].slug}), or leave controls empty for all"
        )
    wanted = {by_ref[str(r).strip()].id for r in refs}
    return [c for c in known if c.id in wanted]


def check_options(key: str, permissions: str, path: str) -> str:
    """Refuse what auditctl would refuse or the loader would not read; the permissions in auditctl's order."""
    if not _KEY.fullmatch(key) or key.startswith("ids-"):
        raise AuditRulesError(
            f"key={key!r}: a key is 1-63 letters, digits, '_', '.', ':' or '-', starting with a letter or digit "
            "(and not 'ids-', which auditctl reserves); the default is docker"
        )
    if not permissions or set(permissions) - set(PERMS):
        raise AuditRulesError(
            f"permissions={permissions!r}: use some of the letters r, w, x, a (read, write, execute, attribute "
            "change); the default wa records every change"
        )
    if os.path.dirname(path) != RULES_DIR or not _FILE_NAME.fullmatch(os.path.basename(path)):
        raise AuditRulesError(
            f"path={path!r}: augenrules loads only {RULES_DIR}/*.rules; name a file there, such as {DEFAULT_PATH}"
        )
    return "".join(p for p in PERMS if p in permissions)


def check_path(path: str, control: str) -> None:
    """A path a rule line can name: auditctl splits a line on blanks and has no quoting."""
    base = os.path.basename(path)
    problem = None
    if not path.startswith("/"):
        problem = "is not absolute"
    elif _BAD_PATH_CHARS.search(path):
        problem = "has a blank or control character, which a rules file cannot carry"
    elif "*" in base or "?" in base:
        problem = "has a wildcard, which auditctl does not support"
    elif len(path.encode()) >= 4096 or len(base.encode()) > 255:
        problem = "is longer than auditctl accepts"
    if problem:
        raise AuditRulesError(f"CIS {control}: the path {path!r} {problem}; no audit rule can name it")


# -- the plan, from the catalogue and the host -----------------------------------------------------


def plan(facts: Facts, controls: t.Sequence[cat.Control], key: str, permissions: str) -> Plan:
    """One rule per control whose path exists (a binary reached through a link: the link and what it leads to)."""
    rules: dict[tuple[str, bool], Rule] = {}
    skipped, warnings = [], []
    for control in controls:
        arg = control.arg
        syscall = arg.startswith(host_checks.SYSCALL)
        try:
            where = host_checks.audit_path(facts, arg)
        except FactError as exc:
            literal = arg[len(host_checks.SYSCALL) :] if syscall else arg
            if not literal.startswith("/"):
                raise AuditRulesError(f"CIS {control.id}: cannot find {arg} on this host: {exc}") from exc
            warnings.append(f"CIS {control.id}: {exc}; watching the benchmark's path {literal}")
            where = host_checks.AuditPath(literal)
        if where.path is None:
            skipped.append(Skipped(control.id, arg, where.reason))
            continue
        if not facts.host.stat(where.path).exists:
            skipped.append(Skipped(control.id, arg, f"{where.path} does not exist on this host"))
            continue
        # a binary's watch also records its execution: the benchmark audits it for what runs
        wanted = SYSCALL_PERMS if syscall else permissions + ("x" if arg.startswith("bin:") else "")
        perms = "".join(p for p in PERMS if p in wanted)
        for path in (where.path, where.name):
            if path is None:
                continue
            check_path(path, control.id)
            slot = (_slashless(path), syscall)
            old = rules.get(slot)
            ids = (old.controls if old else ()) + (control.id,)
            rules[slot] = Rule(ids, path, perms, key, syscall)
    return Plan(list(rules.values()), skipped, warnings)


def render(p: Plan, key: str) -> str:
    """The rules file: a header, the rules with the controls they serve, and the skipped controls with why."""
    out = [
        "## Written by dockguard.hardening.audit_rules from its CIS Docker Benchmark catalogue; changes here are",
        f"## replaced on its next run. Search the events with: ausearch -k {key}",
    ]
    for rule in p.rules:
        out += [f"## CIS {', '.join(rule.controls)}", rule.line()]
    for s in p.skipped:
        out.append(f"## CIS {s.control} ({s.what}) has no rule: {s.reason}")
    return "\n".join(out) + "\n"


# -- the kernel's side -----------------------------------------------------------------------------


def loaded_signatures(listing: str) -> set[tuple[str, frozenset[str], str]]:
    """(path, permissions, key) of every file rule `auditctl -l` lists (watches and path=/dir= syscall rules)."""
    out = set()
    for line in listing.splitlines():
        words = line.split()
        path = perms = key = None
        for i, word in enumerate(words):
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if word == "-w":
                path = nxt
            elif word == "-p":
                perms = nxt
            elif word == "-k":
                key = nxt
            elif word.startswith(("path=", "dir=")):
                path = word.partition("=")[2]
            elif word.startswith("perm="):
                perms = word[len("perm=") :]
            elif word.startswith("key="):
                key = word[len("key=") :]
        if path and key:
            out.add((_slashless(path), frozenset(perms or PERMS), key))
    return out


def missing_rules(rules: t.Sequence[Rule], listing: str) -> list[Rule]:
    loaded = loaded_signatures(listing)
    return [r for r in rules if r.signature() not in loaded]


def enabled_flag(status: str) -> int | None:
    """The `enabled` value of `auditctl -s` (0 off, 1 on, 2 on and immutable until reboot)."""
    for line in status.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "enabled" and words[1].isdigit():
            return int(words[1])
    return None


def container_reason(run: Run, exists: t.Callable[[str], bool]) -> str | None:
    """Why this host is a container (loading audit rules there would change its host's kernel), or None."""
    try:
        rc, out, _err = run(["systemd-detect-virt", "--container"])
    except OSError:
        rc, out = 127, ""
    kind = out.strip()
    if rc == 0 and kind and kind != "none":
        return f"systemd-detect-virt --container says {kind}"
    for marker in CONTAINER_MARKERS:
        if exists(marker):
            return f"{marker} exists"
    return None


def failed_rule(output: str, read: t.Callable[[str], str | None], ours: t.Sequence[Rule]) -> str:
    """The rule auditctl stopped at, from its 'error in line N of FILE', with the rules file it came from."""
    m = _FAILED_LINE.search(output)
    if not m:
        return ""
    number, merged = int(m.group(1)), m.group(2)
    lines = (read(merged) or "").splitlines()
    if not 0 < number <= len(lines):
        return f" (line {number} of {merged})"
    rule = lines[number - 1].strip()
    for r in ours:
        if r.line() == rule:
            return f": the rule {rule!r} for CIS {', '.join(r.controls)}"
    return f": the rule {rule!r} (line {number} of {merged}, not one of this module's)"


class HostOps(t.Protocol):
    def run(self, argv: list[str]) -> tuple[int, str, str]: ...
    def exists(self, path: str) -> bool: ...
    def read(self, path: str) -> str | None: ...
    def write(self, path: str, text: str, backup: bool) -> str | None: ...
    def remove(self, path: str) -> bool: ...


class Options(t.NamedTuple):
    controls: list[str]
    key: str
    permissions: str
    path: str
    load: bool
    backup: bool


class AuditRules:
    """The manager: plan from facts, compare, then write, load and verify (or only predict in check mode)."""

    def __init__(self, ops: HostOps, facts: Facts, opts: Options, check_mode: bool, diff: bool = True) -> None:
        self.ops = ops
        self.facts = facts
        self.opts = opts
        self.check_mode = check_mode
        self.diff = diff
        self.rules: list[Rule] = []

    def _must(self, argv: list[str], what: str) -> str:
        rc, out, err = self.ops.run(argv)
        if rc == 127:
            raise AuditRulesError(f"{what}: {argv[0]} is not installed; install auditd (the host role does)")
        if rc != 0:
            why = (err or out).strip() or f"rc={rc}"
            raise AuditRulesError(f"{what} failed (rc={rc}): {why.splitlines()[0]}")
        return out

    def run(self) -> dict[str, t.Any]:
        o = self.opts
        perms = check_options(o.key, o.permissions, o.path)
        p = plan(self.facts, select(o.controls), o.key, perms)
        self.rules = p.rules
        text = render(p, o.key)
        before = self.ops.read(o.path)
        file_changed = before != text
        container = container_reason(self.ops.run, self.ops.exists)
        result: dict[str, t.Any] = {
            "path": o.path,
            "key": o.key,
            "rules": [{"controls": list(r.controls), "rule": r.line()} for r in p.rules],
            "without_rule": [s._asdict() for s in p.skipped],  # not "skipped": Ansible reads that key
            "in_container": container,
            "loaded": False,
            "reboot_required": False,
            "warnings": list(p.warnings),
        }
        if self.diff:
            result["diff"] = {"before": before or "", "after": text, "before_header": o.path, "after_header": o.path}
        if container is not None:
            result["load_skipped"] = (
                f"inside a container ({container}): the rules file is written, and loading it is the host's "
                "business (audit rules are the host kernel's; this module never loads them from a container)"
            )
            return self._finish(result, before, text, file_changed, load=False)
        if not o.load:
            result["load_skipped"] = "load=false: the rules take effect when auditd next loads them (augenrules)"
            return self._finish(result, before, text, file_changed, load=False)
        enabled = enabled_flag(self._must(["auditctl", "-s"], "auditctl -s (the kernel's audit status)"))
        missing = missing_rules(p.rules, self._must(["auditctl", "-l"], "auditctl -l (the loaded rules)"))
        result["enabled"] = enabled
        if enabled == 0:
            result["warnings"].append("the kernel's auditing is disabled (enabled 0): rules load but record nothing")
        if enabled == 2:
            result["reboot_required"] = bool(missing)
            result["loaded"] = not missing
            if missing:
                result["load_skipped"] = (
                    "the kernel's audit rules are immutable (enabled 2, set by -e 2): the rules file is written "
                    f"and {len(missing)} rules load at the next boot; reboot to apply them"
                )
            return self._finish(result, before, text, file_changed, load=False)
        result["loaded"] = not missing
        return self._finish(result, before, text, file_changed, load=file_changed or bool(missing))

    def _finish(
        self, result: dict[str, t.Any], before: str | None, text: str, file_changed: bool, load: bool
    ) -> dict[str, t.Any]:
        result["changed"] = file_changed or load
        if load:
            result["loaded"] = True
        if self.check_mode or not result["changed"]:
            return result
        if file_changed:
            backup = self.ops.write(self.opts.path, text, self.opts.backup)
            if backup:
                result["backup_file"] = backup
        if load:
            self._load_and_verify(before)
        return result

    def _load_and_verify(self, before: str | None) -> None:
        rules = self.rules
        rc, out, err = self.ops.run(["augenrules", "--load"])
        problem = None
        if rc != 0:
            which = failed_rule(f"{out}\n{err}", self.ops.read, rules)
            first = (err or out).strip().splitlines()
            problem = f"augenrules --load failed (rc={rc}){which}: {first[0] if first else 'no output'}"
        else:
            rc, listing, err = self.ops.run(["auditctl", "-l"])
            missing = missing_rules(rules, listing) if rc == 0 else rules
            if missing:
                problem = "after augenrules --load, auditctl -l lacks " + "; ".join(r.line() for r in missing)
        if problem is None:
            return
        raise AuditRulesError(f"{problem}. {self._roll_back(before)}", path=self.opts.path)

    def _roll_back(self, before: str | None) -> str:
        path = self.opts.path
        if before is None:
            self.ops.remove(path)
            restored = f"{path} was removed again"
        else:
            self.ops.write(path, before, False)
            restored = f"{path} was restored as it was"
        rc, out, err = self.ops.run(["augenrules", "--load"])
        if rc != 0:
            return f"{restored}, and reloading the previous rules failed too: {(err or out).strip()[:200]}"
        return f"{restored} and the previous rules reloaded."


class LocalOps:
    """The managed host: tools looked up on PATH and in the sbin directories, root's files written atomically."""

    def __init__(self, module: t.Any) -> None:
        self.module = module

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        binary = self.module.get_bin_path(argv[0], opt_dirs=["/usr/sbin", "/sbin"])
        if binary is None:
            return 127, "", f"{argv[0]}: command not found"
        return commands.run(self.module, [binary, *argv[1:]])

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def read(self, path: str) -> str | None:
        return files.read_text(path, missing_ok=True)

    def write(self, path: str, text: str, backup: bool) -> str | None:
        return files.atomic_write(self.module, path, text, mode=0o640, backup=backup)

    def remove(self, path: str) -> bool:
        return files.remove(path)
