# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The authorization plugin service: Docker's plugin protocol over a UNIX socket, stdlib only.

Endpoints (dockerd POSTs JSON): /Plugin.Activate -> {"Implements": ["authz"]}; /AuthZPlugin.AuthZReq ->
{"Allow", "Msg"} from the judge; /AuthZPlugin.AuthZRes -> {"Allow": true} (responses are not filtered).

The listening socket comes from systemd (socket activation: it exists before dockerd starts and outlives a
restart of this process) or is bound at --socket. The policy is re-read when its file changes (checked on
every request: one stat) or on SIGHUP; a policy that fails validation is never loaded, the one in force stays
and the failure is logged. Without any valid policy every judged request is refused. Every decision is one
JSON line in the log (reopened on SIGHUP, for rotation).
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _sigverify
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import judge as jg
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import policy as pol

# an AuthZReq carries at most 1 MiB of body, base64: more than this is not dockerd talking
MAX_REQUEST = 4 * 1024 * 1024
CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DecisionLog:
    """JSON lines, one per decision, appended; reopened on SIGHUP."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fh: t.TextIO | None = None
        self.reopen()

    def reopen(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
            self._fh = open(self.path, "a", encoding="utf-8") if self.path else None  # noqa: SIM115

    def write(self, record: dict[str, t.Any]) -> None:
        line = json.dumps({"time": _now(), **record}, sort_keys=True) + "\n"
        with self._lock:
            out = self._fh or sys.stderr
            out.write(line)
            out.flush()


class Service:
    """The judge under the policy in force, kept current with its file."""

    def __init__(self, policy_path: str, log: DecisionLog, verify: t.Any = None) -> None:
        self.policy_path = policy_path
        self.log = log
        self.verify = verify
        self.judge: jg.Judge | None = None
        self._seen: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        self.reload(force=True)

    def reload(self, force: bool = False) -> None:
        """Load the policy file when it changed (or force); an invalid one is logged and not loaded."""
        try:
            st = os.stat(self.policy_path)
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError as exc:
            seen = (0, 0, 0)
            problem: str | None = f"cannot read {self.policy_path}: {exc.strerror}"
        else:
            problem = None
        if seen == self._seen and not force:
            return
        with self._lock:
            if seen == self._seen and not force:
                return
            self._seen = seen
            if problem is None:
                try:
                    with open(self.policy_path, encoding="utf-8") as fh:
                        policy = pol.loads(fh.read(pol.MAX_POLICY + 1))
                except (OSError, pol.PolicyError) as exc:
                    problem = getattr(exc, "msg", None) or str(exc)
                else:
                    self.judge = jg.Judge(policy, self.verify)
                    self.log.write({"event": "policy loaded", "path": self.policy_path, "mode": policy.mode})
                    return
            kept = "the policy loaded before stays in force" if self.judge else "no policy: judged requests refused"
            self.log.write({"event": "policy refused", "path": self.policy_path, "error": problem, "kept": kept})

    def authz(self, req: dict[str, t.Any]) -> dict[str, t.Any]:
        self.reload()
        judge = self.judge
        if judge is None:
            judge = jg.Judge(pol.load({"rules": {}}), self.verify)
            decision = judge.decide(req)
            if decision.endpoint not in ("read", "not judged"):
                decision = decision._replace(allow=False, msg="dockguard-authz has no valid policy loaded: refused")
        else:
            try:
                decision = judge.decide(req)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                decision = jg.Decision(False, "error", f"dockguard-authz could not judge this request ({exc}): refused")
        self.log.write(record(decision, judge.policy.mode))
        return {"Allow": decision.allow, "Msg": decision.msg}


def record(d: jg.Decision, mode: str) -> dict[str, t.Any]:
    """The decision log's line for one decision."""

    def rules(found: t.Iterable[jg.Finding]) -> list[dict[str, str]]:
        return [
            {"rule": f.rule, "control": pol.RULES[f.rule].control if f.rule in pol.RULES else "", "detail": f.detail}
            for f in found
        ]

    out: dict[str, t.Any] = {
        "user": d.user,
        "method": d.method,
        "path": d.path,
        "endpoint": d.endpoint,
        "allowed": d.allow,
        "mode": mode,
    }
    if d.denied or not d.allow:
        out["denied"] = rules(d.denied) or [{"rule": "error", "detail": d.msg}]
    if d.warned:
        out["warned"] = rules(d.warned)
    if d.excepted:
        out["excepted"] = [{**rules([f])[0], "exception": n} for f, n in d.excepted]
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: UnixServer

    def log_message(self, *args: t.Any) -> None:
        """Quiet: the decision log is the record."""

    def _reply(self, status: int, body: dict[str, t.Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> dict[str, t.Any] | str:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            return "a chunked request to the plugin cannot be judged"
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_REQUEST:
            self.close_connection = True
            return f"a request to the plugin of {length} bytes cannot be judged"
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return "the request to the plugin is not JSON"
        return data if isinstance(data, dict) else "the request to the plugin is not a JSON object"

    def do_POST(self) -> None:
        service = self.server.service
        body = self._body()
        if self.path == "/Plugin.Activate":
            self._reply(200, {"Implements": ["authz"]})
        elif self.path == "/AuthZPlugin.AuthZReq":
            if isinstance(body, str):
                service.log.write({"event": "unreadable", "allowed": False, "detail": body})
                self._reply(200, {"Allow": False, "Msg": f"dockguard-authz: {body}: refused"})
            else:
                self._reply(200, service.authz(body))
        elif self.path == "/AuthZPlugin.AuthZRes":
            self._reply(200, {"Allow": True})
        else:
            self._reply(404, {"Err": f"unknown endpoint {self.path}"})


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    service: Service


def listening_socket(path: str | None) -> socket.socket:
    """The socket systemd passed (LISTEN_FDS), or one bound at path (mode 0600)."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS") == "1":
        return socket.socket(fileno=3)
    if not path:
        raise SystemExit("dockguard-authz: no socket from systemd and no --socket given")
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(128)
    return sock


def make_server(policy_path: str, log_path: str | None, socket_path: str | None) -> UnixServer:
    """The server, listening, with its service (policy loaded, log open); serve_forever() runs it."""
    log = DecisionLog(log_path)
    server = UnixServer(socket_path or "", Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listening_socket(socket_path)
    server.service = Service(policy_path, log, _sigverify.verify_image)
    return server


def serve(policy_path: str, log_path: str | None, socket_path: str | None) -> None:
    server = make_server(policy_path, log_path, socket_path)
    service, log = server.service, server.service.log

    def hup(signum: int, frame: t.Any) -> None:
        log.reopen()
        threading.Thread(target=service.reload, kwargs={"force": True}, daemon=True).start()

    signal.signal(signal.SIGHUP, hup)
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown).start())
    log.write({"event": "started", "pid": os.getpid(), "policy": policy_path})
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="dockguard-authz", description="Docker authorization plugin (dockguard)")
    ap.add_argument("--policy", default="/etc/dockguard/authz/policy.json")
    ap.add_argument("--log", default="/var/log/dockguard-authz/decisions.jsonl")
    ap.add_argument("--socket", help="bind here when systemd passes no socket")
    args = ap.parse_args(argv)
    serve(args.policy, args.log or None, args.socket)
