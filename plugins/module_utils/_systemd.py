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

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError


class UnitError(DockguardError):
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


def _continued(line: str) -> bool:
    """A line ending in an unescaped backslash continues on the next one."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def parse_unit(text: str, path: str) -> list[Assignment]:
    """Assignments of one unit file, in order; continuation lines joined.

    As systemd.syntax(7) reads them: a comment line is skipped even between
    continued lines, and the backslash of a continued line becomes a space.
    """
    out: list[Assignment] = []
    section = ""
    pending = ""
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line[:1] in ("#", ";"):
            continue
        if not pending:
            start = lineno
            if not line:
                continue
        if _continued(raw):
            pending += raw[:-1] + " "
            continue
        line = (pending + raw).strip()
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
    environment_origins: dict[str, str]  # variable -> "path:line" of its Environment=


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_service(files: list[str], read: t.Callable[[str], str]) -> Service:
    exec_start = ""
    exec_origin = ""
    env: dict[str, str] = {}
    env_origins: dict[str, str] = {}
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
                if not a.value:  # an empty assignment resets the list
                    env, env_origins = {}, {}
                for word in _split(a.value, a.origin):
                    k, eq, v = word.partition("=")
                    if eq and _NAME.fullmatch(k):
                        env[k] = v
                        env_origins[k] = a.origin
            elif a.key == "EnvironmentFile":
                if not a.value:
                    env_files = []
                elif a.value.startswith("-"):
                    env_files.append((a.value[1:], True))
                else:
                    env_files.append((a.value, False))
    return Service(exec_start, exec_origin, env, env_files, files, env_origins)


def _split(value: str, origin: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise UnitError(f"{origin}: cannot split {value!r}: {exc}") from exc


_WS = " \t\n\r"
_NL = "\n\r"


class _EnvFileReader:
    """systemd's EnvironmentFile= parser (parse_env_file_internal), one method per state."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.state = "pre_key"
        self.key: list[str] = []
        self.value: list[str] = []
        self.key_ws = -1  # where trailing whitespace starts, -1 for none
        self.value_ws = -1

    def push(self) -> None:
        if self.state == "value" and self.value_ws >= 0:
            del self.value[self.value_ws :]
        name = "".join(self.key[: self.key_ws] if self.key_ws >= 0 else self.key)
        if _NAME.fullmatch(name):
            self.env[name] = "".join(self.value)

    def pre_key(self, c: str) -> None:
        if c in "#;":
            self.state = "comment"
        elif c not in _WS:
            self.state, self.key, self.key_ws = "key", [c], -1

    def key_(self, c: str) -> None:
        if c in _NL:
            self.state = "pre_key"  # no "=": not an assignment
        elif c == "=":
            self.state, self.value, self.value_ws = "pre_value", [], -1
        else:
            self.key_ws = -1 if c not in _WS else (len(self.key) if self.key_ws < 0 else self.key_ws)
            self.key.append(c)

    def pre_value(self, c: str) -> None:
        if c in _NL:
            self.push()
            self.state = "pre_key"
        elif c in "'\"\\":
            self.state = {"'": "single", '"': "double", "\\": "value_escape"}[c]
        elif c not in _WS:
            self.state = "value"
            self.value.append(c)

    def value_(self, c: str) -> None:
        if c in _NL:
            self.push()
            self.state = "pre_key"
        elif c == "\\":
            self.state, self.value_ws = "value_escape", -1
        else:
            self.value_ws = -1 if c not in _WS else (len(self.value) if self.value_ws < 0 else self.value_ws)
            self.value.append(c)

    def value_escape(self, c: str) -> None:
        self.state = "value"
        if c not in _NL:
            self.value.append(c)

    def single(self, c: str) -> None:
        if c == "'":
            self.state = "pre_value"
        else:
            self.value.append(c)

    def double(self, c: str) -> None:
        if c == '"':
            self.state = "pre_value"
        elif c == "\\":
            self.state = "double_escape"
        else:
            self.value.append(c)

    def double_escape(self, c: str) -> None:
        self.state = "double"
        if c in '"\\`$':
            self.value.append(c)
        elif c != "\n":
            self.value.append("\\" + c)

    def comment(self, c: str) -> None:
        if c == "\\":
            self.state = "comment_escape"
        elif c in _NL:
            self.state = "pre_key"

    def comment_escape(self, c: str) -> None:
        # since systemd 254 a comment ending in a backslash does not continue
        self.state = "pre_key" if c in _NL else "comment"

    def read(self, text: str) -> dict[str, str]:
        steps: dict[str, t.Callable[[str], None]] = {
            "pre_key": self.pre_key,
            "key": self.key_,
            "pre_value": self.pre_value,
            "value": self.value_,
            "value_escape": self.value_escape,
            "single": self.single,
            "double": self.double,
            "double_escape": self.double_escape,
            "comment": self.comment,
            "comment_escape": self.comment_escape,
        }
        for c in text:
            steps[self.state](c)
        if self.state not in ("pre_key", "key", "comment", "comment_escape"):
            self.push()  # the last assignment, even inside an unterminated quote
        return self.env


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE assignments as systemd's EnvironmentFile= reads them (systemd.exec(5)).

    The rules of systemd's parser: lines starting with # or ; are comments, a
    line without = is ignored; an unquoted value keeps interior whitespace and
    loses surrounding whitespace, a backslash keeps the next character and a
    backslash-newline continues the line; '...' is verbatim; in "..." a
    backslash escapes only a backslash, double quote, backtick, dollar or
    newline; both quotes may span lines. Names that are not valid variable
    names ("export X") are dropped, as systemd drops them.
    """
    return _EnvFileReader().read(text)


class Token(t.NamedTuple):
    text: str
    origin: str
    raw: str  # the word of ExecStart= this came from
    position: int = -1  # its index in command_words(), -1 when not from a unit


def _expand_braced(word: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """${NAME} inside a word replaced by the value as-is, $$ by $ (systemd.service(5)).

    Returns the word and the names it referenced. "$NAME" inside a word and
    "${NAME:-default}" are not expanded by systemd and stay as written.
    """
    names: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        names.append(m.group(1))
        return env.get(m.group(1), "")

    return re.sub(r"\$\$|\$\{([^}:]*)\}", sub, word), names


def expand_command(service: Service, env_files: dict[str, str]) -> list[Token]:
    """Words of the effective ExecStart=, with $VAR words expanded.

    env_files maps an EnvironmentFile path to its text (absent when missing).
    $VAR alone is split into words; ${VAR} stays one word (systemd.service(5)).
    """
    if not service.exec_start:
        raise UnitError("the docker service has no ExecStart=")
    env = dict(service.environment)
    var_origin = {k: service.environment_origins.get(k, service.exec_origin) for k in env}
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
    for index, word in enumerate(words):
        if word.startswith("$") and word[1:2] not in ("{", "$"):
            # $NAME as a word of its own: the value split into zero or more words
            name = word[1:]
            if not _NAME.fullmatch(name) or name not in env:
                continue
            origin = var_origin[name]
            tokens.extend(Token(p, f"{origin} (${name})", word, index) for p in _split(env[name], origin))
            continue
        text, names = _expand_braced(word, env)
        if names:
            name = names[0]
            origin = f"{var_origin.get(name, service.exec_origin)} (${name})"
        else:
            origin = service.exec_origin
        tokens.append(Token(text, origin, word, index))
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
    positions: tuple[int, ...] = ()  # their indexes in command_words()


def _short_flags(text: str) -> list[tuple[str, str | None]]:
    """(name, value) of -X... as pflag reads shorthands: -D, -DH, -H=x, -Hx, -Hfoo=bar.

    value is None when the flag still needs the next word (or is boolean).
    """
    out: list[tuple[str, str | None]] = []
    rest = text[1:]
    while rest:
        name, rest = rest[0], rest[1:]
        if len(rest) > 1 and rest[0] == "=":
            out.append((name, rest[1:]))  # -H=fd://, -D=false
            break
        if name in BOOL_FLAGS or not rest:
            out.append((name, None))  # -D, or -H followed by a separate value
            continue
        out.append((name, rest))  # -Hfd://, -Hfoo=bar
        break
    return out


def parse_dockerd_flags(tokens: list[Token]) -> list[Flag]:
    """Flags of a dockerd command line (tokens[0] is the binary)."""
    flags: list[Flag] = []
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        text = tok.text
        i += 1
        if text == "--":
            break  # the end of flags; what follows are arguments, which dockerd refuses
        if not text.startswith("-") or text == "-":
            continue  # a stray word; dockerd takes no positional arguments
        if text.startswith("--"):
            name, eq, val = text[2:].partition("=")
            parsed: list[tuple[str, str | None]] = [(name, val if eq else None)]
        else:
            parsed = _short_flags(text)
        for n, (name, value) in enumerate(parsed):
            words, positions = [tok.raw], [tok.position]
            last = n == len(parsed) - 1
            needs_value = last and value is None and name not in BOOL_FLAGS
            if needs_value and i < len(tokens) and not tokens[i].text.startswith("-"):
                value = tokens[i].text
                words.append(tokens[i].raw)
                positions.append(tokens[i].position)
                i += 1
            key = None if name in NON_KEY_FLAGS else FLAG_KEYS.get(name, name)
            flags.append(Flag(name, value, key, tok.origin, tuple(words), tuple(positions)))
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
    """The ExecStart words without the words that carry the dropped flags, by position."""
    dropped = {p for f in drop for p in f.positions}
    return [w for i, w in enumerate(words) if i not in dropped]


def dropin_text(words: list[str], reason: str) -> str:
    line = " ".join(shlex.quote(w) if not w.startswith("$") else w for w in words)
    return (
        "# Managed by dockguard.hardening.daemon_config: do not edit.\n"
        f"# {reason}\n"
        "[Service]\n"
        "ExecStart=\n"
        f"ExecStart={line}\n"
    )
