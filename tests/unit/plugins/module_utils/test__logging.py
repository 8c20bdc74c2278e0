# SPDX-License-Identifier: GPL-3.0-or-later
"""_logging: forwarding actions, journal readers and systemd-style values, read from configuration text."""

from __future__ import annotations

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _logging as lg

# The role's own drop-in (roles/logging/templates), as rendered for one collector.
ROLE_DROPIN = """# Ansible managed
action(type="omfwd" name="dockguard_forward"
       target="collector.example" port="6514" protocol="tcp"
       StreamDriver="gtls" StreamDriverMode="1"
       StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="collector.example"
       StreamDriver.CAFile="/etc/dockguard/logging-tls/ca.pem"
       template="RSYSLOG_SyslogProtocol23Format"
       queue.type="LinkedList" queue.filename="dockguard_forward"
       queue.maxDiskSpace="1g" queue.saveOnShutdown="on"
       action.resumeRetryCount="-1" action.resumeInterval="10")
"""


def one(text: str, *before: tuple[str, str]) -> lg.Forward:
    found = lg.rsyslog_forwards([*before, ("/etc/rsyslog.d/x.conf", text)])
    assert len(found) == 1, found
    return found[0]


def test_the_roles_dropin_is_a_secure_disk_assisted_forward() -> None:
    f = one(ROLE_DROPIN)
    assert (f.target, f.port, f.protocol, f.driver, f.mode, f.auth_mode) == (
        "collector.example", "6514", "tcp", "gtls", "1", "x509/name"
    )  # fmt: skip
    assert f.secure and f.disk_assisted
    assert f.describe() == (
        "omfwd to collector.example:6514 (tcp) in /etc/rsyslog.d/x.conf: over TLS (gtls, mode 1, auth x509/name), "
        "disk-assisted queue"
    )


@pytest.mark.parametrize(
    ("text", "tls", "secure", "disk", "shown"),
    [
        ('action(type="omfwd" target="a" protocol="tcp")', False, False, False, "without TLS (driver ptcp, mode 0)"),
        ('action(type="omfwd" target="a")', False, False, False, "(udp)"),
        (
            'action(type="omfwd" target="a" protocol="tcp" StreamDriver="ossl" StreamDriverMode="1" '
            'StreamDriverAuthMode="anon")',
            True,
            False,
            False,
            "without authenticating the collector (auth mode anon)",
        ),
        (
            "action(type='omfwd' target='a' protocol='tcp' streamdriver.name='gtls' streamdriver.mode='1' "
            "streamdriver.authmode='x509/certvalid' queue.type='FixedArray' queue.filename='q')",
            True,
            True,
            True,
            "auth x509/certvalid",
        ),
        (
            'action(type="omfwd" target="a" protocol="tcp" StreamDriverMode="1" StreamDriverAuthMode="x509/name" '
            'queue.type="LinkedList")',
            False,
            False,
            False,
            "no disk-assisted queue",
        ),
        (
            "$DefaultNetstreamDriver gtls\n$ActionSendStreamDriverMode 1\n$ActionSendStreamDriverAuthMode x509/name\n"
            "$ActionQueueType LinkedList\n$ActionQueueFileName fwd\n*.* @@(o)logs.example:6514\n",
            True,
            True,
            True,
            "omfwd to logs.example:6514 (tcp)",
        ),
        ("*.* @[2001:db8::1]:514\n", False, False, False, "omfwd to 2001:db8::1:514 (udp)"),
    ],
)
def test_forwards(text: str, tls: bool, secure: bool, disk: bool, shown: str) -> None:
    f = one(text)
    assert (f.tls, f.secure, f.disk_assisted) == (tls, secure, disk), f
    assert shown in f.describe()


def test_global_default_driver_applies_to_actions_without_one() -> None:
    glob = ("/etc/rsyslog.conf", 'global(DefaultNetstreamDriver="gtls")\n')
    f = one(
        'action(type="omfwd" target="a" protocol="tcp" StreamDriverMode="1" StreamDriverAuthMode="x509/name")', glob
    )
    assert f.driver == "gtls" and f.secure


@pytest.mark.parametrize(
    "text",
    [
        '# action(type="omfwd" target="a" protocol="tcp")\n',
        '/* action(type="omfwd" target="a")\n */\n',
        'action(type="omfile" file="/var/log/x")\n',
        "#*.* @@logs.example:514\n",
        "$ActionSendStreamDriverMode 1\n",
    ],
)
def test_no_forward(text: str) -> None:
    assert lg.rsyslog_forwards([("/etc/rsyslog.conf", text)]) == []


def test_a_hash_inside_quotes_is_not_a_comment() -> None:
    f = one('action(type="omfwd" target="a#b" protocol="tcp")  # trailing comment')
    assert f.target == "a#b"


def test_legacy_queue_directives_apply_to_the_next_action_only() -> None:
    found = lg.rsyslog_forwards(
        [("/etc/rsyslog.conf", "$ActionQueueType LinkedList\n$ActionQueueFileName q\n*.* @@a:1\n*.* @@b:2\n")]
    )
    assert [(f.target, f.disk_assisted) for f in found] == [("a", True), ("b", False)]


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        ('module(load="imjournal" StateFile="imjournal.state")\n', True),
        ("$ModLoad imjournal\n", True),
        ('# module(load="imjournal")\nmodule(load="imuxsock")\n', False),
    ],
)
def test_reads_journal(text: str, reads: bool) -> None:
    assert lg.reads_journal([("/etc/rsyslog.conf", text)]) is reads


def test_ini_value_last_one_wins_in_its_section() -> None:
    files = [
        (
            "/etc/systemd/journald.conf",
            "[Journal]\n#ForwardToSyslog=no\nForwardToSyslog=no\n[Other]\nForwardToSyslog=x\n",
        ),
        ("/etc/systemd/journald.conf.d/60.conf", "[Journal]\nForwardToSyslog = yes\n"),
    ]
    assert lg.ini_value(files, "Journal", "ForwardToSyslog") == ("yes", "/etc/systemd/journald.conf.d/60.conf")
    assert lg.ini_value(files[:1], "Journal", "ForwardToSyslog") == ("no", "/etc/systemd/journald.conf")
    assert lg.ini_value(files, "Journal", "Storage") is None
