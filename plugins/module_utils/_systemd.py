# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""systemd unit files and dockerd command lines, as plain data.

Reads a unit with its drop-ins the way systemd merges them, finds the
effective ExecStart= and the file it came from, expands $VAR/${VAR} from
Environment= and EnvironmentFile=, parses the dockerd flags, and says which
daemon.json keys they set. Everything here is pure: file contents come in as
a mapping of path to text.
"""

from __future__ import annotations

import os
import re
import shlex
import typing as t


class UnitError(Exception):
    """A unit file or command line that cannot be understood."""


SYSTEM_UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
)


def user_unit_dirs(home: str) -> tuple[str, ...]:
    return (
        os.path.join(home, ".config/systemd/user"),
        "/etc/systemd/user",
        "/usr/local/lib/systemd/user",
        "/usr/lib/systemd/user",
    )


class Assignment(t.NamedTuple):
    section: str
    key: str
    value: str
    origin: str  # "path:line"


def parse_unit(text: str, path: str) -> list[Assignment]:
    """Assignments of one unit file, in order; continuation lines joined."""
    out: list[Assignment] = []
    section = ""
    pending = ""
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending:
            start = lineno
            if not line or line[0] in "#;":
                continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.startswith("["):
            if not line.endswith("]"):
                raise UnitError(f"{path}:{start}: malformed section header {line!r}")
            section = line[1:-1]
            continue
        if "=" not in line:
            raise UnitError(f"{path}:{start}: expected KEY=VALUE, got {line!r}")
        if not section:
            raise UnitError(f"{path}:{start}: assignment outside any [Section]")
        key, value = line.split("=", 1)
        out.append(Assignment(section, key.strip(), value.strip(), f"{path}:{start}"))
    if pending:
        raise UnitError(f"{path}: file ends inside a continued line")
    return out


def unit_files(unit: str, dirs: t.Sequence[str], listdir: t.Callable[[str], list[str]]) -> list[str]:
    """The main file and the drop-ins of unit, in the order systemd applies them.

    listdir(path) returns the entries of a directory, or [] when it is absent.
    The main file is the first found along dirs; a drop-in name in an earlier
    directory masks the same name in later ones; drop-ins apply sorted by name.
    """
    main = ""
    for d in dirs:
        if unit in listdir(d):
            main = os.path.join(d, unit)
            break
    dropins: dict[str, str] = {}
    for d in dirs:
        ddir = os.path.join(d, unit + ".d")
        for name in listdir(ddir):
            if name.endswith(".conf") and name not in dropins:
                dropins[name] = os.path.join(ddir, name)
    return ([main] if main else []) + [dropins[n] for n in sorted(dropins)]


class Service(t.NamedTuple):
    exec_start: str  # raw command line
    exec_origin: str  # "path:line" of the effective ExecStart=
    environment: dict[str, str]
    environment_files: list[tuple[str, bool]]  # (path, optional)
    files: list[str]


def read_service(files: list[str], read: t.Callable[[str], str]) -> Service:
    exec_start = ""
    exec_origin = ""
    env: dict[str, str] = {}
    env_files: list[tuple[str, bool]] = []
    for path in files:
        for a in parse_unit(read(path), path):
            if a.section != "Service":
                continue
            if a.key == "ExecStart":
                if a.value:
                    exec_start, exec_origin = a.value, a.origin
                else:
                    exec_start, exec_origin = "", a.origin
            elif a.key == "Environment":
                for word in _split(a.value, a.origin):
                    if "=" in word:
                        k, v = word.split("=", 1)
                        env[k] = v
            elif a.key == "EnvironmentFile":
                if not a.value:
                    env_files = []
                elif a.value.startswith("-"):
                    env_files.append((a.value[1:], True))
                else:
                    env_files.append((a.value, False))
    return Service(exec_start, exec_origin, env, env_files, files)


def _split(value: str, origin: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise UnitError(f"{origin}: cannot split {value!r}: {exc}") from exc


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them."""
    env: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("export "):
            line = line[len("export ") :].strip()
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


_VAR = re.compile(r"^\$(\w+)$|^\$\{(\w+)\}$")


class Token(t.NamedTuple):
    text: str
    origin: str
    raw: str  # the word of ExecStart= this came from


def expand_command(service: Service, env_files: dict[str, str]) -> list[Token]:
    """Words of the effective ExecStart=, with $VAR words expanded.

    env_files maps an EnvironmentFile path to its text (absent when missing).
    $VAR alone is split into words; ${VAR} stays one word (systemd.service(5)).
    """
    if not service.exec_start:
        raise UnitError("the docker service has no ExecStart=")
    env = dict(service.environment)
    var_origin = {k: service.exec_origin for k in env}
    for path, optional in service.environment_files:
        if path not in env_files:
            if optional:
                continue
            raise UnitError(f"EnvironmentFile={path} is required by the unit but does not exist")
        for k, v in parse_env_file(env_files[path]).items():
            env[k] = v
            var_origin[k] = path
    words = command_words(service)
    tokens: list[Token] = []
    for word in words:
        m = _VAR.match(word)
        if not m:
            tokens.append(Token(word, service.exec_origin, word))
            continue
        name = m.group(1) or m.group(2)
        value = env.get(name, "")
        origin = var_origin.get(name, service.exec_origin)
        parts = _split(value, origin) if m.group(1) else ([value] if value else [])
        tokens.extend(Token(p, f"{origin} (${name})", word) for p in parts)
    return tokens


# dockerd flags whose daemon.json key differs from the flag name.
FLAG_KEYS: dict[str, str] = {
    "D": "debug",
    "G": "group",
    "H": "hosts",
    "add-runtime": "runtimes",
    "authorization-plugin": "authorization-plugins",
    "b": "bridge",
    "cdi-spec-dir": "cdi-spec-dirs",
    "default-address-pool": "default-address-pools",
    "default-ulimit": "default-ulimits",
    "dns-opt": "dns-opts",
    "exec-opt": "exec-opts",
    "feature": "features",
    "g": "data-root",
    "graph": "data-root",
    "host": "hosts",
    "insecure-registry": "insecure-registries",
    "l": "log-level",
    "label": "labels",
    "log-opt": "log-opts",
    "node-generic-resource": "node-generic-resources",
    "p": "pidfile",
    "registry-mirror": "registry-mirrors",
    "s": "storage-driver",
    "storage-opt": "storage-opts",
}
# Flags that take no separate value (a value only as --flag=false).
BOOL_FLAGS = frozenset(
    {
        "D",
        "debug",
        "experimental",
        "icc",
        "init",
        "ip-forward",
        "ip-masq",
        "ip6tables",
        "iptables",
        "ipv6",
        "live-restore",
        "no-new-privileges",
        "raw-logs",
        "selinux-enabled",
        "tls",
        "tlsverify",
        "userland-proxy",
        "validate",
        "cri-containerd",
        "rootless",
    }
)
# Flags that are not daemon.json keys.
NON_KEY_FLAGS = frozenset({"config-file", "validate", "help", "h", "v", "version", "rootless"})


class Flag(t.NamedTuple):
    name: str
    value: str | None
    key: str | None
    origin: str
    words: tuple[str, ...]  # the raw ExecStart words that carry it


def parse_dockerd_flags(tokens: list[Token]) -> list[Flag]:
    """Flags of a dockerd command line (tokens[0] is the binary)."""
    flags: list[Flag] = []
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        text = tok.text
        i += 1
        if not text.startswith("-") or text == "-":
            continue  # a stray word; dockerd takes no positional arguments
        name = text.lstrip("-")
        value: str | None = None
        words = [tok.raw]
        if "=" in name:
            name, value = name.split("=", 1)
        elif text.startswith("-") and not text.startswith("--") and len(name) > 1:
            name, value = name[0], name[1:]  # -Hfd://
        elif name not in BOOL_FLAGS and i < len(tokens) and not tokens[i].text.startswith("-"):
            value = tokens[i].text
            words.append(tokens[i].raw)
            i += 1
        key = None if name in NON_KEY_FLAGS else FLAG_KEYS.get(name, name)
        flags.append(Flag(name, value, key, tok.origin, tuple(words)))
    return flags


class Conflict(t.NamedTuple):
    key: str
    flag: str
    origin: str
    in_unit_line: bool  # True when the flag is written in ExecStart= itself

    def describe(self, config_path: str) -> str:
        return f"{self.key!r} is set in {config_path} and as dockerd flag {self.flag} at {self.origin}"


def conflicts(flags: list[Flag], keys: t.Iterable[str]) -> list[Conflict]:
    """Keys of the daemon.json that the command line also sets: dockerd refuses to start."""
    keyset = set(keys)
    out = []
    for f in flags:
        if f.key and f.key in keyset:
            shown = f"-{f.name}" if len(f.name) == 1 else f"--{f.name}"
            if f.value is not None:
                shown += f" {f.value}"
            out.append(Conflict(f.key, shown, f.origin, "($" not in f.origin))
    return out


def config_file_flag(flags: list[Flag]) -> str | None:
    for f in flags:
        if f.name == "config-file":
            return f.value
    return None


def command_words(service: Service) -> list[str]:
    """The words of the effective ExecStart=, unexpanded ($VAR kept as written)."""
    words = _split(service.exec_start, service.exec_origin)
    if words:
        words[0] = words[0].lstrip("@-:+!")
    return words


def strip_flags(words: list[str], drop: list[Flag]) -> list[str]:
    """The ExecStart words without the words that carry the dropped flags."""
    dropped = {w for f in drop for w in f.words}
    return [w for w in words if w not in dropped]


def dropin_text(words: list[str], reason: str) -> str:
    line = " ".join(shlex.quote(w) if not w.startswith("$") else w for w in words)
    return (
        "# Managed by dockguard.hardening.daemon_config: do not edit.\n"
        f"# {reason}\n"
        "[Service]\n"
        "ExecStart=\n"
        f"ExecStart={line}\n"
    )
