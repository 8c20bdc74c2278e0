# SPDX-License-Identifier: GPL-3.0-or-later
"""What the running daemon reports, in daemon.json terms, and the small Engine API client."""

from __future__ import annotations

import http.server
import json
import pathlib
import socketserver
import tempfile
import threading
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

INFO: dict[str, t.Any] = {
    "LiveRestoreEnabled": True,
    "Debug": False,
    "ExperimentalBuild": False,
    "SecurityOptions": ["name=apparmor", "name=seccomp,profile=builtin", "name=userns", "name=cgroupns"],
    "LoggingDriver": "json-file",
    "Driver": "overlay2",
    "DockerRootDir": "/var/lib/docker",
    "DefaultRuntime": "runc",
    "Labels": ["env=prod"],
    "RegistryConfig": {"Mirrors": ["https://mirror.example/"]},
    "ContainersRunning": 2,
}
BRIDGE: dict[str, t.Any] = {"Name": "bridge", "Options": {"com.docker.network.bridge.enable_icc": "false"}}


@pytest.mark.parametrize(
    ("docker_host", "path"),
    [
        ("unix:///var/run/docker.sock", "/var/run/docker.sock"),
        ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
        ("/var/run/docker.sock", "/var/run/docker.sock"),
    ],
)
def test_socket_path(docker_host: str, path: str) -> None:
    assert _engine.socket_path(docker_host) == path


@pytest.mark.parametrize("docker_host", ["tcp://127.0.0.1:2376", "ssh://me@host", "docker.sock", ""])
def test_socket_path_refuses_anything_but_unix(docker_host: str) -> None:
    with pytest.raises(_engine.EngineError) as err:
        _engine.socket_path(docker_host)
    assert str(err.value) == f"only unix:// sockets are supported here, got {docker_host!r}"


@pytest.mark.parametrize(
    ("key", "info", "bridge", "expected"),
    [
        ("live-restore", INFO, BRIDGE, (True, True)),
        ("live-restore", {}, None, (True, False)),
        ("debug", {"Debug": True}, None, (True, True)),
        ("experimental", INFO, None, (True, False)),
        ("selinux-enabled", INFO, None, (True, False)),
        ("selinux-enabled", {"SecurityOptions": ["name=selinux"]}, None, (True, True)),
        ("userns-remap", INFO, None, (True, True)),
        ("userns-remap", {"SecurityOptions": None}, None, (True, False)),
        ("log-driver", INFO, None, (True, "json-file")),
        ("storage-driver", INFO, None, (True, "overlay2")),
        ("data-root", INFO, None, (True, "/var/lib/docker")),
        ("default-runtime", INFO, None, (True, "runc")),
        ("labels", INFO, None, (True, ["env=prod"])),
        ("labels", {"Labels": None}, None, (True, [])),
        ("registry-mirrors", INFO, None, (True, ["https://mirror.example"])),
        ("registry-mirrors", {}, None, (True, [])),
        ("icc", INFO, BRIDGE, (True, False)),
        ("icc", INFO, {"Options": {"com.docker.network.bridge.enable_icc": "true"}}, (True, True)),
        ("icc", INFO, {"Options": {}}, (True, True)),  # absent option: dockerd's default, icc on
        ("icc", INFO, {"Options": None}, (True, True)),
        ("icc", INFO, None, (False, None)),  # no bridge network to ask
        ("no-new-privileges", INFO, BRIDGE, (False, None)),
        ("log-opts", INFO, BRIDGE, (False, None)),
    ],
)
def test_observe(
    key: str, info: dict[str, t.Any], bridge: dict[str, t.Any] | None, expected: tuple[bool, t.Any]
) -> None:
    assert _engine.observe(key, info, bridge) == expected


@pytest.mark.parametrize(
    ("key", "value", "want"),
    [
        ("userns-remap", "default", True),
        ("userns-remap", "", False),
        ("registry-mirrors", ["https://a.example/", "https://b.example"], ["https://a.example", "https://b.example"]),
        ("registry-mirrors", "https://a/", "https://a/"),  # not a list: left for validation to refuse
        ("live-restore", True, True),
        ("labels", ["a=1"], ["a=1"]),
        ("log-driver", "journald", "journald"),
    ],
)
def test_expected(key: str, value: t.Any, want: t.Any) -> None:
    assert _engine.expected(key, value) == want


@pytest.mark.parametrize(
    ("key", "configured"),
    [
        ("live-restore", True),
        ("userns-remap", "default"),
        ("registry-mirrors", ["https://mirror.example/"]),
        ("registry-mirrors", ["https://mirror.example"]),
        ("labels", ["env=prod"]),
        ("icc", False),
        ("data-root", "/var/lib/docker"),
    ],
)
def test_configured_value_matches_what_the_daemon_reports(key: str, configured: t.Any) -> None:
    observable, observed = _engine.observe(key, INFO, BRIDGE)
    assert observable
    assert dj.same_value(key, _engine.expected(key, configured), observed)


def test_data_root_with_trailing_slash_matches_the_cleaned_report() -> None:
    _observable, observed = _engine.observe("data-root", INFO, None)
    assert dj.same_value("data-root", _engine.expected("data-root", "/var/lib/docker/"), observed)


def test_data_root_is_compared_with_symlinks_resolved(tmp_path: pathlib.Path) -> None:
    # dockerd reports DockerRootDir through ReadSymlinkedDirectory: cleaned, symlinks resolved
    real = tmp_path / "disk" / "docker"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "disk")
    info = {"DockerRootDir": str(real)}
    _observable, observed = _engine.observe("data-root", info, None)
    for configured in (f"{tmp_path}/link/docker", f"{tmp_path}/link/docker/", f"{tmp_path}//link/./docker"):
        assert _engine.expected("data-root", configured) == str(real)
        assert dj.same_value("data-root", _engine.expected("data-root", configured), observed)
    # a different directory still differs
    assert not dj.same_value("data-root", _engine.expected("data-root", f"{tmp_path}/link"), observed)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("/nonexistent-dockguard/a/../b//", "/nonexistent-dockguard/b"),  # cleaned even where nothing exists
        ("relative/dir/", "relative/dir"),
        ("", ""),
        (5, 5),  # not a string: left for validation to refuse
    ],
)
def test_expected_data_root_is_cleaned(value: t.Any, want: t.Any) -> None:
    assert _engine.expected("data-root", value) == want


@pytest.mark.parametrize(
    ("info", "observed"),
    [
        ({"DockerRootDir": "/srv/docker/"}, "/srv/docker"),
        # with userns-remap dockerd runs in (and reports) the UID.GID subdirectory of data-root
        ({"DockerRootDir": "/srv/docker/100000.100000", "SecurityOptions": ["name=userns"]}, "/srv/docker"),
        ({"DockerRootDir": "/srv/docker/100000.100000"}, "/srv/docker/100000.100000"),
        ({"DockerRootDir": "/srv/1.2", "SecurityOptions": ["name=seccomp,profile=builtin"]}, "/srv/1.2"),
        ({}, None),
    ],
)
def test_observe_data_root_in_daemon_json_terms(info: dict[str, t.Any], observed: t.Any) -> None:
    assert _engine.observe("data-root", info, None) == (True, observed)


@pytest.mark.parametrize(
    ("info", "held"),
    [
        ({"LiveRestoreEnabled": True, "ContainersRunning": 2}, True),
        ({"LiveRestoreEnabled": True, "ContainersRunning": 0}, False),
        ({"LiveRestoreEnabled": True, "ContainersRunning": None}, False),
        ({"LiveRestoreEnabled": False, "ContainersRunning": 5}, False),
        ({}, False),
    ],
)
def test_bridge_held(info: dict[str, t.Any], held: bool) -> None:
    assert _engine.bridge_held(info) is held


def test_bridge_keys_include_icc() -> None:
    assert "icc" in _engine.BRIDGE_KEYS
    assert "live-restore" not in _engine.BRIDGE_KEYS


# -- get() against a real UNIX socket ----------------------------------------------------

ROUTES: dict[str, tuple[int, str]] = {
    "/_ping": (200, "OK"),
    "/info": (200, json.dumps(INFO)),
    "/broken": (500, '{"message":"boom"}\n'),
    "/notjson": (200, "<html>"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ROUTES.get(self.path, (404, "page not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: t.Any) -> None:
        return


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self) -> tuple[t.Any, t.Any]:
        request, _addr = super().get_request()
        return request, ("local", 0)  # BaseHTTPRequestHandler expects a (host, port) address


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> t.Iterator[str]:
    """A UNIX socket path that handler answers on, while the generator is open."""
    # a short directory: AF_UNIX paths are limited to 107 bytes
    with tempfile.TemporaryDirectory(prefix="dg-") as tmp:
        path = str(pathlib.Path(tmp) / "d.sock")
        server = _UnixHTTPServer(path, handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        try:
            yield path
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def engine_socket() -> t.Iterator[str]:
    yield from _serve(_Handler)


def test_get_ping_is_text_and_info_is_json(engine_socket: str) -> None:
    assert _engine.get(f"unix://{engine_socket}", "/_ping", timeout=2) == "OK"
    assert _engine.get(engine_socket, "/info", timeout=2) == INFO


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/broken", 'GET /broken answered 500: {"message":"boom"}'),
        ("/nowhere", "GET /nowhere answered 404: page not found"),
        ("/notjson", "GET /notjson returned no JSON: '<html>'"),
    ],
)
def test_get_errors(engine_socket: str, path: str, message: str) -> None:
    with pytest.raises(_engine.EngineError) as err:
        _engine.get(engine_socket, path, timeout=2)
    assert str(err.value) == message


def test_get_without_a_daemon_names_the_socket(tmp_path: pathlib.Path) -> None:
    host = f"unix://{tmp_path}/absent.sock"
    with pytest.raises(_engine.EngineError) as err:
        _engine.get(host, "/_ping", timeout=1)
    assert str(err.value).startswith(f"{host}: ")


# -- Client: one kept-alive connection, a bounded retry, one error type ---------------------------


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; /hangup closes the connection after answering (an idle daemon's close),
    /drop closes it without answering."""

    protocol_version = "HTTP/1.1"
    connections: t.ClassVar[list[int]] = []

    def setup(self) -> None:
        super().setup()
        self.connections.append(1)

    def do_GET(self) -> None:
        if self.path == "/drop":
            self.close_connection = True
            return
        data = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = self.path == "/hangup"

    def log_message(self, format: str, *args: t.Any) -> None:
        return


@pytest.fixture
def keepalive_socket() -> t.Iterator[str]:
    _KeepAliveHandler.connections.clear()
    yield from _serve(_KeepAliveHandler)


def test_client_keeps_one_connection_for_many_requests(keepalive_socket: str) -> None:
    with _engine.Client(f"unix://{keepalive_socket}", timeout=2) as client:
        answers = [client.get(f"/containers/{n}/json") for n in range(5)]
    assert answers == [{"path": f"/containers/{n}/json"} for n in range(5)]
    assert len(_KeepAliveHandler.connections) == 1


def test_client_retries_once_on_a_connection_the_daemon_closed(keepalive_socket: str) -> None:
    with _engine.Client(keepalive_socket, timeout=2) as client:
        assert client.get("/hangup") == {"path": "/hangup"}
        # the kept-alive connection is gone: the request is sent again on a fresh one
        assert client.get("/info") == {"path": "/info"}
    assert len(_KeepAliveHandler.connections) == 2


@pytest.mark.parametrize(("retries", "connections"), [(0, 1), (1, 2), (3, 4)])
def test_client_retries_are_bounded(keepalive_socket: str, retries: int, connections: int) -> None:
    client = _engine.Client(keepalive_socket, timeout=2, retries=retries)
    with pytest.raises(_engine.EngineError) as err:
        client.get("/drop")
    assert str(err.value).startswith(f"{keepalive_socket}: the Engine API does not answer: ")
    assert err.value.status == 0
    assert len(_KeepAliveHandler.connections) == connections


def test_client_does_not_retry_a_missing_socket(tmp_path: pathlib.Path) -> None:
    client = _engine.Client(str(tmp_path / "absent.sock"), timeout=1, retries=5)
    with pytest.raises(_engine.EngineError, match=r"No such file or directory"):
        client.get("/info")


def test_engine_errors_are_dockguard_errors_with_the_http_status(engine_socket: str) -> None:
    with pytest.raises(DockguardError) as err:
        _engine.Client(engine_socket, timeout=2).get("/nowhere")
    assert isinstance(err.value, _engine.EngineError)
    assert err.value.status == 404
    assert err.value.msg == "GET /nowhere answered 404: page not found"
