# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""How a host forwards its logs, read from configuration text (pure: no host access).

The CIS audit (2.13) asks where a journald host's logs go. Three readers:

- rsyslog: every ``omfwd`` action in RainerScript (``action(type="omfwd" ...)``)
  and in the legacy form (``*.* @@host:port`` after ``$ActionSendStreamDriver...``
  directives), with the stream driver, its mode and authentication mode, and
  the action's queue. ``global(DefaultNetstreamDriver=...)`` and
  ``$DefaultNetstreamDriver`` give the driver of actions that name none.
- systemd-journal-upload: ``URL=`` of the ``[Upload]`` section.
- journald: the last ``ForwardToSyslog=`` of the ``[Journal]`` section.

A forward is secure when it runs over TCP with a TLS driver (gtls, ossl,
mbedtls) in mode 1 and authenticates its peer (any mode but ``anon``).
"""

from __future__ import annotations

import re
import typing as t

TLS_DRIVERS = ("gtls", "ossl", "mbedtls")
DISK_QUEUES = ("linkedlist", "fixedarray", "disk")

Text = tuple[str, str]  # (path, content)


class Forward(t.NamedTuple):
    path: str
    target: str
    port: str
    protocol: str
    driver: str
    mode: str
    auth_mode: str
    queue_type: str
    queue_file: str

    @property
    def tls(self) -> bool:
        return self.protocol == "tcp" and self.driver in TLS_DRIVERS and self.mode == "1"

    @property
    def secure(self) -> bool:
        return self.tls and self.auth_mode not in ("", "anon")

    @property
    def disk_assisted(self) -> bool:
        return bool(self.queue_file) and self.queue_type in DISK_QUEUES

    def describe(self) -> str:
        where = f"omfwd to {self.target}:{self.port or '514'} ({self.protocol}) in {self.path}"
        if not self.tls:
            how = f"without TLS (driver {self.driver or 'ptcp'}, mode {self.mode or '0'})"
        elif not self.secure:
            how = f"over TLS ({self.driver}) without authenticating the collector (auth mode anon)"
        else:
            how = f"over TLS ({self.driver}, mode 1, auth {self.auth_mode})"
        queue = "disk-assisted queue" if self.disk_assisted else "no disk-assisted queue (lines lost in an outage)"
        return f"{where}: {how}, {queue}"


def _strip_comments(text: str) -> str:
    """The text without /* */ blocks and # comments (a # inside quotes is kept)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    out = []
    for line in text.splitlines():
        quote = ""
        for i, ch in enumerate(line):
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


_PARAM = re.compile(r"""([A-Za-z][\w.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|\[([^\]]*)\]|([^\s)]+))""")


def _objects(text: str, name: str) -> list[dict[str, str]]:
    """The parameters (lower-cased names) of every NAME(...) object in RainerScript text."""
    out = []
    for match in re.finditer(rf"\b{name}\s*\(", text, flags=re.I):
        depth, quote, end = 1, "", len(text)
        for i in range(match.end(), len(text)):
            ch = text[i]
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    end = i
                    break
        body = text[match.end() : end]
        out.append(
            {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _PARAM.finditer(body)}
        )
    return out


def _legacy_target(action: str) -> tuple[str, str, str]:
    """(protocol, host, port) of a legacy @host / @@host:port action (options in parentheses dropped)."""
    protocol = "tcp" if action.startswith("@@") else "udp"
    rest = action.lstrip("@").split(";", 1)[0].strip()
    rest = re.sub(r"^\([^)]*\)", "", rest)
    if rest.startswith("["):  # [ipv6]:port
        host, _unused, port = rest[1:].partition("]")
        return protocol, host, port.lstrip(":")
    host, _unused, port = rest.partition(":")
    return protocol, host, port


def _legacy_forwards(path: str, text: str, default_driver: str) -> list[Forward]:
    state = {"driver": default_driver, "mode": "", "auth": "", "qtype": "", "qfile": ""}
    keys = {
        "$defaultnetstreamdriver": "driver",
        "$actionsendstreamdriver": "driver",
        "$actionsendstreamdrivermode": "mode",
        "$actionsendstreamdriverauthmode": "auth",
        "$actionqueuetype": "qtype",
        "$actionqueuefilename": "qfile",
    }
    out = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].lower() in keys and len(words) > 1:
            state[keys[words[0].lower()]] = words[1].lower() if keys[words[0].lower()] != "qfile" else words[1]
            continue
        action = next((w for w in words[1:] if w.startswith("@")), None) if not words[0].startswith("$") else None
        if action and "(" not in words[0]:
            protocol, host, port = _legacy_target(action)
            out.append(
                Forward(
                    path,
                    host,
                    port,
                    protocol,
                    state["driver"],
                    state["mode"],
                    state["auth"],
                    state["qtype"],
                    state["qfile"],
                )
            )
            state["qtype"], state["qfile"] = "", ""  # queue directives apply to the next action only
    return out


def rsyslog_forwards(files: list[Text]) -> list[Forward]:
    """Every forwarding action of an rsyslog configuration (its files in the order rsyslog reads them)."""
    texts = [(path, _strip_comments(text)) for path, text in files]
    default_driver = ""
    for _path, text in texts:
        for g in _objects(text, "global"):
            default_driver = g.get("defaultnetstreamdriver", default_driver).lower()
        legacy = re.findall(r"^\s*\$DefaultNetstreamDriver\s+(\S+)", text, flags=re.I | re.M)
        default_driver = legacy[-1].lower() if legacy else default_driver
    out = []
    for path, text in texts:
        for a in _objects(text, "action"):
            if a.get("type", "").lower() != "omfwd":
                continue
            out.append(
                Forward(
                    path,
                    a.get("target", ""),
                    a.get("port", ""),
                    a.get("protocol", "udp").lower(),
                    a.get("streamdriver", a.get("streamdriver.name", default_driver)).lower(),
                    a.get("streamdrivermode", a.get("streamdriver.mode", "")),
                    a.get("streamdriverauthmode", a.get("streamdriver.authmode", "")).lower(),
                    a.get("queue.type", "").lower(),
                    a.get("queue.filename", ""),
                )
            )
        out += _legacy_forwards(path, text, default_driver)
    return out


def reads_journal(files: list[Text]) -> bool:
    """Whether rsyslog loads imjournal (it then reads the journal itself)."""
    return any(
        m.get("load", "").lower() == "imjournal"
        for _path, text in files
        for m in _objects(_strip_comments(text), "module")
    ) or any(re.search(r"^\s*\$ModLoad\s+imjournal\b", text, flags=re.I | re.M) for _path, text in files)


def ini_value(files: list[Text], section: str, key: str) -> tuple[str, str] | None:
    """(value, path) of the last KEY= in [SECTION] across systemd-style files read in order, or None."""
    found = None
    for path, text in files:
        current = ""
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                current = line[1:-1].strip()
            elif current == section and "=" in line:
                name, _unused, value = line.partition("=")
                if name.strip() == key:
                    found = (value.strip(), path)
    return found
