# SPDX-License-Identifier: GPL-3.0-or-later
"""What the userns_remap role leaves on a real Docker host, read from the host itself (CIS 2.9)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import typing as t

import pytest
from testinfra.modules.ansible import AnsibleException

# prepare.yml plants: subuid legacy 100000-165535, svc 165536-231071; subgid svc up to 296607;
# an account and a group with ID 231100. The first start free in both files and clear of the account
# is 296608: the same range in both files.
START = 296608
COUNT = 65536


def ansible(host: t.Any, module: str, args: dict[str, t.Any], check: bool = False) -> t.Any:
    """A module of the collection run on the host for real; AnsibleException when it fails.

    testinfra's ad-hoc runner drops the "failed" flag of ansible-core 2.19's output, so a
    result without one of the module's always-returned keys is a failure.
    """
    result = host.backend.run_ansible(f"dockguard.hardening.{module}", json.dumps(args), check=check)
    if result.get("failed") or "subuid" not in result:
        raise AnsibleException(result)
    return result


def test_other_lines_of_the_crowded_files_are_untouched(host: t.Any) -> None:
    for name in ("subuid", "subgid"):
        planted = host.file(f"/root/{name}.planted").content_string
        now = host.file(f"/etc/{name}").content_string
        assert now == planted + f"dockremap:{START}:{COUNT}\n", name


def test_the_remap_user_has_no_login(host: t.Any) -> None:
    user = host.user("dockremap")
    assert user.exists
    assert user.group == "dockremap"
    assert user.shell == "/usr/sbin/nologin"
    assert user.password in ("!", "*", "!*")


def test_daemon_json_asks_for_the_remap(host: t.Any) -> None:
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["userns-remap"] == "default"


def test_docker_info_lists_userns(host: t.Any) -> None:
    opts = json.loads(host.check_output("docker info --format '{{json .SecurityOptions}}'"))
    assert "name=userns" in opts


def test_container_root_is_the_remapped_range(host: t.Any) -> None:
    uid_map = host.check_output("docker run --rm carry:1 cat /proc/self/uid_map").split()
    gid_map = host.check_output("docker run --rm carry:1 cat /proc/self/gid_map").split()
    assert uid_map == ["0", str(START), str(COUNT)]
    assert gid_map == ["0", str(START), str(COUNT)]


def test_a_running_container_is_the_remapped_uid_on_the_host(host: t.Any) -> None:
    host.run("docker rm -f dg-remapped")
    host.check_output("docker run -d --name dg-remapped carry:1 sleep 300")
    try:
        pid = host.check_output("docker inspect --format '{{.State.Pid}}' dg-remapped")
        uids = host.check_output(f"awk '/^Uid:/ {{print $2, $3, $4, $5}}' /proc/{pid}/status").split()
    finally:
        host.run("docker rm -f dg-remapped")
    assert uids == [str(START)] * 4


def test_container_root_writes_a_bind_mount_as_the_remapped_uid(host: t.Any) -> None:
    d = host.file("/srv/dg-data")
    assert (d.uid, d.gid) == (START, START)
    host.run("rm -f /srv/dg-data/written-by-container")
    host.check_output("docker run --rm -v /srv/dg-data:/data carry:1 touch /data/written-by-container")
    f = host.file("/srv/dg-data/written-by-container")
    assert (f.uid, f.gid) == (START, START)


def test_a_root_owned_bind_mount_is_not_writable_by_container_root(host: t.Any) -> None:
    host.check_output("install -d -o root -g root -m 0755 /srv/dg-root-owned")
    cmd = host.run("docker run --rm -v /srv/dg-root-owned:/data carry:1 touch /data/x")
    assert cmd.rc != 0
    assert "Permission denied" in cmd.stderr + cmd.stdout
    assert not host.file("/srv/dg-root-owned/x").exists


def test_storage_moved_to_the_remapped_data_root(host: t.Any) -> None:
    root = host.check_output("docker info --format '{{.DockerRootDir}}'")
    assert root == f"/var/lib/docker/{START}.{START}"
    assert host.file(root).is_directory


def test_carried_images_still_run_and_others_are_out_of_view(host: t.Any) -> None:
    assert host.check_output("docker run --rm carry:1 sh -c 'echo carried'") == "carried"
    images = host.check_output("docker image ls --format '{{.Repository}}:{{.Tag}}'").split()
    assert "carry:1" in images
    assert "left-behind:1" not in images


def test_subid_refuses_an_overlap_on_the_host_and_writes_nothing(host: t.Any) -> None:
    before = host.file("/etc/subuid").content_string
    with pytest.raises(AnsibleException) as failure:
        ansible(host, "subid", {"name": "dg-pooled", "start": 200000})
    msg = failure.value.result["msg"]
    assert msg.startswith("the requested range 200000-265535 overlaps svc's range 165536-231071 at /etc/subuid:4")
    assert host.file("/etc/subuid").content_string == before


def test_subid_check_mode_on_the_host_predicts_without_writing(host: t.Any) -> None:
    before = host.file("/etc/subuid").content_string
    result = ansible(host, "subid", {"name": "dg-pooled"}, check=True)
    assert result["changed"] is True
    assert result["subuid"]["start"] == START + COUNT
    assert host.file("/etc/subuid").content_string == before


def plain(text: str) -> str:
    """ansible-playbook's output without colours, and with the default callback's line wrapping undone."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


def changed_tasks(records: list[dict[str, t.Any]], run: str, hostname: str) -> set[str]:
    """Names of the tasks that changed, without the "namespace.collection.role : " prefix."""
    return {
        r["task"].split(" : ", 1)[-1] for r in records if r["run"] == run and r["host"] == hostname and r["changed"]
    }


# Commands that check mode cannot run: the images are saved and loaded only for real.
NOT_PREDICTABLE = {"Load the images saved before the switch"}


def test_check_mode_predicted_the_converge(host: t.Any) -> None:
    with open(os.environ["DOCKGUARD_CHANGES_LOG"], encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    runs: list[tuple[str, bool]] = []
    for r in records:
        if r["playbook"] == "converge.yml" and r["run"] not in [x[0] for x in runs]:
            runs.append((r["run"], r["check"]))
    assert [check for _run, check in runs][-3:] == [True, False, False], runs  # check, converge, idempotence
    name = host.backend.get_hostname()
    predicted = changed_tasks(records, runs[-3][0], name)
    done = changed_tasks(records, runs[-2][0], name)
    assert "Set userns-remap in daemon.json, applied with the safe restart (CIS 2.9)" in done
    assert predicted == done - NOT_PREDICTABLE
    assert done >= NOT_PREDICTABLE
    assert changed_tasks(records, runs[-1][0], name) == set()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"userns_remap_user": "root"}, "never root or a numeric ID"),
        ({"userns_remap_user": "0"}, "never root or a numeric ID"),
        ({"userns_remap_subid_count": 1000}, "at least 65536 IDs"),
        ({"userns_remap_enabled": False, "userns_remap_carry_images": ["carry:1"]}, "need userns_remap_enabled=true"),
    ],
)
def test_incompatible_settings_are_refused_before_any_change(
    host: t.Any, extra: dict[str, t.Any], message: str
) -> None:
    before = host.file("/etc/docker/daemon.json").content_string
    proc = converge(host, extra)
    assert proc.returncode != 0
    out = plain(proc.stdout + proc.stderr)  # errors may go to stderr
    assert "Preflight" in out
    assert message in out
    assert host.file("/etc/docker/daemon.json").content_string == before


def snapshot(host: t.Any) -> dict[str, str]:
    """What a refused run must leave as it was: the two files, daemon.json, and backups beside them."""
    files = {p: host.file(p).content_string for p in ("/etc/subuid", "/etc/subgid", "/etc/docker/daemon.json")}
    files["backups"] = host.check_output(
        "ls -a /etc /etc/docker | grep -E '(subuid|subgid|daemon.json)[.].*~$|dockguard' || true"
    )
    return files


def test_a_subuid_line_dockerd_cannot_read_is_refused_before_the_remap_user_exists(host: t.Any) -> None:
    """Issue 9 item 6: the remap user was created and its ranges written before the junk line was refused."""
    host.check_output("cp -p /etc/subuid /root/subuid.before-junk && cp -p /etc/subgid /root/subgid.before-junk")
    host.check_output("echo 'this line is not an entry' >> /etc/subuid")
    before = snapshot(host)
    try:
        proc = converge(host, {"userns_remap_user": "dg-fresh"})
        after = snapshot(host)
        user, group = host.run("getent passwd dg-fresh"), host.run("getent group dg-fresh")
    finally:
        host.run("userdel dg-fresh; groupdel dg-fresh")  # only if the refusal came too late
        host.check_output("cp -p /root/subuid.before-junk /etc/subuid && cp -p /root/subgid.before-junk /etc/subgid")
    assert proc.returncode != 0
    assert (user.rc, group.rc) == (2, 2), "the remap user or group was created before the refusal"
    assert after == before
    out = plain(proc.stdout + proc.stderr)  # errors may go to stderr
    assert "Refuse subordinate ID files dockerd cannot read" in out
    assert "/etc/subuid:9 'this line is not an entry'" in out
    assert "Nothing was changed" in out


def test_subid_avoids_a_crlf_range_on_the_host(host: t.Any) -> None:
    """Issue 9 item 4: a line dockerd reads (it drops the CR) and shadow-utils does not is still a taken range."""
    host.check_output("cp -p /etc/subuid /root/subuid.before-crlf && cp -p /etc/subgid /root/subgid.before-crlf")
    host.check_output(rf"printf 'dg-crlf:{START + COUNT}:{COUNT}\r\n' | tee -a /etc/subuid >> /etc/subgid")
    try:
        result = ansible(host, "subid", {"name": "dg-pooled"}, check=True)
    finally:
        host.check_output("cp -p /root/subuid.before-crlf /etc/subuid && cp -p /root/subgid.before-crlf /etc/subgid")
    assert (result["subuid"]["start"], result["subgid"]["start"]) == (START + 2 * COUNT, START + 2 * COUNT)


def subgid_mounted(host: t.Any) -> bool:
    return host.run("""awk '$5 == "/etc/subgid" {found=1} END {exit !found}' /proc/self/mountinfo""").rc == 0


@pytest.mark.parametrize(
    ("mount", "reason", "restored"),
    [
        # a read-only file: found before the first write
        ("mount --bind /etc/subgid /etc/subgid && mount -o remount,bind,ro /etc/subgid", "Read-only file system", []),
        # a file that is a mount point cannot be renamed over: found only by the write, after subuid was written
        ("mount --bind /etc/subgid /etc/subgid", "Device or resource busy", ["/etc/subuid"]),
    ],
    ids=["read-only", "mount-point"],
)
def test_subid_changes_both_files_or_neither(host: t.Any, mount: str, reason: str, restored: list[str]) -> None:
    """Issue 9 item 5: with /etc/subgid read-only, /etc/subuid was rewritten, nothing rolled back, changed=false."""
    before = snapshot(host)
    try:
        host.check_output(mount)
        with pytest.raises(AnsibleException) as failure:
            ansible(host, "subid", {"name": "dg-pooled", "backup": False})
    finally:
        for _attempt in range(3):  # undo every layer of the bind mount, even after a half-done mount
            if not subgid_mounted(host):
                break
            host.run("umount /etc/subgid")
    assert not subgid_mounted(host)
    result = failure.value.result
    assert result["msg"].startswith(f"cannot write /etc/subgid: {reason}"), result["msg"]
    assert result["msg"].endswith("neither file was changed"), result["msg"]
    assert "unexpected" not in result["msg"]
    assert result["changed"] is False
    assert result["restored"] == restored
    assert result["written"] == []
    assert snapshot(host) == before


def converge(host: t.Any, extra: dict[str, t.Any]) -> subprocess.CompletedProcess[str]:
    """converge.yml with extra variables, on this host only."""
    name = host.backend.get_hostname()
    playbook = os.path.join(os.path.dirname(__file__), "..", "converge.yml")
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "--limit",
            name,
            "-e",
            json.dumps(extra),
            playbook,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DOCKGUARD_CHANGES_LOG": "/dev/null", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )
    return proc


def test_cis_audit_passes_user_namespace_support(host: t.Any) -> None:
    """CIS 2.9, judged by the collection's own audit."""
    result = host.backend.run_ansible("dockguard.hardening.cis_audit", json.dumps({"controls": ["2.9"]}), check=False)
    assert "audit" in result, result
    (verdict,) = result["audit"]["results"]
    assert verdict["status"] == "pass", verdict["evidence"]
    assert any("userns" in e for e in verdict["evidence"])
