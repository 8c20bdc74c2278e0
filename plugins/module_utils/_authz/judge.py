# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Judging one AuthZReq: which door of the Engine API it is, what it asks for, which rules it breaks.

Every door to the same result is judged: a container created, updated or exec'ed into, a volume whose local
driver binds a host path, a swarm service, a plugin installed or reconfigured, a build on the host network.
A request that must carry a body to be judged and does not (absent, too big for dockerd to forward, not JSON)
is refused as one that cannot be judged. Host paths are judged as the kernel will mount them: normalized, and
with the host's symlinks resolved (os.path.realpath only reads links, it never opens what they name).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import posixpath
import re
import typing as t
import urllib.parse

from ansible_collections.dockguard.hardening.plugins.module_utils._authz import images as im
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import predicates as pr
from ansible_collections.dockguard.hardening.plugins.module_utils._authz.policy import RULES, Policy

# a request that cannot be judged is refused under this name (no exception applies to it)
UNJUDGED = "unjudged"
_VERSION = re.compile(r"^/v\d+(\.\d+)?(?=/)")
_ROOT_USERS = re.compile(r"^(root|0)(:.*)?$")


class Finding(t.NamedTuple):
    rule: str
    detail: str


class Decision(t.NamedTuple):
    allow: bool
    endpoint: str
    msg: str
    user: str = ""
    method: str = ""
    path: str = ""
    denied: tuple[Finding, ...] = ()
    warned: tuple[Finding, ...] = ()
    excepted: tuple[tuple[Finding, int], ...] = ()


class Request(t.NamedTuple):
    user: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: t.Any  # the parsed JSON body; None when absent or unreadable
    body_problem: str | None


def parse_request(req: dict[str, t.Any]) -> Request:
    """The parts of an AuthZReq the rules read: user, method, clean path (no /vX.Y), query, JSON body."""
    # dockerd's field is "RequestUri" (Go: RequestURI string `json:"RequestUri"`)
    uri = str(req.get("RequestUri") or "")
    split = urllib.parse.urlsplit(uri)
    path = posixpath.normpath("/" + urllib.parse.unquote(split.path).lstrip("/"))
    path = _VERSION.sub("", path)
    body, problem = None, None
    raw = req.get("RequestBody")
    if not uri.startswith("/"):
        problem = f"the request names no endpoint the plugin can read ({uri[:80]!r})"
    elif raw in (None, ""):
        problem = "the request carries no body (absent, chunked past the engine's limit, or over 1 MiB)"
    else:
        try:
            body = json.loads(base64.b64decode(str(raw), validate=True))
        except (binascii.Error, ValueError):
            problem = "the request body is not JSON"
    return Request(
        str(req.get("User") or ""),
        str(req.get("RequestMethod") or "").upper(),
        path,
        urllib.parse.parse_qs(split.query, keep_blank_values=True),
        body,
        problem,
    )


class Judge:
    """Judges requests under one policy; verify is the image signature verifier (injected, None without it)."""

    def __init__(
        self,
        policy: Policy,
        verify: im.Verifier | None = None,
        resolve: t.Callable[[str], str] = os.path.realpath,
        now: t.Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.policy = policy
        self.verify = verify
        self.resolve = resolve
        self.now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.cache = im.SignatureCache()

    # -- the doors -----------------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, re.Pattern[str], t.Callable[[Request], list[Finding]], bool]]:
        """(method, path pattern, judge, needs a body)."""
        return [
            ("POST", re.compile(r"/containers/create"), self.container_create, True),
            ("POST", re.compile(r"/containers/[^/]+/update"), self.container_update, True),
            ("POST", re.compile(r"/containers/[^/]+/exec"), self.exec_create, True),
            ("POST", re.compile(r"/containers/[^/]+/start"), self.container_start, False),
            ("POST", re.compile(r"/volumes/create"), self.volume_create, True),
            ("POST", re.compile(r"/services/create"), self.service, True),
            ("POST", re.compile(r"/services/[^/]+/update"), self.service, True),
            ("POST", re.compile(r"/plugins/pull"), self.plugin_install, False),
            ("POST", re.compile(r"/plugins/.+/upgrade"), self.plugin_install, False),
            ("POST", re.compile(r"/plugins/create"), self.plugin_install, False),
            ("POST", re.compile(r"/plugins/.+/set"), self.plugin_install, False),
            ("POST", re.compile(r"/build"), self.build, False),
        ]

    def decide(self, req: dict[str, t.Any]) -> Decision:
        r = parse_request(req)
        if r.body_problem and r.body_problem.startswith("the request names no endpoint"):
            return self._verdict(r, "unknown", [Finding(UNJUDGED, r.body_problem)], [])
        for method, pattern, judge, needs_body in self.routes():
            if r.method == method and pattern.fullmatch(r.path):
                endpoint = f"{method} {pattern.pattern}"
                if needs_body and r.body_problem:
                    return self._verdict(r, endpoint, [Finding(UNJUDGED, r.body_problem)], [])
                if needs_body and not isinstance(r.body, dict):
                    return self._verdict(r, endpoint, [Finding(UNJUDGED, "the request body is not a JSON object")], [])
                return self._verdict(r, endpoint, judge(r), images_of(r))
        kind = "not judged" if r.method in ("POST", "PUT", "DELETE") else "read"
        return Decision(True, kind, "", r.user, r.method, r.path)

    # -- verdicts --------------------------------------------------------------------------------------------
    def _verdict(self, r: Request, endpoint: str, found: list[Finding], images: t.Sequence[str]) -> Decision:
        now = self.now()
        denied, warned, excepted = [], [], []
        spellings = [s for i in images for s in im.names(i)]
        for f in found:
            action = "deny" if f.rule == UNJUDGED else self.policy.rule(f.rule).action
            if action == "off":
                continue
            exc = None
            if f.rule != UNJUDGED:
                exc = next(
                    (e for e in self.policy.exceptions if not e.expired(now) and e.matches(f.rule, r.user, spellings)),
                    None,
                )
            if exc is not None:
                excepted.append((f, exc.number))
                continue
            if self.policy.mode == "warn" or action == "warn":
                warned.append(f)
            else:
                denied.append(f)
        return Decision(
            not denied,
            endpoint,
            refusal(denied),
            r.user,
            r.method,
            r.path,
            tuple(denied),
            tuple(warned),
            tuple(excepted),
        )

    def _on(self, name: str) -> bool:
        return self.policy.rule(name).action != "off"

    def _param(self, name: str, key: str) -> t.Any:
        return self.policy.rule(name).params[key]

    # -- containers --------------------------------------------------------------------------------------------
    def container_create(self, r: Request) -> list[Finding]:
        body = r.body
        hc = body.get("HostConfig") or {}
        if not isinstance(hc, dict):
            return [Finding(UNJUDGED, "HostConfig is not an object")]
        found = self.host_config(hc)
        found += self.user(str(body.get("User") or ""))
        image = str(body.get("Image") or "")
        found += [Finding(n, p) for n, p in im.image_findings(image, self.policy.rules, self.verify, self.cache)]
        return found

    def host_config(self, hc: dict[str, t.Any]) -> list[Finding]:
        found = []
        opts = pr.security_opts(hc)
        if hc.get("Privileged"):
            found.append(Finding("privileged", "--privileged gives every capability and every host device"))
        for key in ("MaskedPaths", "ReadonlyPaths"):
            if key in hc and hc[key] is not None and not hc[key]:
                found.append(Finding("privileged", f"{key} is empty (systempaths=unconfined exposes /proc and /sys)"))
        added = pr.added_capabilities(hc, self._param("capabilities", "allow"))
        if added:
            found.append(Finding("capabilities", f"--cap-add {','.join(added)} is outside the allowlist"))
        for ns, field in pr.NAMESPACE_FIELDS.items():
            if pr.host_namespace(hc, field):
                found.append(Finding(f"host_{ns}" if ns != "cgroup" else "host_cgroupns", f"{field}=host"))
        found += self.mounts(hc)
        found += self.devices(hc)
        if pr.seccomp_unconfined(opts):
            found.append(Finding("seccomp_unconfined", "seccomp=unconfined"))
        if pr.apparmor_unconfined(opts):
            found.append(Finding("apparmor_unconfined", "apparmor=unconfined"))
        if "label=disable" in opts:
            found.append(Finding("selinux_disabled", "label=disable"))
        if pr.no_new_privileges_off(opts):
            found.append(Finding("no_new_privileges_off", "no-new-privileges=false"))
        if not pr.limited(hc, "Memory"):
            found.append(Finding("memory_limit", "no memory limit"))
        if not pr.limited(hc, "PidsLimit"):
            found.append(Finding("pids_limit", "no PIDs limit"))
        found += self.ports(pr.port_bindings(hc.get("PortBindings")), bool(hc.get("PublishAllPorts")))
        problem = pr.restart_problem(hc.get("RestartPolicy") or {}, self._param("restart_policy", "max_retries"))
        if problem:
            found.append(Finding("restart_policy", problem))
        return found

    def ports(self, bindings: list[tuple[str, str, str]], publish_all: bool) -> list[Finding]:
        found = []
        low = [f"{hp}->{cp}" for cp, _ip, hp in bindings if pr.low_port(hp)]
        if low:
            found.append(Finding("privileged_ports", f"host ports below 1024: {', '.join(low)}"))
        wild = [f"{ip or '*'}:{hp or 'any'}->{cp}" for cp, ip, hp in bindings if pr.unspecified(ip)]
        if publish_all:
            wild.append("--publish-all")
        if wild:
            found.append(Finding("all_interfaces", f"published on every interface: {', '.join(wild)}"))
        return found

    def user(self, user: str, what: str = "the container") -> list[Finding]:
        if not user:
            return [Finding("root_user", f"{what} runs as the image's default user (not looked up): name one")]
        if _ROOT_USERS.match(user):
            return [Finding("root_user", f"{what} runs as {user}")]
        return []

    def devices(self, hc: dict[str, t.Any]) -> list[Finding]:
        devs = pr.host_devices(hc)
        devs += [f"cgroup rule {r}" for r in hc.get("DeviceCgroupRules") or []]
        devs += [f"device request {d.get('Driver') or 'default'}" for d in hc.get("DeviceRequests") or []]
        return [Finding("devices", f"host devices: {', '.join(devs)}")] if devs else []

    # -- host paths --------------------------------------------------------------------------------------------
    def mounts(self, hc: dict[str, t.Any]) -> list[Finding]:
        """Binds ("SRC:DST[:OPTS]"), Mounts of type bind, and Mounts whose volume the local driver binds."""
        found = []
        for bind in hc.get("Binds") or []:
            src, _sep, rest = str(bind).partition(":")
            if not src.startswith("/"):
                continue  # a named volume: judged when it was created
            opts = rest.partition(":")[2].split(",")
            prop = next((o for o in opts if o in ("shared", "rshared")), "")
            found += self.host_path(src, "ro" not in opts, prop)
        for m in hc.get("Mounts") or []:
            if not isinstance(m, dict):
                return [Finding(UNJUDGED, "a mount is not an object")]
            kind = str(m.get("Type") or "")
            if kind == "bind":
                prop = str((m.get("BindOptions") or {}).get("Propagation") or "")
                found += self.host_path(str(m.get("Source") or ""), not m.get("ReadOnly"), prop)
            elif kind == "volume":
                driver = (m.get("VolumeOptions") or {}).get("DriverConfig") or {}
                found += self.volume(str(driver.get("Name") or ""), driver.get("Options") or {}, not m.get("ReadOnly"))
        return found

    def host_path(self, source: str, writable: bool, propagation: str = "") -> list[Finding]:
        if not source.startswith("/"):
            return [Finding(UNJUDGED, f"bind source {source!r} is not an absolute path")]
        seen = {posixpath.normpath(source), self.resolve(posixpath.normpath(source))}
        shown = source + "".join(f" (-> {p})" for p in sorted(seen) if p != source)
        found = []
        for top in self._param("sensitive_mounts", "paths") if self._on("sensitive_mounts") else ():
            if any((top != "/" and pr.within(p, top)) or pr.within(top, p) for p in seen):
                found.append(Finding("sensitive_mounts", f"{shown} is or holds {top}"))
                break
        if any(pr.exposes_socket(p, self._param("docker_socket", "sockets")) for p in seen):
            found.append(Finding("docker_socket", f"{shown} is or holds the daemon's socket"))
        if writable:
            found.append(Finding("writable_mounts", f"{shown} is mounted writable"))
        if propagation in ("shared", "rshared"):
            found.append(Finding("mount_propagation", f"{shown} has {propagation} propagation"))
        return found

    def volume(self, driver: str, opts: t.Any, writable: bool) -> list[Finding]:
        """A volume of the local driver binds a host path (o=bind,device=PATH) or mounts a host device."""
        if driver not in ("", "local") or not opts:
            return []
        if not isinstance(opts, dict):
            return [Finding(UNJUDGED, "volume driver options are not an object")]
        o = [x.strip() for x in str(opts.get("o") or "").split(",")]
        device = str(opts.get("device") or "")
        if "bind" in o or "rbind" in o:
            return self.host_path(device, writable and "ro" not in o)
        if device.startswith("/"):
            return [Finding("devices", f"the volume mounts the host's {device} (type {opts.get('type') or '?'})")]
        return []

    # -- the other doors -------------------------------------------------------------------------------------
    def container_update(self, r: Request) -> list[Finding]:
        body, found = r.body, []
        if "Memory" in body and int(body.get("Memory") or 0) < 0:
            found.append(Finding("memory_limit", "the update removes the memory limit"))
        if body.get("PidsLimit") is not None and int(body["PidsLimit"]) <= 0:
            found.append(Finding("pids_limit", "the update removes the PIDs limit"))
        found += self.devices(body)
        if (body.get("RestartPolicy") or {}).get("Name"):
            problem = pr.restart_problem(body["RestartPolicy"], self._param("restart_policy", "max_retries"))
            if problem:
                found.append(Finding("restart_policy", problem))
        return found

    def exec_create(self, r: Request) -> list[Finding]:
        found = []
        if r.body.get("Privileged"):
            found.append(Finding("exec_privileged", "docker exec --privileged"))
        user = str(r.body.get("User") or "")
        if _ROOT_USERS.match(user):
            found.append(Finding("exec_root", f"docker exec --user {user}"))
        return found

    def container_start(self, r: Request) -> list[Finding]:
        if isinstance(r.body, dict) and r.body:
            return [Finding(UNJUDGED, "a start request carrying a HostConfig (removed from the API) is not judged")]
        return []

    def volume_create(self, r: Request) -> list[Finding]:
        return self.volume(str(r.body.get("Driver") or ""), r.body.get("DriverOpts") or {}, True)

    def service(self, r: Request) -> list[Finding]:
        task = r.body.get("TaskTemplate") or {}
        spec = task.get("ContainerSpec") or {}
        if not isinstance(spec, dict) or not spec:
            return [Finding(UNJUDGED, "the service has no ContainerSpec (plugin or unknown runtime)")]
        privs = spec.get("Privileges") or {}
        hc = {
            "CapAdd": spec.get("CapabilityAdd"),
            "Mounts": spec.get("Mounts"),
            "Memory": ((task.get("Resources") or {}).get("Limits") or {}).get("MemoryBytes"),
            "PidsLimit": ((task.get("Resources") or {}).get("Limits") or {}).get("Pids"),
            "SecurityOpt": [
                o
                for o, on in (
                    ("seccomp=unconfined", (privs.get("Seccomp") or {}).get("Mode") == "unconfined"),
                    ("apparmor=unconfined", (privs.get("AppArmor") or {}).get("Mode") == "disabled"),
                    ("label=disable", (privs.get("SELinuxContext") or {}).get("Disable")),
                )
                if on
            ],
        }
        policy = task.get("RestartPolicy") or {}
        cond = {"any": "always", "on-failure": "on-failure", "none": "no"}.get(str(policy.get("Condition") or "any"))
        hc["RestartPolicy"] = {"Name": cond, "MaximumRetryCount": policy.get("MaxAttempts") or 0}
        found = self.host_config(hc)
        nets = [str(n.get("Target")) for n in (task.get("Networks") or r.body.get("Networks") or [])]
        if "host" in nets:
            found.append(Finding("host_network", "the service joins the host network"))
        ports = [p for p in (r.body.get("EndpointSpec") or {}).get("Ports") or [] if p.get("PublishedPort")]
        found += self.ports([(str(p.get("TargetPort")), "", str(p["PublishedPort"])) for p in ports], False)
        found += self.user(str(spec.get("User") or ""), "the service")
        image = str(spec.get("Image") or "")
        found += [Finding(n, p) for n, p in im.image_findings(image, self.policy.rules, self.verify, self.cache)]
        return found

    def plugin_install(self, r: Request) -> list[Finding]:
        name = (r.query.get("remote") or r.query.get("name") or [""])[0]
        if r.path.endswith(("/upgrade", "/set")):
            name = r.path[len("/plugins/") :].rsplit("/", 1)[0]
        allow = self._param("plugin_install", "allow")
        if name and any(name == a or name.split(":")[0] == a for a in allow):
            return []
        return [Finding("plugin_install", f"plugin {name or '(from a tar context)'} is not allowlisted")]

    def build(self, r: Request) -> list[Finding]:
        if (r.query.get("networkmode") or [""])[0] == "host":
            return [Finding("build_host_network", "docker build --network host")]
        return []


def images_of(r: Request) -> list[str]:
    """The image a create or service request runs (what image exceptions match)."""
    if not isinstance(r.body, dict):
        return []
    if r.path.startswith("/services/"):
        spec = (r.body.get("TaskTemplate") or {}).get("ContainerSpec") or {}
        return [str(spec.get("Image"))] if isinstance(spec, dict) and spec.get("Image") else []
    return [str(r.body["Image"])] if r.path == "/containers/create" and r.body.get("Image") else []


def refusal(denied: t.Sequence[Finding]) -> str:
    """The message a developer reads: each rule broken, its control, and how to comply."""
    if not denied:
        return ""
    parts = []
    for f in denied:
        if f.rule == UNJUDGED:
            parts.append(f"cannot be judged: {f.detail}; refused (send the request with its JSON body)")
        else:
            spec = RULES[f.rule]
            parts.append(f"rule {f.rule} (CIS {spec.control}): {f.detail}; to comply: {spec.comply}")
    return "dockguard-authz refused this request: " + " | ".join(parts)
