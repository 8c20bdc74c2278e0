# SPDX-License-Identifier: GPL-3.0-or-later
"""_apparmor's pure parts: the kernel's profile list, the parser's messages, the plan."""

from __future__ import annotations

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _apparmor as aa

# /sys/kernel/security/apparmor/profiles as the Debian 12 VM shows it (names with spaces and slashes exist)
PROFILES = """\
docker-default (enforce)
/usr/bin/man (enforce)
man_filter (enforce)
nvidia_modprobe//kmod (enforce)
lsb_release (complain)
weird name (unconfined) (enforce)
"""

TEXT = "abi <abi/3.0>,\nprofile p {\n  file,\n  bogus rule,\n}\n"


def test_profiles_list_gives_each_name_its_mode() -> None:
    got = aa.parse_profiles_list(PROFILES)
    assert got["docker-default"] == "enforce"
    assert got["/usr/bin/man"] == "enforce"
    assert got["nvidia_modprobe//kmod"] == "enforce"
    assert got["lsb_release"] == "complain"
    assert got["weird name (unconfined)"] == "enforce"
    assert aa.parse_profiles_list("") == {}


@pytest.mark.parametrize(
    ("stderr", "expect"),
    [
        (
            "Cache read/write disabled: interface file missing.\n"
            "AppArmor parser error for /tmp/d/p in profile /tmp/d/p at line 4: syntax error, unexpected TOK_ID\n",
            "AppArmor parser error for /etc/apparmor.d/p in profile /etc/apparmor.d/p at line 4: syntax error, "
            "unexpected TOK_ID (line 4: 'bogus rule,')",
        ),
        # a line in an included file is named by the parser; our text's line 4 is not quoted then
        (
            "AppArmor parser error for /tmp/d/p in profile /etc/apparmor.d/tunables/global at line 4: bad\n",
            "AppArmor parser error for /etc/apparmor.d/p in profile /etc/apparmor.d/tunables/global at line 4: bad",
        ),
        (
            "AppArmor parser error at line 2: Found unexpected character\n",
            "AppArmor parser error at line 2: Found unexpected character (line 2: 'profile p {')",
        ),
        # a line number past the end is not quoted
        ("AppArmor parser error at line 99: end\n", "AppArmor parser error at line 99: end"),
        ("", "no output"),
    ],
)
def test_parser_message_names_the_line(stderr: str, expect: str) -> None:
    assert aa.parser_message(stderr, "", TEXT, "/tmp/d/p", "/etc/apparmor.d/p") == expect


@pytest.mark.parametrize("name", ["docker-default", "dockguard.web", "a/b", "x@y:z+1"])
def test_names_accepted(name: str) -> None:
    aa.check_name(name)


@pytest.mark.parametrize("name", ["", "-x", "a b", "a//b", "../x", "a\nb", "/etc/passwd{"])
def test_names_refused(name: str) -> None:
    with pytest.raises(aa.AppArmorError, match="not a profile name"):
        aa.check_name(name)


C = aa.Compiled(["docker-default"], "a" * 40)


def loaded(mode: str = "enforce", sha: str | None = "a" * 40) -> dict[str, aa.Loaded]:
    return {"docker-default": aa.Loaded(mode, sha)}


@pytest.mark.parametrize(
    ("before", "have", "expect"),
    [
        ("T\n", loaded(), []),
        (None, loaded(), ["file"]),
        ("old\n", loaded(), ["file differs"]),
        ("T\n", {}, ["docker-default not loaded"]),
        ("T\n", loaded("complain"), ["docker-default loaded in complain mode"]),
        # dockerd's own docker-default: same name, other policy
        ("T\n", loaded(sha="b" * 40), ["docker-default loaded from another policy (sha1 bbbbbbbbbbbb)"]),
        # a kernel that does not expose raw_sha1: the name and mode are all there is to compare
        ("T\n", loaded(sha=None), []),
        # write only: the kernel is not looked at
        ("old\n", None, ["file differs"]),
        ("T\n", None, []),
    ],
)
def test_plan(before: str | None, have: dict[str, aa.Loaded] | None, expect: list[str]) -> None:
    assert aa.plan("docker-default", "enforce", before, "T\n", C, have) == expect


def test_plan_refuses_a_text_that_declares_another_name() -> None:
    with pytest.raises(aa.AppArmorError, match="declares docker-default, not 'dockguard-x'"):
        aa.plan("dockguard-x", "enforce", None, "T\n", C, None)
