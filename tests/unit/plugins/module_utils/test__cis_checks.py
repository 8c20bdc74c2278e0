# SPDX-License-Identifier: GPL-3.0-or-later
"""Every CIS check in _cis_checks.CHECKS, one at a time, on facts captured from real hosts.

Each case starts from a host captured by tools/capture_audit_facts.py
(tests/unit/fixtures/hosts/*.json) and makes a small, explicit change: a
container's inspect document, a file's stat, daemon.json's text, an Engine API
answer. The check then runs on those facts through cis_replay.ReplayHost, and
the case names the verdict and the evidence (or the failing items) it must give.

The meta-tests at the end fail when a check has no case here, or when a check
is never seen both passing (or giving its expected answer) and failing (or
manual / not_applicable / error).
"""

from __future__ import annotations

import json
import typing as t

import pytest
from cis_replay import facts_of, load
from test__tls import DAY, NOW, make_ca, make_leaf, pem

from ansible_collections.dockguard.hardening.plugins.module_utils import _tls
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import catalogue as cat
from ansible_collections.dockguard.hardening.plugins.module_utils._cis import checks
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import FactError

Data = dict[str, t.Any]
Change = t.Callable[[Data], None]

# -- small, explicit changes to a captured host -------------------------------------------------


def container(data: Data, name: str) -> dict[str, t.Any]:
    """The inspect document of the running container NAME (changes made to it are replayed)."""
    for path, doc in data["api"].items():
        if path.startswith("/containers/") and path != "/containers/json" and doc.get("Name") == "/" + name:
            return t.cast("dict[str, t.Any]", doc)
    raise KeyError(name)


def only(*names: str) -> Change:
    """Keep only the named containers running."""

    def change(data: Data) -> None:
        keep = [c for c in data["api"]["/containers/json"] if c["Names"][0].lstrip("/") in names]
        assert len(keep) == len(names), names
        data["api"]["/containers/json"] = keep

    return change


def hostconfig(name: str, **values: t.Any) -> Change:
    def change(data: Data) -> None:
        container(data, name)["HostConfig"].update(values)

    return change


def inspect(name: str, **values: t.Any) -> Change:
    def change(data: Data) -> None:
        container(data, name).update(values)

    return change


def ports(name: str, bindings: dict[str, list[tuple[str, str]]]) -> Change:
    def change(data: Data) -> None:
        docs = {cp: [{"HostIp": ip, "HostPort": hp} for ip, hp in b] for cp, b in bindings.items()}
        container(data, name)["NetworkSettings"]["Ports"] = docs

    return change


def bind(name: str, source: str, destination: str, propagation: str = "rprivate") -> Change:
    def change(data: Data) -> None:
        mount = {"Type": "bind", "Source": source, "Destination": destination, "Mode": "", "RW": True}
        container(data, name).setdefault("Mounts", []).append({**mount, "Propagation": propagation})

    return change


def info(**values: t.Any) -> Change:
    def change(data: Data) -> None:
        data["api"]["/info"].update(values)

    return change


def security_options(*opts: str) -> Change:
    return info(SecurityOptions=list(opts))


def daemon_json(**values: t.Any) -> Change:
    """Merge keys (daemon.json spelling, _ for -) into the daemon's configuration file, creating it if needed."""

    def change(data: Data) -> None:
        path = data["target"]["config_file"]
        text = data["read"].get(path)
        conf = json.loads(text) if isinstance(text, str) else {}
        conf.update({k.replace("_", "-"): v for k, v in values.items()})
        data["read"][path] = json.dumps(conf)
        if not (data["stat"].get(path) or {}).get("exists"):
            data["stat"][path] = file_record(path)

    return change


def file_record(path: str, kind: str = "file", mode: int = 0o644, owner: str = "root", group: str = "root") -> Data:
    ids = {"root": 0, "docker": 997, "alice": 1000}
    return {
        "path": path,
        "exists": True,
        "kind": kind,
        "mode": mode,
        "uid": ids.get(owner, 1000),
        "gid": ids.get(group, 1000),
        "owner": owner,
        "group": group,
    }


def stat(path: str, **values: t.Any) -> Change:
    """Change a recorded stat, or add one for a file the host did not have."""

    def change(data: Data) -> None:
        rec = data["stat"].get(path)
        data["stat"][path] = {**(rec if rec and rec.get("exists") else file_record(path)), **values}

    return change


def read(path: str, text: str | None) -> Change:
    """Give a file this text (None: unreadable, as a missing file)."""

    def change(data: Data) -> None:
        if text is None:
            data["read"].pop(path, None)
        else:
            data["read"][path] = text

    return change


def listdir(path: str, names: list[str]) -> Change:
    def change(data: Data) -> None:
        data["listdir"][path] = names

    return change


def readlink(path: str, target: str) -> Change:
    def change(data: Data) -> None:
        data["readlink"][path] = target

    return change


def flags(*words: str) -> Change:
    """dockerd's command line (the fixtures' units start it with -H fd://, which daemon.json hosts cannot join)."""

    def change(data: Data) -> None:
        pid = data["read"][data["target"]["pidfile"]].strip()
        data["read"][f"/proc/{pid}/cmdline"] = "\0".join(["/usr/sbin/dockerd", *words]) + "\0"

    return change


def api(path: str, answer: t.Any) -> Change:
    def change(data: Data) -> None:
        data["api"][path] = answer

    return change


def api_down(data: Data) -> None:
    data["api"] = {
        p: {"error": "the Engine API does not answer: [Errno 111] refused", "status": 0} for p in data["api"]
    }


def audit_rules(text: str, live: bool = False) -> Change:
    def change(data: Data) -> None:
        if live:
            data["run"]["auditctl -l"] = [0, text, ""]
        else:
            data["listdir"]["/etc/audit/rules.d"] = ["docker.rules"]
            data["read"]["/etc/audit/rules.d/docker.rules"] = text

    return change


def both(*changes: Change) -> Change:
    def change(data: Data) -> None:
        for c in changes:
            c(data)

    return change


# -- running one check ----------------------------------------------------------------------------


class Result(t.NamedTuple):
    status: str
    evidence: str
    items: dict[str, str]  # item name -> status


def run_check(name: str, host: str, change: Change | None = None, arg: str = "") -> Result:
    data = load(host)
    if change is not None:
        change(data)
    try:
        v = checks.CHECKS[name](facts_of(data), arg)
    except FactError as exc:
        return Result("error", str(exc), {})
    details = [f"{i['name']}: {i['detail']}" for i in v.items]
    return Result(v.status, " | ".join(v.evidence + details), {i["name"]: i["status"] for i in v.items})


class Case(t.NamedTuple):
    id: str
    check: str
    host: str
    status: str
    evidence: str = ""  # a substring of the joined evidence
    change: Change | None = None
    arg: str = ""
    fails: frozenset[str] | None = None  # the failing items, when items are judged


CASES: list[Case] = []


def case(
    id: str,
    check: str,
    host: str,
    status: str,
    evidence: str = "",
    change: Change | None = None,
    arg: str = "",
    fails: set[str] | None = None,
) -> None:
    CASES.append(Case(id, check, host, status, evidence, change, arg, frozenset(fails) if fails is not None else None))


STOCK, HARD, PLANTED, ROOTLESS = "deb12-stock", "deb12-hardened", "deb13-stock-planted", "deb12-rootless"
GOOD_ONLY = only("good")

# -- section 1: the host ---------------------------------------------------------------------------

case(
    "separate data-root mount",
    "partition",
    STOCK,
    "pass",
    "data-root /var/lib/docker is on the mount at /var/lib/docker",
)
case("rootless data-root on /", "partition", ROOTLESS, "fail", "/home/alice/.local/share/docker is on the mount at / ")


def _no_docker_mount(data: Data) -> None:
    data["read"]["/proc/self/mountinfo"] = "\n".join(
        line for line in data["read"]["/proc/self/mountinfo"].splitlines() if " /var/lib/docker " not in line
    )


case("data-root on /", "partition", STOCK, "fail", "is on the mount at / ", _no_docker_mount)
case("mountinfo unreadable", "partition", STOCK, "error", "/proc/self/mountinfo", read("/proc/self/mountinfo", None))

case(
    "docker group members listed",
    "docker_group",
    STOCK,
    "manual",
    "docker group members (each is root-equivalent): none",
)
case(
    "a member is named",
    "docker_group",
    STOCK,
    "manual",
    "members (each is root-equivalent): alice, bob",
    read("/etc/group", "root:x:0:\ndocker:x:997:alice,bob\n"),
)
case("no docker group", "docker_group", STOCK, "manual", "no docker group", read("/etc/group", "root:x:0:\n"))
case("rootless: only its user", "docker_group", ROOTLESS, "not_applicable", "only alice reaches its socket")


def trusted(*names: str) -> Change:
    """The audit's trusted_users option."""

    def change(data: Data) -> None:
        data["trusted_users"] = list(names)

    return change


GROUP = "root:x:0:\ndocker:x:997:alice,bob\n"
PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\ncarol:x:1002:997::/home/carol:/bin/sh\n"
)
case(
    "members all trusted",
    "docker_group",
    STOCK,
    "pass",
    "docker group members (each is root-equivalent): alice, bob | trusted_users: alice, bob, dave",
    both(
        read("/etc/group", GROUP),
        read("/etc/passwd", PASSWD.replace(":997:", ":1002:")),
        trusted("bob", "alice", "dave"),
    ),
)
case(
    "an untrusted member is named",
    "docker_group",
    STOCK,
    "fail",
    "docker group members not in trusted_users: bob | trusted_users: alice",
    both(read("/etc/group", GROUP), read("/etc/passwd", PASSWD.replace(":997:", ":1002:")), trusted("alice")),
)
case(
    "a member by primary group is named",
    "docker_group",
    STOCK,
    "fail",
    "not in trusted_users: carol",
    both(read("/etc/group", GROUP), read("/etc/passwd", PASSWD), trusted("alice", "bob")),
)
case("an empty list trusts nobody", "docker_group", STOCK, "fail", "not in trusted_users: alice, bob",
     both(read("/etc/group", GROUP), read("/etc/passwd", ""), trusted()))  # fmt: skip
case(
    "no group, with a list",
    "docker_group",
    STOCK,
    "pass",
    "only root",
    both(read("/etc/group", "root:x:0:\n"), trusted()),
)
case(
    "passwd unreadable",
    "docker_group",
    STOCK,
    "error",
    "/etc/passwd",
    both(read("/etc/group", GROUP), trusted("alice")),
)

RULES = """\
-w /usr/sbin/dockerd -k docker
-w /etc/docker/ -k docker
-a always,exit -F path=/usr/bin/containerd -F perm=wa -k docker
# -w /usr/bin/runc -k docker
-w /lib/systemd/system/docker.service -k docker
"""
case("no rule", "audit_rule", STOCK, "fail", "no audit rule watches /usr/sbin/dockerd", arg="bin:dockerd")
case(
    "watch on the dockerd binary",
    "audit_rule",
    STOCK,
    "pass",
    "-w /usr/sbin/dockerd",
    audit_rules(RULES),
    "bin:dockerd",
)
case(
    "trailing slash names the same dir",
    "audit_rule",
    STOCK,
    "pass",
    "-w /etc/docker/",
    audit_rules(RULES),
    "/etc/docker",
)
case(
    "path= syscall rule", "audit_rule", STOCK, "pass", "path=/usr/bin/containerd", audit_rules(RULES), "bin:containerd"
)
case(
    "commented-out rule is no rule",
    "audit_rule",
    STOCK,
    "fail",
    "no audit rule watches /usr/bin/runc",
    audit_rules(RULES),
    "bin:runc",
)
case("unit file", "audit_rule", STOCK, "pass", "docker.service", audit_rules(RULES), "unit:docker.service")
RUNC = both(readlink("/usr/bin/runc", "../sbin/runc"), stat("/usr/sbin/runc", kind="file", mode=0o755))
case(
    "a watch on the link /usr/bin/runc never sees runc run",
    "audit_rule",
    STOCK,
    "fail",
    "no audit rule watches /usr/sbin/runc (/usr/bin/runc links to it)",
    both(RUNC, audit_rules("-w /usr/bin/runc -k docker\n", live=True)),
    "bin:runc",
)
case(
    "the binary the link leads to",
    "audit_rule",
    STOCK,
    "pass",
    "-w /usr/sbin/runc -p wxa -k docker (/usr/bin/runc links to it)",
    both(RUNC, audit_rules("-w /usr/sbin/runc -p wxa -k docker\n", live=True)),
    "bin:runc",
)
case(
    "syscall rule on /run/containerd, as auditctl lists it",
    "audit_rule",
    STOCK,
    "pass",
    "-F path=/run/containerd",
    audit_rules("-a always,exit -S all -F path=/run/containerd -F perm=rwa -F key=docker\n", live=True),
    "syscall:/run/containerd",
)
case(
    "loaded rules from auditctl -l",
    "audit_rule",
    STOCK,
    "pass",
    "auditctl -l: -w /var/lib/docker -p rwxa -k docker",
    audit_rules("-w /var/lib/docker -p rwxa -k docker\n", live=True),
    "/var/lib/docker",
)
case(
    "data-root elsewhere: the rule must watch it",
    "audit_rule",
    STOCK,
    "fail",
    "no audit rule watches /srv/docker",
    both(
        info(DockerRootDir="/srv/docker"),
        stat("/srv/docker", kind="dir", mode=0o710),
        audit_rules("-w /var/lib/docker -k docker\n", live=True),
    ),
    "/var/lib/docker",
)
case(
    "userns-remap's data-root under a watched /var/lib/docker: the watch is recursive",
    "audit_rule",
    STOCK,
    "pass",
    "-w /var/lib/docker -k docker (recursive watch on /var/lib/docker)",
    both(
        info(DockerRootDir="/var/lib/docker/100000.100000"),
        stat("/var/lib/docker/100000.100000", kind="dir", mode=0o700),
        audit_rules("-w /var/lib/docker -k docker\n", live=True),
    ),
    "/var/lib/docker",
)
case(
    "userns-remap on: the rule's path is the data-root above UID.GID, the same as with remapping off",
    "audit_rule",
    STOCK,
    "pass",
    "auditctl -l: -w /var/lib/docker -p wa -k docker",
    both(
        info(
            DockerRootDir="/var/lib/docker/100000.100000",
            SecurityOptions=["name=seccomp,profile=builtin", "name=userns"],
        ),
        stat("/var/lib/docker/100000.100000", kind="dir", mode=0o700),
        audit_rules("-w /var/lib/docker -p wa -k docker\n", live=True),
    ),
    "/var/lib/docker",
)
case(
    "the data-root is a tree: a path= rule on it sees nothing inside",
    "audit_rule",
    STOCK,
    "fail",
    "no audit rule watches /var/lib/docker",
    audit_rules("-a always,exit -F path=/var/lib/docker -F perm=wa -k docker\n", live=True),
    "/var/lib/docker",
)
case(
    "userns-remap's data-root: a path= rule on the parent is not recursive",
    "audit_rule",
    STOCK,
    "fail",
    "no audit rule watches /var/lib/docker/100000.100000",
    both(
        info(DockerRootDir="/var/lib/docker/100000.100000"),
        stat("/var/lib/docker/100000.100000", kind="dir", mode=0o700),
        audit_rules("-a always,exit -F path=/var/lib/docker -F perm=wa -k docker\n", live=True),
    ),
    "/var/lib/docker",
)
case(
    "file absent",
    "audit_rule",
    STOCK,
    "not_applicable",
    "/etc/sysconfig/docker does not exist",
    arg="/etc/sysconfig/docker",
)
case(
    "binary not installed",
    "audit_rule",
    STOCK,
    "not_applicable",
    "containerd-shim-runc-v1 is not installed",
    both(stat("/usr/bin/containerd-shim-runc-v1", exists=False)),
    "bin:containerd-shim-runc-v1",
)
case(
    "rootless: ~/.config/docker stands for /etc/docker",
    "audit_rule",
    ROOTLESS,
    "pass",
    "-w /home/alice/.config/docker",
    audit_rules("-w /home/alice/.config/docker -k docker\n"),
    "/etc/docker",
)
case(
    "rootless: the user's data-root",
    "audit_rule",
    ROOTLESS,
    "fail",
    "no audit rule watches /home/alice/.local/share/docker",
    both(
        stat("/home/alice/.local/share/docker", kind="dir", owner="alice", group="alice"),
        audit_rules("-w /var/lib/docker -k docker\n"),
    ),
    "/var/lib/docker",
)
case(
    "rootless: containerd is the user's",
    "audit_rule",
    ROOTLESS,
    "not_applicable",
    "containerd runs inside the user's namespace",
    arg="/run/containerd/containerd.sock",
)
case(
    "rootless: no daemon.json",
    "audit_rule",
    ROOTLESS,
    "not_applicable",
    "/home/alice/.config/docker/daemon.json does not exist",
    arg="/etc/docker/daemon.json",
)

case("host hardening is a person's call", "manual_host", STOCK, "manual", "Debian GNU/Linux 12 (bookworm)")
case("daemon down: still manual", "manual_host", STOCK, "manual", "unknown, kernel unknown", api_down)

case("engine version shown", "engine_version", STOCK, "manual", "Engine 20.10.24")


def apt_policy(*blocks: tuple[str, str, str], source: str = "http://deb.debian.org/debian bookworm/main") -> Change:
    """`apt-cache policy` as apt prints it: a block per package apt knows (name, Installed, Candidate), the
    candidate offered by source, the installed version known from dpkg's status."""
    text = ""
    for n, i, c in blocks:
        text += f"{n}:\n  Installed: {i}\n  Candidate: {c}\n  Version table:\n"
        if c != "(none)":
            text += f" {'***' if c == i else '   '} {c} 500\n        500 {source} amd64 Packages\n"
        if i != "(none)":
            text += (f" *** {i} 100\n" if c != i else "") + "        100 /var/lib/dpkg/status\n"

    def change(data: Data) -> None:
        data["run"]["apt-cache policy docker.io docker-ce moby-engine"] = [0, text, ""]

    return change


DEB12 = "20.10.24+dfsg1-1+deb12u1+b6"
case("the newest the sources offer", "engine_version", STOCK, "pass",
     f"docker.io {DEB12} installed, {DEB12} offered by the host's apt sources",
     apt_policy(("docker.io", DEB12, DEB12), ("docker-ce", "(none)", "(none)")))  # fmt: skip
case("a newer one is offered", "engine_version", STOCK, "fail", "upgrade docker.io",
     apt_policy(("docker.io", "20.10.24+dfsg1-1+deb12u1", DEB12)))  # fmt: skip
case("newer than the sources (a backport)", "engine_version", STOCK, "pass", "installed",
     apt_policy(("docker.io", "1:26.1.5+dfsg1-9", DEB12)))  # fmt: skip
case("no candidate any more", "engine_version", STOCK, "manual", "no apt source offers it",
     apt_policy(("docker.io", DEB12, "(none)")))  # fmt: skip
case("no apt lists: only dpkg's status knows it", "engine_version", STOCK, "manual", "apt-get update",
     apt_policy(("docker.io", DEB12, DEB12), source="/var/lib/dpkg/status"))  # fmt: skip
case("engine not from apt", "engine_version", STOCK, "manual", "not installed from an apt package",
     apt_policy(("docker.io", "(none)", DEB12)))  # fmt: skip
case("engine version on Debian 13", "engine_version", PLANTED, "manual", "Engine 26.1.5")
case("daemon down", "engine_version", STOCK, "error", "[Errno 111] refused", api_down)

# -- section 2: the daemon --------------------------------------------------------------------------

case("rootful daemon", "rootless", STOCK, "manual", "dockerd runs as root")
case("rootless daemon", "rootless", ROOTLESS, "pass", "rootless daemon of alice")

case("icc on (stock)", "icc", STOCK, "fail", "default bridge enable_icc=true")
case("icc off, live", "icc", HARD, "pass", "icc False from /etc/docker/daemon.json | default bridge enable_icc=false")
case("configured off, daemon not restarted", "icc", STOCK, "fail", "enable_icc=true", daemon_json(icc=False))


def _no_bridge(data: Data) -> None:
    data["api"]["/networks"] = [n for n in data["api"]["/networks"] if n["Name"] != "bridge"]


case("no default bridge, configured off", "icc", HARD, "pass", "icc False", _no_bridge)
case("no default bridge, not configured", "icc", STOCK, "fail", "icc not set", _no_bridge)

case("log-level unset is info", "log_level", STOCK, "pass", "log-level not set (default)")
case("log-level info", "log_level", HARD, "pass", "log-level 'info' from /etc/docker/daemon.json")
case("log-level debug", "log_level", HARD, "fail", "log-level 'debug'", daemon_json(log_level="debug"))
case("debug on", "log_level", HARD, "fail", "debug True", daemon_json(debug=True))

case("iptables default", "iptables", STOCK, "pass", "iptables not set (default)")
case("iptables off", "iptables", STOCK, "fail", "iptables False", daemon_json(iptables=False))
case("rootless: slirp4netns", "iptables", ROOTLESS, "not_applicable", "slirp4netns")

case("only loopback", "insecure_registries", STOCK, "pass", "no insecure registry (loopback aside)")


def _insecure(data: Data) -> None:
    reg = data["api"]["/info"]["RegistryConfig"]
    reg["InsecureRegistryCIDRs"] = ["127.0.0.0/8", "10.20.0.0/16"]
    reg["IndexConfigs"]["registry.internal:5000"] = {"Name": "registry.internal:5000", "Secure": False}


case("insecure registries", "insecure_registries", STOCK, "fail", "10.20.0.0/16, registry.internal:5000", _insecure)

case("overlay2", "no_aufs", STOCK, "pass", "storage driver overlay2")
case("aufs", "no_aufs", STOCK, "fail", "storage driver aufs", info(Driver="aufs"))
case("overlay2 not devicemapper", "no_devicemapper", STOCK, "pass", "storage driver overlay2")
case("devicemapper", "no_devicemapper", STOCK, "fail", "storage driver devicemapper", info(Driver="devicemapper"))

TLS = {
    "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"],
    "tlsverify": True,
    "tlscacert": "/etc/docker/tls/ca.pem",
    "tlscert": "/etc/docker/tls/server-cert.pem",
    "tlskey": "/etc/docker/tls/server-key.pem",
}
NO_H = flags("--containerd=/run/containerd/containerd.sock")


def tls_daemon(**over: t.Any) -> Change:
    return both(NO_H, daemon_json(**{**TLS, **over}))


case("no TCP listener", "tls", STOCK, "pass", "no TCP listener (hosts: fd://)")
case("TCP with verified TLS", "tls", STOCK, "pass", "tlsverify=True", tls_daemon())
case(
    "TCP without tlsverify",
    "tls",
    STOCK,
    "fail",
    "TCP listeners: tcp://0.0.0.0:2376",
    tls_daemon(tlsverify=False),
)
case(
    "TCP, no TLS at all", "tls", STOCK, "fail", "tlscert=None", both(NO_H, daemon_json(hosts=["tcp://127.0.0.1:2375"]))
)

case("default ulimits set", "default_ulimits", HARD, "pass", "default-ulimits {'nofile'")
case("not set", "default_ulimits", STOCK, "manual", "containers inherit dockerd's limits")

case("no userns-remap", "userns", STOCK, "fail", "userns-remap not set (default)")
case(
    "userns-remap active",
    "userns",
    STOCK,
    "pass",
    "userns-remap 'default'",
    both(daemon_json(userns_remap="default"), security_options("name=seccomp,profile=default", "name=userns")),
)
case(
    "configured but not active", "userns", STOCK, "fail", "userns-remap 'default'", daemon_json(userns_remap="default")
)
case("rootless", "userns", ROOTLESS, "pass", "container root is the unprivileged user")

case("default cgroup", "cgroup_parent", STOCK, "pass", "cgroup-parent not set (default)")
case(
    "cgroup-parent set",
    "cgroup_parent",
    STOCK,
    "manual",
    "cgroup-parent '/dockguard'",
    daemon_json(cgroup_parent="/dockguard"),
)

case("no basesize", "base_device_size", STOCK, "pass", "no dm.basesize storage option")
case(
    "basesize set",
    "base_device_size",
    STOCK,
    "manual",
    "dm.basesize=20G",
    daemon_json(storage_opts=["dm.basesize=20G"]),
)

case("no authz plugin", "authz_plugin", STOCK, "fail", "authorization plugins: none")


def _authz(data: Data) -> None:
    data["api"]["/info"]["Plugins"]["Authorization"] = ["opa-docker-authz"]


case("authz plugin", "authz_plugin", STOCK, "pass", "authorization plugins: opa-docker-authz", _authz)

case("json-file is local", "remote_logging", STOCK, "fail", "log driver json-file")
case("local driver", "remote_logging", STOCK, "fail", "log driver local", info(LoggingDriver="local"))
case("fluentd ships logs", "remote_logging", STOCK, "pass", "log driver fluentd", info(LoggingDriver="fluentd"))


def running(comm: str, pid: str = "4242") -> Change:
    """One more process on the host, with this command name."""

    def change(data: Data) -> None:
        data["listdir"]["/proc"] = [*data["listdir"].get("/proc", []), pid]
        data["readlink"][f"/proc/{pid}/ns/pid"] = data["readlink"]["/proc/1/ns/pid"]
        data["read"][f"/proc/{pid}/comm"] = comm + "\n"

    return change


FORWARD_CONF = "/etc/rsyslog.d/60-dockguard-forward.conf"
TLS_FORWARD = """# forward
action(type="omfwd" target="logs.example" port="6514" protocol="tcp"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
       queue.type="LinkedList" queue.filename="fwd" queue.saveOnShutdown="on")
"""
JOURNALD = info(LoggingDriver="journald")


def rsyslog(text: str) -> Change:
    return both(listdir("/etc/rsyslog.d", ["60-dockguard-forward.conf"]), read(FORWARD_CONF, text))


case("journald, not forwarded", "remote_logging", STOCK, "fail", "no forwarding found", JOURNALD)
case(
    "journald forwarded over TLS by a running rsyslogd",
    "remote_logging",
    STOCK,
    "pass",
    f"omfwd to logs.example:6514 (tcp) in {FORWARD_CONF}: over TLS (gtls, mode 1, auth x509/name), disk-assisted",
    both(JOURNALD, rsyslog(TLS_FORWARD), running("rsyslogd")),
)
case(
    "TLS forwarding configured, rsyslogd stopped",
    "remote_logging",
    STOCK,
    "fail",
    "rsyslogd is not running",
    both(JOURNALD, rsyslog(TLS_FORWARD)),
)
case(
    "journald forwarded in plain TCP",
    "remote_logging",
    STOCK,
    "fail",
    "without TLS (driver ptcp, mode 0)",
    both(JOURNALD, rsyslog("*.* @@logs.example:514\n"), running("rsyslogd")),
)
case(
    "journald keeps its entries from rsyslog",
    "remote_logging",
    STOCK,
    "fail",
    "ForwardToSyslog=no in /etc/systemd/journald.conf",
    both(
        JOURNALD,
        rsyslog(TLS_FORWARD),
        running("rsyslogd"),
        read("/etc/systemd/journald.conf", "[Journal]\nForwardToSyslog=no\n"),
    ),
)
case(
    "journal uploaded over https",
    "remote_logging",
    STOCK,
    "pass",
    "systemd-journal-upload to https://logs.example:19532",
    both(JOURNALD, read("/etc/systemd/journal-upload.conf", "[Upload]\nURL=https://logs.example:19532\n")),
)
case(
    "syslog driver to a remote address",
    "remote_logging",
    STOCK,
    "pass",
    "container logs leave the host for tcp+tls://logs.example:6514",
    both(info(LoggingDriver="syslog"), daemon_json(log_opts={"syslog-address": "tcp+tls://logs.example:6514"})),
)

case("no-new-privileges on", "no_new_privileges", HARD, "pass", "no-new-privileges True from /etc/docker/daemon.json")
case("not set", "no_new_privileges", STOCK, "fail", "no-new-privileges not set (default)")

case("live-restore on", "live_restore", HARD, "pass", "LiveRestoreEnabled=True")
case("live-restore off", "live_restore", STOCK, "fail", "LiveRestoreEnabled=False")
case(
    "swarm: incompatible",
    "live_restore",
    STOCK,
    "not_applicable",
    "swarm mode is active",
    info(Swarm={"LocalNodeState": "active", "ControlAvailable": True, "Managers": 1}),
)

case("userland-proxy off", "userland_proxy", HARD, "pass", "userland-proxy False")
case("userland-proxy default", "userland_proxy", STOCK, "fail", "userland-proxy not set (default)")

case("default profile: a person decides", "daemon_seccomp", STOCK, "manual", "name=seccomp,profile=default")
case("builtin (Engine 26)", "daemon_seccomp", PLANTED, "manual", "name=seccomp,profile=builtin")
_SECCOMP = "/etc/docker/seccomp/dockguard-0123456789ab.json"
_CUSTOM = both(
    daemon_json(seccomp_profile=_SECCOMP), security_options(f"name=seccomp,profile={_SECCOMP}"), stat(_SECCOMP)
)
case("custom profile, running, root's", "daemon_seccomp", STOCK, "pass", f"seccomp-profile '{_SECCOMP}'", _CUSTOM)
case(
    "custom profile configured, daemon not restarted",
    "daemon_seccomp",
    STOCK,
    "fail",
    "does not run the configured profile",
    both(daemon_json(seccomp_profile=_SECCOMP), stat(_SECCOMP)),
)
case(
    "custom profile others can write",
    "daemon_seccomp",
    STOCK,
    "fail",
    "root:root 0666",
    both(_CUSTOM, stat(_SECCOMP, mode=0o666)),
)
case(
    "custom profile of a user",
    "daemon_seccomp",
    STOCK,
    "fail",
    "a regular file of root's",
    both(_CUSTOM, stat(_SECCOMP, owner="alice", uid=1000)),
)
case(
    "custom profile missing",
    "daemon_seccomp",
    STOCK,
    "fail",
    "absent",
    both(daemon_json(seccomp_profile=_SECCOMP), security_options(f"name=seccomp,profile={_SECCOMP}")),
)
case(
    "unconfined is no profile",
    "daemon_seccomp",
    STOCK,
    "fail",
    "seccomp-profile 'unconfined' from /etc/docker/daemon.json: containers run without seccomp",
    both(daemon_json(seccomp_profile="unconfined"), security_options("name=seccomp,profile=unconfined")),
)
case(
    "kernel without seccomp",
    "daemon_seccomp",
    STOCK,
    "fail",
    "not in the daemon's security options",
    security_options(),
)

case("not experimental", "experimental", STOCK, "pass", "ExperimentalBuild=False")
case("experimental", "experimental", STOCK, "fail", "ExperimentalBuild=True", info(ExperimentalBuild=True))

# -- section 3: files --------------------------------------------------------------------------------

case(
    "unit root:root",
    "file_owner",
    STOCK,
    "pass",
    "/lib/systemd/system/docker.service: root:root 0644",
    arg="unit:docker.service root:root",
)
case(
    "unit owned by a user",
    "file_owner",
    STOCK,
    "fail",
    "alice:alice 0644 (file), expected root:root",
    stat("/lib/systemd/system/docker.service", owner="alice", group="alice", uid=1000, gid=1000),
    "unit:docker.service root:root",
)
case(
    "no daemon.json",
    "file_owner",
    STOCK,
    "not_applicable",
    "/etc/docker/daemon.json does not exist",
    arg="daemon.json root:root",
)
case(
    "daemon.json root:root",
    "file_owner",
    HARD,
    "pass",
    "/etc/docker/daemon.json: root:root",
    arg="daemon.json root:root",
)
case("socket root:docker", "file_owner", STOCK, "pass", "/var/run/docker.sock: root:docker", arg="socket root:docker")
case(
    "socket root:root",
    "file_owner",
    STOCK,
    "fail",
    "expected root:docker",
    stat("/var/run/docker.sock", group="root", gid=0),
    "socket root:docker",
)
case("rootless unit is the user's", "file_owner", ROOTLESS, "pass", "alice:alice", arg="unit:docker.service root:root")
case(
    "rootless: no socket unit",
    "file_owner",
    ROOTLESS,
    "not_applicable",
    "there is no socket unit",
    arg="unit:docker.socket root:root",
)
case(
    "rootless socket: the user, any group",
    "file_owner",
    ROOTLESS,
    "pass",
    "/run/user/1000/docker.sock: alice:",
    arg="socket root:docker",
)
case(
    "TLS not configured",
    "file_owner",
    STOCK,
    "not_applicable",
    "TLS is not configured (no TCP listener)",
    arg="tls:tlscacert root:root",
)
case(
    "TCP without tlscacert",
    "file_owner",
    STOCK,
    "not_applicable",
    "tlscacert is not configured",
    both(NO_H, daemon_json(hosts=["tcp://127.0.0.1:2375"])),
    "tls:tlscacert root:root",
)
case(
    "no registry certificates",
    "file_owner",
    STOCK,
    "not_applicable",
    "no registry certificates under /etc/docker/certs.d",
    arg="certs.d root:root",
)
case(
    "registry certificates, one not root's",
    "file_owner",
    STOCK,
    "fail",
    "/etc/docker/certs.d/b.example/ca.crt: alice:alice",
    both(
        listdir("/etc/docker/certs.d", ["a.example:5000", "b.example"]),
        listdir("/etc/docker/certs.d/a.example:5000", ["ca.crt"]),
        listdir("/etc/docker/certs.d/b.example", ["ca.crt"]),
        stat("/etc/docker/certs.d/a.example:5000/ca.crt", mode=0o444),
        stat("/etc/docker/certs.d/b.example/ca.crt", mode=0o444, owner="alice", group="alice"),
    ),
    "certs.d root:root",
    {"/etc/docker/certs.d/b.example/ca.crt"},
)
case(
    "containerd socket root:root",
    "file_owner",
    STOCK,
    "pass",
    "/run/containerd/containerd.sock: root:root",
    arg="containerd.sock root:root",
)
case(
    "rootless containerd",
    "file_owner",
    ROOTLESS,
    "not_applicable",
    "containerd runs inside the user's namespace",
    arg="containerd.sock root:root",
)
case(
    "symlinked daemon.json: the target's owner counts",
    "file_owner",
    HARD,
    "fail",
    "/srv/conf/daemon.json: alice:alice",
    both(
        stat("/etc/docker/daemon.json", kind="link", mode=0o777),
        readlink("/etc/docker/daemon.json", "../../srv/conf/daemon.json"),
        stat("/srv/conf/daemon.json", owner="alice", group="alice"),
    ),
    "daemon.json root:root",
)

case("unit 0644", "file_mode", STOCK, "pass", "0644 (file)", arg="unit:docker.service 644")
case(
    "unit group-writable",
    "file_mode",
    STOCK,
    "fail",
    "0664 (file), expected 0644 or stricter",
    stat("/lib/systemd/system/docker.service", mode=0o664),
    "unit:docker.service 644",
)
case(
    "stricter is fine",
    "file_mode",
    STOCK,
    "pass",
    "0600",
    stat("/lib/systemd/system/docker.socket", mode=0o600),
    "unit:docker.socket 644",
)
case("/etc/docker 0755", "file_mode", STOCK, "pass", "/etc/docker: root:root 0755 (dir)", arg="/etc/docker 755")
case("socket 0660", "file_mode", STOCK, "pass", "/var/run/docker.sock: root:docker 0660 (socket)", arg="socket 660")
case("socket 0666", "file_mode", STOCK, "fail", "0666 (socket)", stat("/var/run/docker.sock", mode=0o666), "socket 660")
case("rootlesskit's sticky bit grants nothing", "file_mode", ROOTLESS, "pass", "1660", arg="socket 660")
case(
    "setuid on daemon.json",
    "file_mode",
    HARD,
    "fail",
    "4644",
    stat("/etc/docker/daemon.json", mode=0o4644),
    "daemon.json 644",
)
case(
    "absent file",
    "file_mode",
    STOCK,
    "not_applicable",
    "/etc/sysconfig/docker does not exist",
    arg="/etc/sysconfig/docker 644",
)
case(
    "TLS key 0400",
    "file_mode",
    STOCK,
    "pass",
    "/etc/docker/tls/server-key.pem: root:root 0400",
    both(tls_daemon(), stat("/etc/docker/tls/server-key.pem", mode=0o400)),
    "tls:tlskey 400",
)
case(
    "TLS key 0600",
    "file_mode",
    STOCK,
    "fail",
    "0600 (file), expected 0400 or stricter",
    both(tls_daemon(), stat("/etc/docker/tls/server-key.pem", mode=0o600)),
    "tls:tlskey 400",
)
case(
    "a symlink's 0777 is not the file's mode",
    "file_mode",
    HARD,
    "pass",
    "/srv/conf/daemon.json: root:root 0644",
    both(
        stat("/etc/docker/daemon.json", kind="link", mode=0o777),
        readlink("/etc/docker/daemon.json", "/srv/conf/daemon.json"),
        stat("/srv/conf/daemon.json"),
    ),
    "daemon.json 644",
)
case(
    "a symlink that cannot be read",
    "file_mode",
    HARD,
    "error",
    "cannot read the symlink /etc/docker/daemon.json",
    stat("/etc/docker/daemon.json", kind="link", mode=0o777),
    "daemon.json 644",
)

# -- section 4: images ---------------------------------------------------------------------------------

case("USER 1000", "container_user", HARD, "pass", "all 1 running containers: runs as a non-root user")
case("no USER", "container_user", PLANTED, "fail", "4 of 5 containers", fails={"hostnet", "sock", "p1", "sshd"})
case("USER 0:0 is root", "container_user", HARD, "fail", "", inspect("good", Config={"User": "0:0"}), fails={"good"})
case(
    "USER root:1000 is root",
    "container_user",
    HARD,
    "fail",
    "",
    inspect("good", Config={"User": "root:1000"}),
    fails={"good"},
)
case("no containers", "container_user", STOCK, "not_applicable", "no running containers")

case("images listed for review", "manual_images", STOCK, "manual", "1 local images: dg-busybox:1")
case("daemon down", "manual_images", STOCK, "error", "refused", api_down)

case("not set", "content_trust", STOCK, "fail", "DOCKER_CONTENT_TRUST is not set for users")
case(
    "=1 in /etc/environment",
    "content_trust",
    STOCK,
    "pass",
    "/etc/environment (1)",
    read("/etc/environment", "DOCKER_CONTENT_TRUST=1\n"),
)
case(
    "export in profile.d, quoted",
    "content_trust",
    STOCK,
    "pass",
    "/etc/profile.d/dct.sh (true)",
    both(listdir("/etc/profile.d", ["dct.sh"]), read("/etc/profile.d/dct.sh", "export DOCKER_CONTENT_TRUST='true'\n")),
)
case(
    "=0 is off",
    "content_trust",
    STOCK,
    "fail",
    "DOCKER_CONTENT_TRUST='0' in /etc/environment",
    read("/etc/environment", "DOCKER_CONTENT_TRUST=0\n"),
)
case(
    "turned off again in profile.d",
    "content_trust",
    STOCK,
    "fail",
    "DOCKER_CONTENT_TRUST='false' in /etc/profile.d/zz.sh",
    both(
        read("/etc/environment", "DOCKER_CONTENT_TRUST=1\n"),
        listdir("/etc/profile.d", ["zz.sh"]),
        read("/etc/profile.d/zz.sh", "export DOCKER_CONTENT_TRUST=false\n"),
    ),
)
case("commented out", "content_trust", STOCK, "fail", "not set", read("/etc/environment", "# DOCKER_CONTENT_TRUST=1\n"))
case(
    "rootless: the user's ~/.profile",
    "content_trust",
    ROOTLESS,
    "pass",
    "/home/alice/.profile (1)",
    read("/home/alice/.profile", "export DOCKER_CONTENT_TRUST=1\n"),
)
case(
    "sudo env_file and systemd DefaultEnvironment named, with the Notary server",
    "content_trust",
    STOCK,
    "pass",
    "/etc/ct.env (sudo env_file, /etc/sudoers.d/ct) (1), "
    "/etc/systemd/system.conf.d/ct.conf (systemd DefaultEnvironment) (1)",
    both(
        read("/etc/environment", "DOCKER_CONTENT_TRUST=1\n"),
        listdir("/etc/profile.d", ["ct.sh"]),
        read("/etc/profile.d/ct.sh", "export DOCKER_CONTENT_TRUST=1\n"),
        listdir("/etc/sudoers.d", ["ct", "README.dpkg-new"]),
        read("/etc/sudoers.d/ct", 'Defaults env_file="/etc/ct.env"\n'),
        read("/etc/ct.env", "DOCKER_CONTENT_TRUST=1\nDOCKER_CONTENT_TRUST_SERVER=https://n:4443\n"),
        listdir("/etc/systemd/system.conf.d", ["ct.conf"]),
        read("/etc/systemd/system.conf.d/ct.conf", "[Manager]\nDefaultEnvironment=DOCKER_CONTENT_TRUST=1 X=2\n"),
    ),
)
case(
    "the Notary server is named",
    "content_trust",
    STOCK,
    "pass",
    "Notary server: https://n:4443",
    read("/etc/environment", "DOCKER_CONTENT_TRUST=1\nDOCKER_CONTENT_TRUST_SERVER=https://n:4443\n"),
)
case(
    "the channels left without it are named",
    "content_trust",
    STOCK,
    "pass",
    "not set for: login shells, sudo, systemd",
    read("/etc/environment", "DOCKER_CONTENT_TRUST=1\n"),
)
case(
    "systemd turns it off for services",
    "content_trust",
    STOCK,
    "fail",
    "DOCKER_CONTENT_TRUST='0' in /etc/systemd/system.conf (systemd DefaultEnvironment)",
    both(
        read("/etc/environment", "DOCKER_CONTENT_TRUST=1\n"),
        read("/etc/systemd/system.conf", '[Manager]\nDefaultEnvironment="DOCKER_CONTENT_TRUST=0"\n'),
    ),
)
case(
    "a sudoers file with a dot is not read by sudo",
    "content_trust",
    STOCK,
    "pass",
    "not set for: login shells, sudo, systemd",
    both(
        read("/etc/environment", "DOCKER_CONTENT_TRUST=1\n"),
        listdir("/etc/sudoers.d", ["ct.disabled"]),
        read("/etc/sudoers.d/ct.disabled", "Defaults env_file=/etc/off.env\n"),
        read("/etc/off.env", "DOCKER_CONTENT_TRUST=0\n"),
    ),
)

case(
    "image without HEALTHCHECK",
    "image_healthcheck",
    STOCK,
    "fail",
    "1 of 1 images without HEALTHCHECK: dg-busybox:1",
    fails={"dg-busybox:1"},
)
case("no images", "image_healthcheck", ROOTLESS, "not_applicable", "no local images")


def _healthcheck(test: list[str]) -> Change:
    def change(data: Data) -> None:
        for path, doc in data["api"].items():
            if path.startswith("/images/sha256:"):
                doc["Config"]["Healthcheck"] = {"Test": test}

    return change


case(
    "HEALTHCHECK CMD",
    "image_healthcheck",
    STOCK,
    "pass",
    "all 1 images have a HEALTHCHECK",
    _healthcheck(["CMD", "/bin/true"]),
)
case("HEALTHCHECK NONE", "image_healthcheck", STOCK, "fail", "without HEALTHCHECK", _healthcheck(["NONE"]))

# -- section 5: containers -------------------------------------------------------------------------------

SWARM_MANAGER = {"LocalNodeState": "active", "ControlAvailable": True, "Managers": 1, "Nodes": 1}
case("swarm inactive", "swarm_disabled", STOCK, "pass", "swarm inactive")
case("swarm active", "swarm_disabled", STOCK, "manual", "confirm it is needed", info(Swarm=SWARM_MANAGER))

case("no AppArmor in this kernel", "apparmor", PLANTED, "not_applicable", "AppArmor is not enabled")
APPARMOR = security_options("name=apparmor", "name=seccomp,profile=builtin")
case(
    "docker-default",
    "apparmor",
    HARD,
    "pass",
    "AppArmor profile applied",
    both(APPARMOR, inspect("good", AppArmorProfile="docker-default")),
)


def _attr(name: str, label: str) -> Change:
    """What the kernel reports for the process of container NAME (/proc/PID/attr/current)."""

    def change(data: Data) -> None:
        data["read"][f"/proc/{container(data, name)['State']['Pid']}/attr/current"] = label + "\n"

    return change


case(
    "docker-default enforced, as the kernel says",
    "apparmor",
    HARD,
    "pass",
    "AppArmor profile applied",
    both(APPARMOR, inspect("good", AppArmorProfile="docker-default"), _attr("good", "docker-default (enforce)")),
)
case(
    "docker-default in complain mode denies nothing",
    "apparmor",
    HARD,
    "fail",
    "good: AppArmorProfile=docker-default, but the kernel runs its process as docker-default (complain)",
    both(APPARMOR, inspect("good", AppArmorProfile="docker-default"), _attr("good", "docker-default (complain)")),
    fails={"good"},
)
case(
    "unconfined and none",
    "apparmor",
    PLANTED,
    "fail",
    "AppArmorProfile=",
    both(APPARMOR, inspect("good", AppArmorProfile="docker-default"), inspect("p1", AppArmorProfile="unconfined")),
    fails={"p1", "sshd", "hostnet", "sock"},
)

case("SELinux not enabled", "selinux", PLANTED, "not_applicable", "SELinux is not enabled")
SELINUX = security_options("name=selinux", "name=seccomp,profile=builtin")
case(
    "label set",
    "selinux",
    HARD,
    "pass",
    "SELinux labels set",
    both(SELINUX, hostconfig("good", SecurityOpt=["label=level:s0:c100,c200"])),
)
case("label=disable", "selinux", PLANTED, "fail", "", both(SELINUX, only("p1")), fails={"p1"})
case(
    "label:disable (legacy spelling)",
    "selinux",
    PLANTED,
    "fail",
    "",
    both(SELINUX, only("p1"), hostconfig("p1", SecurityOpt=["label:disable"])),
    fails={"p1"},
)
case("no labels", "selinux", PLANTED, "fail", "", both(SELINUX, only("sshd")), fails={"sshd"})

case("caps dropped", "capabilities", HARD, "pass", "no capabilities added")
case("privileged holds them all", "capabilities", PLANTED, "fail", "1 of 5 containers: p1", fails={"p1"})
case("CapAdd", "capabilities", HARD, "fail", "", hostconfig("good", CapAdd=["NET_ADMIN", "SYS_PTRACE"]), fails={"good"})
case("no containers", "capabilities", STOCK, "not_applicable", "no running containers")

case("not privileged", "privileged", HARD, "pass", "not privileged")
case("privileged", "privileged", PLANTED, "fail", "p1", fails={"p1"})

case("no bind mounts", "sensitive_mounts", HARD, "pass", "no sensitive host directory mounted")
case("/etc mounted", "sensitive_mounts", HARD, "fail", "", bind("good", "/etc/", "/host-etc"), fails={"good"})
case("/ mounted", "sensitive_mounts", HARD, "fail", "", bind("good", "/", "/host"), fails={"good"})
case("a data directory is fine", "sensitive_mounts", HARD, "pass", "", bind("good", "/srv/data", "/data"))

case("sshd running", "sshd", PLANTED, "fail", "1 of 5 containers: sshd", fails={"sshd"})
case("no sshd", "sshd", HARD, "pass", "no sshd process")
case(
    "namespace unreadable: not a pass",
    "sshd",
    HARD,
    "error",
    "cannot read the PID namespace of good",
    inspect("good", State={"Pid": 4242}),
)
case("no process: not a pass", "sshd", HARD, "error", "good has no process", inspect("good", State={"Pid": 0}))

case("port 8080", "privileged_ports", HARD, "pass", "no privileged host port")
case(
    "host port 80",
    "privileged_ports",
    HARD,
    "fail",
    "",
    ports("good", {"8080/tcp": [("127.0.0.1", "80")]}),
    fails={"good"},
)

case("published ports listed", "published_ports", PLANTED, "manual", "good: 127.0.0.1:8080->80/tcp")
case("none published", "published_ports", PLANTED, "manual", "no published ports", only("p1", "sock"))
case("no containers", "published_ports", STOCK, "not_applicable", "no running containers")

for _check, _field in (
    ("host_network", "NetworkMode"),
    ("host_pid", "PidMode"),
    ("host_ipc", "IpcMode"),
    ("host_uts", "UTSMode"),
    ("host_userns", "UsernsMode"),
):
    case(f"{_field} private", _check, HARD, "pass", "")
    case(
        f"{_field}=host",
        _check,
        HARD,
        "fail",
        "1 of 1 containers: good",
        hostconfig("good", **{_field: "host"}),
        fails={"good"},
    )
    case("no containers", _check, STOCK, "not_applicable", "no running containers")
case("--network host (real)", "host_network", PLANTED, "fail", "", fails={"hostnet"})
case(
    "sharing another container's PID namespace is not the host's",
    "host_pid",
    HARD,
    "pass",
    "",
    hostconfig("good", PidMode="container:abc"),
)

case("memory limited", "memory_limit", HARD, "pass", "memory limited")
case("no memory limit", "memory_limit", PLANTED, "fail", "", fails={"hostnet", "sock", "p1", "sshd"})

case("shares 512", "cpu_shares", HARD, "pass", "CPU shares set")
case("shares 1024 is the default", "cpu_shares", HARD, "fail", "", hostconfig("good", CpuShares=1024), fails={"good"})
case("unset", "cpu_shares", PLANTED, "fail", "", fails={"hostnet", "sock", "p1", "sshd"})

case("read-only", "read_only_rootfs", HARD, "pass", "read-only rootfs")
case("writable", "read_only_rootfs", PLANTED, "fail", "", fails={"hostnet", "sock", "p1", "sshd"})

case("bound to 127.0.0.1", "port_binding_ip", HARD, "pass", "ports bound to a specific address")
case(
    "0.0.0.0",
    "port_binding_ip",
    HARD,
    "fail",
    "published on every interface: 80->8080/tcp",
    ports("good", {"8080/tcp": [("0.0.0.0", "80")]}),
    fails={"good"},
)
case(
    "IPv6 wildcard ::",
    "port_binding_ip",
    HARD,
    "fail",
    "8443->443/tcp",
    ports("good", {"443/tcp": [("::", "8443")]}),
    fails={"good"},
)
case(
    "IPv6 wildcard [::]",
    "port_binding_ip",
    HARD,
    "fail",
    "",
    ports("good", {"443/tcp": [("[::]", "8443")]}),
    fails={"good"},
)
case(
    "IPv6 wildcard ::0",
    "port_binding_ip",
    HARD,
    "fail",
    "",
    ports("good", {"443/tcp": [("::0", "8443")]}),
    fails={"good"},
)
case("no address", "port_binding_ip", HARD, "fail", "", ports("good", {"443/tcp": [("", "8443")]}), fails={"good"})
case("IPv6 loopback", "port_binding_ip", HARD, "pass", "", ports("good", {"443/tcp": [("::1", "8443")]}))
case("unpublished container", "port_binding_ip", PLANTED, "pass", "", only("p1"))

case("on-failure:3", "restart_policy", HARD, "pass", "restart bounded")
case("no restart policy is acceptable", "restart_policy", PLANTED, "pass", "", only("p1"))
case(
    "on-failure:5",
    "restart_policy",
    HARD,
    "pass",
    "",
    hostconfig("good", RestartPolicy={"Name": "on-failure", "MaximumRetryCount": 5}),
)
for _name, _count in (("always", 0), ("unless-stopped", 0), ("on-failure", 0), ("on-failure", 6)):
    case(
        f"{_name}:{_count}",
        "restart_policy",
        HARD,
        "fail",
        "",
        hostconfig("good", RestartPolicy={"Name": _name, "MaximumRetryCount": _count}),
        fails={"good"},
    )

case("no devices", "host_devices", HARD, "pass", "no host devices")
case(
    "/dev/net/tun",
    "host_devices",
    HARD,
    "fail",
    "",
    hostconfig(
        "good", Devices=[{"PathOnHost": "/dev/net/tun", "PathInContainer": "/dev/net/tun", "CgroupPermissions": "rwm"}]
    ),
    fails={"good"},
)

case(
    "only the daemon's default-ulimits", "ulimit_overrides", HARD, "pass", "no container overrides the default ulimits"
)
case(
    "a runtime override",
    "ulimit_overrides",
    HARD,
    "manual",
    "good: ['nofile']",
    hostconfig("good", Ulimits=[{"Name": "nofile", "Soft": 1024, "Hard": 2048}]),
)
case(
    "the daemon's default from a flag",
    "ulimit_overrides",
    HARD,
    "pass",
    "no container overrides",
    both(
        read("/proc/1766/cmdline", "/usr/sbin/dockerd\0-H\0fd://\0--default-ulimit\0nofile=1024:2048\0"),
        hostconfig("good", Ulimits=[{"Name": "nofile", "Soft": 1024, "Hard": 2048}]),
    ),
)
case("no containers", "ulimit_overrides", STOCK, "not_applicable", "no running containers")

case("private propagation", "mount_propagation", PLANTED, "pass", "no shared mount propagation", only("sock"))
case(
    "rshared",
    "mount_propagation",
    HARD,
    "fail",
    "shared propagation on /mnt/shared",
    bind("good", "/srv/shared", "/mnt/shared", "rshared"),
    fails={"good"},
)

case("default profile", "seccomp_unconfined", HARD, "pass", "seccomp profile applied")
case("privileged", "seccomp_unconfined", PLANTED, "fail", "", fails={"p1"})
case(
    "seccomp=unconfined",
    "seccomp_unconfined",
    HARD,
    "fail",
    "",
    hostconfig("good", SecurityOpt=["seccomp=unconfined"]),
    fails={"good"},
)
case(
    "seccomp:unconfined (legacy spelling)",
    "seccomp_unconfined",
    HARD,
    "fail",
    "",
    hostconfig("good", SecurityOpt=["seccomp:unconfined"]),
    fails={"good"},
)
case(
    "a custom profile",
    "seccomp_unconfined",
    HARD,
    "pass",
    "",
    hostconfig("good", SecurityOpt=['seccomp={"defaultAction":"SCMP_ACT_ERRNO"}']),
)
case(
    "daemon-wide unconfined",
    "seccomp_unconfined",
    HARD,
    "fail",
    "",
    daemon_json(seccomp_profile="unconfined"),
    fails={"good"},
)
case("daemon without seccomp", "seccomp_unconfined", HARD, "fail", "", security_options(), fails={"good"})

for _check in ("exec_privileged", "exec_root"):
    case("audit log review", _check, PLANTED, "manual", "docker exec history is not kept by the daemon")
    case("even with the daemon down", _check, STOCK, "manual", "review the audit log", api_down)

case("default cgroup", "container_cgroup", HARD, "pass", "default cgroup")
case(
    "own cgroup parent",
    "container_cgroup",
    HARD,
    "fail",
    "",
    hostconfig("good", CgroupParent="/dg-custom"),
    fails={"good"},
)

case("daemon-wide no-new-privileges", "container_nnp", HARD, "pass", "no-new-privileges (daemon-wide)")
case("per container", "container_nnp", PLANTED, "fail", "", fails={"hostnet", "sock", "p1", "sshd"})
case(
    "no-new-privileges:true",
    "container_nnp",
    PLANTED,
    "pass",
    "",
    both(only("p1"), hostconfig("p1", SecurityOpt=["no-new-privileges:true"])),
)
case(
    "no-new-privileges=1",
    "container_nnp",
    PLANTED,
    "pass",
    "",
    both(only("p1"), hostconfig("p1", SecurityOpt=["no-new-privileges=1"])),
)
case(
    "=false overrides the daemon",
    "container_nnp",
    HARD,
    "fail",
    "",
    hostconfig("good", SecurityOpt=["no-new-privileges=false"]),
    fails={"good"},
)
case(
    "=0 overrides the daemon",
    "container_nnp",
    HARD,
    "fail",
    "",
    hostconfig("good", SecurityOpt=["no-new-privileges=0"]),
    fails={"good"},
)

case("health checked", "runtime_health", HARD, "pass", "health checked")
case("no health check", "runtime_health", PLANTED, "fail", "", fails={"hostnet", "sock", "p1", "sshd"})

case("containers listed", "manual_containers", PLANTED, "manual", "5 running containers from images: dg-busybox:1")
case("daemon down", "manual_containers", PLANTED, "error", "refused", api_down)

case("PIDs limited", "pids_limit", HARD, "pass", "PIDs limited")
case("no limit", "pids_limit", PLANTED, "fail", "", fails={"hostnet", "sock", "p1", "sshd"})
case("-1 is unlimited", "pids_limit", HARD, "fail", "", hostconfig("good", PidsLimit=-1), fails={"good"})

case("user-defined network", "default_bridge", HARD, "pass", "not on docker0")
case("docker0", "default_bridge", PLANTED, "fail", "", fails={"sock", "p1", "sshd"})

case("no socket", "docker_sock_mount", HARD, "pass", "Docker socket not mounted")
case("docker.sock", "docker_sock_mount", PLANTED, "fail", "1 of 5 containers: sock", fails={"sock"})
case("via /run", "docker_sock_mount", HARD, "fail", "mounts /run", bind("good", "/run", "/hostrun"), fails={"good"})
case("via /var/run/", "docker_sock_mount", HARD, "fail", "", bind("good", "/var/run/", "/hostrun"), fails={"good"})
case("/run/docker.sock", "docker_sock_mount", HARD, "fail", "", bind("good", "/run/docker.sock", "/s"), fails={"good"})
case(
    "a socket under another name",
    "docker_sock_mount",
    HARD,
    "fail",
    "mounts /srv/engine.sock",
    both(
        NO_H,
        daemon_json(hosts=["unix:///srv/engine.sock"]),
        bind("good", "/srv/engine.sock", "/var/run/docker.sock"),
    ),
    fails={"good"},
)
case(
    "/run/user is not the system socket",
    "docker_sock_mount",
    HARD,
    "pass",
    "",
    bind("good", "/run/user/1000/app", "/app"),
)

# -- section 6 ------------------------------------------------------------------------------------------

case("image sprawl", "image_sprawl", HARD, "manual", "2 images, 1 not used by a running container")
case("daemon down", "image_sprawl", HARD, "error", "refused", api_down)
case("container sprawl", "container_sprawl", PLANTED, "manual", "5 containers: 5 running, 0 stopped, 0 paused")
case("daemon down", "container_sprawl", PLANTED, "error", "refused", api_down)

# -- section 7: swarm ----------------------------------------------------------------------------------

for _check in ("swarm_manual", "swarm_managers", "swarm_overlay_encrypted", "swarm_autolock", "swarm_cert_expiry"):
    case("no swarm", _check, STOCK, "not_applicable", "swarm mode is not active")
case("swarm active", "swarm_manual", STOCK, "manual", "review this control by hand", info(Swarm=SWARM_MANAGER))
case("one manager", "swarm_managers", STOCK, "manual", "1 manager nodes", info(Swarm=SWARM_MANAGER))


# -- a real host with TLS over TCP, registry certificates, audit rules, content trust, an autolocked
# swarm and 23 containers planted for section 5 (tests/unit/fixtures/hosts/deb12-tls-swarm.json) ------

FULL = "deb12-tls-swarm"

case("real: dockerd watched", "audit_rule", FULL, "pass", "-w /usr/sbin/dockerd -k docker", arg="bin:dockerd")
case("real: /etc/docker by path=", "audit_rule", FULL, "pass", "-F path=/etc/docker", arg="/etc/docker")
case("real: commented runc rule", "audit_rule", FULL, "fail", "no audit rule watches /usr/bin/runc", arg="bin:runc")
case(
    "real: data-root not watched",
    "audit_rule",
    FULL,
    "fail",
    "no audit rule watches /var/lib/docker",
    arg="/var/lib/docker",
)
case("real: log-level warn", "log_level", FULL, "fail", "log-level 'warn' from /etc/docker/daemon.json")
case("real: insecure registries", "insecure_registries", FULL, "fail", "10.20.0.0/16, registry.internal:5000")
case(
    "real: verified TLS on tcp://0.0.0.0:2376",
    "tls",
    FULL,
    "pass",
    "TCP listeners: tcp://0.0.0.0:2376 | tlsverify=True",
)
case(
    "real: tlsverify dropped",
    "tls",
    FULL,
    "fail",
    "tlsverify=None",
    read(
        "/etc/docker/daemon.json",
        json.dumps(
            {
                "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"],
                "tls": True,
                "tlscert": "/etc/docker/tls/server-cert.pem",
                "tlskey": "/etc/docker/tls/server-key.pem",
            }
        ),
    ),
)
case("real: swarm, live-restore not applicable", "live_restore", FULL, "not_applicable", "swarm mode is active")
case(
    "real: CA certificate root:root",
    "file_owner",
    FULL,
    "pass",
    "/etc/docker/tls/ca.pem: root:root 0444",
    arg="tls:tlscacert root:root",
)
case(
    "real: server key 0400",
    "file_mode",
    FULL,
    "pass",
    "/etc/docker/tls/server-key.pem: root:root 0400",
    arg="tls:tlskey 400",
)
case("real: server cert 0444", "file_mode", FULL, "pass", "server-cert.pem: root:root 0444", arg="tls:tlscert 444")

# 2.7's evidence: the server certificate's validity and chain, read with _tls (the verdict stays the
# configuration's); 3.9-3.14: owners (by id) and modes judged by _tls.check_attrs.
CA = make_ca("dockguard test CA")
OTHER_CA = make_ca("another CA")
CA_PEM = pem(CA[0]).decode()
CERT, KEY = "/etc/docker/tls/server-cert.pem", "/etc/docker/tls/server-key.pem"


def certificates(leaf: str, ca: str = CA_PEM) -> Change:
    return both(read(CERT, leaf), read("/etc/docker/tls/ca.pem", ca))


case(
    "real: server certificate signed by the configured CA",
    "tls",
    FULL,
    "pass",
    f"server certificate {CERT} valid until",
    certificates(pem(make_leaf(CA)[0]).decode()),
)
case(
    "real: chain verified by the configured CA",
    "tls",
    FULL,
    "pass",
    "issued by CN=dockguard test CA: verified by the configured CA /etc/docker/tls/ca.pem",
    certificates(pem(make_leaf(CA)[0]).decode()),
)
case(
    "real: server certificate from another CA (evidence only)",
    "tls",
    FULL,
    "pass",
    "issued by CN=another CA: not verified by the configured CA /etc/docker/tls/ca.pem: not signed by any CA",
    certificates(pem(make_leaf(OTHER_CA)[0]).decode()),
)
case(
    "real: expired server certificate (evidence only)",
    "tls",
    FULL,
    "pass",
    f"server certificate {CERT} expired on",
    certificates(pem(make_leaf(CA, start=NOW - 30 * DAY, end=NOW - 2 * DAY)[0]).decode()),
)
case(
    "real: server certificate unreadable",
    "tls",
    FULL,
    "pass",
    f"server certificate not examined: cannot read {CERT}",
)
case(
    "TLS dropped: no certificate examined",
    "tls",
    STOCK,
    "fail",
    "tlscert=None",
    both(NO_H, daemon_json(hosts=["tcp://127.0.0.1:2375"]), certificates(pem(make_leaf(CA)[0]).decode())),
)
case(
    "real: CA certificate owned by alice",
    "file_owner",
    FULL,
    "fail",
    "/etc/docker/tls/ca.pem: alice:alice 0444 (file), expected root:root (owned by 1000:1000, expected 0:0)",
    stat("/etc/docker/tls/ca.pem", owner="alice", group="alice", uid=1000, gid=1000),
    "tls:tlscacert root:root",
)
case(
    "real: server key group-readable",
    "file_mode",
    FULL,
    "fail",
    f"{KEY}: root:root 0440 (file), expected 0400 or stricter (mode 0440 grants 0040 beyond 0400; set 0400)",
    stat(KEY, mode=0o440),
    "tls:tlskey 400",
)
case(
    "real: setuid server certificate",
    "file_mode",
    FULL,
    "fail",
    "mode 4444 grants 4000 beyond 0444",
    stat(CERT, mode=0o4444),
    "tls:tlscert 444",
)
ALICE_TLS = both(
    daemon_json(**{**TLS, "tlscacert": "/home/alice/.docker/ca.pem"}),
    stat("/home/alice/.docker/ca.pem", mode=0o444, owner="alice", group="alice", uid=1000, gid=1000),
)
case(
    "rootless TLS CA: the user's, by the ids of alice and her group",
    "file_owner",
    ROOTLESS,
    "pass",
    "/home/alice/.docker/ca.pem: alice:alice 0444",
    both(ALICE_TLS, read("/etc/group", "root:x:0:\nalice:x:1000:\n")),
    "tls:tlscacert root:root",
)
case(
    "rootless TLS CA: a group that /etc/group does not name",
    "file_owner",
    ROOTLESS,
    "error",
    "/etc/group has no entry for alice",
    both(ALICE_TLS, read("/etc/group", "root:x:0:\n")),
    "tls:tlscacert root:root",
)
case(
    "real: a registry certificate 0644",
    "file_mode",
    FULL,
    "fail",
    "/etc/docker/certs.d/mirror.example/ca.crt: root:root 0644 (file), expected 0444 or stricter",
    arg="certs.d 444",
    fails={"/etc/docker/certs.d/mirror.example/ca.crt"},
)
case(
    "real: registry certificates root:root",
    "file_owner",
    FULL,
    "pass",
    "registry.example:5000/ca.crt",
    arg="certs.d root:root",
    fails=set(),
)
case("real: DOCKER_CONTENT_TRUST=1", "content_trust", FULL, "pass", "DOCKER_CONTENT_TRUST on in /etc/environment (1)")
case(
    "real: one image with HEALTHCHECK, one without",
    "image_healthcheck",
    FULL,
    "fail",
    "1 of 2 images without HEALTHCHECK: dg-busybox:1",
    fails={"dg-busybox:1"},
)
case("real: swarm active", "swarm_disabled", FULL, "manual", "swarm mode is active")

NS_HOST = {"ns-host"}
case("real: --cap-add", "capabilities", FULL, "fail", "caps: CapAdd=NET_ADMIN,SYS_PTRACE", fails={"caps"})
case(
    "real: /etc and / mounted; /etc/ssl and /usr/share are not the listed dirs",
    "sensitive_mounts",
    FULL,
    "fail",
    "sensitive: mounts /etc, /",
    fails={"sensitive"},
)
case("real: sshd", "sshd", FULL, "fail", "1 of 23 containers: sshd", fails={"sshd"})
case(
    "real: host port 80",
    "privileged_ports",
    FULL,
    "fail",
    "ports: host ports below 1024: 80->8080/tcp",
    fails={"ports"},
)
case("real: published ports", "published_ports", FULL, "manual", "ports: 0.0.0.0:2222->22/tcp, 0.0.0.0:80->8080/tcp")
for _check in ("host_pid", "host_ipc", "host_uts", "host_userns"):
    case("real: --pid/--ipc/--uts/--userns host", _check, FULL, "fail", "1 of 23 containers: ns-host", fails=NS_HOST)
case("real: no --network host", "host_network", FULL, "pass", "all 23 running containers")
case(
    "real: wildcard bindings",
    "port_binding_ip",
    FULL,
    "fail",
    "ports: published on every interface: 2222->22/tcp, 80->8080/tcp",
    fails={"ports"},
)
case(
    "real: restart policies",
    "restart_policy",
    FULL,
    "fail",
    "restart-of0: restart policy on-failure:unlimited | ",
    fails={"restart-always", "restart-unless", "restart-of0", "restart-of10"},
)
case("real: --device", "host_devices", FULL, "fail", "devices: host devices: /dev/net/tun", fails={"devices"})
case(
    "real: merged default-ulimits are no override, --ulimit is",
    "ulimit_overrides",
    FULL,
    "manual",
    "ulimit overrides (confirm each is needed): devices: ['nofile']",
)
case(
    "real: rshared",
    "mount_propagation",
    FULL,
    "fail",
    "propagation: shared propagation on /mnt/shared",
    fails={"propagation"},
)
case(
    "real: seccomp=unconfined and seccomp:unconfined",
    "seccomp_unconfined",
    FULL,
    "fail",
    "seccomp-colon: seccomp=unconfined",
    fails={"seccomp-eq", "seccomp-colon"},
)
case(
    "real: --cgroup-parent",
    "container_cgroup",
    FULL,
    "fail",
    "cgroup-own: CgroupParent=/dg-custom",
    fails={"cgroup-own"},
)
case("real: no-new-privileges:true and bare", "container_nnp", FULL, "pass", "", only("good", "nnp-colon"))
case(
    "real: no-new-privileges=false",
    "container_nnp",
    FULL,
    "fail",
    "nnp-false: no-new-privileges=false",
    only("good", "nnp-false"),
    fails={"nnp-false"},
)
case("real: HEALTHCHECK from the image", "runtime_health", FULL, "pass", "health checked", only("good"))
case(
    "real: --user 0:0",
    "container_user",
    FULL,
    "fail",
    "root-uid: runs as 0:0",
    only("good", "root-uid"),
    fails={"root-uid"},
)
case(
    "real: overlay network, not docker0", "default_bridge", FULL, "pass", "not on docker0", only("good", "overlay-att")
)
case(
    "real: the socket by another path, by its directory, by /",
    "docker_sock_mount",
    FULL,
    "fail",
    "sock-dir: mounts /run",
    fails={"sock-other", "sock-dir", "sensitive"},
)
case("real: images in use", "image_sprawl", FULL, "manual", "2 images, 0 not used by a running container")
case("real: one created, never started", "container_sprawl", FULL, "manual", "24 containers: 23 running, 1 stopped")

case("real: one manager", "swarm_managers", FULL, "manual", "1 manager nodes")
case("real: swarm", "swarm_manual", FULL, "manual", "review this control by hand")
case(
    "real: ingress and dg-plain are not encrypted",
    "swarm_overlay_encrypted",
    FULL,
    "fail",
    "unencrypted overlay networks: ingress, dg-plain",
)


def _keep_networks(*names: str) -> Change:
    def change(data: Data) -> None:
        data["api"]["/networks"] = [n for n in data["api"]["/networks"] if n["Name"] in names]

    return change


case(
    "only an encrypted overlay",
    "swarm_overlay_encrypted",
    FULL,
    "pass",
    "1 overlay networks, all encrypted",
    _keep_networks("dg-secure", "bridge"),
)
case("no overlay networks", "swarm_overlay_encrypted", FULL, "pass", "no overlay networks", _keep_networks("bridge"))
case("real: autolock", "swarm_autolock", FULL, "pass", "AutoLockManagers=True")


def _swarm_spec(**values: t.Any) -> Change:
    def change(data: Data) -> None:
        data["api"]["/swarm"]["Spec"].update(values)

    return change


case(
    "autolock off",
    "swarm_autolock",
    FULL,
    "fail",
    "AutoLockManagers=False",
    _swarm_spec(EncryptionConfig={"AutoLockManagers": False}),
)


def _worker(data: Data) -> None:
    data["api"]["/info"]["Swarm"]["ControlAvailable"] = False
    data["api"]["/swarm"] = {"error": "GET /swarm: 503 This node is not a swarm manager.", "status": 503}


case("a worker cannot tell", "swarm_autolock", FULL, "not_applicable", "this node is not a swarm manager", _worker)
case("real: node certificates every 90 days", "swarm_cert_expiry", FULL, "manual", "NodeCertExpiry=7776000000000000 ns")
case("a worker", "swarm_cert_expiry", FULL, "not_applicable", "this node is not a swarm manager", _worker)
case(
    "/swarm unreadable on a manager",
    "swarm_cert_expiry",
    FULL,
    "error",
    "503",
    api("/swarm", {"error": "GET /swarm: 503", "status": 503}),
)


# -- flags on dockerd's command line count as daemon.json keys do ----------------------------------------

case(
    "-D on the command line",
    "log_level",
    STOCK,
    "fail",
    "debug True from dockerd flag",
    flags("-H", "fd://", "-D"),
)
case(
    "-l debug",
    "log_level",
    STOCK,
    "fail",
    "log-level 'debug' from dockerd flag",
    flags("-H", "fd://", "-l", "debug"),
)
case(
    "--iptables=false",
    "iptables",
    STOCK,
    "fail",
    "iptables False from dockerd flag --iptables",
    flags("-H", "fd://", "--iptables=false"),
)
case(
    "--tlsverify on tcp",
    "tls",
    STOCK,
    "pass",
    "tlsverify=True",
    flags(
        "-H",
        "tcp://0.0.0.0:2376",
        "--tlsverify",
        "--tlscacert=/c/ca.pem",
        "--tlscert=/c/cert.pem",
        "--tlskey=/c/key.pem",
    ),
)
case(
    "-H 0.0.0.0:2375 without a scheme is TCP",
    "tls",
    STOCK,
    "fail",
    "TCP listeners: 0.0.0.0:2375",
    flags("-H", "0.0.0.0:2375"),
)


# -- the cases, and the meta-tests that keep them complete ----------------------------------------------


@pytest.mark.parametrize("c", CASES, ids=[f"{c.check}: {c.id}" for c in CASES])
def test_check(c: Case) -> None:
    r = run_check(c.check, c.host, c.change, c.arg)
    assert r.status == c.status, r
    assert c.evidence in r.evidence, r
    if c.fails is not None:
        assert {n for n, s in r.items.items() if s == "fail"} == c.fails, r
        if r.items:
            assert all(s in ("pass", "fail") for s in r.items.values()), r


# checks whose answer never depends on the host: a person reviews what the daemon does not keep
CONSTANT = {"exec_privileged", "exec_root"}
GOOD = {"pass"}
NOT_GOOD = {"fail", "manual", "not_applicable", "error"}
# checks that only a person can judge: they never pass
MANUAL_ONLY = {
    "manual_host",
    "manual_images",
    "published_ports",
    "exec_privileged",
    "exec_root",
    "manual_containers",
    "image_sprawl",
    "container_sprawl",
    "swarm_manual",
    "swarm_managers",
    "swarm_cert_expiry",
}


def test_every_check_has_cases() -> None:
    covered = {c.check for c in CASES}
    assert sorted(set(checks.CHECKS) - covered) == []
    assert sorted(covered - set(checks.CHECKS)) == []


@pytest.mark.parametrize("name", sorted(checks.CHECKS))
def test_every_check_is_seen_both_ways(name: str) -> None:
    cases = [c for c in CASES if c.check == name]
    statuses = {c.status for c in cases}
    assert len(cases) >= 2, name
    if name in CONSTANT:
        assert statuses == {"manual"}
        return
    if statuses == {"manual"}:
        # a person judges; what the check shows them must come from the host
        assert name in MANUAL_ONLY and len({c.evidence for c in cases}) >= 2, (name, cases)
        return
    assert len(statuses) >= 2, (name, statuses)
    assert statuses & NOT_GOOD, (name, statuses)
    # a check that can pass is seen passing; a manual-only check is seen giving its manual answer
    assert statuses & ({"manual"} if name in MANUAL_ONLY else GOOD), (name, statuses)


def test_catalogue_names_only_registered_checks() -> None:
    named = {c.check for c in cat.CONTROLS} | {cat.EXTRA_V1_8_0.check}
    assert named == set(checks.CHECKS)


def test_manual_checks_never_pass() -> None:
    """Checks that only a person can judge answer manual (or not_applicable / error), on every host."""
    for c in CASES:
        if c.check in MANUAL_ONLY:
            assert c.status != "pass", c
    for host in (STOCK, HARD, PLANTED, ROOTLESS):
        for name in MANUAL_ONLY:
            assert run_check(name, host).status in ("manual", "not_applicable"), (name, host)


def test_not_applicable_always_says_why() -> None:
    for c in CASES:
        if c.status == "not_applicable":
            r = run_check(c.check, c.host, c.change, c.arg)
            assert r.evidence.strip(), c


def test_without_cryptography_the_certificate_evidence_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_tls, "CRYPTOGRAPHY_IMPORT_ERROR", "Traceback: no module named cryptography")
    r = run_check("tls", FULL, certificates(pem(make_leaf(CA)[0]).decode()))
    assert r.status == "pass", r
    assert f"server certificate {CERT} not examined: python3-cryptography is not installed on the host" in r.evidence
