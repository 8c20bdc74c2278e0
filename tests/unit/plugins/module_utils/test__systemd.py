# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit files, drop-ins, environment expansion and dockerd flags, as systemd and dockerd read them."""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.dockguard.hardening.plugins.module_utils import _systemd as sd

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
DEBIAN_UNIT = (FIXTURES / "docker.service").read_text()  # Debian 12's docker.io 20.10.24
MAIN = "/lib/systemd/system/docker.service"
DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system")


def files(tree: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    dirs: dict[str, list[str]] = {}
    for path in tree:
        parent, name = path.rsplit("/", 1)
        dirs.setdefault(parent, []).append(name)
    found = sd.unit_files("docker.service", DIRS, lambda d: dirs.get(d, []))
    return found, tree


def service(tree: dict[str, str]) -> sd.Service:
    found, texts = files(tree)
    return sd.read_service(found, texts.__getitem__)


def model(tree: dict[str, str], env_files: dict[str, str] | None = None) -> tuple[list[sd.Token], list[sd.Flag]]:
    tokens = sd.expand_command(service(tree), env_files or {})
    return tokens, sd.parse_dockerd_flags(tokens)


def flags_of(cmdline: str) -> list[tuple[str, str | None, str | None]]:
    _tokens, flags = model({MAIN: f"[Service]\nExecStart={cmdline}\n"})
    return [(f.name, f.value, f.key) for f in flags]


# -- parse_unit ------------------------------------------------------------------


def test_parse_unit_assignments_with_their_origin() -> None:
    text = "# head\n[Unit]\nDescription = Docker \n\n; note\n[Service]\n  # indented comment\nExecStart=\nType=notify\n"
    assert sd.parse_unit(text, "/u") == [
        sd.Assignment("Unit", "Description", "Docker", "/u:3"),
        sd.Assignment("Service", "ExecStart", "", "/u:8"),
        sd.Assignment("Service", "Type", "notify", "/u:9"),
    ]


def test_parse_unit_value_keeps_later_equals_signs() -> None:
    (a,) = sd.parse_unit("[Service]\nEnvironment=OPTS=--log-opt=max-size=1m\n", "/u")
    assert (a.key, a.value) == ("Environment", "OPTS=--log-opt=max-size=1m")


def test_continuation_lines_are_joined_and_keep_the_first_line_number() -> None:
    text = "[Service]\nType=notify\nExecStart=/usr/sbin/dockerd \\\n  -H fd:// \\\n  --icc=false\nRestart=always\n"
    assignments = sd.parse_unit(text, "/u")
    assert [(a.key, a.origin) for a in assignments] == [
        ("Type", "/u:2"),
        ("ExecStart", "/u:3"),
        ("Restart", "/u:6"),
    ]
    assert assignments[1].value.split() == ["/usr/sbin/dockerd", "-H", "fd://", "--icc=false"]


def test_continuation_lines_in_a_unit_give_flags() -> None:
    unit = "[Service]\nExecStart=/usr/sbin/dockerd \\\n  -H fd:// \\\n  --icc=false\n"
    _tokens, flags = model({MAIN: unit})
    assert [(f.key, f.origin) for f in flags] == [("hosts", f"{MAIN}:2"), ("icc", f"{MAIN}:2")]


def test_comment_inside_a_continued_line_is_ignored() -> None:
    text = "[Service]\nExecStart=/usr/sbin/dockerd \\\n# -H fd:// \\\n  --icc=false\n"
    (a,) = sd.parse_unit(text, "/u")
    assert a.value.split() == ["/usr/sbin/dockerd", "--icc=false"]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        # the example of systemd.syntax(7): comments between continued lines are ignored
        (
            "[S]\nK=value 3\\\n# this line is ignored\n; this line is ignored too\n       value 3 continued\n",
            [("K", "value 3        value 3 continued")],
        ),
        ("[S]\nK=a \\\n  # -H fd://\nN=1\n", [("K", "a  N=1")]),  # the comment ends nothing: N=1 continues K
        ("[S]\nK=a \\\n\nN=1\n", [("K", "a"), ("N", "1")]),  # an empty line ends the continued value
        ("[S]\nK=a\\\\\nN=1\n", [("K", "a\\\\"), ("N", "1")]),  # an escaped backslash does not continue
        ("[S]\nK=a\\\\\\\nb\n", [("K", "a\\\\ b")]),  # three backslashes: the last one continues
        ("[S]\nK=a \\ \nN=1\n", [("K", "a \\"), ("N", "1")]),  # a backslash before a space does not
        ("[S]\n# a comment ending in a backslash \\\nK=1\n", [("K", "1")]),
    ],
)
def test_continued_lines_as_systemd_reads_them(text: str, values: list[tuple[str, str]]) -> None:
    assert [(a.key, a.value) for a in sd.parse_unit(text, "/u")] == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Service\nExecStart=/x\n", "docker.service:1: malformed section header '[Service'"),
        ("[Unit]\nDescription=x\n\n[Service\n", "docker.service:4: malformed section header"),
        ("[Service]\nExecStart /x\n", "docker.service:2: expected KEY=VALUE, got 'ExecStart /x'"),
        ("ExecStart=/x\n", "docker.service:1: assignment outside any [Section]"),
        ("[Service]\nExecStart=/x \\\n", "docker.service: file ends inside a continued line"),
    ],
)
def test_unparseable_unit_is_an_error_with_the_place(text: str, message: str) -> None:
    with pytest.raises(sd.UnitError) as err:
        sd.parse_unit(text, MAIN)
    assert str(err.value).startswith(f"/lib/systemd/system/{message}")


# -- unit_files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ([MAIN], [MAIN]),
        (["/etc/systemd/system/docker.service", MAIN], ["/etc/systemd/system/docker.service"]),
        ([], []),
        (
            [
                MAIN,
                "/lib/systemd/system/docker.service.d/10-x.conf",
                "/etc/systemd/system/docker.service.d/10-x.conf",
                "/lib/systemd/system/docker.service.d/20-y.conf",
                "/run/systemd/system/docker.service.d/05-z.conf",
                "/etc/systemd/system/docker.service.d/README",
            ],
            [
                MAIN,
                "/run/systemd/system/docker.service.d/05-z.conf",
                "/etc/systemd/system/docker.service.d/10-x.conf",
                "/lib/systemd/system/docker.service.d/20-y.conf",
            ],
        ),
    ],
)
def test_unit_files_order_and_masking(tree: list[str], expected: list[str]) -> None:
    found = files(dict.fromkeys(tree, ""))[0]
    assert found == expected


# -- read_service ----------------------------------------------------------------


def test_debian_unit_effective_exec_start() -> None:
    svc = service({MAIN: DEBIAN_UNIT})
    assert svc.exec_start == "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS"
    assert svc.exec_origin == f"{MAIN}:14"
    assert svc.environment_files == [("/etc/default/docker", True)]
    assert svc.environment == {}
    assert svc.files == [MAIN]


def test_dropin_reset_makes_the_dropin_effective() -> None:
    dropin_path = "/etc/systemd/system/docker.service.d/override.conf"
    dropin = "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock\n"
    tree = {MAIN: DEBIAN_UNIT, dropin_path: dropin}
    svc = service(tree)
    assert svc.exec_origin == f"{dropin_path}:3"
    _tokens, flags = model(tree)
    assert sd.conflicts(flags, {"hosts": ["fd://"]}) == []
    assert [(f.name, f.origin) for f in flags] == [("containerd", f"{dropin_path}:3")]


def test_a_reset_without_a_new_exec_start_leaves_none() -> None:
    tree = {MAIN: DEBIAN_UNIT, "/etc/systemd/system/docker.service.d/x.conf": "[Service]\nExecStart=\n"}
    with pytest.raises(sd.UnitError, match="the docker service has no ExecStart="):
        model(tree)


def test_a_masked_dropin_does_not_apply() -> None:
    # the /etc copy of 10-x.conf masks the /lib one, which would have removed -H fd://
    tree = {
        MAIN: DEBIAN_UNIT,
        "/lib/systemd/system/docker.service.d/10-x.conf": "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd\n",
        "/etc/systemd/system/docker.service.d/10-x.conf": "[Service]\nLimitNOFILE=1024\n",
    }
    _tokens, flags = model(tree)
    assert [c.flag for c in sd.conflicts(flags, ["hosts"])] == ["-H fd://"]
    assert flags[0].origin == f"{MAIN}:14"


def test_exec_start_outside_service_section_is_ignored() -> None:
    svc = service({MAIN: "[Unit]\nExecStart=/bin/false\n[Service]\nExecStart=/usr/sbin/dockerd\n"})
    assert (svc.exec_start, svc.exec_origin) == ("/usr/sbin/dockerd", f"{MAIN}:4")


def test_environment_and_environment_files() -> None:
    unit = (
        "[Service]\n"
        'Environment="OPTS=--icc=false --debug" LEVEL=info\n'
        "EnvironmentFile=/etc/a\n"
        "EnvironmentFile=-/etc/b\n"
        "ExecStart=/usr/sbin/dockerd\n"
    )
    svc = service({MAIN: unit, "/etc/systemd/system/docker.service.d/x.conf": "[Service]\nEnvironmentFile=/etc/c\n"})
    assert svc.environment == {"OPTS": "--icc=false --debug", "LEVEL": "info"}
    assert svc.environment_files == [("/etc/a", False), ("/etc/b", True), ("/etc/c", False)]


def test_empty_environment_file_resets_the_list() -> None:
    dropin = "[Service]\nEnvironmentFile=\nEnvironmentFile=-/etc/mine\n"
    svc = service({MAIN: DEBIAN_UNIT, "/etc/systemd/system/docker.service.d/x.conf": dropin})
    assert svc.environment_files == [("/etc/mine", True)]


def test_unsplittable_environment_names_the_line() -> None:
    with pytest.raises(sd.UnitError, match=r"docker\.service:2: cannot split"):
        service({MAIN: '[Service]\nEnvironment="OPTS=--debug\nExecStart=/usr/sbin/dockerd\n'})


# -- parse_env_file ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('DOCKER_OPTS="--dns 8.8.8.8 --dns 8.8.4.4"\n', {"DOCKER_OPTS": "--dns 8.8.8.8 --dns 8.8.4.4"}),
        ("DOCKER_OPTS='--icc=false'\n", {"DOCKER_OPTS": "--icc=false"}),
        # not a shell: "export DOCKER_OPTS" is no valid name and systemd drops it
        ("export DOCKER_OPTS=--debug\n", {}),
        (' KEY = "v" \n', {"KEY": "v"}),
        ('#DOCKER_OPTS="--dns 8.8.8.8"\n; x=1\n\nnot an assignment\n', {}),
        ("A=1\nA=2\nB=\n", {"A": "2", "B": ""}),
        ('Q="\n', {"Q": "\n"}),  # an unterminated quote runs to the end of the file
        # systemd.exec(5) EnvironmentFile= rules
        ("A=  spaced   value  \n", {"A": "spaced   value"}),
        ("A=x\"y\" 'z'\n", {"A": "x\"y\" 'z'"}),  # quotes after the first character are kept
        ("A=1 # not a comment\n", {"A": "1 # not a comment"}),
        ("A=a\\ b\\\\c\\\nd\n", {"A": "a b\\cd"}),  # backslash keeps the next char; before newline: continues
        ("A='a \\n $B \"c\"'\n", {"A": 'a \\n $B "c"'}),  # single quotes are verbatim
        ("A='two\nlines'\nB=2\n", {"A": "two\nlines", "B": "2"}),
        ('A="\\"\\\\\\`\\$ \\n\\q"\n', {"A": '"\\`$ \\n\\q'}),  # only " \\ ` $ are unescaped in "..."
        ('A="one \\\ntwo"\n', {"A": "one two"}),  # backslash-newline in "..." is dropped
        ("A=\"it's\" 'x'\n", {"A": "it'sx"}),  # adjacent quoted parts join
        ("A='\n", {"A": "\n"}),
        ("1A=x\nA-B=y\nA B=z\n_ok9=1\n", {"_ok9": "1"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("# comment \\\nB=1\n", {"B": "1"}),  # since systemd 254 a comment does not continue
        ("A=last", {"A": "last"}),
        ("A", {}),
    ],
)
def test_parse_env_file(text: str, expected: dict[str, str]) -> None:
    assert sd.parse_env_file(text) == expected


# -- expand_command -------------------------------------------------------------------


def test_debian_unit_without_env_file_drops_docker_opts() -> None:
    tokens, _flags = model({MAIN: DEBIAN_UNIT})
    assert [t.text for t in tokens] == [
        "/usr/sbin/dockerd",
        "-H",
        "fd://",
        "--containerd=/run/containerd/containerd.sock",
    ]
    assert {t.origin for t in tokens} == {f"{MAIN}:14"}


def test_docker_opts_expanded_from_the_env_file() -> None:
    tokens, _flags = model({MAIN: DEBIAN_UNIT}, {"/etc/default/docker": 'DOCKER_OPTS="--icc=false --dns 8.8.8.8"\n'})
    assert [(t.text, t.origin, t.raw) for t in tokens[4:]] == [
        ("--icc=false", "/etc/default/docker ($DOCKER_OPTS)", "$DOCKER_OPTS"),
        ("--dns", "/etc/default/docker ($DOCKER_OPTS)", "$DOCKER_OPTS"),
        ("8.8.8.8", "/etc/default/docker ($DOCKER_OPTS)", "$DOCKER_OPTS"),
    ]


def test_env_file_overrides_environment() -> None:
    unit = "[Service]\nEnvironment=OPTS=--debug\nEnvironmentFile=/etc/o\nExecStart=/usr/sbin/dockerd $OPTS\n"
    tokens, _flags = model({MAIN: unit}, {"/etc/o": "OPTS=--icc=false\n"})
    assert [(t.text, t.origin) for t in tokens[1:]] == [("--icc=false", "/etc/o ($OPTS)")]


def test_braced_variable_stays_one_word() -> None:
    # systemd splits Environment= on spaces unless the assignment is quoted
    unit = '[Service]\nEnvironment="OPTS=--icc=false --debug"\nExecStart=/usr/sbin/dockerd ${OPTS} $OPTS\n'
    tokens, _flags = model({MAIN: unit})
    assert [t.text for t in tokens] == ["/usr/sbin/dockerd", "--icc=false --debug", "--icc=false", "--debug"]
    assert [t.raw for t in tokens[1:]] == ["${OPTS}", "$OPTS", "$OPTS"]


def test_unset_variables() -> None:
    # systemd.service(5): $NOPE alone becomes zero words, ${NOPE} always exactly one (here empty)
    tokens, flags = model({MAIN: "[Service]\nExecStart=/usr/sbin/dockerd $NOPE ${NOPE} -D\n"})
    assert [t.text for t in tokens] == ["/usr/sbin/dockerd", "", "-D"]
    assert [f.key for f in flags] == ["debug"]


@pytest.mark.parametrize(
    ("word", "texts"),
    [
        ("--data-root=${ROOT}", ["--data-root=/srv/docker"]),
        ("${ROOT}/x", ["/srv/docker/x"]),
        ("--label=${A}-${B}", ["--label=1 2-"]),  # the value as-is, spaces and all; B is unset
        ("--label=$ROOT", ["--label=$ROOT"]),  # $NAME inside a word is not expanded
        ("--label=a$$b", ["--label=a$b"]),
        ("--label=$${ROOT}", ["--label=${ROOT}"]),
        ("--label=${ROOT:-x}", ["--label=${ROOT:-x}"]),  # no shell defaults on a command line
        ("--label=${ROOT", ["--label=${ROOT"]),
        ("$ROOT/x", []),  # a word starting with $ is a variable name, and ROOT/x is none
        ("$", []),
        ("$A", ["1", "2"]),
    ],
)
def test_variables_in_words_expand_as_systemd_does(word: str, texts: list[str]) -> None:
    unit = f'[Service]\nEnvironment=ROOT=/srv/docker "A=1 2"\nExecStart=/usr/sbin/dockerd {word}\n'
    tokens, _flags = model({MAIN: unit})
    assert [t.text for t in tokens[1:]] == texts
    assert {t.raw for t in tokens[1:]} <= {word}


def test_braced_variable_in_a_word_gives_a_flag_with_the_variable_origin() -> None:
    unit = "[Service]\nEnvironmentFile=/etc/o\nExecStart=/usr/sbin/dockerd --data-root=${ROOT} -H fd://\n"
    _tokens, flags = model({MAIN: unit}, {"/etc/o": "ROOT=/srv/docker\n"})
    assert flags[0] == sd.Flag(
        "data-root", "/srv/docker", "data-root", "/etc/o ($ROOT)", ("--data-root=${ROOT}",), (1,)
    )
    assert [c.in_unit_line for c in sd.conflicts(flags, ["data-root", "hosts"])] == [False, True]


def test_flags_from_the_units_environment_name_that_line() -> None:
    unit = '[Service]\nType=notify\nEnvironment="OPTS=--icc=false"\nExecStart=/usr/sbin/dockerd -H fd:// $OPTS\n'
    _tokens, flags = model({MAIN: unit})
    assert sd.conflicts(flags, ["icc", "hosts"]) == [
        sd.Conflict("hosts", "-H fd://", f"{MAIN}:4", True),
        sd.Conflict("icc", "--icc false", f"{MAIN}:3 ($OPTS)", False),
    ]
    # a drop-in's Environment= overrides the variable, and is the place then
    dropin = "/etc/systemd/system/docker.service.d/opts.conf"
    _tokens, flags = model({MAIN: unit, dropin: "[Service]\nEnvironment=OPTS=--icc=true\n"})
    assert [(f.value, f.origin) for f in flags if f.key == "icc"] == [("true", f"{dropin}:2 ($OPTS)")]
    # an EnvironmentFile= overrides both
    env_unit = unit.replace("Type=notify", "EnvironmentFile=/etc/o")
    _tokens, flags = model({MAIN: env_unit}, {"/etc/o": "OPTS=--debug\n"})
    assert [(f.key, f.origin) for f in flags][1:] == [("debug", "/etc/o ($OPTS)")]


def test_empty_environment_resets_the_variables() -> None:
    dropin = "/etc/systemd/system/docker.service.d/x.conf"
    unit = "[Service]\nEnvironment=A=1 B=2\nExecStart=/usr/sbin/dockerd\n"
    svc = service({MAIN: unit, dropin: "[Service]\nEnvironment=\nEnvironment=C=3 not-an-assignment 4D=x\n"})
    assert svc.environment == {"C": "3"}
    assert svc.environment_origins == {"C": f"{dropin}:3"}


def test_required_environment_file_missing() -> None:
    unit = "[Service]\nEnvironmentFile=/etc/default/docker\nExecStart=/usr/sbin/dockerd $DOCKER_OPTS\n"
    with pytest.raises(sd.UnitError, match="EnvironmentFile=/etc/default/docker is required"):
        model({MAIN: unit})


# -- parse_dockerd_flags ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ("/usr/sbin/dockerd -H fd://", [("H", "fd://", "hosts")]),
        ("/usr/sbin/dockerd -Hfd://", [("H", "fd://", "hosts")]),
        ("/usr/sbin/dockerd -H=fd://", [("H", "fd://", "hosts")]),
        ("/usr/sbin/dockerd --host=unix:///x.sock", [("host", "unix:///x.sock", "hosts")]),
        ("/usr/sbin/dockerd --host unix:///x.sock", [("host", "unix:///x.sock", "hosts")]),
        ("/usr/sbin/dockerd --log-opt=max-size=1m", [("log-opt", "max-size=1m", "log-opts")]),
        ("/usr/sbin/dockerd -l debug -G docker", [("l", "debug", "log-level"), ("G", "docker", "group")]),
        ("/usr/sbin/dockerd -g /srv/docker", [("g", "/srv/docker", "data-root")]),
        ("/usr/sbin/dockerd --data-root /srv/docker", [("data-root", "/srv/docker", "data-root")]),
        ("/usr/sbin/dockerd --dns 1.1.1.1 --dns=8.8.8.8", [("dns", "1.1.1.1", "dns"), ("dns", "8.8.8.8", "dns")]),
        (
            "/usr/sbin/dockerd --icc=false --live-restore -D",
            [("icc", "false", "icc"), ("live-restore", None, "live-restore"), ("D", None, "debug")],
        ),
        (
            "/usr/sbin/dockerd --live-restore --log-opt max-size=1m",
            [("live-restore", None, "live-restore"), ("log-opt", "max-size=1m", "log-opts")],
        ),
        (
            "/usr/sbin/dockerd --tlsverify --tls -H tcp://0.0.0.0:2376",
            [("tlsverify", None, "tlsverify"), ("tls", None, "tls"), ("H", "tcp://0.0.0.0:2376", "hosts")],
        ),
        (
            "/usr/sbin/dockerd --icc=false -H fd:// --debug",
            [("icc", "false", "icc"), ("H", "fd://", "hosts"), ("debug", None, "debug")],
        ),
        ("/usr/sbin/dockerd --config-file /srv/d.json", [("config-file", "/srv/d.json", None)]),
        (
            "/usr/sbin/dockerd --config-file=/srv/d.json --validate",
            [("config-file", "/srv/d.json", None), ("validate", None, None)],
        ),
        ("-/usr/sbin/dockerd --insecure-registry r:5000", [("insecure-registry", "r:5000", "insecure-registries")]),
        ("/usr/sbin/dockerd stray - --debug", [("debug", None, "debug")]),
        # a boolean flag takes no separate value (pflag): the next word is not its value
        ("/usr/sbin/dockerd --live-restore false", [("live-restore", None, "live-restore")]),
        ("/usr/sbin/dockerd -D info --tlsverify yes", [("D", None, "debug"), ("tlsverify", None, "tlsverify")]),
        # shorthands as pflag reads them
        ("/usr/sbin/dockerd -Hfoo=bar", [("H", "foo=bar", "hosts")]),
        ("/usr/sbin/dockerd -H=unix:///a=b", [("H", "unix:///a=b", "hosts")]),
        ("/usr/sbin/dockerd -DH fd://", [("D", None, "debug"), ("H", "fd://", "hosts")]),
        ("/usr/sbin/dockerd -DHfd://", [("D", None, "debug"), ("H", "fd://", "hosts")]),
        ("/usr/sbin/dockerd -Dl debug", [("D", None, "debug"), ("l", "debug", "log-level")]),
        ("/usr/sbin/dockerd -D=false", [("D", "false", "debug")]),
        ("/usr/sbin/dockerd -lD", [("l", "D", "log-level")]),  # the rest of the word is the value
        ("/usr/sbin/dockerd --debug -- -H fd://", [("debug", None, "debug")]),  # no flags after --
        ("/usr/sbin/dockerd", []),
    ],
)
def test_parse_dockerd_flags(cmdline: str, expected: list[tuple[str, str | None, str | None]]) -> None:
    assert flags_of(cmdline) == expected


def test_flag_words_are_the_raw_exec_start_words() -> None:
    _tokens, flags = model({MAIN: "[Service]\nExecStart=/usr/sbin/dockerd -H fd:// --icc=false --dns 1.1.1.1\n"})
    assert [f.words for f in flags] == [("-H", "fd://"), ("--icc=false",), ("--dns", "1.1.1.1")]


def test_flag_value_from_env_var_carries_the_var_word() -> None:
    _tokens, flags = model({MAIN: DEBIAN_UNIT}, {"/etc/default/docker": "DOCKER_OPTS=--dns 8.8.8.8\n"})
    assert flags[-1] == sd.Flag(
        "dns", "8.8.8.8", "dns", "/etc/default/docker ($DOCKER_OPTS)", ("$DOCKER_OPTS",) * 2, (4, 4)
    )


def test_flag_positions_index_the_command_words() -> None:
    svc = service({MAIN: "[Service]\nExecStart=/usr/sbin/dockerd -DH fd:// --icc=false --dns 1.1.1.1\n"})
    flags = sd.parse_dockerd_flags(sd.expand_command(svc, {}))
    words = sd.command_words(svc)
    assert [(f.name, [words[p] for p in f.positions]) for f in flags] == [
        ("D", ["-DH"]),
        ("H", ["-DH", "fd://"]),
        ("icc", ["--icc=false"]),
        ("dns", ["--dns", "1.1.1.1"]),
    ]


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ("/usr/sbin/dockerd --config-file /srv/d.json", "/srv/d.json"),
        ("/usr/sbin/dockerd --config-file=/etc/docker/daemon.json -D", "/etc/docker/daemon.json"),
        ("/usr/sbin/dockerd -D", None),
    ],
)
def test_config_file_flag(cmdline: str, expected: str | None) -> None:
    _tokens, flags = model({MAIN: f"[Service]\nExecStart={cmdline}\n"})
    assert sd.config_file_flag(flags) == expected


# -- conflicts ----------------------------------------------------------------------------


def test_debian_unit_hosts_conflict_names_the_unit_line() -> None:
    _tokens, flags = model({MAIN: DEBIAN_UNIT})
    found = sd.conflicts(flags, {"hosts": ["tcp://0.0.0.0:2376"], "icc": False})
    assert found == [sd.Conflict("hosts", "-H fd://", f"{MAIN}:14", True)]
    assert found[0].describe("/etc/docker/daemon.json") == (
        f"'hosts' is set in /etc/docker/daemon.json and as dockerd flag -H fd:// at {MAIN}:14"
    )


def test_flag_from_environment_file_names_that_file() -> None:
    _tokens, flags = model({MAIN: DEBIAN_UNIT}, {"/etc/default/docker": 'DOCKER_OPTS="--icc=false --dns 8.8.8.8"\n'})
    found = sd.conflicts(flags, {"icc": False, "dns": ["1.1.1.1"]})
    assert found == [
        sd.Conflict("icc", "--icc false", "/etc/default/docker ($DOCKER_OPTS)", False),
        sd.Conflict("dns", "--dns 8.8.8.8", "/etc/default/docker ($DOCKER_OPTS)", False),
    ]


@pytest.mark.parametrize(
    ("cmdline", "keys", "shown"),
    [
        ("/usr/sbin/dockerd --live-restore", ["live-restore"], ["--live-restore"]),
        ("/usr/sbin/dockerd -D --debug", ["debug"], ["-D", "--debug"]),
        ("/usr/sbin/dockerd --log-opt max-size=1m", ["log-opts"], ["--log-opt max-size=1m"]),
        ("/usr/sbin/dockerd -g /srv", ["data-root"], ["-g /srv"]),
        ("/usr/sbin/dockerd --config-file /x --validate", ["config-file", "validate"], []),
        ("/usr/sbin/dockerd -H fd://", ["icc"], []),
    ],
)
def test_conflicts(cmdline: str, keys: list[str], shown: list[str]) -> None:
    _tokens, flags = model({MAIN: f"[Service]\nExecStart={cmdline}\n"})
    assert [c.flag for c in sd.conflicts(flags, keys)] == shown


# -- resolve: strip and drop-in --------------------------------------------------------------


def test_command_words_strip_the_exec_prefix() -> None:
    svc = service({MAIN: "[Service]\nExecStart=-/usr/sbin/dockerd -H fd://\n"})
    assert sd.command_words(svc) == ["/usr/sbin/dockerd", "-H", "fd://"]


def test_resolve_dropin_strips_only_the_conflicting_flag() -> None:
    svc = service({MAIN: DEBIAN_UNIT})
    flags = sd.parse_dockerd_flags(sd.expand_command(svc, {}))
    drop = [f for f in flags if f.key == "hosts"]
    words = sd.strip_flags(sd.command_words(svc), drop)
    assert words == ["/usr/sbin/dockerd", "--containerd=/run/containerd/containerd.sock", "$DOCKER_OPTS"]
    text = sd.dropin_text(words, "why")
    assert text == (
        "# Managed by dockguard.hardening.daemon_config: do not edit.\n"
        "# why\n"
        "[Service]\n"
        "ExecStart=\n"
        "ExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n"
    )
    # the drop-in, read back as systemd would, leaves no conflict and keeps $DOCKER_OPTS working
    tree = {MAIN: DEBIAN_UNIT, "/etc/systemd/system/docker.service.d/99-dockguard-daemon-config.conf": text}
    _t, flags2 = model(tree, {"/etc/default/docker": "DOCKER_OPTS=--debug\n"})
    assert sd.conflicts(flags2, {"hosts": ["fd://"]}) == []
    assert [f.key for f in flags2] == ["containerd", "debug"]


def test_dropin_text_quotes_words_and_reads_back_the_same() -> None:
    words = ["/usr/sbin/dockerd", "--label", "a b", "--log-opt=tag={{.Name}}", "${OPTS}", "$DOCKER_OPTS"]
    text = sd.dropin_text(words, "r")
    assert "ExecStart=/usr/sbin/dockerd --label 'a b' '--log-opt=tag={{.Name}}' ${OPTS} $DOCKER_OPTS\n" in text
    svc = service({MAIN: DEBIAN_UNIT, "/etc/systemd/system/docker.service.d/99.conf": text})
    assert sd.command_words(svc) == words


def test_strip_flags_drops_only_the_dropped_flag_words() -> None:
    svc = service({MAIN: "[Service]\nExecStart=/usr/sbin/dockerd --ip 172.17.0.1 --dns 172.17.0.1\n"})
    flags = sd.parse_dockerd_flags(sd.expand_command(svc, {}))
    words = sd.strip_flags(sd.command_words(svc), [f for f in flags if f.key == "dns"])
    assert words == ["/usr/sbin/dockerd", "--ip", "172.17.0.1"]


@pytest.mark.parametrize(
    ("cmdline", "drop", "kept"),
    [
        ("/usr/sbin/dockerd -H fd:// --dns 1.1.1.1 -H fd://", "hosts", ["--dns", "1.1.1.1"]),
        ("/usr/sbin/dockerd --dns 1.1.1.1 --dns-search 1.1.1.1 --dns=1.1.1.1", "dns", ["--dns-search", "1.1.1.1"]),
        ("/usr/sbin/dockerd --label=a --label a --label b a", "labels", ["a"]),
        ("/usr/sbin/dockerd -H fd:// $DOCKER_OPTS", "hosts", ["$DOCKER_OPTS"]),
    ],
)
def test_strip_flags_by_position(cmdline: str, drop: str, kept: list[str]) -> None:
    svc = service({MAIN: f"[Service]\nExecStart={cmdline}\n"})
    flags = sd.parse_dockerd_flags(sd.expand_command(svc, {}))
    assert sd.strip_flags(sd.command_words(svc), [f for f in flags if f.key == drop]) == ["/usr/sbin/dockerd", *kept]
