# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The Docker Engine API over the daemon's UNIX socket (stdlib only).

Used on managed hosts, where the docker SDK may not be installed, to ask the
running daemon what it really does.

Client is the one client: it keeps one connection alive between requests,
retries a bounded number of times when the connection breaks (a kept-alive
connection the daemon closed, a reset), and raises EngineError, a
DockguardError, for every failure. get() is a one-request Client for callers
that ask once.
"""

from __future__ import annotations

import http.client
import json
import os
import posixpath
import re
import socket
import time
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

# The most of an answer read: /info or one container's inspect is a few kB, the list of
# every container of a crowded host a few MB.
MAX_BODY = 16 * 1024 * 1024

# Errors of a connection that broke: worth one more try on a fresh connection.
# A socket that is missing, refused or forbidden, or a timeout, is not retried:
# the daemon is not there (or hangs), and trying again only doubles the wait.
_BROKEN = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    http.client.RemoteDisconnected,
    http.client.BadStatusLine,
)


class EngineError(DockguardError):
    """The daemon did not answer, or answered with an error; status is the HTTP status (0: no answer)."""

    def __init__(self, msg: str, status: int = 0, **details: t.Any) -> None:
        super().__init__(msg, **details)
        self.status = status


class _DeadlineSocket(socket.socket):
    """A socket whose every receive waits at most until the request's deadline.

    A plain timeout applies to each recv: a server that sends a byte at a time
    (a user's own daemon socket) would hold the caller for as long as it likes.
    """

    deadline: float = 0.0

    def recv_into(self, buffer: t.Any, nbytes: int = 0, flags: int = 0) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("the answer did not finish before the deadline")
        self.settimeout(remaining)
        return super().recv_into(buffer, nbytes, flags)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path
        self.deadline = 0.0

    def connect(self) -> None:
        sock = _DeadlineSocket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.deadline = self.deadline or time.monotonic() + float(t.cast(float, self.timeout))
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock

    def start(self, deadline: float) -> None:
        """Bound the next request (headers and body) by deadline."""
        self.deadline = deadline
        if isinstance(self.sock, _DeadlineSocket):
            self.sock.deadline = deadline


def socket_path(docker_host: str) -> str:
    if docker_host.startswith("unix://"):
        return docker_host[len("unix://") :]
    if docker_host.startswith("/"):
        return docker_host
    raise EngineError(f"only unix:// sockets are supported here, got {docker_host!r}")


class Client:
    """GET requests to one daemon over one kept-alive UNIX-socket connection.

    A request whose connection breaks is sent again on a fresh connection, at
    most retries more times. Use it as a context manager, or close() it.
    """

    def __init__(self, docker_host: str, timeout: float = 5.0, retries: int = 1, max_body: int = MAX_BODY) -> None:
        self.docker_host = docker_host
        self.max_body = max_body
        self.path = socket_path(docker_host)
        self.timeout = timeout
        self.retries = max(0, retries)
        self._conn: _UnixConnection | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _request(self, path: str) -> tuple[int, bytes]:
        for attempt in range(self.retries + 1):
            if self._conn is None:
                self._conn = _UnixConnection(self.path, self.timeout)
            try:
                deadline = time.monotonic() + self.timeout
                self._conn.start(deadline)
                self._conn.request("GET", path)
                resp = self._conn.getresponse()
                return resp.status, self._read_body(resp, path, deadline)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt < self.retries and isinstance(exc, _BROKEN):
                    continue
                raise EngineError(f"{self.docker_host}: the Engine API does not answer: {exc}") from exc
        raise EngineError(f"{self.docker_host}: the Engine API does not answer")  # pragma: no cover

    def _read_body(self, resp: http.client.HTTPResponse, path: str, deadline: float) -> bytes:
        """The body, within the request's deadline and size bound.

        A user's daemon answers on a socket the user controls: an answer that
        trickles or never ends must not hold root's run (or a lock) past the
        timeout, nor fill its memory.
        """
        length = resp.getheader("Content-Length")
        if length and length.isdigit() and int(length) > self.max_body:
            raise EngineError(
                f"{self.docker_host}: GET {path} announced {length} bytes, more than the {self.max_body} read here"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EngineError(f"{self.docker_host}: GET {path} did not finish answering within {self.timeout:g}s")
            if self._conn is not None and self._conn.sock is not None:
                self._conn.sock.settimeout(remaining)
            chunk = resp.read1(65536) if resp.length != 0 else b""
            if not chunk:
                resp.read()  # the end of this answer: the response closes, the connection stays for the next
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_body:
                raise EngineError(
                    f"{self.docker_host}: GET {path} answered more than the {self.max_body} bytes read here"
                )
            chunks.append(chunk)

    def get(self, path: str) -> t.Any:
        """GET path: the decoded JSON (the text for /_ping); EngineError on any failure."""
        status, raw = self._request(path)
        body = raw.decode("utf-8", "replace")
        if status != 200:
            raise EngineError(f"GET {path} answered {status}: {body.strip()[:200]}", status=status)
        if path == "/_ping":
            return body
        try:
            return json.loads(body)
        except ValueError as exc:
            raise EngineError(f"GET {path} returned no JSON: {body[:200]!r}", status=status) from exc


def get(docker_host: str, path: str, timeout: float = 5.0) -> t.Any:
    """GET path from the Engine API on a connection of its own; the decoded JSON (or text for /_ping)."""
    with Client(docker_host, timeout) as client:
        return client.get(path)


def security_names(info: dict[str, t.Any]) -> set[str]:
    """The names in docker info's SecurityOptions (apparmor, seccomp, userns, rootless, ...)."""
    names = set()
    for opt in info.get("SecurityOptions") or []:
        for part in str(opt).split(","):
            if part.startswith("name="):
                names.add(part[len("name=") :])
    return names


def _data_root(reported: t.Any, userns: bool) -> t.Any:
    """DockerRootDir as a data-root value: with userns-remap dockerd reports its UID.GID subdirectory."""
    if not isinstance(reported, str) or not reported:
        return reported
    root = posixpath.normpath(reported)
    if userns and re.fullmatch(r"\d+\.\d+", posixpath.basename(root)):
        root = posixpath.dirname(root)
    return root


def observe(key: str, info: dict[str, t.Any], bridge: dict[str, t.Any] | None) -> tuple[bool, t.Any]:
    """What the running daemon reports for a daemon.json key: (observable, value).

    The value is in daemon.json terms, so it compares with the configured one.
    """
    sec = security_names(info)
    bridge_opts = (bridge or {}).get("Options") or {}
    table: dict[str, t.Callable[[], t.Any]] = {
        "live-restore": lambda: bool(info.get("LiveRestoreEnabled")),
        "debug": lambda: bool(info.get("Debug")),
        "experimental": lambda: bool(info.get("ExperimentalBuild")),
        "selinux-enabled": lambda: "selinux" in sec,
        "userns-remap": lambda: "userns" in sec,
        "log-driver": lambda: info.get("LoggingDriver"),
        "storage-driver": lambda: info.get("Driver"),
        "data-root": lambda: _data_root(info.get("DockerRootDir"), "userns" in sec),
        "default-runtime": lambda: info.get("DefaultRuntime"),
        "labels": lambda: list(info.get("Labels") or []),
        "registry-mirrors": lambda: [m.rstrip("/") for m in (info.get("RegistryConfig") or {}).get("Mirrors") or []],
        "icc": lambda: bridge_opts.get("com.docker.network.bridge.enable_icc", "true") == "true",
    }
    if key not in table:
        return False, None
    if key == "icc" and bridge is None:
        return False, None
    return True, table[key]()


# Keys that shape the default bridge. With live-restore, dockerd keeps the old
# bridge while containers still run on it ("There are old running containers,
# the network config will not take affect"): such a key applies only once no
# container holds the bridge.
BRIDGE_KEYS = frozenset(
    {"bip", "default-gateway", "fixed-cidr", "fixed-cidr-v6", "icc", "ip", "ip-masq", "ipv6", "mtu"}
)


def bridge_held(info: dict[str, t.Any]) -> bool:
    """True when live-restore kept containers running, so the default bridge was not rebuilt."""
    return bool(info.get("LiveRestoreEnabled")) and int(info.get("ContainersRunning") or 0) > 0


def expected(key: str, value: t.Any) -> t.Any:
    """The observation that a configured value should produce.

    data-root is reported cleaned and with symlinks resolved (dockerd's
    ReadSymlinkedDirectory): resolved here too, on the managed host, after the
    restart that created the directory.
    """
    if key == "data-root" and isinstance(value, str) and value:
        path = posixpath.normpath(value)
        return os.path.realpath(path) if posixpath.isabs(path) else path
    if key == "userns-remap":
        return bool(value)
    if key == "registry-mirrors" and isinstance(value, list):
        return [str(m).rstrip("/") for m in value]
    return value
