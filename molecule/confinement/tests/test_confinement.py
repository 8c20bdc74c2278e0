# SPDX-License-Identifier: GPL-3.0-or-later
"""What the confinement role leaves on a real Docker host (Engine 20.10 and 26.1), seen from containers.

The probe (files/sysprobe.c, static) calls raw syscalls in a container of the
test image and prints what came back; which calls it makes is generated from
the profile the role deployed (_seccomp.profile.probes), so the test cannot
drift from the policy.
"""

from __future__ import annotations

import json
import os
import re
import sys
import typing as t

import pytest
from testinfra.modules.ansible import AnsibleException

sys.path.insert(0, os.environ.get("DG_COLLECTIONS", ""))
from ansible_collections.dockguard.hardening.plugins.module_utils._seccomp import (
    policy,
    profile,
)

IMAGE = "dg-confinement-test:1"
DIRECTORY = "/etc/docker/seccomp"
MANAGED = re.compile(r"/etc/docker/seccomp/dockguard-[0-9a-f]{12}\.json")
X86_64 = profile.TABLE["SCMP_ARCH_X86_64"]
SOCKET = X86_64["socket"]
AF_ALG, AF_VSOCK, AF_UNIX, AF_INET = 38, 40, 1, 2
SOCK_STREAM, SOCK_SEQPACKET = 1, 5
# an errno no syscall here returns: the marker variant of the profile answers it where the profile says EPERM
MARKER = 133
MARKER_NAME = "EHWPOISON"


def ansible(host: t.Any, module: str, args: dict[str, t.Any], key: str = "rules") -> t.Any:
    """Run a module on the host; AnsibleException on failure (a result without `key` is one: testinfra's
    ad-hoc runner drops the failed flag of ansible-core 2.19). No arguments are passed as none at all: the
    ad-hoc CLI reads an empty JSON object as falsy and falls back to key=value parsing, which makes "{}" a
    raw parameter that the module refuses ("does not support raw params")."""
    result = host.backend.run_ansible(f"dockguard.hardening.{module}", json.dumps(args) if args else None, check=False)
    if result.get("failed") or key not in result:
        raise AnsibleException(result)
    return result


def daemon_json(host: t.Any) -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", json.loads(host.file("/etc/docker/daemon.json").content_string))


def deployed(host: t.Any) -> tuple[str, dict[str, t.Any]]:
    path = daemon_json(host)["seccomp-profile"]
    return path, json.loads(host.file(path).content_string)


def probe(host: t.Any, calls: list[tuple[str, int, list[int]]], opts: str = "") -> list[tuple[str, str]]:
    """Run the calls in one container of the test image; [(name, outcome)] in order."""
    lines = "\n".join(f"{n} {nr} " + " ".join(str(a) for a in args) for n, nr, args in calls)
    cmd = host.run(f"docker run --rm -i {opts} {IMAGE} sysprobe <<'EOF'\n{lines}\nEOF")
    assert cmd.rc == 0, cmd.stderr
    out = [tuple(line.split(" ", 1)) for line in cmd.stdout.splitlines()]
    assert [o[0] for o in out] == [c[0] for c in calls], cmd.stdout
    return t.cast("list[tuple[str, str]]", out)


def errno_of(outcome: str) -> str | None:
    m = re.search(r"ret=-1 errno=(\w+)", outcome)
    return m.group(1) if m else None


def kind(outcome: str) -> str:
    """An outcome without the values that differ from run to run (pids, addresses)."""
    if outcome.startswith("ret=") and errno_of(outcome) is None:
        return "ok"
    return outcome


def engine_major(host: t.Any) -> int:
    return int(host.check_output("docker version --format '{{.Server.Version}}'").split(".")[0])


def sockets(*families: tuple[int, int]) -> list[tuple[str, int, list[int]]]:
    return [("socket", SOCKET, [family, stype, 0]) for family, stype in families]


# -- the profile in place ------------------------------------------------------------------------------


def test_daemon_runs_the_collections_profile(host: t.Any) -> None:
    path, _prof = deployed(host)
    assert MANAGED.fullmatch(path), path
    f = host.file(path)
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)
    info = json.loads(host.check_output("docker info --format '{{json .SecurityOptions}}'"))
    assert f"name=seccomp,profile={path}" in info
    # the file is exactly what the policy builds: nothing else wrote it
    assert f.content_string == profile.render(profile.build("x86_64"))
    assert host.file(DIRECTORY).listdir() == [os.path.basename(path)]


def test_copy_fail_af_alg_and_vsock_are_denied(host: t.Any) -> None:
    calls = sockets((AF_ALG, SOCK_SEQPACKET), (AF_VSOCK, SOCK_STREAM), (AF_ALG | 1 << 32, SOCK_SEQPACKET),
                    (AF_VSOCK | 1 << 32, SOCK_STREAM), (AF_UNIX, SOCK_STREAM), (AF_INET, SOCK_STREAM))  # fmt: skip
    got = [o for _n, o in probe(host, calls)]
    assert [errno_of(o) for o in got[:4]] == ["EPERM"] * 4, got
    assert [kind(o) for o in got[4:]] == ["ok", "ok"], got
    # without seccomp the call reaches this kernel, which has no AF_ALG: the errno tells the two apart
    bare = [o for _n, o in probe(host, calls[:2], "--security-opt seccomp=unconfined")]
    assert errno_of(bare[0]) == "EAFNOSUPPORT", bare
    assert errno_of(bare[1]) != "EPERM", bare
    # the stock engine's own profile (recorded by prepare.yml before the role ran) let AF_ALG through on both
    # engines; AF_VSOCK it denies from Engine 23 on (moby's default profile: socket allowed with arg0 != 40),
    # Debian 12's 20.10.24 lets it through
    stock = host.file("/opt/dg-confinement/stock-af.txt").content_string.splitlines()
    assert errno_of(stock[0]) == "EAFNOSUPPORT", stock
    if engine_major(host) >= 23:
        assert errno_of(stock[1]) == "EPERM", stock
    else:
        assert errno_of(stock[1]) != "EPERM", stock


def test_every_syscall_the_policy_allows_reaches_the_kernel(host: t.Any) -> None:
    path, prof = deployed(host)
    calls = profile.probes(prof)
    assert len(calls) > 250
    confined = probe(host, calls)
    bare = probe(host, calls, "--security-opt seccomp=unconfined")
    differ = [(n, a, b) for (n, a), (_m, b) in zip(confined, bare, strict=True) if kind(a) != kind(b)]
    assert differ == [], differ
    if engine_major(host) >= 23:
        # Engine 20.10 ignores defaultErrnoRet (always EPERM); 26.1 honours it, so a marker errno shows that no
        # call was answered by the filter, also where the kernel itself says EPERM (landlock_restrict_self)
        marker = {**prof, "defaultErrnoRet": MARKER}
        host.run(f"cat > /opt/dg-confinement/marker.json <<'EOF'\n{json.dumps(marker)}\nEOF")
        marked = probe(host, calls, "--security-opt seccomp=/opt/dg-confinement/marker.json")
        assert [n for n, o in marked if errno_of(o) == MARKER_NAME] == []
    assert path


def test_what_the_policy_denies_is_denied(host: t.Any) -> None:
    names = [n for n in sorted(policy.DENIED_ALWAYS) if n in X86_64]
    calls = [(n, X86_64[n], [-1] * 6) for n in names]
    got = dict(probe(host, calls))
    assert {n: o for n, o in got.items() if errno_of(o) != "EPERM"} == {}
    bare = dict(probe(host, calls, "--security-opt seccomp=unconfined"))
    # io_uring, the keyring and userfaultfd reach this kernel without the filter
    for name in ("io_uring_setup", "keyctl", "add_key", "userfaultfd"):
        assert errno_of(bare[name]) != "EPERM", (name, bare[name])


# -- real workloads run unchanged -------------------------------------------------------------------------

PYTHON_PROGRAM = r"""
import hashlib, http.server, json, os, subprocess, tempfile, threading, urllib.request
with tempfile.TemporaryDirectory() as d:
    open(os.path.join(d, 'x'), 'w').write('hello')
    digest = hashlib.sha256(open(os.path.join(d, 'x'), 'rb').read()).hexdigest()
srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
body = urllib.request.urlopen(f'http://127.0.0.1:{srv.server_address[1]}/etc/os-release').read()
out = subprocess.run(['uname', '-s'], capture_output=True, text=True).stdout.strip()
print(json.dumps({'sha': digest[:8], 'served': b'Debian' in body, 'uname': out}))
"""


def test_python_program_and_network_server_run(host: t.Any) -> None:
    out = host.check_output(f'docker run --rm -w / {IMAGE} python3 -c "{PYTHON_PROGRAM}"')
    assert json.loads(out) == {"sha": "2cf24dba", "served": True, "uname": "Linux"}


def test_package_install_runs(host: t.Any) -> None:
    cmd = host.run(
        f"docker run --rm {IMAGE} bash -c 'apt-get update -qq >/dev/null && "
        'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null && echo {\\"a\\":1} | jq .a\''
    )
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.strip().splitlines()[-1] == "1"


# -- container defaults ------------------------------------------------------------------------------------


def test_new_containers_get_the_defaults(host: t.Any) -> None:
    # bash: the image's sh is dash, whose ulimit has no -u (its process limit is -p)
    out = host.check_output(
        f"docker run --rm --user 1000 {IMAGE} bash -c 'ulimit -Sn; ulimit -Hn; ulimit -Su; ulimit -Hu; "
        "df -k /dev/shm | tail -1; readlink /proc/self/ns/cgroup /proc/self/ns/ipc'"
    ).split("\n")
    assert out[:4] == ["1024", "16384", "8192", "8192"]
    assert out[4].split()[1] == "65536"  # 64M in KiB
    assert out[5] != host.check_output("readlink /proc/self/ns/cgroup")
    assert out[6] != host.check_output("readlink /proc/self/ns/ipc")
    config = daemon_json(host)
    assert config["default-cgroupns-mode"] == "private"
    assert config["default-ipc-mode"] == "private"
    assert "no-new-privileges" not in config  # the daemon role's


# -- the audit -----------------------------------------------------------------------------------------------


def test_cis_audit_passes_2_17_and_still_names_unconfined_containers(host: t.Any) -> None:
    host.run("docker rm -f dg-unconfined")
    host.check_output(f"docker run -d --name dg-unconfined --security-opt seccomp=unconfined {IMAGE} sleep 300")
    try:
        result = ansible(host, "cis_audit", {"controls": ["2.17", "5.22"]}, key="audit")
    finally:
        host.run("docker rm -f dg-unconfined")
    verdicts = {r["id"]: r for r in result["audit"]["results"]}
    assert verdicts["2.17"]["status"] == "pass", verdicts["2.17"]
    assert verdicts["5.22"]["status"] == "fail", verdicts["5.22"]
    assert "dg-unconfined" in json.dumps(verdicts["5.22"])


# -- bad input: refused before anything is written, the daemon untouched ---------------------------------


def daemon_state(host: t.Any) -> tuple[str, str, list[str]]:
    pid = host.check_output("systemctl show -p MainPID --value docker.service")
    return pid, host.file("/etc/docker/daemon.json").content_string, host.file(DIRECTORY).listdir()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"deny_syscalls": ["execve"]}, "would stop every container from starting"),
        ({"deny_syscalls": ["exit_group", "keyctl"]}, "would stop every container from starting"),
        ({"deny_syscalls": ["sockett"]}, "did you mean 'socket'"),
        ({"deny_syscalls": ["io_uring_setupp"]}, "is not a syscall of SCMP_ARCH_X86_64"),
        ({"deltas": ["af_alg"]}, "af_alg"),
    ],
)
def test_bad_input_is_refused_and_the_daemon_untouched(host: t.Any, args: dict[str, t.Any], message: str) -> None:
    before = daemon_state(host)
    with pytest.raises(AnsibleException) as failure:
        ansible(host, "seccomp_profile", args)
    assert message in str(failure.value.result.get("msg")), failure.value.result
    assert daemon_state(host) == before


# -- changes: a new profile file, a verified restart, the old file pruned; builtin on both engines ---------


def test_a_new_delta_is_a_new_file_and_the_old_one_goes(host: t.Any) -> None:
    old, _prof = deployed(host)
    result = ansible(host, "seccomp_profile", {"deltas": ["af_alg_vsock", "socketcall"]})
    try:
        assert result["changed"] and result["restarted"], result
        assert result["pruned"] == [old]
        new = result["path"]
        assert MANAGED.fullmatch(new) and new != old
        names = {n for rule in json.loads(host.file(new).content_string)["syscalls"] for n in rule["names"]}
        assert "socketcall" not in names and "socket" in names
        info = host.check_output("docker info --format '{{json .SecurityOptions}}'")
        assert f"profile={new}" in info
        assert host.file(DIRECTORY).listdir() == [os.path.basename(new)]
    finally:
        back = ansible(host, "seccomp_profile", {})
    assert back["path"] == old and back["restarted"], back


def test_builtin_is_written_as_each_engine_reads_it(host: t.Any) -> None:
    result = ansible(host, "seccomp_profile", {"state": "builtin"}, key="engine_version")
    try:
        assert result["restarted"], result
        info = host.check_output("docker info --format '{{json .SecurityOptions}}'")
        if engine_major(host) >= 23:
            assert daemon_json(host)["seccomp-profile"] == "builtin"
            assert "profile=builtin" in info
        else:  # Engine 20.10 reads "builtin" as a path and would not start: the key is removed
            assert "seccomp-profile" not in daemon_json(host)
            assert "profile=default" in info
        assert host.file(DIRECTORY).listdir() == []
        again = ansible(host, "seccomp_profile", {"state": "builtin"}, key="engine_version")
        assert not again["changed"], again
    finally:
        back = ansible(host, "seccomp_profile", {})
    assert back["restarted"] and MANAGED.fullmatch(back["path"]), back
