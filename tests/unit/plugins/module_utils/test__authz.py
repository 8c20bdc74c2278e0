# SPDX-License-Identifier: GPL-3.0-or-later
"""The authorization plugin's pure parts: policy validation, the judge of every door, exceptions, warn mode,
image rules with an injected verifier; and the service for real on a UNIX socket in a temporary directory."""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import os
import pathlib
import socket
import threading
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils._authz import images as im
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import judge as jg
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import policy as pol
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import predicates as pr
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import server as srv

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
LIMITS = {"Memory": 67108864, "PidsLimit": 50}
DIGEST = "sha256:" + "ab" * 32
LINKS = {"/home/alice/etc-link": "/etc", "/tmp/sock-dir": "/var/run", "/srv/data": "/srv/data"}


def resolve(path: str) -> str:
    """The host's links for these tests (os.path.realpath's role in the plugin)."""
    for link, target in LINKS.items():
        if path == link or path.startswith(link + "/"):
            return target + path[len(link) :]
    return path


def judge(policy: dict[str, t.Any] | None = None, verify: t.Any = None) -> jg.Judge:
    return jg.Judge(pol.load(policy or {}), verify=verify, resolve=resolve, now=lambda: NOW)


def req(
    path: str, body: t.Any = None, method: str = "POST", user: str = "", raw: str | None = None
) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"User": user, "RequestMethod": method, "RequestUri": "/v1.41" + path}
    if raw is not None:
        out["RequestBody"] = raw
    elif body is not None:
        out["RequestBody"] = base64.b64encode(json.dumps(body).encode()).decode()
    return out


def create(image: str = "app:1", user: str = "", **host_config: t.Any) -> dict[str, t.Any]:
    return req("/containers/create?name=x", {"Image": image, "HostConfig": {**LIMITS, **host_config}}, user=user)


def rules(decision: jg.Decision) -> list[str]:
    return sorted({f.rule for f in decision.denied})


# -- each rule on containers/create ------------------------------------------------------------------------------
CREATE_CASES = [
    ({}, []),
    ({"Privileged": True}, ["privileged"]),
    ({"MaskedPaths": [], "ReadonlyPaths": []}, ["privileged"]),
    ({"CapAdd": ["SYS_ADMIN"]}, ["capabilities"]),
    ({"CapAdd": ["cap_sys_admin"]}, ["capabilities"]),
    ({"NetworkMode": "host"}, ["host_network"]),
    ({"PidMode": "host"}, ["host_pid"]),
    ({"PidMode": "container:abc"}, []),
    ({"IpcMode": "host"}, ["host_ipc"]),
    ({"UTSMode": "host"}, ["host_uts"]),
    ({"UsernsMode": "host"}, ["host_userns"]),
    ({"CgroupnsMode": "host"}, ["host_cgroupns"]),
    ({"Binds": ["/etc:/x:ro"]}, ["sensitive_mounts"]),
    ({"Binds": ["/etc/ssl/certs:/x:ro"]}, ["sensitive_mounts"]),
    ({"Binds": ["/srv/../etc:/x:ro"]}, ["sensitive_mounts"]),
    ({"Binds": ["/home/alice/etc-link/shadow:/x:ro"]}, ["sensitive_mounts"]),
    ({"Binds": ["/:/host:ro"]}, ["docker_socket", "sensitive_mounts"]),
    ({"Binds": ["/srv/data:/data:ro"]}, []),
    ({"Binds": ["/srv/data:/data"]}, ["writable_mounts"]),
    ({"Binds": ["/srv/data:/data:rw"]}, ["writable_mounts"]),
    ({"Binds": ["named-volume:/data"]}, []),
    ({"Binds": ["/var/run/docker.sock:/s:ro"]}, ["docker_socket"]),
    ({"Binds": ["/tmp/sock-dir:/s:ro"]}, ["docker_socket"]),
    ({"Binds": ["/run/containerd/containerd.sock:/c:ro"]}, ["docker_socket"]),
    ({"Binds": ["/srv/data:/d:ro,rshared"]}, ["mount_propagation"]),
    ({"Mounts": [{"Type": "bind", "Source": "/etc", "Target": "/x", "ReadOnly": True}]}, ["sensitive_mounts"]),
    ({"Mounts": [{"Type": "bind", "Source": "/srv/data", "Target": "/x"}]}, ["writable_mounts"]),
    (
        {
            "Mounts": [
                {"Type": "bind", "Source": "/srv/data", "ReadOnly": True, "BindOptions": {"Propagation": "shared"}}
            ]
        },
        ["mount_propagation"],
    ),
    (
        {
            "Mounts": [
                {
                    "Type": "volume",
                    "Source": "v",
                    "Target": "/x",
                    "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": {"o": "bind", "device": "/etc"}}},
                }
            ]
        },
        ["sensitive_mounts", "writable_mounts"],
    ),
    ({"Mounts": [{"Type": "tmpfs", "Target": "/t"}]}, []),
    ({"Mounts": ["not-an-object"]}, [jg.UNJUDGED]),
    ({"Devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse"}]}, ["devices"]),
    ({"DeviceCgroupRules": ["c 10:229 rwm"]}, ["devices"]),
    ({"DeviceRequests": [{"Driver": "nvidia", "Count": -1}]}, ["devices"]),
    ({"SecurityOpt": ["seccomp=unconfined"]}, ["seccomp_unconfined"]),
    ({"SecurityOpt": ["seccomp:unconfined"]}, ["seccomp_unconfined"]),
    ({"SecurityOpt": ["apparmor=unconfined"]}, ["apparmor_unconfined"]),
    ({"SecurityOpt": ["label=disable"]}, ["selinux_disabled"]),
    ({"SecurityOpt": ["no-new-privileges=false"]}, ["no_new_privileges_off"]),
    ({"SecurityOpt": ["no-new-privileges"]}, []),
    ({"Memory": 0}, ["memory_limit"]),
    ({"PidsLimit": -1}, ["pids_limit"]),
    ({"PidsLimit": None}, ["pids_limit"]),
    ({"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}]}}, ["privileged_ports"]),
    ({"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80-90"}]}}, ["privileged_ports"]),
    ({"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}}, []),
    ({"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}}, ["all_interfaces"]),
    ({"PortBindings": {"80/tcp": [{"HostIp": "::", "HostPort": ""}]}}, ["all_interfaces"]),
    ({"PublishAllPorts": True}, ["all_interfaces"]),
    ({"RestartPolicy": {"Name": "always"}}, ["restart_policy"]),
    ({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 6}}, ["restart_policy"]),
    ({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5}}, []),
]


@pytest.mark.parametrize(("host_config", "expected"), CREATE_CASES, ids=[json.dumps(c[0])[:60] for c in CREATE_CASES])
def test_create_rules(host_config: dict[str, t.Any], expected: list[str]) -> None:
    d = judge().decide(create(**host_config))
    assert rules(d) == expected
    assert d.allow is (not expected)


def test_refusal_names_rule_control_and_fix() -> None:
    d = judge().decide(create(Privileged=True))
    assert d.msg.startswith("dockguard-authz refused this request: rule privileged (CIS 5.5): ")
    assert "to comply: drop --privileged" in d.msg


def test_capability_allowlist() -> None:
    j = judge({"rules": {"capabilities": {"action": "deny", "allow": ["NET_BIND_SERVICE"]}}})
    assert j.decide(create(CapAdd=["CAP_NET_BIND_SERVICE"])).allow
    assert rules(j.decide(create(CapAdd=["NET_BIND_SERVICE", "ALL"]))) == ["capabilities"]


def test_root_user_is_opt_in() -> None:
    assert judge().decide(create()).allow
    j = judge({"rules": {"root_user": "deny"}})
    for user in ("", "root", "0", "0:0", "root:staff"):
        body = {"Image": "app:1", "User": user, "HostConfig": LIMITS}
        assert rules(j.decide(req("/containers/create", body))) == ["root_user"], user
    assert j.decide(req("/containers/create", {"Image": "app:1", "User": "1000:1000", "HostConfig": LIMITS})).allow


# -- the other doors -----------------------------------------------------------------------------------------------
DOOR_CASES = [
    ("/containers/abc/update", {"PidsLimit": -1}, ["pids_limit"]),
    ("/containers/abc/update", {"PidsLimit": 0}, ["pids_limit"]),
    ("/containers/abc/update", {"Memory": -1}, ["memory_limit"]),
    ("/containers/abc/update", {"Memory": 0, "CpuShares": 512}, []),
    ("/containers/abc/update", {"RestartPolicy": {"Name": "unless-stopped"}}, ["restart_policy"]),
    ("/containers/abc/update", {"Devices": [{"PathOnHost": "/dev/sda"}]}, ["devices"]),
    ("/containers/abc/exec", {"Cmd": ["id"], "Privileged": True}, ["exec_privileged"]),
    ("/containers/abc/exec", {"Cmd": ["id"], "User": "root"}, ["exec_root"]),
    ("/containers/abc/exec", {"Cmd": ["id"], "User": "0:0"}, ["exec_root"]),
    ("/containers/abc/exec", {"Cmd": ["id"], "User": "1000"}, []),
    ("/containers/abc/start", {"Binds": ["/:/host"]}, [jg.UNJUDGED]),
    ("/volumes/create", {"Name": "v", "DriverOpts": {"type": "none", "o": "bind", "device": "/etc"}}, None),
    ("/volumes/create", {"Name": "v", "Driver": "local", "DriverOpts": {"type": "ext4", "device": "/dev/sda1"}}, None),
    ("/volumes/create", {"Name": "v", "DriverOpts": {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/export"}}, []),
    ("/volumes/create", {"Name": "v"}, []),
]


@pytest.mark.parametrize(("path", "body", "expected"), DOOR_CASES)
def test_other_doors(path: str, body: dict[str, t.Any], expected: list[str] | None) -> None:
    d = judge().decide(req(path, body))
    if expected is None:  # a volume binding /etc or mounting a host disk
        assert rules(d) in (["sensitive_mounts", "writable_mounts"], ["devices"])
    else:
        assert rules(d) == expected


def test_start_without_body_is_allowed() -> None:
    assert judge().decide(req("/containers/abc/start")).allow


SERVICE = {
    "Name": "web",
    "TaskTemplate": {
        "ContainerSpec": {"Image": "app:1", "User": "1000"},
        "Resources": {"Limits": {"MemoryBytes": 67108864, "Pids": 50}},
        "RestartPolicy": {"Condition": "on-failure", "MaxAttempts": 3},
    },
}


def service_spec(**changes: t.Any) -> dict[str, t.Any]:
    body = json.loads(json.dumps(SERVICE))
    for path, value in changes.items():
        node = body
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return body


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"TaskTemplate__ContainerSpec__CapabilityAdd": ["SYS_ADMIN"]}, ["capabilities"]),
        ({"TaskTemplate__ContainerSpec__Mounts": [{"Type": "bind", "Source": "/etc", "ReadOnly": True}]}, None),
        ({"TaskTemplate__ContainerSpec__Privileges": {"Seccomp": {"Mode": "unconfined"}}}, ["seccomp_unconfined"]),
        ({"TaskTemplate__Resources": {}}, ["memory_limit", "pids_limit"]),
        ({"TaskTemplate__RestartPolicy": {"Condition": "any"}}, ["restart_policy"]),
        ({"TaskTemplate__Networks": [{"Target": "host"}]}, ["host_network"]),
        ({"EndpointSpec": {"Ports": [{"TargetPort": 80, "PublishedPort": 80}]}}, None),
        ({"TaskTemplate__ContainerSpec": {}}, [jg.UNJUDGED]),
    ],
)
def test_services(changes: dict[str, t.Any], expected: list[str] | None) -> None:
    for path in ("/services/create", "/services/abc/update?version=3"):
        d = judge().decide(req(path, service_spec(**changes)))
        if expected is None:
            assert d.denied and not d.allow
        else:
            assert rules(d) == expected


def test_plugins_and_builds() -> None:
    j = judge({"rules": {"plugin_install": {"action": "deny", "allow": ["vieux/sshfs"]}}})
    assert rules(j.decide(req("/plugins/pull?remote=evil/plugin&name=x", []))) == ["plugin_install"]
    assert j.decide(req("/plugins/pull?remote=vieux/sshfs:latest", [])).allow
    assert rules(j.decide(req("/plugins/evil/plugin:latest/set", ["mount.source=/etc"]))) == ["plugin_install"]
    assert rules(j.decide(req("/plugins/create?name=x"))) == ["plugin_install"]
    assert rules(j.decide(req("/build?networkmode=host&t=x"))) == ["build_host_network"]
    assert j.decide(req("/build?t=x")).allow


# -- bodies that cannot be judged, paths as the engine reads them ------------------------------------------------------
@pytest.mark.parametrize("raw", [None, "", "not base64!", base64.b64encode(b"{not json").decode()])
def test_unjudgeable_body_is_refused(raw: str | None) -> None:
    request = req("/containers/create")
    if raw is not None:
        request["RequestBody"] = raw
    d = judge({"mode": "enforce"}).decide(request)
    assert not d.allow and rules(d) == [jg.UNJUDGED]
    assert "cannot be judged" in d.msg


@pytest.mark.parametrize("uri", [None, "", "containers/create", "http://x/containers/create"])
def test_a_request_without_a_readable_endpoint_is_refused(uri: str | None) -> None:
    request = {"RequestMethod": "GET", "RequestUri": uri}
    d = judge().decide(request)
    assert not d.allow and rules(d) == [jg.UNJUDGED]


def test_non_object_body_is_refused() -> None:
    assert rules(judge().decide(req("/containers/create", [1, 2]))) == [jg.UNJUDGED]


@pytest.mark.parametrize(
    "uri",
    ["/v1.41/containers/create", "/containers/create", "/v1.41//containers/./create", "/v1.41/containers%2Fcreate"],
)
def test_paths_are_normalized(uri: str) -> None:
    request = create(Privileged=True)
    request["RequestUri"] = uri
    assert rules(judge().decide(request)) == ["privileged"]


def test_reads_and_other_writes_pass() -> None:
    j = judge()
    assert j.decide(req("/containers/json", method="GET")).allow
    d = j.decide(req("/containers/abc/stop"))
    assert d.allow and d.endpoint == "not judged"


# -- exceptions, modes -----------------------------------------------------------------------------------------------
EXCEPTIONS = {
    "exceptions": [
        {"user": "alice", "rules": ["privileged"], "justification": "driver work", "expires": "2026-12-01"},
        {"user": "alice", "rules": ["host_pid"], "justification": "old", "expires": "2026-11-30"},
        {
            "image": "docker.io/library/batch:*",
            "rules": ["memory_limit"],
            "justification": "x",
            "expires": "2027-01-01",
        },
        {"user": "bob", "image": "ops/*", "rules": ["all"], "justification": "y", "expires": "2026-12-01T12:00:01Z"},
    ]
}


def test_exceptions_by_user_image_and_expiry() -> None:
    j = judge(EXCEPTIONS)
    d = j.decide(create(user="alice", Privileged=True))
    assert d.allow and [(f.rule, n) for f, n in d.excepted] == [("privileged", 0)]
    assert rules(j.decide(create(user="mallory", Privileged=True))) == ["privileged"]
    assert rules(j.decide(create(user="alice", PidMode="host"))) == ["host_pid"]  # expired the day before
    batch = req("/containers/create", {"Image": "batch:2", "HostConfig": {"PidsLimit": 5}})
    assert j.decide(batch).allow  # image matched in its full spelling
    assert j.decide(create("ops/agent:1", user="bob", Privileged=True, NetworkMode="host")).allow
    assert not j.decide(create("ops/agent:1", user="alice", NetworkMode="host")).allow
    later = jg.Judge(j.policy, resolve=resolve, now=lambda: NOW + datetime.timedelta(seconds=2))
    assert not later.decide(create("ops/agent:1", user="bob", Privileged=True)).allow


def test_unjudgeable_is_never_excepted() -> None:
    request = req("/containers/create", user="bob")
    assert not judge(EXCEPTIONS).decide(request).allow


def test_warn_mode_and_warn_action() -> None:
    d = judge({"mode": "warn"}).decide(create(Privileged=True))
    assert d.allow and [f.rule for f in d.warned] == ["privileged"] and not d.msg
    d = judge({"rules": {"privileged": "warn"}}).decide(create(Privileged=True, PidMode="host"))
    assert not d.allow and rules(d) == ["host_pid"] and [f.rule for f in d.warned] == ["privileged"]
    assert judge({"rules": {"privileged": "off"}}).decide(create(Privileged=True)).allow


# -- images -----------------------------------------------------------------------------------------------------------
class FakeVerified(t.NamedTuple):
    digest: str


class FakeVerificationError(Exception):
    step = "fetch-signature"


def test_image_digest_and_registries() -> None:
    j = judge(
        {"rules": {"image_digest": "deny", "image_registries": {"action": "deny", "allow": ["reg.example/team"]}}}
    )
    assert rules(j.decide(create("app:1"))) == ["image_digest", "image_registries"]
    assert j.decide(create(f"reg.example/team/app@{DIGEST}")).allow
    assert rules(j.decide(create(f"reg.example/teamx/app@{DIGEST}"))) == ["image_registries"]
    assert rules(j.decide(create("Not A Ref"))) == ["image_digest", "image_registries"]


def test_image_signature_with_an_injected_verifier() -> None:
    calls: list[tuple[str, t.Any]] = []

    def verify(ref: str, keys: t.Sequence[bytes], **kw: t.Any) -> FakeVerified:
        calls.append((ref, kw))
        if "unsigned" in ref:
            raise FakeVerificationError("no signature found")
        if "other" in ref:
            return FakeVerified("sha256:" + "cd" * 32)
        return FakeVerified(DIGEST)

    key = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
    j = judge({"rules": {"image_signature": {"action": "deny", "public_keys": [key]}}}, verify=verify)
    assert j.decide(create(f"reg.example/app@{DIGEST}")).allow
    assert j.decide(create(f"reg.example/app@{DIGEST}")).allow
    assert len(calls) == 1  # a verified digest is cached
    assert calls[0][1]["timeout"] == 10.0 and calls[0][1]["insecure_http"] is False
    d = j.decide(create(f"reg.example/unsigned@{DIGEST}"))
    assert rules(d) == ["image_signature"] and "fetch-signature" in d.msg
    assert "not the digest to run" in j.decide(create(f"reg.example/other@{DIGEST}")).msg
    assert "not pinned by digest" in j.decide(create("reg.example/app:1")).msg
    no_verifier = judge({"rules": {"image_signature": {"action": "deny", "public_keys": [key]}}})
    assert "not installed" in no_verifier.decide(create(f"reg.example/app@{DIGEST}")).msg


def test_image_names() -> None:
    assert im.names("busybox") == ["busybox", "docker.io/library/busybox:latest"]
    assert im.names("docker.io/library/busybox:latest") == ["docker.io/library/busybox:latest"]
    assert im.parse("UPPER/case") is None


# -- policy validation ------------------------------------------------------------------------------------------
BAD_POLICIES = [
    ([], "must be a mapping"),
    ({"mode": "audit"}, "policy mode: 'audit' is not one of enforce, warn"),
    ({"rules": {"privileged": "maybe"}}, "rules.privileged.action: 'maybe' is not one of deny, warn, off"),
    ({"rules": {"no_such": "deny"}}, "rules.no_such"),
    ({"rules": {"capabilities": {"allow": "NET_RAW"}}}, "rules.capabilities.allow"),
    ({"rules": {"capabilities": {"allow": ["ALL"]}}}, "ALL is refused"),
    ({"rules": {"sensitive_mounts": {"paths": ["etc"]}}}, "must be an absolute path"),
    ({"rules": {"restart_policy": {"max_retries": True}}}, "must be a number"),
    ({"rules": {"privileged": {"action": "deny", "control": "5.4"}}}, "this rule serves CIS 5.5"),
    ({"rules": {"privileged": {"action": "deny", "allow": []}}}, "are not options of this rule"),
    ({"rules": {"image_signature": {"public_keys": ["abc"]}}}, "is not a PEM public key"),
    ({"exceptions": [{"rules": ["privileged"], "justification": "x", "expires": "2027-01-01"}]}, "neither a user"),
    ({"exceptions": [{"user": "a", "rules": ["privileged"], "expires": "2027-01-01"}]}, "justification: None is"),
    ({"exceptions": [{"user": "a", "rules": ["privileged"], "justification": "x"}]}, "expires: None is required"),
    ({"exceptions": [{"user": "a", "rules": ["x"], "justification": "x", "expires": "2027-01-01"}]}, "rules: 'x'"),
    ({"exceptions": [{"user": "a", "rules": ["all"], "justification": "x", "expires": "soon"}]}, "is not a date"),
    ({"version": 2}, "version: 2 is not supported"),
]


@pytest.mark.parametrize(("raw", "message"), BAD_POLICIES, ids=[m for _r, m in BAD_POLICIES])
def test_bad_policies_are_refused(raw: t.Any, message: str) -> None:
    with pytest.raises(pol.PolicyError) as err:
        pol.load(raw)
    assert message in err.value.msg


def test_canonical_round_trip() -> None:
    first = pol.load({**EXCEPTIONS, "mode": "warn", "rules": {"capabilities": {"allow": ["NET_RAW"]}}})
    again = pol.loads(first.to_json())
    assert again == first
    stored = json.loads(first.to_json())
    assert stored["rules"]["privileged"] == {
        "action": "deny",
        "control": "5.5",
        "guards": pol.RULES["privileged"].title,
    }
    assert set(stored["rules"]) == set(pol.RULES)


def test_predicates_shared_with_the_audit() -> None:
    assert pr.exposes_socket("/var/run", ["/run/docker.sock"])
    assert not pr.exposes_socket("/run/user", ["/run/docker.sock"])
    assert pr.low_port("443") and not pr.low_port("0") and not pr.low_port("") and pr.low_port("1-2000")
    assert pr.restart_problem({"Name": "on-failure"}) == "restart policy on-failure:unlimited"
    assert pr.added_capabilities({"CapAdd": ["CAP_CHOWN", "NET_RAW"]}, ["chown"]) == ["NET_RAW"]


# -- the service, for real on a UNIX socket ---------------------------------------------------------------------------
class Unix(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


@pytest.fixture
def service(tmp_path: pathlib.Path) -> t.Iterator[tuple[Unix, pathlib.Path, pathlib.Path]]:
    policy, log, sock = tmp_path / "policy.json", tmp_path / "decisions.jsonl", tmp_path / "authz.sock"
    policy.write_text(pol.load({}).to_json())
    server = srv.make_server(str(policy), str(log), str(sock))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Unix(str(sock)), policy, log
    finally:
        server.shutdown()
        server.server_close()


def post(conn: Unix, path: str, body: t.Any) -> dict[str, t.Any]:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    return t.cast("dict[str, t.Any]", json.loads(resp.read()))


def test_service_protocol_and_log(service: tuple[Unix, pathlib.Path, pathlib.Path]) -> None:
    conn, _policy, log = service
    assert post(conn, "/Plugin.Activate", {}) == {"Implements": ["authz"]}
    refused = post(conn, "/AuthZPlugin.AuthZReq", create(user="alice", Privileged=True))
    assert refused["Allow"] is False and "rule privileged (CIS 5.5)" in refused["Msg"]
    assert post(conn, "/AuthZPlugin.AuthZReq", create())["Allow"] is True
    assert post(conn, "/AuthZPlugin.AuthZRes", {"ResponseStatusCode": 200}) == {"Allow": True}
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    denied = [x for x in lines if x.get("allowed") is False]
    assert denied[0]["user"] == "alice" and denied[0]["denied"][0] == {
        "rule": "privileged",
        "control": "5.5",
        "detail": "--privileged gives every capability and every host device",
    }


def test_service_reloads_and_keeps_the_last_valid_policy(service: tuple[Unix, pathlib.Path, pathlib.Path]) -> None:
    conn, policy, log = service
    assert not post(conn, "/AuthZPlugin.AuthZReq", create(Privileged=True))["Allow"]
    policy.write_text(pol.load({"mode": "warn"}).to_json() + " ")  # a new size: a change the plugin sees
    assert post(conn, "/AuthZPlugin.AuthZReq", create(Privileged=True))["Allow"]
    policy.write_text('{"mode": "audit"}')
    assert post(conn, "/AuthZPlugin.AuthZReq", create(Privileged=True))["Allow"]  # still warn mode
    refusal = [json.loads(x) for x in log.read_text().splitlines() if "policy refused" in x]
    assert refusal and "mode: 'audit'" in refusal[-1]["error"] and "stays in force" in refusal[-1]["kept"]


def test_service_without_a_policy_refuses_judged_requests(tmp_path: pathlib.Path) -> None:
    svc = srv.Service(str(tmp_path / "missing.json"), srv.DecisionLog(str(tmp_path / "log")))
    assert svc.authz(create())["Allow"] is False
    assert svc.authz(req("/containers/json", method="GET"))["Allow"] is True


def raw_exchange(path: str, request: bytes) -> dict[str, t.Any]:
    """Send a whole HTTP request at once and read the answer (the plugin may close without reading a body)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return t.cast("dict[str, t.Any]", json.loads(data.split(b"\r\n\r\n", 1)[1]))


def test_service_refuses_chunked_and_huge_requests(service: tuple[Unix, pathlib.Path, pathlib.Path]) -> None:
    conn, _policy, _log = service
    body = json.dumps(create()).encode()
    head = b"POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nHost: x\r\n"
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    resp = raw_exchange(conn.path, chunked)
    assert resp["Allow"] is False and "chunked" in resp["Msg"]
    huge = head + b"Content-Length: %d\r\n\r\n" % (srv.MAX_REQUEST + 1)
    resp = raw_exchange(conn.path, huge)
    assert resp["Allow"] is False and "cannot be judged" in resp["Msg"]


def test_listening_socket_is_private(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "s.sock")
    sock = srv.listening_socket(path)
    try:
        assert os.stat(path).st_mode & 0o777 == 0o600
    finally:
        sock.close()
