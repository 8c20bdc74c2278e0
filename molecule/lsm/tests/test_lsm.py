# SPDX-License-Identifier: GPL-3.0-or-later
"""What the lsm role leaves on real kernels: AppArmor enforced in a Debian 12 VM, the refusals on a
container host whose kernel has neither AppArmor nor SELinux.

Every container runs dg-lsmprobe (molecule/lsm/files/lsmprobe.c), which prints OK or the errno of
one system call: EACCES (13) is AppArmor's refusal, seen again in the VM's audit log.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import typing as t

import pytest

PROFILE = "docker-default"
PROFILE_PATH = "/etc/apparmor.d/dockguard-docker-default"
POLICY = "/sys/kernel/security/apparmor/policy/profiles"
RELOAD_UNIT = "dockguard-apparmor-docker-default-reload.service"


def name_of(host: t.Any) -> str:
    return str(host.backend.host)


@pytest.fixture
def apparmor_host(host: t.Any) -> t.Any:
    if name_of(host) != "dg-lsm-aa12":
        pytest.skip("AppArmor is enforced in the VM dg-lsm-aa12 only")
    return host


@pytest.fixture
def bare_host(host: t.Any) -> t.Any:
    if name_of(host) != "dg-lsm-c12":
        pytest.skip("the refusals are proved on the container host, whose kernel has no AppArmor or SELinux")
    return host


def module(host: t.Any, name: str, args: dict[str, t.Any]) -> dict[str, t.Any]:
    return t.cast(
        "dict[str, t.Any]", host.backend.run_ansible(f"dockguard.hardening.{name}", json.dumps(args), check=False)
    )


def probe(host: t.Any, *args: str, opts: str = "") -> str:
    out = host.check_output(f"docker run --rm {opts} dg-lsmprobe {' '.join(args)}")
    return str(out).strip()


def kernel_sha1(host: t.Any, name: str = PROFILE) -> str:
    """raw_sha1 of the loaded profile: the hash of the binary policy it was loaded from."""
    return str(host.check_output(f"grep -lx {name} {POLICY}/*/name | xargs -n1 dirname | xargs -I@ cat @/raw_sha1"))


def compiled_sha1(host: t.Any, path: str = PROFILE_PATH) -> str:
    host.check_output(f"apparmor_parser --skip-kernel-load --skip-cache --ofile /tmp/dg-lsm.bin {path}")
    return str(host.check_output("sha1sum /tmp/dg-lsm.bin | cut -d' ' -f1"))


def audit_denials(host: t.Any, pattern: str) -> list[str]:
    out = host.run(f"grep -h 'apparmor=\"DENIED\"' /var/log/audit/audit.log | grep -F -- '{pattern}'")
    return [ln for ln in out.stdout.splitlines() if ln]


# -- AppArmor, in the VM ------------------------------------------------------------------


def test_our_profile_is_loaded_in_enforce_mode_from_our_file(apparmor_host: t.Any) -> None:
    profiles = apparmor_host.file("/sys/kernel/security/apparmor/profiles").content_string
    assert f"{PROFILE} (enforce)" in profiles.splitlines()
    assert kernel_sha1(apparmor_host) == compiled_sha1(apparmor_host)


def test_a_container_runs_under_our_profile(apparmor_host: t.Any) -> None:
    assert probe(apparmor_host, "attr") == f"{PROFILE} (enforce)"


def test_af_alg_is_refused_by_apparmor(apparmor_host: t.Any) -> None:
    # unconfined, the socket reaches the kernel, which has AF_ALG: Copy Fail's first step works there
    assert probe(apparmor_host, "alg", opts="--security-opt apparmor=unconfined") == "OK"
    assert probe(apparmor_host, "alg") == "ERR 13 Permission denied"
    assert audit_denials(apparmor_host, 'family="alg"'), "no AppArmor denial of AF_ALG in the audit log"


def test_writes_to_proc_sys_are_refused_even_where_proc_is_unmasked(apparmor_host: t.Any) -> None:
    unmasked = "--security-opt systempaths=unconfined"
    assert (
        probe(
            apparmor_host, "write", "/proc/sys/kernel/hostname", opts=unmasked + " --security-opt apparmor=unconfined"
        )
        == "OK"
    )
    assert probe(apparmor_host, "write", "/proc/sys/kernel/hostname", opts=unmasked) == "ERR 13 Permission denied"
    assert audit_denials(apparmor_host, 'name="/proc/sys/kernel/hostname"')


def test_mount_is_refused_even_with_cap_sys_admin(apparmor_host: t.Any) -> None:
    sys_admin = "--cap-add SYS_ADMIN"
    assert probe(apparmor_host, "mount", "/mnt", opts=sys_admin + " --security-opt apparmor=unconfined") == "OK"
    assert probe(apparmor_host, "mount", "/mnt", opts=sys_admin) == "ERR 13 Permission denied"
    assert audit_denials(apparmor_host, 'operation="mount"')


def test_cis_audit_passes_5_1_and_5_2(apparmor_host: t.Any) -> None:
    apparmor_host.check_output("docker run -d --name dg-lsm-running dg-lsmprobe sleep")
    try:
        result = module(apparmor_host, "cis_audit", {"controls": ["5.1", "5.2"]})
    finally:
        apparmor_host.run("docker rm -f dg-lsm-running")
    verdicts = {r["id"]: (r["status"], r["evidence"]) for r in result["audit"]["results"]}
    assert verdicts["5.1"][0] == "pass", verdicts
    assert verdicts["5.2"][0] == "pass", verdicts


def test_a_profile_with_a_syntax_error_is_refused_and_the_loaded_one_untouched(apparmor_host: t.Any) -> None:
    before_file = apparmor_host.file(PROFILE_PATH).content_string
    before_sha = kernel_sha1(apparmor_host)
    bad = before_file.replace("  audit deny mount,\n", "  audit deny mount\n")
    assert bad != before_file
    result = module(apparmor_host, "apparmor_profile", {"name": PROFILE, "path": PROFILE_PATH, "content": bad})
    assert result.get("failed") or "profiles" not in result, result
    assert "apparmor_parser refuses the profile" in result["msg"] and "at line" in result["msg"], result["msg"]
    assert apparmor_host.file(PROFILE_PATH).content_string == before_file
    assert kernel_sha1(apparmor_host) == before_sha
    assert probe(apparmor_host, "alg") == "ERR 13 Permission denied"


def test_dockerd_keeps_our_profile_across_a_restart_on_its_own(apparmor_host: t.Any) -> None:
    """Engine 20.10 generates docker-default only when none is loaded: ours survives without the reload unit."""
    ours = kernel_sha1(apparmor_host)
    unit = f"/etc/systemd/system/{RELOAD_UNIT}"
    apparmor_host.check_output(f"systemctl disable --now {RELOAD_UNIT} && mv {unit} /root/ && systemctl daemon-reload")
    try:
        apparmor_host.check_output("systemctl restart docker.service")
        assert kernel_sha1(apparmor_host) == ours
        assert probe(apparmor_host, "alg") == "ERR 13 Permission denied"
    finally:
        apparmor_host.check_output(
            f"mv /root/{RELOAD_UNIT} {unit} && systemctl daemon-reload && systemctl enable {RELOAD_UNIT}"
        )


def test_the_reload_unit_puts_ours_back_after_dockerd_replaced_it(apparmor_host: t.Any) -> None:
    """What an engine that loads its own docker-default at start (moby 29.x) does, done by hand: the unit that
    runs after every docker.service start loads ours again, and running containers switch at once."""
    ours = kernel_sha1(apparmor_host)
    apparmor_host.check_output("docker run -d --name dg-lsm-switch dg-lsmprobe sleep")
    try:
        # a stand-in for the engine's own profile: same name, other policy (everything allowed)
        apparmor_host.check_output(
            "printf 'profile docker-default flags=(attach_disconnected,mediate_deleted) {\\n file,\\n network,\\n"
            " capability,\\n}\\n' > /tmp/dg-lsm-theirs && apparmor_parser --replace /tmp/dg-lsm-theirs"
        )
        assert kernel_sha1(apparmor_host) != ours
        apparmor_host.check_output("systemctl restart docker.service")
        assert kernel_sha1(apparmor_host) == ours
        assert apparmor_host.check_output("docker exec dg-lsm-switch /lsmprobe alg") == "ERR 13 Permission denied"
    finally:
        apparmor_host.run("docker rm -f dg-lsm-switch")


def test_container_start_time_with_and_without_the_profile(apparmor_host: t.Any) -> None:
    def median(opts: str) -> float:
        times = []
        for _run in range(5):
            start = time.monotonic()
            apparmor_host.check_output(f"docker run --rm {opts} dg-lsmprobe attr")
            times.append(time.monotonic() - start)
        return statistics.median(times)

    ours, unconfined = median(""), median("--security-opt apparmor=unconfined")
    record = {"container_start_s": {"docker-default (ours)": round(ours, 3), "unconfined": round(unconfined, 3)}}
    out = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"), "lsm-timings.json")
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    print(record)
    assert ours < unconfined * 3 + 5  # the profile adds no noticeable start cost


# -- no AppArmor, no SELinux: refusals ------------------------------------------------------


def test_loading_is_refused_on_a_kernel_without_apparmor(bare_host: t.Any) -> None:
    path = "/etc/apparmor.d/dg-lsm-refused"
    result = module(bare_host, "apparmor_profile", {"name": "x", "path": path, "content": "profile x {\n}\n"})
    assert "AppArmor cannot enforce profile 'x' on this host: this kernel has no AppArmor" in result["msg"], result
    assert "Nothing was written" in result["msg"]
    assert not bare_host.file(path).exists


def test_check_mode_before_the_parser_is_installed_predicts_and_writes_nothing(bare_host: t.Any) -> None:
    """The role's check mode on a host whose apparmor package comes with the same run: no parser to compile
    with, yet a prediction (from the file's text) instead of a failure; the real run still needs the parser."""
    assert not bare_host.file("/usr/sbin/apparmor_parser").exists, "the container host has no apparmor package"
    path = "/etc/apparmor.d/dg-lsm-predicted"
    args = {"name": "x", "path": path, "content": "profile x {\n}\n", "load": False}
    predicted = t.cast(
        "dict[str, t.Any]",
        bare_host.backend.run_ansible("dockguard.hardening.apparmor_profile", json.dumps(args), check=True),
    )
    assert not predicted.get("failed"), predicted
    assert predicted["changed"] is True and predicted["reasons"] == ["file"], predicted
    assert predicted["policy_sha1"] is None and predicted["profiles"] == ["x"], predicted
    assert not bare_host.file(path).exists
    real = module(bare_host, "apparmor_profile", args)
    assert "apparmor_parser was not found" in real["msg"], real
    assert not bare_host.file(path).exists


def test_selinux_is_refused_on_a_kernel_without_it(bare_host: t.Any) -> None:
    # an empty {} would reach the module as a raw parameter ("does not support raw params"): give the default
    result = module(bare_host, "selinux_docker", {"require_enforcing": False})
    assert result["msg"].startswith(
        "SELinux cannot label containers on this host: /sys/fs/selinux is missing: the kernel does not run SELinux"
    ), result
    assert not bare_host.file("/etc/docker/daemon.json").exists


def test_the_role_left_the_bare_host_alone(bare_host: t.Any) -> None:
    assert not bare_host.file(PROFILE_PATH).exists
    assert not bare_host.file("/etc/systemd/system/dockguard-apparmor-docker-default.service").exists
