# SPDX-License-Identifier: GPL-3.0-or-later
"""Subordinate ID files: parsing, validation, allocation and rendering, with property tests on crowded files."""

from __future__ import annotations

import re
import typing as t

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.dockguard.hardening.plugins.module_utils import _subid as si
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

BOUNDS = (100000, 600100000)
P = "/etc/subuid"


def present(text: str, name: str = "alice", **kw: object) -> si.Plan:
    args: dict[str, object] = {"accounts": {}, "id_bounds": BOUNDS, "count": 65536}
    args.update(kw)
    return si.plan_present(P, text, [name], **args)  # type: ignore[arg-type]


# -- parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("alice:100000:65536", ("alice", 100000, 65536)),
        ("1001:165536:65536", ("1001", 165536, 65536)),
        ("# a comment", None),
        ("", None),
        ("alice:100000", None),
        ("alice:100000:65536:extra", None),
        ("alice:-1:65536", None),
        ("alice:abc:65536", None),
        ("alice:100000:0", None),  # an empty range is useless to newuidmap
        (" alice:100000:65536", None),  # shadow does not strip; neither do we
        ("alice:100000:65536\r", None),
        ("alice:4294967295:1", None),  # past the ID space
        ("alice:4294967294:1", ("alice", 4294967294, 1)),
    ],
)
def test_parse_line(text: str, entry: tuple[str, int, int] | None) -> None:
    line = si.parse_line(1, text)
    assert line.text == text
    if entry is None:
        assert not line.is_entry
    else:
        assert (line.owner, line.start, line.count) == entry


def test_parse_keeps_every_line_and_numbers_them() -> None:
    lines = si.parse("a:100000:65536\n\n# c\nb:1:x\n")
    assert [(x.number, x.text, x.is_entry) for x in lines] == [
        (1, "a:100000:65536", True),
        (2, "", False),
        (3, "# c", False),
        (4, "b:1:x", False),
    ]
    assert si.parse("") == []
    assert [x.text for x in si.parse("a:1:70000")] == ["a:1:70000"]  # no final newline


# -- each consumer's reading (shadow-utils, dockerd's two parsers) ------------------------------------

SH, IT, SU = si.SHADOW, si.IDTOOLS, si.SYSUSER


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        # the issue's case: dockerd drops the CR, shadow-utils' strtoul stops at it and drops the line
        ("bob:100000:65536\r", [("bob", 100000, 165536, [IT, SU])]),
        # Go's TrimSpace: blanks around the line; shadow keeps them in the owner and refuses them after a number
        ("  bob:100000:65536  ", [("bob", 100000, 165536, [IT, SU])]),
        # strtoul skips leading blanks and reads 0x and 0 prefixes; Atoi refuses them or reads decimal
        ("bob: 100000:65536", [("bob", 100000, 165536, [SH]), ("bob", 0, 65536, [SU])]),
        ("bob:0x186a0:65536", [("bob", 100000, 165536, [SH]), ("bob", 0, 65536, [SU])]),
        ("bob:0100000:65536", [("bob", 32768, 98304, [SH]), ("bob", 100000, 165536, [IT, SU])]),
        ("bob:+100000:65536", [("bob", 100000, 165536, [SH, IT, SU])]),
        # shadow-utils ignores fields after the third; pkg/idtools refuses the file; moby/sys/user ignores them
        ("bob:100000:65536:x", [("bob", 100000, 165536, [SH, SU])]),
        # no comment syntax in shadow-utils or moby/sys/user
        ("#bob:100000:65536", [("#bob", 100000, 165536, [SH, SU])]),
        # a NIS line is not an entry for shadow-utils
        ("+bob:100000:65536", [("+bob", 100000, 165536, [IT, SU])]),
        # moby/sys/user reads a bad number as 0
        ("bob:x:65536", [("bob", 0, 65536, [SU])]),
        # a NUL ends the line for shadow-utils (fgets + strdup)
        ("bob:100000:65536\0junk", [("bob", 100000, 165536, [SH])]),
        # ranges are cut at the end of the ID space; empty ones are no range
        ("bob:4294967290:100", [("bob", 4294967290, 4294967295, [SH, IT, SU])]),
        ("bob:100000:0", []),
        ("bob:-5:10", []),
        ("", []),
        ("# comment", []),
    ],
)
def test_every_consumer_reading_of_a_line(text: str, claims: list[tuple[str, int, int, list[str]]]) -> None:
    line = si.parse_line(1, text)
    assert sorted(line.claims) == sorted(claims)


@pytest.mark.parametrize(
    "text",
    ["bob:100000:65536\r", " bob:100000:65536", "bob:0100000:65536", "bob:100000:65536:x", "bob:0x186a0:65536"],
)
def test_a_line_read_differently_is_not_an_entry(text: str) -> None:
    assert not si.parse_line(1, text).is_entry


def test_a_crlf_range_of_another_owner_is_taken() -> None:
    # issue 9 item 4: with bob:100000:65536\r\n in the file, alice was given 100000:65536 too
    plan = present("bob:100000:65536\r\n")
    assert plan.new == si.Range(165536, 65536)
    assert si.render(plan) == "bob:100000:65536\r\nalice:165536:65536\n"
    assert si.taken("bob:100000:65536\r\n", ["alice"], {}) == [(100000, 165536)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bob: 100000:65536\n", 165536),  # shadow-utils only
        ("#bob:100000:65536\n", 165536),  # shadow-utils and newer dockerd: no comment syntax there
        ("bob:0100000:65536\n", 165536),  # octal 32768-98303 for shadow-utils, 100000-165535 for dockerd
        ("bob:x:165536\n", 165536),  # newer dockerd reads 0-165535
    ],
)
def test_a_range_any_consumer_reads_is_taken(text: str, expected: int) -> None:
    assert present(text).new == si.Range(expected, 65536)


def test_a_requested_range_over_a_crlf_line_names_the_readers() -> None:
    with pytest.raises(si.SubidError) as exc:
        present("bob:100000:65536\r\n", start=100000)
    assert str(exc.value).startswith(
        "the requested range 100000-165535 overlaps bob's range 100000-165535 at /etc/subuid:1 'bob:100000:65536\\r' "
        "(as dockerd (pkg/idtools) and dockerd (moby/sys/user) read it)"
    )


def test_the_users_own_line_read_differently_is_invalid() -> None:
    with pytest.raises(si.SubidError) as exc:
        present("alice:300000:65536\r\n")
    assert str(exc.value).startswith(
        "/etc/subuid:1 'alice:300000:65536\\r' is read differently by the programs that use the file "
        "(dockerd (pkg/idtools) and dockerd (moby/sys/user) read 'alice' 300000-365535; shadow-utils reads no range)"
    )
    plan = present("alice:300000:65536\r\nbob:100000:65536\n", on_invalid="replace")
    assert si.render(plan) == "alice:165536:65536\nbob:100000:65536\n"
    assert si.render(si.plan_absent(P, "alice:300000:65536\r\nbob:1:2\n", ["alice"])) == "bob:1:2\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("SUB_UID_MIN 200000\nSUB_UID_MAX 300000\n", {"SUB_UID_MIN": 200000, "SUB_UID_MAX": 300000}),
        ("#SUB_UID_MIN 1\nSUB_GID_COUNT\t0x10000 # hex\n", {"SUB_GID_COUNT": 65536}),
        ("SUB_UID_MIN 1\nSUB_UID_MIN 2\n", {"SUB_UID_MIN": 2}),
        ("SUB_UID_MIN lots\nUID_MIN 1000\n", {}),
    ],
)
def test_parse_login_defs(text: str, expected: dict[str, int]) -> None:
    assert si.parse_login_defs(text) == expected


def test_bounds_default_to_shadow() -> None:
    assert si.bounds({}, "UID") == (100000, 600100000)
    assert si.bounds({"SUB_GID_MIN": 5, "SUB_GID_MAX": 9}, "GID") == (5, 9)
    assert si.bounds({"SUB_GID_MIN": 5}, "UID") == (100000, 600100000)


def test_merge_ids() -> None:
    assert si.merge_ids([5, 1, 2, 3, 9]) == [si.Range(1, 3), si.Range(5, 1), si.Range(9, 1)]


# -- allocation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        ([], 100000),
        ([(100000, 165536)], 165536),
        ([(90000, 100001)], 100001),
        ([(100000, 165536), (165536 + 65536, 400000)], 165536),  # a gap exactly one range wide
        ([(100000, 165536), (165537 + 65535 - 1, 400000)], 400000),  # a gap one ID too narrow
        ([(200000, 210000), (100000, 150000)], 210000),  # unsorted input
    ],
)
def test_find_free(taken: list[tuple[int, int]], expected: int) -> None:
    assert si.find_free(65536, 100000, 600100000, taken) == expected


def test_find_free_respects_the_upper_bound() -> None:
    assert si.find_free(10, 0, 9, []) == 0
    assert si.find_free(10, 0, 8, []) is None
    assert si.find_free(10, 0, 19, [(0, 10)]) == 10
    assert si.find_free(10, 0, 18, [(0, 10)]) is None


def test_find_free_align() -> None:
    assert si.find_free(65536, 100000, 10**9, [], align=65536) == 131072


def test_a_user_without_a_range_gets_the_first_free_one() -> None:
    plan = present("root:100000:65536\nbob:165536:65536\n")
    assert plan.new == si.Range(231072, 65536)
    assert si.render(plan) == "root:100000:65536\nbob:165536:65536\nalice:231072:65536\n"


def test_the_pool_start_is_honoured_but_never_below_sub_uid_min() -> None:
    assert present("", pool_start=500000).new == si.Range(500000, 65536)
    assert present("", pool_start=1000).new == si.Range(100000, 65536)
    assert present("", id_bounds=(300000, 600100000)).new == si.Range(300000, 65536)


def test_account_ids_are_never_allocated() -> None:
    # an LDAP-style account with a UID inside the pool
    plan = present("", accounts={0: "root", 1000: "alice", 120000: "ldapuser"})
    assert plan.new == si.Range(120001, 65536)


def test_no_room_below_sub_uid_max_is_an_error() -> None:
    with pytest.raises(si.SubidError, match=r"no free range of 65536 IDs in /etc/subuid between 100000 and 200000"):
        present("bob:100000:65536\n", id_bounds=(100000, 200000))


def test_avoid_prefers_a_start_free_in_both_files_and_falls_back() -> None:
    assert present("", avoid=[(100000, 165536)]).new == si.Range(165536, 65536)
    # nothing left when both are avoided: the file's own first free range
    plan = present("", avoid=[(100000, 300000)], id_bounds=(100000, 200000))
    assert plan.new == si.Range(100000, 65536)


# -- idempotence and validation ------------------------------------------------------


def test_a_valid_existing_range_is_kept_even_with_another_count() -> None:
    text = "bob:100000:65536\nalice:300000:131072\n"
    plan = present(text)
    assert plan.keep == si.Range(300000, 131072)
    assert not plan.changed
    assert si.render(plan) == text


def test_a_numeric_uid_entry_counts_as_the_users() -> None:
    plan = si.plan_present(P, "1001:300000:65536\n", ["alice", "1001"], {}, BOUNDS, 65536)
    assert plan.keep == si.Range(300000, 65536)
    assert not plan.changed


def test_an_explicit_range_is_written_in_place_of_the_old_line() -> None:
    text = "# managed\nalice:300000:65536\nbob:100000:65536\n"
    plan = present(text, start=400000)
    assert si.render(plan) == "# managed\nalice:400000:65536\nbob:100000:65536\n"


def test_an_explicit_range_equal_to_the_file_is_unchanged() -> None:
    plan = present("alice:400000:65536\n", start=400000)
    assert not plan.changed


def test_an_explicit_range_outside_the_bounds_is_a_warning() -> None:
    plan = present("", start=50000)
    assert plan.new == si.Range(50000, 65536)
    assert plan.warnings == [
        "the requested range 50000-115535 lies outside the SUB_ID bounds 100000-600100000 of login.defs"
    ]


def test_a_requested_range_that_overlaps_names_the_line() -> None:
    with pytest.raises(si.SubidError) as exc:
        present("# c\nbob:100000:65536\n", start=150000)
    assert str(exc.value) == (
        "the requested range 150000-215535 overlaps bob's range 100000-165535 at /etc/subuid:2 'bob:100000:65536'; "
        "choose another start, or leave start unset to allocate a free range"
    )


def test_a_requested_range_over_an_account_names_it() -> None:
    with pytest.raises(si.SubidError, match=r"contains the ID 120000 of the account 'svc'"):
        present("", start=100000, accounts={120000: "svc"})


def test_a_requested_range_past_the_id_space() -> None:
    with pytest.raises(si.SubidError, match="runs past the last valid ID"):
        present("", start=4294967295 - 100)


@pytest.mark.parametrize("count", [1, 65535])
def test_a_range_too_small_for_docker_is_refused(count: int) -> None:
    with pytest.raises(si.SubidError, match=f"count={count} is too small for Docker"):
        present("", count=count)
    assert present("", count=count, min_count=1).new == si.Range(100000, count)


def test_an_existing_too_small_range_fails_naming_the_line() -> None:
    with pytest.raises(si.SubidError) as exc:
        present("alice:100000:1000\n")
    assert "/etc/subuid:1 'alice:100000:1000' holds 1000 IDs, too few for Docker (needs 65536)" in str(exc.value)
    assert "on_invalid=replace" in str(exc.value)


def test_an_existing_overlapping_range_fails_naming_both() -> None:
    with pytest.raises(si.SubidError) as exc:
        present("bob:100000:65536\nalice:150000:65536\n")
    assert "/etc/subuid:2 'alice:150000:65536': the range 150000-215535 overlaps bob's range 100000-165535" in str(
        exc.value
    )
    assert "at /etc/subuid:1 'bob:100000:65536'" in str(exc.value)


def test_on_invalid_replace_allocates_in_place() -> None:
    plan = present("alice:100000:1000\nbob:100000:65536\n", on_invalid="replace")
    assert si.render(plan) == "alice:165536:65536\nbob:100000:65536\n"


def test_on_invalid_replace_keeps_a_valid_one_and_drops_the_bad() -> None:
    plan = present("alice:100000:10\nalice:300000:65536\n", on_invalid="replace")
    assert plan.keep == si.Range(300000, 65536)
    assert si.render(plan) == "alice:300000:65536\n"


def test_overlaps_between_other_owners_are_warned_not_fixed() -> None:
    text = "bob:100000:200000\ncarol:150000:65536\ndave:250000:65536\n"
    plan = present(text)
    assert len(plan.warnings) == 2
    assert "'bob:100000:200000'" in plan.warnings[0]
    assert "'carol:150000:65536'" in plan.warnings[0]
    assert "'dave:250000:65536'" in plan.warnings[1]
    assert plan.new == si.Range(315536, 65536)


# -- absent and rendering ---------------------------------------------------------------


def test_absent_removes_only_the_users_lines() -> None:
    text = "alice:100000:65536\n#alice:1:1\nbob:165536:65536\nalice:x\n1001:300000:65536\n"
    plan = si.plan_absent(P, text, ["alice", "1001"])
    assert si.render(plan) == "#alice:1:1\nbob:165536:65536\nalice:x\n"


def test_absent_of_the_last_line_leaves_an_empty_file() -> None:
    assert si.render(si.plan_absent(P, "alice:100000:65536\n", ["alice"])) == ""


def test_unchanged_renders_the_exact_text() -> None:
    text = "bob:100000:65536\r\n\n alice \nalice:300000:65536"  # no final newline, odd lines
    plan = present(text)
    assert not plan.changed
    assert si.render(plan) == text


def test_append_to_a_file_without_a_final_newline() -> None:
    assert si.render(present("bob:100000:65536")) == "bob:100000:65536\nalice:165536:65536\n"


# -- properties on crowded files ------------------------------------------------------------

NAMES = st.sampled_from(["alice", "bob", "carol", "dave", "1001", "dockremap"])
GARBAGE = st.sampled_from(
    [
        "",
        "# comment",
        "bob:1",
        "x:y:z",
        "bob:100000:65536:9",
        " carol:1:1",
        "é:1:1",
        "\t",
        # lines the consumers read differently: each range they read is taken
        "bob:120000:65536\r",
        "carol: 0x30d40:65536",
        "#dave:400000:65536",
        " dave:500000:70000 ",
        "erin:0200000:65536",
        "alice:150000:65536\r",
        "1001:600000:65536 ",
    ]
)


@st.composite
def crowded_files(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _line in range(draw(st.integers(0, 30))):
        if draw(st.booleans()):
            start = draw(st.integers(0, 2_000_000))
            count = draw(st.integers(1, 300_000))
            lines.append(f"{draw(NAMES)}:{start}:{count}")
        else:
            lines.append(draw(GARBAGE))
    text = "\n".join(lines)
    final_newline: bool = draw(st.booleans())
    return text + "\n" if lines and final_newline else text


def other_lines(text: str, owners: list[str]) -> list[str]:
    return [x.text for x in si.parse(text) if not si.claimed_by(x, owners)]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=crowded_files(),
    accounts=st.dictionaries(st.integers(0, 2_000_000), st.sampled_from(["u1", "u2", "svc"]), max_size=20),
    count=st.integers(65536, 200_000),
    pool_start=st.integers(0, 1_000_000),
    hi=st.integers(150_000, 2_500_000),
)
def test_allocation_never_overlaps_and_never_touches_other_lines(
    text: str, accounts: dict[int, str], count: int, pool_start: int, hi: int
) -> None:
    owners = ["alice"]
    try:
        plan = si.plan_present(
            P, text, owners, accounts, (100000, hi), count, pool_start=pool_start, on_invalid="replace"
        )
    except si.SubidError as exc:
        assert "no free range" in str(exc)
        return
    after = si.render(plan)
    rng = plan.range
    assert rng is not None
    if plan.new is not None:
        assert plan.new.count == count
        assert max(100000, pool_start) <= plan.new.start
        assert plan.new.end - 1 <= hi
    # the range the user ends up with is disjoint from every range any consumer reads on another owner's line
    for line in si.parse(after):
        if not si.claimed_by(line, owners):
            for _owner, start, end, _readers in line.claims:
                assert not rng.overlaps(start, end), (line, rng)
    assert not any(rng.start <= uid < rng.end for uid in accounts)
    assert rng.count >= 65536
    # other lines are byte-for-byte the same, in the same order
    assert other_lines(after, owners) == other_lines(text, owners)
    # and running again changes nothing
    again = si.plan_present(P, after, owners, accounts, (100000, hi), count, pool_start=pool_start)
    assert not again.changed
    assert si.render(again) == after


@settings(max_examples=300)
@given(text=crowded_files(), start=st.integers(0, 2_000_000))
def test_an_explicit_range_is_written_only_when_it_clashes_with_nothing(text: str, start: int) -> None:
    owners = ["alice"]
    others = [x for x in si.parse(text) if not si.claimed_by(x, owners)]
    want = si.Range(start, 65536)
    clashes = [x for x in others if any(want.overlaps(s, e) for _o, s, e, _r in x.claims)]
    if clashes:
        with pytest.raises(si.SubidError, match="overlaps"):
            si.plan_present(P, text, owners, {}, BOUNDS, 65536, start=start)
        return
    plan = si.plan_present(P, text, owners, {}, BOUNDS, 65536, start=start)
    after = si.render(plan)
    assert [x for x in si.parse(after) if si.claimed_by(x, owners)] == [
        si.Line(
            next(x.number for x in si.parse(after) if si.owned_by(x, owners)),
            f"alice:{start}:65536",
            "alice",
            start,
            65536,
        )
    ]
    assert other_lines(after, owners) == other_lines(text, owners)


@settings(max_examples=300)
@given(text=crowded_files())
def test_absent_removes_exactly_the_users_entries(text: str) -> None:
    owners = ["alice", "1001"]
    after = si.render(si.plan_absent(P, text, owners))
    assert not any(si.claimed_by(x, owners) for x in si.parse(after))
    assert other_lines(after, owners) == other_lines(text, owners)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("", []),
        ("# c\n\n  \nalice:1:2\n  bob:1:2  \n", []),
        ("junk\nalice:1:2:3\n#ok\n", ["/etc/subuid:1 'junk'", "/etc/subuid:2 'alice:1:2:3'"]),
        ("bob:x:y\nbroken:1:\n", ["/etc/subuid:1 'bob:x:y'", "/etc/subuid:2 'broken:1:'"]),
    ],
)
def test_docker_unreadable(text: str, bad: list[str]) -> None:
    assert si.docker_unreadable(text, P) == bad


# -- both files or neither: the transaction through a fake file system ---------------------------------


class FakeFS:
    """Files in a dict; every call recorded; a path can refuse writes, checks or restores."""

    def __init__(self, content: dict[str, str], **refuse: set[str]) -> None:
        self.content = dict(content)
        self.calls: list[tuple[str, str]] = []
        self.refuse = refuse

    def _maybe_fail(self, op: str, path: str) -> None:
        self.calls.append((op, path))
        if path in self.refuse.get(op, set()):
            raise si.files.FileError(f"cannot write {path}: Read-only file system")

    def check_writable(self, path: str) -> None:
        self._maybe_fail("check", path)

    def backup(self, path: str) -> str | None:
        self._maybe_fail("backup", path)
        return f"{path}.bak~"

    def write(self, path: str, text: str) -> None:
        self._maybe_fail("write", path)
        self.content[path] = text

    def restore(self, path: str, before: str | None) -> None:
        self._maybe_fail("restore", path)
        if before is None:
            self.content.pop(path, None)
        else:
            self.content[path] = before


UID, GID = "/etc/subuid", "/etc/subgid"
CHANGES = [si.Change(UID, "bob:1:2\n", "bob:1:2\nalice:100000:65536\n"), si.Change(GID, None, "alice:100000:65536\n")]


def test_commit_checks_every_file_before_the_first_write() -> None:
    fs = FakeFS({UID: "bob:1:2\n"}, check={GID})
    with pytest.raises(si.SubidError, match="cannot write /etc/subgid: Read-only file system"):
        si.commit(CHANGES, fs, backup=True)
    assert fs.calls == [("check", UID), ("check", GID)]
    assert fs.content == {UID: "bob:1:2\n"}


def test_commit_writes_both_in_order_after_backups() -> None:
    fs = FakeFS({UID: "bob:1:2\n"})
    done = si.commit(CHANGES, fs, backup=True)
    assert fs.calls == [("check", UID), ("check", GID), ("backup", UID), ("write", UID), ("write", GID)]
    assert done.written == [UID, GID]
    assert done.backup_files == [f"{UID}.bak~"]
    assert fs.content == {UID: "bob:1:2\nalice:100000:65536\n", GID: "alice:100000:65536\n"}


def test_a_failed_second_write_restores_the_first() -> None:
    fs = FakeFS({UID: "bob:1:2\n", GID: "bob:1:2\n"}, write={GID})
    changes = [CHANGES[0], si.Change(GID, "bob:1:2\n", "bob:1:2\nalice:100000:65536\n")]
    with pytest.raises(si.SubidError) as exc:
        si.commit(changes, fs, backup=False)
    assert fs.calls == [("check", UID), ("check", GID), ("write", UID), ("write", GID), ("restore", UID)]
    assert fs.content == {UID: "bob:1:2\n", GID: "bob:1:2\n"}
    assert exc.value.msg == (
        "cannot write /etc/subgid: Read-only file system; /etc/subuid restored as it was; neither file was changed"
    )
    assert exc.value.details == {"changed": False, "written": [], "restored": [UID]}


def test_an_unexpected_error_in_the_second_write_restores_the_first_too() -> None:
    class Crashing(FakeFS):
        def write(self, path: str, text: str) -> None:
            if path == GID:
                raise RuntimeError("boom")
            super().write(path, text)

    fs = Crashing({UID: "bob:1:2\n"})
    with pytest.raises(si.SubidError, match="cannot write /etc/subgid: boom; /etc/subuid restored as it was"):
        si.commit(CHANGES, fs, backup=False)
    assert fs.content == {UID: "bob:1:2\n"}


def test_a_file_the_failed_run_created_is_removed_again() -> None:
    fs = FakeFS({}, write={UID})
    changes = [CHANGES[1], si.Change(UID, None, "alice:100000:65536\n")]
    with pytest.raises(si.SubidError):
        si.commit(changes, fs, backup=True)
    assert fs.content == {}


def test_a_failed_restore_says_what_changed_and_where_the_backup_is() -> None:
    fs = FakeFS({UID: "bob:1:2\n"}, write={GID}, restore={UID})
    with pytest.raises(si.SubidError) as exc:
        si.commit(CHANGES, fs, backup=True)
    assert exc.value.details == {
        "changed": True,
        "written": [UID],
        "restored": [],
        "backup_files": [f"{UID}.bak~"],
    }
    assert "restoring /etc/subuid failed too (cannot write /etc/subuid: Read-only file system)" in exc.value.msg
    assert "restore it from /etc/subuid.bak~" in exc.value.msg


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        ({"count": 0}, "count=0 must be a positive number of IDs"),
        ({"count": -5}, "count=-5 must be a positive number of IDs"),
        ({"min_count": 0}, "min_count=0 must be a positive number of IDs"),
        ({"pool_start": 0}, "pool_start=0 must be a positive ID"),
        ({"start": -1}, "start=-1 must be 0 or more"),
        ({"start": 4294967295}, "start=4294967295 lies beyond the ID space, whose last ID is 4294967294"),
        ({"count": 2**40}, "count=1099511627776 lies beyond the ID space"),
    ],
)
def test_numeric_options_are_checked(args: dict[str, int], msg: str) -> None:
    opts: dict[str, t.Any] = {"start": None, "count": 65536, "min_count": 65536, "pool_start": 100000, **args}
    with pytest.raises(si.SubidError, match=re.escape(msg)):
        si.check_options(**opts)
    assert issubclass(si.SubidError, DockguardError)


def test_good_numeric_options_pass() -> None:
    si.check_options(start=0, count=1, min_count=1, pool_start=1)
    si.check_options(start=None, count=65536, min_count=65536, pool_start=100000)
