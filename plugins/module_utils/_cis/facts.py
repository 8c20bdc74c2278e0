# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Facts the CIS audit judges, read once from the host and cached.

Every source of truth is behind the small Host interface (stat, read, listdir,
readlink, run, api), so the checks run the same against a live host and against
fixtures captured from one. A fact that cannot be had raises FactError with the
reason; the audit turns that into `error` on the controls that need it and
carries on.

Cost: the Engine API is asked once for the list of running containers and once
per container for its inspect document, over one kept-alive connection; images
likewise. /proc is scanned once. No process is started per check or per
container.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import stat
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils import _daemon_json as dj
from ansible_collections.dockguard.hardening.plugins.module_utils import _engine as engine
from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd
from ansible_collections.dockguard.hardening.plugins.module_utils._authz import policy as authz
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

# The Engine API's one error type: Host.api raises it (status 404: no such object).
ApiError = engine.EngineError


class FactError(DockguardError):
    """A fact could not be read; the message says why."""


class FileInfo(t.NamedTuple):
    path: str
    exists: bool
    kind: str = ""  # file, dir, socket, link, other
    mode: int = 0  # permission bits only
    uid: int = -1
    gid: int = -1
    owner: str = ""
    group: str = ""

    def describe(self) -> str:
        if not self.exists:
            return f"{self.path}: absent"
        return f"{self.path}: {self.owner}:{self.group} {self.mode:04o} ({self.kind})"


class Host(t.Protocol):
    def stat(self, path: str) -> FileInfo: ...
    def read(self, path: str) -> str: ...
    def listdir(self, path: str) -> list[str]: ...
    def readlink(self, path: str) -> str: ...
    def run(self, argv: list[str]) -> tuple[int, str, str]: ...
    def api(self, path: str) -> t.Any: ...


def _name(lookup: t.Callable[[int], t.Any], ident: int) -> str:
    try:
        return str(lookup(ident)[0])
    except KeyError:
        return str(ident)


class LocalHost:
    """The host the module runs on. run is the module's run_command seam; api the Engine API client's."""

    def __init__(self, run: t.Callable[[list[str]], tuple[int, str, str]], docker_socket: str, timeout: float) -> None:
        self._run = run
        self._client = engine.Client(docker_socket, timeout)

    def stat(self, path: str) -> FileInfo:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return FileInfo(path, False)
        kind = "other"
        for test, name in (
            (stat.S_ISREG, "file"),
            (stat.S_ISDIR, "dir"),
            (stat.S_ISSOCK, "socket"),
            (stat.S_ISLNK, "link"),
        ):
            if test(st.st_mode):
                kind = name
        return FileInfo(
            path,
            True,
            kind,
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            st.st_gid,
            _name(pwd.getpwuid, st.st_uid),
            _name(grp.getgrgid, st.st_gid),
        )

    def read(self, path: str) -> str:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def readlink(self, path: str) -> str:
        return os.readlink(path)

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        return self._run(argv)

    def api(self, path: str) -> t.Any:
        """GET path over the client's one kept-alive connection; EngineError on any failure."""
        return self._client.get(path)

    def close(self) -> None:
        self._client.close()


class Container(t.NamedTuple):
    name: str
    inspect: dict[str, t.Any]

    @property
    def host_config(self) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", self.inspect.get("HostConfig") or {})


class Target(t.NamedTuple):
    """The daemon under audit: the system one, or a rootless user's."""

    user: str | None
    uid: int
    home: str
    socket: str
    config_file: str
    unit_dirs: tuple[str, ...]
    pidfile: str

    @property
    def rootless(self) -> bool:
        return self.user is not None


def system_target(docker_host: str | None = None) -> Target:
    sock = docker_host or "/var/run/docker.sock"
    return Target(None, 0, "/root", sock, "/etc/docker/daemon.json", sd.SYSTEM_UNIT_DIRS, "/var/run/docker.pid")


def rootless_target(user: str, uid: int, home: str, docker_host: str | None = None) -> Target:
    run_dir = f"/run/user/{uid}"
    return Target(
        user,
        uid,
        home,
        docker_host or f"{run_dir}/docker.sock",
        os.path.join(home, ".config/docker/daemon.json"),
        sd.user_unit_dirs(home),
        f"{run_dir}/docker.pid",
    )


# The packages an engine comes in: Debian's, Docker's own repository's, and Moby's.
ENGINE_PACKAGES = ("docker.io", "docker-ce", "moby-engine")

# `Defaults env_file=PATH` (or "PATH") in a sudoers file, possibly among other settings of the line
_ENV_FILE = re.compile(r"^[ \t]*Defaults\b[^\n]*?\benv_file[ \t]*=[ \t]*\"?([^\s\",]+)", re.MULTILINE)

SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")


class Facts:
    """Lazily read, cached facts; each accessor raises FactError when the fact is unavailable."""

    def __init__(self, host: Host, target: Target, trusted_users: t.Sequence[str] | None = None) -> None:
        self.host = host
        self.target = target
        # who may control the daemon (CIS 1.1.2), when the caller says; None leaves that to a person
        self.trusted_users = None if trusted_users is None else sorted(set(trusted_users))
        self._cache: dict[str, t.Any] = {}
        self.vanished: list[str] = []

    def _cached(self, key: str, producer: t.Callable[[], t.Any]) -> t.Any:
        if key not in self._cache:
            try:
                self._cache[key] = ("ok", producer())
            except FactError as exc:
                self._cache[key] = ("err", str(exc))
        state, value = self._cache[key]
        if state == "err":
            raise FactError(value)
        return value

    # -- the Engine API ---------------------------------------------------------
    def _api(self, path: str) -> t.Any:
        try:
            return self.host.api(path)
        except engine.EngineError as exc:
            raise FactError(str(exc)) from exc
        except (ValueError, OSError) as exc:
            raise FactError(f"GET {path}: {exc}") from exc

    def info(self) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", self._cached("info", lambda: self._api("/info")))

    def version(self) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", self._cached("version", lambda: self._api("/version")))

    def security_options(self) -> set[str]:
        return engine.security_names(self.info())

    def containers(self) -> list[Container]:
        return t.cast("list[Container]", self._cached("containers", self._read_containers))

    def _read_containers(self) -> list[Container]:
        listed = self._api("/containers/json")
        out = []
        for entry in listed:
            cid = entry.get("Id", "")
            name = ((entry.get("Names") or ["/" + cid[:12]])[0]).lstrip("/")
            try:
                out.append(Container(name, self.host.api(f"/containers/{cid}/json")))
            except engine.EngineError as exc:
                if exc.status == 404:
                    self.vanished.append(name)
                    continue
                raise FactError(str(exc)) from exc
        return out

    def images(self) -> list[dict[str, t.Any]]:
        return t.cast("list[dict[str, t.Any]]", self._cached("images", self._read_images))

    def _read_images(self) -> list[dict[str, t.Any]]:
        out = []
        for entry in self._api("/images/json"):
            try:
                doc = self.host.api(f"/images/{entry['Id']}/json")
            except engine.EngineError as exc:
                if exc.status == 404:
                    continue
                raise FactError(str(exc)) from exc
            doc["_tags"] = entry.get("RepoTags") or []
            out.append(doc)
        return out

    def networks(self) -> list[dict[str, t.Any]]:
        return t.cast("list[dict[str, t.Any]]", self._cached("networks", lambda: self._api("/networks")))

    def swarm_active(self) -> bool:
        return (self.info().get("Swarm") or {}).get("LocalNodeState") == "active"

    def swarm(self) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", self._cached("swarm", lambda: self._api("/swarm")))

    # -- the daemon's configuration ---------------------------------------------
    def daemon_json(self) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", self._cached("daemon_json", self._read_daemon_json))

    def _read_daemon_json(self) -> dict[str, t.Any]:
        path = self.config_file()
        if not self.host.stat(path).exists:
            return {}
        try:
            return dj.parse(self.host.read(path), path)
        except (OSError, dj.DaemonConfigError) as exc:
            raise FactError(str(exc)) from exc

    def authz_policy(self, path: str = "/etc/dockguard/authz/policy.json") -> str:
        """What the dockguard authorization plugin's policy file holds, in one line (never raises)."""
        if not self.host.stat(path).exists:
            return f"no dockguard-authz policy at {path}: the plugin refuses every judged request"
        try:
            policy = authz.loads(self.host.read(path))
        except (OSError, authz.PolicyError) as exc:
            return f"dockguard-authz policy {path} is unusable ({exc}): the plugin keeps the last valid one"
        deny = sorted(n for n, r in policy.rules.items() if r.action == "deny")
        return (
            f"dockguard-authz policy {path}: mode {policy.mode}, {len(deny)} rules deny, "
            f"{len(policy.exceptions)} exceptions"
        )

    def config_file(self) -> str:
        flag = self._cmdline_value("config-file")
        return flag if flag else self.target.config_file

    def cmdline(self) -> list[sd.Flag]:
        return t.cast("list[sd.Flag]", self._cached("cmdline", self._read_cmdline))

    def dockerd_pid(self) -> int:
        return t.cast("int", self._cached("pid", self._read_pid))

    def _read_pid(self) -> int:
        try:
            return int(self.host.read(self.target.pidfile).strip())
        except (OSError, ValueError):
            pass
        for pid in self.host.listdir("/proc"):
            if pid.isdigit():
                try:
                    comm = self.host.read(f"/proc/{pid}/comm").strip()
                except OSError:
                    continue
                if comm == "dockerd":
                    return int(pid)
        raise FactError("no dockerd process found (pidfile " + self.target.pidfile + ")")

    def _read_cmdline(self) -> list[sd.Flag]:
        pid = self.dockerd_pid()
        try:
            raw = self.host.read(f"/proc/{pid}/cmdline")
        except OSError as exc:
            raise FactError(f"cannot read dockerd's command line: {exc}") from exc
        words = [w for w in raw.split("\0") if w]
        tokens = [sd.Token(w, "dockerd command line", w) for w in words]
        return sd.parse_dockerd_flags(tokens)

    def _cmdline_value(self, name: str) -> str | None:
        try:
            flags = self.cmdline()
        except FactError:
            return None
        for flag in flags:
            if flag.name == name:
                return flag.value
        return None

    def setting(self, key: str) -> tuple[t.Any, str]:
        """A daemon.json key's effective value and where it comes from (None, "default" when unset)."""
        values = [f for f in self.cmdline() if f.key == key]
        if values:
            last = values[-1]
            shown = "-" + last.name if len(last.name) == 1 else "--" + last.name  # -D, -l, --debug
            if values[0].name in sd.BOOL_FLAGS:
                return last.value not in ("false", "0"), "dockerd flag " + shown
            spec = dj.KNOWN_KEYS.get(key)
            if isinstance(spec, tuple) and spec[0] in ("list", "map"):
                return [f.value for f in values], "dockerd flags"
            return last.value, "dockerd flag " + shown
        conf = self.daemon_json()
        if key in conf:
            return conf[key], self.config_file()
        return None, "default"

    def hosts(self) -> list[str]:
        value = self.setting("hosts")[0]
        if value is None:
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    # -- files, units, audit rules, processes -------------------------------------
    def unit_file(self, unit: str) -> str | None:
        files = sd.unit_files(unit, self.target.unit_dirs, self.host.listdir)
        main = files[0] if files and not files[0].endswith(".conf") else None
        return main

    def audit_rules(self) -> tuple[str, str]:
        """(loaded rules, evidence of where they came from); FactError when neither source is readable."""
        return t.cast("tuple[str, str]", self._cached("audit", self._read_audit))

    def _read_audit(self) -> tuple[str, str]:
        try:
            rc, out, err = self.host.run(["auditctl", "-l"])
        except OSError:
            rc, out, err = 127, "", "auditctl not found"
        if rc == 0:
            return out, "auditctl -l"
        texts = []
        for d in ("/etc/audit/rules.d",):
            for name in self.host.listdir(d):
                if name.endswith(".rules"):
                    try:
                        texts.append(self.host.read(os.path.join(d, name)))
                    except OSError:
                        continue
        reason = (err or out or f"rc={rc}").strip().splitlines()[0] if (err or out) else f"rc={rc}"
        return "\n".join(texts), f"rules files only (auditctl -l: {reason})"

    def _account(self, table: str, name: str) -> list[str] | None:
        """The fields of NAME's line in /etc/passwd or /etc/group, or None without one."""
        try:
            text = self.host.read(table)
        except OSError as exc:
            raise FactError(f"{table}: {exc}") from exc
        for line in text.splitlines():
            parts = line.split(":")
            if len(parts) >= 4 and parts[0] == name:
                return parts
        return None

    def group_members(self, group: str) -> list[str] | None:
        parts = self._account("/etc/group", group)
        return None if parts is None else [m for m in parts[3].split(",") if m]

    def primary_members(self, group: str) -> list[str]:
        """Accounts whose primary group (the gid in /etc/passwd) is group: members not listed in /etc/group."""
        parts = self._account("/etc/group", group)
        if parts is None:
            return []
        try:
            text = self.host.read("/etc/passwd")
        except OSError as exc:
            raise FactError(f"/etc/passwd: {exc}") from exc
        return [f[0] for f in (line.split(":") for line in text.splitlines()) if len(f) >= 4 and f[3] == parts[2]]

    def engine_packages(self) -> dict[str, tuple[str, str, bool]]:
        """Installed and candidate versions of the engine packages apt knows ('(none)' for either when there is
        none), and whether an apt source offers the candidate (not only the installed copy in dpkg's status), from
        `apt-cache policy`; FactError when apt cannot answer (no apt on the host)."""
        return t.cast("dict[str, tuple[str, str, bool]]", self._cached("packages", self._read_packages))

    def _read_packages(self) -> dict[str, tuple[str, str, bool]]:
        try:
            rc, out, err = self.host.run(["apt-cache", "policy", *ENGINE_PACKAGES])
        except OSError as exc:
            raise FactError(f"apt-cache: {exc}") from exc
        if rc != 0:
            raise FactError(f"apt-cache policy failed (rc={rc}): {(err or out).strip()[:200] or 'no output'}")
        found: dict[str, tuple[str, str, bool]] = {}
        name = version = None
        fields: dict[str, str] = {}
        for line in out.splitlines():
            words = line.split()
            indent = len(line) - len(line.lstrip())
            if line and not indent and line.rstrip().endswith(":"):
                name, version, fields = line.rstrip()[:-1], None, {}
            elif name and words and words[0] in ("Installed:", "Candidate:"):
                fields[words[0][:-1]] = " ".join(words[1:])
            elif name and len(words) >= 2 and indent < 8:  # " *** VERSION PRIO" or "     VERSION PRIO"
                version = words[-2]
            elif name and len(words) >= 2 and version == fields.get("Candidate") and words[1] != "/var/lib/dpkg/status":
                fields["source"] = words[1]  # an apt source offers the candidate
            if name and "Installed" in fields and "Candidate" in fields:
                found[name] = (fields["Installed"], fields["Candidate"], "source" in fields)
        return found

    def account_ids(self, user: str, group: str) -> tuple[int, int]:
        """The uid of user and the gid of group (root is 0, the audited rootless user is the target's uid)."""
        ids = []
        for table, name in (("/etc/passwd", user), ("/etc/group", group)):
            if name == "root":
                ids.append(0)
            elif table == "/etc/passwd" and name == self.target.user:
                ids.append(self.target.uid)
            else:
                parts = self._account(table, name)
                if parts is None or not parts[2].isdigit():
                    raise FactError(f"{table} has no entry for {name}")
                ids.append(int(parts[2]))
        return ids[0], ids[1]

    def pem(self, path: str) -> bytes:
        """A certificate file's bytes (never a key's: the audit does not read keys)."""
        try:
            return self.host.read(path).encode("utf-8", "surrogateescape")
        except OSError as exc:
            raise FactError(f"cannot read {path}: {exc}") from exc

    def mounts(self) -> list[tuple[str, str]]:
        """(mount point, filesystem source) of the host's mounts."""
        return t.cast("list[tuple[str, str]]", self._cached("mounts", self._read_mounts))

    def _read_mounts(self) -> list[tuple[str, str]]:
        try:
            text = self.host.read("/proc/self/mountinfo")
        except OSError as exc:
            raise FactError(f"/proc/self/mountinfo: {exc}") from exc
        out = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) > 9 and "-" in fields:
                sep = fields.index("-")
                out.append((fields[4].replace("\\040", " "), fields[sep + 2]))
        return out

    def processes_by_pidns(self) -> dict[str, list[str]]:
        """Command names of all processes, keyed by their PID namespace (one /proc scan)."""
        return t.cast("dict[str, list[str]]", self._cached("procs", self._read_procs))

    def _read_procs(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for pid in self.host.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                ns = self.host.readlink(f"/proc/{pid}/ns/pid")
                comm = self.host.read(f"/proc/{pid}/comm").strip()
            except OSError:
                continue  # the process ended during the scan
            out.setdefault(ns, []).append(comm)
        return out

    def pidns_of(self, pid: int) -> str | None:
        try:
            return self.host.readlink(f"/proc/{pid}/ns/pid")
        except OSError:
            return None

    def sudo_env_files(self) -> list[tuple[str, str, str]]:
        """(env file, its text, the sudoers file naming it) for each `Defaults env_file=` sudo reads.

        sudo reads /etc/sudoers and the files of /etc/sudoers.d whose names have
        no `.` and do not end in `~` (the `@includedir` Debian ships).
        """
        names = ["/etc/sudoers"] + [
            os.path.join("/etc/sudoers.d", n)
            for n in self.host.listdir("/etc/sudoers.d")
            if "." not in n and not n.endswith("~")
        ]
        out = []
        for sudoers, text in self.readable(names):
            for m in _ENV_FILE.finditer(text):
                out += [(env, env_text, sudoers) for env, env_text in self.readable([m.group(1)])]
        return out

    def systemd_default_environment(self) -> list[tuple[str, dict[str, str]]]:
        """(file, assignments) of each `DefaultEnvironment=` in systemd's manager configuration, in reading order."""
        out = []
        for path, text in self.config_files(
            "/etc/systemd/system.conf", "/etc/systemd/system.conf.d", "/usr/lib/systemd/system.conf.d"
        ):
            for line in text.splitlines():
                key, sep, value = line.strip().partition("=")
                if sep and key.strip() == "DefaultEnvironment":
                    try:
                        words = shlex.split(value)
                    except ValueError:
                        continue
                    out.append((path, dict(w.split("=", 1) for w in words if "=" in w)))
        return out

    def config_files(self, main: str, *dropin_dirs: str) -> list[tuple[str, str]]:
        """(path, text) of a configuration file and the *.conf files of its drop-in directories, in the order
        the service reads them (main first, then each directory's files by name); files that cannot be read
        are left out (a host without the service has none).
        """
        paths = [main] + [os.path.join(d, n) for d in dropin_dirs for n in self.host.listdir(d) if n.endswith(".conf")]
        return self.readable(paths)

    def readable(self, paths: list[str]) -> list[tuple[str, str]]:
        """(path, text) of each of the paths that can be read, in order."""
        out = []
        for p in paths:
            try:
                out.append((p, self.host.read(p)))
            except OSError:
                continue
        return out

    def environment_files(self) -> list[tuple[str, str]]:
        """(path, text) of the system-wide shell environment files."""
        paths = ["/etc/environment"] + [
            os.path.join("/etc/profile.d", n) for n in self.host.listdir("/etc/profile.d") if n.endswith(".sh")
        ]
        if self.target.rootless:
            paths += [os.path.join(self.target.home, n) for n in (".profile", ".bashrc", ".pam_environment")]
        return self.readable(paths)
