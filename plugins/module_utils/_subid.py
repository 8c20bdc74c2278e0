# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Subordinate ID files (/etc/subuid, /etc/subgid): parse, validate, allocate, render, and write both or neither.

A file is kept as a list of lines; every line but the managed user's entry is
carried through unchanged, byte for byte.

Each line is read the way every program that consumes these files reads it, and
a range that ANY of them reads counts as taken, so a new range never overlaps
what one of them would hand out or map:

* shadow-utils (newuidmap, useradd, usermod; lib/commonio.c and
  lib/subordinateio.c): a line ends at its newline only (a carriage return stays
  part of the last field) and at a NUL byte; a line starting with '+' or '-' is
  a NIS entry; there is no comment syntax ("#bob:1:2" is an entry of "#bob");
  the first three ':'-separated fields are owner, start, count (fields after a
  third ':' are ignored), none empty; numbers are strtoul(base 0): leading
  blanks and '+' allowed, 0x hexadecimal, 0 octal, nothing after the digits.
* dockerd's pkg/idtools (Engine 20.10 to 26): bufio.Scanner lines (one trailing
  carriage return dropped), strings.TrimSpace, empty lines and '#' comments
  skipped; any other line must have exactly three ':'-separated fields or the
  whole file is refused; numbers are strconv.Atoi (decimal, optional sign).
* dockerd's internal/usergroup over moby/sys/user (newer engines): the same
  lines trimmed, no comment syntax, no field count check, numbers
  strconv.ParseInt(base 10) with errors read as 0.

A line all three read the same way, as a non-empty range inside the ID space,
is an entry (``Line.is_entry``); any other line with a range is kept as it is,
its ranges avoided, and, when it is the managed user's, reported as invalid.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

# Docker's default (and an OCI image's) IDs reach 65535: a remapped root needs
# 65536 subordinate IDs for ordinary images to unpack.
DOCKER_MIN_COUNT = 65536
# shadow-utils' compiled-in defaults when login.defs says nothing.
SHADOW_DEFAULTS = {"MIN": 100000, "MAX": 600100000, "COUNT": 65536}
# The kernel's ID space: an ID is a 32-bit value and 4294967295 means "no ID".
ID_LIMIT = 4294967295
# A large site's subuid has tens of thousands of lines; more than this is not a subordinate ID file.
READ_LIMIT = 16 * 1024 * 1024

SHADOW = "shadow-utils"
IDTOOLS = "dockerd (pkg/idtools)"
SYSUSER = "dockerd (moby/sys/user)"
READERS = (SHADOW, IDTOOLS, SYSUSER)

# Go's unicode.IsSpace (strings.TrimSpace); Python's str.strip() also strips \x1c-\x1f, Go does not.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
# C's strtoul(s, &end, 0) consuming the whole field: C-locale blanks, '+', then hex, octal or decimal.
_STRTOUL = re.compile(r"[ \t\n\v\f\r]*\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))")
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)


class SubidError(DockguardError):
    """Input that cannot be honoured, or a write that failed; the message names the line or file and the fix."""


@dataclasses.dataclass(frozen=True)
class Reading:
    """How one consumer reads one line."""

    reader: str
    owner: str
    start: int
    count: int

    @property
    def span(self) -> tuple[int, int] | None:
        """The half-open interval of IDs this reading covers inside the ID space; None when it covers none."""
        if self.count <= 0 or self.start < 0 or self.start >= ID_LIMIT:
            return None
        return self.start, min(self.start + self.count, ID_LIMIT)


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of a subordinate ID file, as read (without its newline)."""

    number: int  # 1-based
    text: str
    owner: str | None = None  # set only when every consumer reads the same entry
    start: int = 0
    count: int = 0
    readings: tuple[Reading, ...] = dataclasses.field(default=(), compare=False)

    @property
    def is_entry(self) -> bool:
        return self.owner is not None

    @property
    def end(self) -> int:
        """One past the last ID of the range."""
        return self.start + self.count

    @property
    def claims(self) -> list[tuple[str, int, int, list[str]]]:
        """(owner, start, end, readers) for every distinct range a consumer reads on this line."""
        out: dict[tuple[str, int, int], list[str]] = {}
        for r in self.readings:
            span = r.span
            if span is not None:
                out.setdefault((r.owner, *span), []).append(r.reader)
        return [(o, s, e, rs) for (o, s, e), rs in out.items()]

    @property
    def claimants(self) -> set[str]:
        return {o for o, _s, _e, _rs in self.claims}

    def describe(self, path: str) -> str:
        return f"{path}:{self.number} {self.text!r}"

    def how_read(self) -> str:
        """What each consumer makes of the line, e.g. "dockerd (pkg/idtools) reads bob 100000-165535; shadow-utils
        reads no range"."""
        parts = [f"{_read_by(readers)} {owner!r} {s}-{e - 1}" for owner, s, e, readers in self.claims]
        seen = {r for *_x, rs in self.claims for r in rs}
        silent = [r for r in READERS if r not in seen]
        if silent:
            parts.append(f"{_read_by(silent)} no range")
        return "; ".join(parts)


def _read_by(readers: t.Sequence[str]) -> str:
    """'X reads' or 'X and Y read'."""
    return f"{' and '.join(readers)} read{'s' if len(readers) == 1 else ''}"


@dataclasses.dataclass(frozen=True)
class Range:
    start: int
    count: int

    @property
    def end(self) -> int:
        return self.start + self.count

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end

    def as_dict(self) -> dict[str, int]:
        return {"start": self.start, "count": self.count}


# -- how each consumer reads a line ----------------------------------------------------


def _strtoul(field: str) -> int | None:
    m = _STRTOUL.fullmatch(field)
    if not m:
        return None
    hexa, octal, dec = m.groups()
    value = int(hexa, 16) if hexa is not None else int(octal, 8) if octal is not None else int(t.cast(str, dec))
    return value if value < 2**64 else None


def _go_atoi(field: str) -> int | None:
    if not _GO_INT.fullmatch(field):
        return None
    value = int(field)
    return value if _INT64[0] <= value <= _INT64[1] else None


def _go_parse_int_lenient(field: str) -> int:
    """strconv.ParseInt(field, 10, 64) with its error ignored: 0 on bad syntax, the clamped value when out of range."""
    if not _GO_INT.fullmatch(field):
        return 0
    return max(_INT64[0], min(_INT64[1], int(field)))


def _go_line(text: str) -> str:
    """A line as bufio.Scanner (one trailing CR dropped) and TrimSpace leave it."""
    if text.endswith("\r"):
        text = text[:-1]
    return text.strip(_GO_SPACE)


def read_shadow(text: str) -> Reading | None:
    line = text.split("\0", 1)[0]
    if line[:1] in ("+", "-"):
        return None  # a NIS entry
    fields = line.split(":")
    if len(fields) < 3 or not all(fields[:3]):
        return None
    start, count = _strtoul(fields[1]), _strtoul(fields[2])
    if start is None or count is None:
        return None
    return Reading(SHADOW, fields[0], start, count)


def read_idtools(text: str) -> tuple[Reading | None, bool]:
    """(the reading, whether dockerd refuses the whole file over this line when it reads every owner's lines)."""
    line = _go_line(text)
    if not line or line.startswith("#"):
        return None, False
    parts = line.split(":")
    if len(parts) != 3:
        return None, True
    start, count = _go_atoi(parts[1]), _go_atoi(parts[2])
    if start is None or count is None:
        return None, True
    return Reading(IDTOOLS, parts[0], start, count), False


def read_sysuser(text: str) -> Reading | None:
    line = _go_line(text)
    if not line:
        return None
    parts = line.split(":")
    start = _go_parse_int_lenient(parts[1]) if len(parts) > 1 else 0
    count = _go_parse_int_lenient(parts[2]) if len(parts) > 2 else 0
    return Reading(SYSUSER, parts[0], start, count)


def parse_line(number: int, text: str) -> Line:
    readings = tuple(r for r in (read_shadow(text), read_idtools(text)[0], read_sysuser(text)) if r is not None)
    first = readings[0] if readings else None
    agreed = (
        len(readings) == len(READERS)
        and first is not None
        and all((r.owner, r.start, r.count) == (first.owner, first.start, first.count) for r in readings)
        and first.count > 0
        and first.start >= 0
        and first.start + first.count - 1 < ID_LIMIT
    )
    if not agreed or first is None:
        return Line(number, text, readings=readings)
    return Line(number, text, first.owner, first.start, first.count, readings)


def parse(text: str) -> list[Line]:
    """Every line of the file; lines that are not entries (comments, junk, empty) kept as raw text."""
    if not text:
        return []
    raws = text.split("\n")
    if text.endswith("\n"):
        raws.pop()
    return [parse_line(i, raw) for i, raw in enumerate(raws, start=1)]


def parse_login_defs(text: str) -> dict[str, int]:
    """SUB_UID_MIN/MAX/COUNT and SUB_GID_MIN/MAX/COUNT from login.defs text (last one wins, as in shadow)."""
    found: dict[str, int] = {}
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) >= 2 and re.fullmatch(r"SUB_[UG]ID_(MIN|MAX|COUNT)", words[0]):
            try:
                found[words[0]] = int(words[1], 0)
            except ValueError:
                continue
    return found


def bounds(login_defs: dict[str, int], kind: str) -> tuple[int, int]:
    """(min, max) inclusive for kind 'UID' or 'GID'."""
    lo = login_defs.get(f"SUB_{kind}_MIN", SHADOW_DEFAULTS["MIN"])
    hi = login_defs.get(f"SUB_{kind}_MAX", SHADOW_DEFAULTS["MAX"])
    return lo, hi


def owned_by(line: Line, names: t.Iterable[str]) -> bool:
    """An entry (read alike by every consumer) of one of names."""
    return line.is_entry and line.owner in set(names)


def claimed_by(line: Line, names: t.Iterable[str]) -> bool:
    """A line any consumer reads as a range of one of names."""
    return bool(line.claimants & set(names))


def merge_ids(ids: t.Iterable[int]) -> list[Range]:
    """Sorted IDs as ranges (so thousands of accounts cost little)."""
    out: list[Range] = []
    for i in sorted(set(ids)):
        if out and out[-1].end == i:
            out[-1] = Range(out[-1].start, out[-1].count + 1)
        else:
            out.append(Range(i, 1))
    return out


def _clash(rng: Range, others: list[Line], accounts: dict[int, str], path: str, what: str) -> str | None:
    for line in others:
        for owner, s, e, readers in line.claims:
            if rng.overlaps(s, e):
                how = "" if line.is_entry else f" (as {_read_by(readers)} it)"
                where = f"at {line.describe(path)}{how}"
                return f"{what} {rng.start}-{rng.end - 1} overlaps {owner}'s range {s}-{e - 1} {where}"
    hit = sorted(i for i in accounts if rng.start <= i < rng.end)
    if hit:
        return f"{what} {rng.start}-{rng.end - 1} contains the ID {hit[0]} of the account {accounts[hit[0]]!r}"
    return None


def find_free(count: int, lo: int, hi: int, taken: t.Iterable[tuple[int, int]], align: int = 1) -> int | None:
    """The lowest start >= lo, a multiple of align, with [start, start+count) inside [lo, hi] and free of taken.

    taken holds half-open (start, end) intervals.
    """
    spans = sorted((s, e) for s, e in taken if e > lo and s <= hi)
    cand = lo
    if align > 1 and cand % align:
        cand += align - cand % align
    for s, e in spans:
        if cand + count <= s:
            break
        if e > cand:
            cand = e
            if align > 1 and cand % align:
                cand += align - cand % align
    if cand + count - 1 > hi:
        return None
    return cand


@dataclasses.dataclass
class Plan:
    """What one file should become for one owner."""

    path: str
    owner: str
    lines: list[Line]
    text: str  # the file as read
    keep: Range | None = None  # an existing valid range, kept as it is
    new: Range | None = None  # the range to write
    remove: list[Line] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new is not None or bool(self.remove)

    @property
    def range(self) -> Range | None:
        return self.new or self.keep


def other_overlaps(lines: list[Line], path: str, owners: t.Iterable[str]) -> list[str]:
    """Overlaps between other owners' ranges (reported, not ours to fix)."""
    mine = set(owners)
    spans = sorted(
        ((s, e, owner, line) for line in lines if not claimed_by(line, mine) for owner, s, e, _r in line.claims),
        key=lambda x: (x[0], x[3].number),
    )
    out: list[str] = []
    reach: tuple[int, int, str, Line] | None = None  # the range reaching furthest so far
    for b in spans:
        if reach is not None and b[0] < reach[1] and reach[2] != b[2] and reach[3] is not b[3]:
            msg = f"{reach[3].describe(path)} and {b[3].describe(path)} overlap (not managed by this task)"
            if msg not in out:
                out.append(msg)
        if reach is None or b[1] > reach[1]:
            reach = b
    return out


def _plan_explicit(
    plan: Plan, want: Range, mine: list[Line], others: list[Line], accounts: dict[int, str], id_bounds: tuple[int, int]
) -> Plan:
    lo, hi = id_bounds
    if want.end - 1 >= ID_LIMIT:
        raise SubidError(f"start={want.start} count={want.count} runs past the last valid ID {ID_LIMIT - 1}")
    clash = _clash(want, others, accounts, plan.path, "the requested range")
    if clash:
        raise SubidError(f"{clash}; choose another start, or leave start unset to allocate a free range")
    if want.start < lo or want.end - 1 > hi:
        plan.warnings.append(
            f"the requested range {want.start}-{want.end - 1} lies outside the SUB_ID bounds {lo}-{hi} of login.defs"
        )
    if len(mine) == 1 and mine[0].is_entry and Range(mine[0].start, mine[0].count) == want:
        plan.keep = want
        return plan
    plan.remove = mine
    plan.new = want
    return plan


def _invalid_own(line: Line, others: list[Line], accounts: dict[int, str], path: str, min_count: int) -> str | None:
    if not line.is_entry:
        return (
            f"{line.describe(path)} is read differently by the programs that use the file ({line.how_read()}); "
            "write it as NAME:START:COUNT in decimal, without blanks or a carriage return"
        )
    if line.count < min_count:
        return f"{line.describe(path)} holds {line.count} IDs, too few for Docker (needs {min_count})"
    return _clash(Range(line.start, line.count), others, accounts, path, f"{line.describe(path)}: the range")


def plan_present(
    path: str,
    text: str,
    owners: list[str],
    accounts: dict[int, str],
    id_bounds: tuple[int, int],
    count: int,
    start: int | None = None,
    pool_start: int | None = None,
    min_count: int = DOCKER_MIN_COUNT,
    avoid: t.Iterable[tuple[int, int]] = (),
    on_invalid: str = "fail",
) -> Plan:
    """Plan an entry for the first of owners (the name; a numeric UID may follow as an alias).

    accounts maps the IDs of real accounts (UIDs for subuid, GIDs for subgid) to their names.
    avoid: extra half-open intervals the allocator must not use (to try a start common to both files).
    """
    name = owners[0]
    lines = parse(text)
    plan = Plan(path, name, lines, text)
    mine = [x for x in lines if claimed_by(x, owners)]
    others = [x for x in lines if x.claims and not claimed_by(x, owners)]
    plan.warnings += other_overlaps(lines, path, owners)
    lo, hi = id_bounds
    if count < min_count:
        raise SubidError(
            f"count={count} is too small for Docker: a remapped root needs at least {min_count} subordinate IDs "
            "(images carry IDs up to 65535); raise count, or lower min_count for a non-Docker use"
        )

    if start is not None:
        return _plan_explicit(plan, Range(start, count), mine, others, accounts, id_bounds)

    invalid: list[str] = []
    bad: list[Line] = []
    for line in mine:
        problem = _invalid_own(line, others, accounts, path, min_count)
        if problem:
            invalid.append(problem)
            bad.append(line)
        elif plan.keep is None:
            plan.keep = Range(line.start, line.count)
    if invalid and on_invalid == "fail":
        raise SubidError(
            "; ".join(invalid) + f". Give start and count to replace {name}'s entries, set on_invalid=replace to "
            "drop the bad ones (allocating a new range when none is left), or remove them with state=absent"
        )
    if plan.keep is not None:
        plan.remove = bad
        return plan
    base = max(lo, pool_start if pool_start is not None else lo)
    used = taken(text, owners, accounts)
    found = find_free(count, base, hi, [*used, *avoid])
    if found is None and avoid:
        found = find_free(count, base, hi, used)
    if found is None:
        raise SubidError(
            f"no free range of {count} IDs in {path} between {base} and {hi} (SUB_ID_MAX of login.defs); "
            "raise the bound in /etc/login.defs, free some ranges, or give start explicitly"
        )
    plan.remove = mine
    plan.new = Range(found, count)
    return plan


def plan_absent(path: str, text: str, owners: list[str]) -> Plan:
    """Remove every line any consumer reads as one of owners' ranges."""
    lines = parse(text)
    plan = Plan(path, owners[0], lines, text)
    plan.remove = [x for x in lines if claimed_by(x, owners)]
    return plan


def render(plan: Plan) -> str:
    """The file after the plan: other lines exactly as read; the new entry where the old one was, else last."""
    if not plan.changed:
        return plan.text
    gone = {x.number for x in plan.remove}
    out: list[str] = []
    placed = plan.new is None
    new_text = f"{plan.owner}:{plan.new.start}:{plan.new.count}" if plan.new else ""
    for line in plan.lines:
        if line.number in gone:
            if not placed:
                out.append(new_text)
                placed = True
            continue
        out.append(line.text)
    if not placed:
        out.append(new_text)
    if not out:
        return ""
    return "\n".join(out) + "\n"


def taken(text: str, owners: list[str], accounts: dict[int, str]) -> list[tuple[int, int]]:
    """Half-open intervals a new range for owners must avoid in this file: every range any consumer reads on
    another owner's line, and the IDs of accounts."""
    spans = [(s, e) for x in parse(text) if not claimed_by(x, owners) for _o, s, e, _r in x.claims]
    return spans + [(r.start, r.end) for r in merge_ids(accounts)]


def docker_unreadable(text: str, path: str) -> list[str]:
    """Lines that make dockerd reject the whole file.

    dockerd's pkg/idtools parser (Engine 20.10 to 26) trims each line and skips empty
    lines and '#' comments. Any other line that is not three ':'-separated fields fails
    the whole file ("Format not correct for /etc/subuid file"), and when dockerd looks
    for a free range (userns-remap default on Engine 26) every start and count must
    parse as an integer too ("String to int conversion failed"), whoever the line
    belongs to. newuidmap is more lenient and skips such lines.
    """
    return [line.describe(path) for line in parse(text) if read_idtools(line.text)[1]]


# -- options ----------------------------------------------------------------------------


def check_options(start: int | None, count: int, min_count: int, pool_start: int) -> None:
    """Refuse numbers no subordinate range can have, naming the option and the fix."""
    if count < 1:
        raise SubidError(f"count={count} must be a positive number of IDs (a remapped root needs {DOCKER_MIN_COUNT})")
    if min_count < 1:
        raise SubidError(f"min_count={min_count} must be a positive number of IDs")
    if pool_start < 1:
        raise SubidError(f"pool_start={pool_start} must be a positive ID (it is never used below SUB_UID_MIN anyway)")
    if start is not None and start < 0:
        raise SubidError(f"start={start} must be 0 or more; leave it unset to allocate a free range")
    for option, value in (("start", start), ("count", count), ("pool_start", pool_start)):
        if value is not None and value >= ID_LIMIT:
            raise SubidError(f"{option}={value} lies beyond the ID space, whose last ID is {ID_LIMIT - 1}")


# -- writing both files or neither -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Change:
    path: str
    before: str | None  # the file as read; None when it did not exist
    after: str


class FileSystem(t.Protocol):
    def check_writable(self, path: str) -> None: ...

    def backup(self, path: str) -> str | None: ...

    def write(self, path: str, text: str) -> None: ...

    def restore(self, path: str, before: str | None) -> None: ...


@dataclasses.dataclass
class Committed:
    written: list[str]
    backup_files: list[str]


def commit(changes: t.Sequence[Change], fs: FileSystem, backup: bool) -> Committed:
    """Write every change or none: check every target, back them up, write in order, and on a failed write restore
    the files already written. Raises SubidError whose details say what changed (changed, written, restored)."""
    for c in changes:
        try:
            fs.check_writable(c.path)
        except DockguardError as exc:
            raise SubidError(f"{exc.msg}; neither file was changed", changed=False, written=[], restored=[]) from None
    backups = [b for b in (fs.backup(c.path) for c in changes if backup and c.before is not None) if b]
    done: list[Change] = []
    for c in changes:
        try:
            fs.write(c.path, c.after)
        # whatever failed, the files already written are restored
        except Exception as exc:  # pylint: disable=broad-exception-caught
            reason = exc.msg if isinstance(exc, DockguardError) else f"cannot write {c.path}: {exc}"
            raise _rolled_back(reason, done, fs, backups) from exc
        done.append(c)
    return Committed([c.path for c in done], backups)


def _rolled_back(reason: str, done: list[Change], fs: FileSystem, backups: list[str]) -> SubidError:
    restored, stuck = [], []
    for c in reversed(done):
        try:
            fs.restore(c.path, c.before)
            restored.append(c.path)
        except DockguardError as exc:
            stuck.append((c.path, exc.msg))
    msg = reason
    if restored:
        msg += f"; {' and '.join(restored)} restored as it was"
    if stuck:
        msg += "; " + "; ".join(f"restoring {p} failed too ({why})" for p, why in stuck)
        msg += (
            f": {' and '.join(p for p, _w in stuck)} now holds the new range while the other file does not; "
            + (f"restore it from {', '.join(backups)}" if backups else "fix it by hand")
            + " or run the task again once both files are writable"
        )
    else:
        msg += "; neither file was changed"
    details: dict[str, t.Any] = {"changed": bool(stuck), "written": [p for p, _w in stuck], "restored": restored}
    if backups:
        details["backup_files"] = backups
    return SubidError(msg, **details)


class HostFiles:
    """The real files: bounded reads, atomic writes (root:root 0644), backups through the module."""

    def __init__(self, module: t.Any) -> None:
        self.module = module
        self.stats: dict[str, os.stat_result] = {}

    def read(self, path: str) -> str | None:
        return files.read_text(path, limit=READ_LIMIT, missing_ok=True)

    def check_writable(self, path: str) -> None:
        """Fail before anything is written when path cannot be replaced: a read-only file or mount, an immutable
        file, a directory that cannot take the temporary file."""
        try:
            self.stats[path] = os.lstat(path)
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            os.close(fd)
        except FileNotFoundError:
            self.stats.pop(path, None)
        except OSError as exc:
            reason = "it is a symlink" if exc.errno == errno.ELOOP else files.describe_oserror(exc)
            raise files.FileError(f"cannot write {path}: {reason}") from None
        directory = os.path.dirname(path) or "."
        probe = os.path.join(directory, f".{os.path.basename(path)}.dockguard-probe-{os.getpid()}")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            os.close(fd)
            os.unlink(probe)
        except FileNotFoundError:
            pass  # a missing directory: atomic_write creates it, or says why not
        except OSError as exc:
            raise files.FileError(
                f"cannot write {path}: {directory} does not take new files ({files.describe_oserror(exc)})"
            ) from None

    def backup(self, path: str) -> str | None:
        return t.cast("str | None", self.module.backup_local(path))

    def _owner(self) -> tuple[int, int]:
        return (0, 0) if os.geteuid() == 0 else (os.geteuid(), os.getegid())

    def write(self, path: str, text: str) -> None:
        uid, gid = self._owner()
        files.atomic_write(self.module, path, text, mode=0o644, uid=uid, gid=gid)

    def restore(self, path: str, before: str | None) -> None:
        if before is None:
            files.remove(path)
            return
        st = self.stats.get(path)
        mode, (uid, gid) = (st.st_mode & 0o7777, (st.st_uid, st.st_gid)) if st else (0o644, self._owner())
        files.atomic_write(self.module, path, before, mode=mode, uid=uid, gid=gid)
