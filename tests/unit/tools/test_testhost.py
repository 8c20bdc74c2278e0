# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of the test-host code's VM test hosts: QEMU's argv, the kernel command line, the recipe hash.

The code is the collection's plugins/plugin_utils/_testhost.py (run by the shipped
playbooks/molecule_create.yml and molecule_destroy.yml); tools/testhost.py is only
its command line. Booting a VM is proven by molecule/vmhost; these pin what must
never drift: TCG only (KVM hangs on these machines), SSH bound to loopback, the
per-host key passed on the command line (never in the image), a new image for a
new recipe, and one copy of the code.
"""

from __future__ import annotations

import ast
import base64
import pathlib
import subprocess
import sys
import typing as t

import pytest

from ansible_collections.dockguard.hardening.plugins.plugin_utils import _testhost as testhost

ROOT = pathlib.Path(__file__).resolve().parents[3]
CLI = ROOT / "tools" / "testhost.py"
COMMANDS = ("engine", "image", "create", "destroy", "info", "ssh", "load-image")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHcTgMfGG0u1e6bKf0Jc2m7uQK7Xv0s6m3y0b0mN7x9T dockguard-dg-x\n"


def argv(**kw: t.Any) -> list[str]:
    args: dict[str, t.Any] = {
        "name": "dg-x",
        "image_dir": "/cache/vm/debian12-vm-abc",
        "state_dir": "/cache/vm-hosts/dg-x",
        "port": 40022,
        "memory": 1536,
        "cmdline": "root=/dev/vda",
    }
    args.update(kw)
    return list(testhost.qemu_argv(**args))


def option(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def test_qemu_runs_tcg_never_kvm() -> None:
    args = argv()
    (accel,) = option(args, "-accel")
    assert accel.split(",")[0] == "tcg"
    assert not any("kvm" in a for a in args), args
    assert option(args, "-smp") == ["2"]


def test_qemu_memory_is_the_callers() -> None:
    assert option(argv(memory=1536), "-m") == ["1536"]
    assert option(argv(memory=3072), "-m") == ["3072"]


def test_qemu_ssh_forward_is_on_loopback_only() -> None:
    (netdev,) = option(argv(port=40022), "-netdev")
    assert "hostfwd=tcp:127.0.0.1:40022-:22" in netdev.split(",")


def test_qemu_boots_the_hosts_own_overlay_detached() -> None:
    args = argv()
    (drive,) = option(args, "-drive")
    assert drive.split(",")[0] == "file=/cache/vm-hosts/dg-x/overlay.qcow2"
    assert "format=qcow2" in drive.split(",")
    assert option(args, "-kernel") == ["/cache/vm/debian12-vm-abc/vmlinuz"]
    assert option(args, "-initrd") == ["/cache/vm/debian12-vm-abc/initrd.img"]
    assert option(args, "-append") == ["root=/dev/vda"]
    assert "-daemonize" in args
    assert option(args, "-pidfile") == ["/cache/vm-hosts/dg-x/qemu.pid"]
    assert option(args, "-serial") == ["file:/cache/vm-hosts/dg-x/console.log"]


def test_qemu_refuses_a_path_with_a_comma() -> None:
    with pytest.raises(SystemExit, match="comma"):
        argv(state_dir="/cache/a,b")


@pytest.mark.parametrize(
    ("lsm", "wanted", "absent"),
    [
        ("apparmor", ["apparmor=1", "security=apparmor"], ["selinux=1"]),
        ("selinux", ["selinux=1", "security=selinux", "enforcing=0"], ["apparmor=1", "security=apparmor"]),
    ],
)
def test_cmdline_boots_the_chosen_lsm(lsm: str, wanted: list[str], absent: list[str]) -> None:
    words = testhost.kernel_cmdline("dg-x", lsm, KEY).split(" ")
    assert set(wanted) <= set(words)
    assert not set(absent) & set(words)
    assert {"root=/dev/vda", "rw", "console=ttyS0", "systemd.hostname=dg-x"} <= set(words)


def test_cmdline_carries_the_public_key_as_one_word() -> None:
    words = testhost.kernel_cmdline("dg-x", "apparmor", KEY).split(" ")
    (encoded,) = [w.split("=", 1)[1] for w in words if w.startswith(testhost.VM_KEY_ARG + "=")]
    assert base64.b64decode(encoded).decode() == KEY.strip()
    # x86's kernel command line is at most 2048 bytes
    assert len(" ".join(words)) < 2048


def test_cmdline_refuses_an_unknown_lsm() -> None:
    with pytest.raises(SystemExit, match="--lsm"):
        testhost.kernel_cmdline("dg-x", "smack", KEY)


def test_the_setup_unit_reads_the_key_the_cmdline_carries(tmp_path: pathlib.Path) -> None:
    """The image's own script, run against a fake /proc/cmdline and root home, writes the key back."""
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(testhost.kernel_cmdline("dg-x", "selinux", KEY) + "\n")
    script = (
        testhost.VM_SETUP_SCRIPT.replace("/proc/cmdline", str(cmdline))
        .replace("/root/.ssh", str(tmp_path / "ssh"))
        .replace("/etc/ssh", str(tmp_path / "etc"))
    )
    (tmp_path / "etc").mkdir()
    subprocess.run(["sh", "-c", script], check=True)
    keys = tmp_path / "ssh" / "authorized_keys"
    assert keys.read_text() == KEY.strip()
    assert keys.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "ssh").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "etc" / "ssh_host_ed25519_key").read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")


@pytest.mark.parametrize(
    ("constant", "change"),
    [
        ("VM_PACKAGES", lambda v: [*v, "vim"]),
        ("VM_BASE_PACKAGES", lambda v: v[:-1]),
        ("VM_SETUP_SCRIPT", lambda v: v + "# changed\n"),
        ("VM_NETWORK", lambda v: v.replace("DHCP=yes", "DHCP=ipv4")),
        ("VM_MASKED_UNITS", lambda v: v[1:]),
        ("VM_INITRAMFS_MODULES", lambda v: v + "nvme\n"),
        ("VM_MODPROBE", lambda v: ""),
        ("VM_WARMUP_CLEANUP", lambda v: v.replace("random-seed", "")),
        ("VM_DISK_SIZE", lambda v: "8G"),
        ("VM_RECIPE_VERSION", lambda v: v + "x"),
        ("MIRROR", lambda v: "http://mirror.example/debian"),
    ],
)
def test_a_changed_recipe_builds_a_new_image(monkeypatch: pytest.MonkeyPatch, constant: str, change: object) -> None:
    before = testhost.vm_recipe_digest("debian12-vm")
    assert testhost.vm_recipe_digest("debian12-vm") == before  # stable
    monkeypatch.setattr(testhost, constant, change(getattr(testhost, constant)))  # type: ignore[operator]
    assert testhost.vm_recipe_digest("debian12-vm") != before


def test_each_distro_has_its_own_image(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_CACHE", "/cache")
    d12, d13 = testhost.vm_image_dir("debian12-vm"), testhost.vm_image_dir("debian13-vm")
    assert d12 != d13
    assert d12.startswith("/cache/vm/debian12-vm-")


@pytest.mark.parametrize("bad", ["", "Dg-x", "dg_x", "dg x", "-dg", "a" * 64, "dg/x"])
def test_vm_names_are_hostnames(bad: str) -> None:
    assert not testhost.VM_NAME_RE.match(bad)


def test_vm_name_of_a_scenario_is_accepted() -> None:
    assert testhost.VM_NAME_RE.match("dg-vmhost-aa")


def test_the_command_line_is_the_collections_code() -> None:
    """tools/testhost.py defines nothing of its own: no recipe, no flags, no commands; it runs _testhost.main."""
    tree = ast.parse(CLI.read_text())
    assigned = {t.id for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign) for t in _targets(n)}
    assert assigned == {"CODE"}, assigned
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert functions == {"load"}, functions
    assert "plugins/plugin_utils/_testhost.py" in CLI.read_text().replace('" / "', "/")


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.Name]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t for t in targets if isinstance(t, ast.Name)]


def test_the_command_line_keeps_every_command_and_flag() -> None:
    out = subprocess.run([sys.executable, str(CLI), "--help"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: tools/testhost.py ")
    assert "{" + ",".join(COMMANDS) + "}" in out
    create = subprocess.run(
        [sys.executable, str(CLI), "create", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--network", "--lsm", "--memory", "--boot-timeout"):
        assert flag in create, create
    assert "debian12-vm" in create and "debian13" in create


def test_the_command_line_runs_the_code_it_names(tmp_path: pathlib.Path) -> None:
    """`info` of a VM that is not there fails with the collection code's own message and cache path."""
    env = {"PATH": "/usr/bin:/bin", "DG_CACHE": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(CLI), "info", "dg-nothere"], capture_output=True, text=True, check=False, env=env
    )
    assert proc.returncode == 1
    assert f"no {tmp_path}/vm-hosts/dg-nothere/host.json" in proc.stderr, proc.stderr


def test_the_shipped_code_needs_only_the_standard_library() -> None:
    """The playbooks run it with the controller's Python as a plain file: no ansible, no collection imports."""
    tree = ast.parse((ROOT / "plugins" / "plugin_utils" / "_testhost.py").read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}, modules - set(sys.stdlib_module_names)
