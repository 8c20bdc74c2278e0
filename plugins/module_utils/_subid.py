# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Subordinate ID files (/etc/subuid, /etc/subgid): parse, validate, allocate, render.

Pure functions only. A file is kept as a list of lines; a line that is not a
well-formed ``owner:start:count`` entry is carried through unchanged, byte for
byte, so that rewriting a user's entry never touches anybody else's line.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

# Docker's default (and an OCI image's) IDs reach 65535: a remapped root needs
# 65536 subordinate IDs for ordinary images to unpack.
DOCKER_MIN_COUNT = 65536
# shadow-utils' compiled-in defaults when login.defs says nothing.
SHADOW_DEFAULTS = {"MIN": 100000, "MAX": 600100000, "COUNT": 65536}
# The kernel's ID space: an ID is a 32-bit value and 4294967295 means "no ID".
ID_LIMIT = 4294967295

_ENTRY = re.compile(r"^([^:\s]+):([0-9]+):([0-9]+)$")


class SubidError(Exception):
    """Input that cannot be honoured; the message names the line and the fix."""


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of a subordinate ID file, as read (without its newline)."""

    number: int  # 1-based
    text: str
    owner: str | None = None
    start: int = 0
    count: int = 0

    @property
    def is_entry(self) -> bool:
        return self.owner is not None

    @property
    def end(self) -> int:
        """One past the last ID of the range."""
        return self.start + self.count

    def describe(self, path: str) -> str:
        return f"{path}:{self.number} {self.text!r}"


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


def parse_line(number: int, text: str) -> Line:
    m = _ENTRY.match(text)
    if not m:
        return Line(number, text)
    start, count = int(m.group(2)), int(m.group(3))
    if count == 0 or start + count - 1 >= ID_LIMIT:
        return Line(number, text)  # not usable by newuidmap: kept, never counted as an entry
    return Line(number, text, m.group(1), start, count)


def parse(text: str) -> list[Line]:
    """Every line of the file; malformed lines (comments, junk, empty) kept as raw text."""
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
    return line.is_entry and line.owner in set(names)


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
        if rng.overlaps(line.start, line.end):
            return (
                f"{what} {rng.start}-{rng.end - 1} overlaps {line.owner}'s range {line.start}-{line.end - 1} "
                f"at {line.describe(path)}"
            )
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
    """Overlaps between other owners' lines (reported, not ours to fix)."""
    mine = set(owners)
    entries = sorted((x for x in lines if x.is_entry and x.owner not in mine), key=lambda x: x.start)
    out = []
    reach: Line | None = None  # the entry reaching furthest so far
    for b in entries:
        if reach is not None and b.start < reach.end and reach.owner != b.owner:
            out.append(f"{reach.describe(path)} and {b.describe(path)} overlap (not managed by this task)")
        if reach is None or b.end > reach.end:
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
    if len(mine) == 1 and Range(mine[0].start, mine[0].count) == want:
        plan.keep = want
        return plan
    plan.remove = mine
    plan.new = want
    return plan


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
    mine = [x for x in lines if owned_by(x, owners)]
    others = [x for x in lines if x.is_entry and not owned_by(x, owners)]
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
        rng = Range(line.start, line.count)
        clash = _clash(rng, others, accounts, path, f"{line.describe(path)}: the range")
        if line.count < min_count:
            clash = f"{line.describe(path)} holds {line.count} IDs, too few for Docker (needs {min_count})"
        if clash:
            invalid.append(clash)
            bad.append(line)
        elif plan.keep is None:
            plan.keep = rng
    if invalid and on_invalid == "fail":
        raise SubidError(
            "; ".join(invalid) + f". Give start and count to replace {name}'s entries, set on_invalid=replace to "
            "drop the bad ones (allocating a new range when none is left), or remove them with state=absent"
        )
    if plan.keep is not None:
        plan.remove = bad
        return plan
    taken = [(x.start, x.end) for x in others] + [(r.start, r.end) for r in merge_ids(accounts)]
    base = max(lo, pool_start if pool_start is not None else lo)
    found = find_free(count, base, hi, [*taken, *avoid])
    if found is None and avoid:
        found = find_free(count, base, hi, taken)
    if found is None:
        raise SubidError(
            f"no free range of {count} IDs in {path} between {base} and {hi} (SUB_ID_MAX of login.defs); "
            "raise the bound in /etc/login.defs, free some ranges, or give start explicitly"
        )
    plan.remove = mine
    plan.new = Range(found, count)
    return plan


def plan_absent(path: str, text: str, owners: list[str]) -> Plan:
    lines = parse(text)
    plan = Plan(path, owners[0], lines, text)
    plan.remove = [x for x in lines if owned_by(x, owners)]
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
    """Half-open intervals a new range for owners must avoid in this file: other owners' ranges and account IDs."""
    spans = [(x.start, x.end) for x in parse(text) if x.is_entry and not owned_by(x, owners)]
    return spans + [(r.start, r.end) for r in merge_ids(accounts)]


def docker_unreadable(text: str, path: str) -> list[str]:
    """Lines that make dockerd reject the whole file.

    dockerd's parser (moby idtools, Engine 20.10 to 26) trims each line and skips empty
    lines and '#' comments. Any other line that is not three ':'-separated fields fails
    the whole file ("Format not correct for /etc/subuid file"), and when dockerd looks
    for a free range (userns-remap default on Engine 26) every start and count must
    parse as an integer too ("String to int conversion failed"), whoever the line
    belongs to. newuidmap is more lenient and skips such lines.
    """
    bad = []
    for line in parse(text):
        stripped = line.text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split(":")
        if len(parts) != 3 or not all(re.fullmatch(r"[+-]?[0-9]+", p) for p in parts[1:]):
            bad.append(line.describe(path))
    return bad
