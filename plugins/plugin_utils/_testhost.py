# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this plugin_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections. It runs on
# the controller only: playbooks/molecule_create.yml and molecule_destroy.yml run
# it with the controller's Python (`python3 _testhost.py create NAME DISTRO`), and
# the project's tools/testhost.py is a command line over this same module.
"""Real Docker test hosts for dockguard.hardening (and for Molecule scenarios of its users).

A test host is a systemd container that runs its own dockerd, managed by
systemd exactly as on a server. This tool owns every step, with no hand work:

  engine              make sure a Docker engine answers here (install
                      docker.io and start dockerd when none does)
  image DISTRO        build and cache the base image for DISTRO: debian12,
                      debian13 (debootstrap + docker import), or a VM disk
                      image for debian12-vm, debian13-vm (debootstrap +
                      chroot install + mkfs.ext4 -d)
  create NAME DISTRO  start a test host (image built first when missing);
                      a *-vm DISTRO boots a QEMU VM with its own kernel
                      (--lsm apparmor|selinux, --memory MiB)
  destroy NAME        remove a test host (container and its /var/lib/docker
                      volume, or VM, its overlay and state)
  info NAME           how to reach a VM test host (JSON: port, key, ...)
  ssh NAME -- CMD     run CMD in a test host (ssh into a VM, docker exec
                      into a container)
  load-image HOST IMG copy an image of this engine into HOST's engine

The container flags are chosen in one place, host_run_args(): by default
all capabilities minus CAP_SYS_RESOURCE (``--privileged`` fails on machines
whose bounding set lacks it); DOCKGUARD_PRIVILEGED=1 uses ``--privileged``
where that works.

A VM test host boots the Debian kernel under QEMU (TCG: KVM hangs on these
machines) from its own qcow2 overlay over a disk image cached by recipe
hash under $DG_CACHE/vm/; its state (port, key, pid, overlay, console log)
lives in $DG_CACHE/vm-hosts/NAME/ ($DG_CACHE: DG_CACHE or DOCKGUARD_CACHE,
default /var/cache/dockguard).

Molecule: playbooks/molecule_create.yml and molecule_destroy.yml of this
collection run this file for the platforms of a scenario; see
docs/molecule-for-users.md. Needs root on the controller (debootstrap, a
Docker engine, QEMU), a Debian or Ubuntu controller for the packages it
installs when missing, and Debian's archive (DOCKGUARD_MIRROR).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

DISTROS: dict[str, str] = {"debian12": "bookworm", "debian13": "trixie"}
MIRROR = os.environ.get("DOCKGUARD_MIRROR", "http://deb.debian.org/debian")
PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "sudo",
    "procps",
    "iproute2",
    "ca-certificates",
]
# Inside the image: apt kept lean (test hosts reach Debian's archive like real
# servers), and no console getty fighting over a missing tty.
APT_CONF = 'APT::Install-Recommends "false";\nAcquire::Languages "none";\n'
MASKED_UNITS = ("getty.target", "console-getty.service")
IMAGE_CMD = 'CMD ["/sbin/init"]'
RECIPE_VERSION = "v1"  # bump when _build_image() changes in a way the constants above do not show
IMAGE_REPO = "dockguard-testhost"
LABEL = "io.dockguard.testhost"
DOCKERD_LOG = "/var/log/dockguard-dockerd.log"


def log(msg: str) -> None:
    print(f"[testhost] {msg}", file=sys.stderr, flush=True)


def run(argv: list[str], check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, text=True, **kw)  # type: ignore[call-overload]


# apt on this machine may be busy (another agent's bootstrap, a parallel
# scenario): wait for its lock instead of failing at once.
APT_GET = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """One holder at a time on this machine (two scenarios building the same image, or installing packages)."""
    with locked_file(os.path.join(tempfile.gettempdir(), f"dockguard-testhost-{name}.lock")):
        yield


def apt_install(*packages: str) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with locked("apt"):
        run([*APT_GET, "update", "-qq"], env=env)
        run([*APT_GET, "install", "-y", "-qq", *packages], env=env, stdout=subprocess.DEVNULL)


def quiet(argv: list[str]) -> bool:
    """True when argv exits 0 (output discarded)."""
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


def engine_answers() -> bool:
    return shutil.which("docker") is not None and quiet(["docker", "info"])


def ensure_engine(timeout: float = 90.0) -> None:
    """Use the running engine, or install docker.io and start dockerd."""
    if engine_answers():
        return
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        log("no Docker engine here: installing docker.io from Debian's packages")
        apt_install("docker.io")
    if engine_answers():  # the package's service may have started it
        return
    log(f"starting dockerd (log: {DOCKERD_LOG})")
    with open(DOCKERD_LOG, "ab") as out, open(os.devnull, "rb") as devnull:
        subprocess.Popen(["dockerd"], stdout=out, stderr=out, stdin=devnull, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_answers():
            return
        time.sleep(1)
    raise SystemExit(f"dockerd did not answer within {timeout:.0f}s; see {DOCKERD_LOG}")


def recipe_digest(distro: str) -> str:
    """A short hash of everything the image is built from: a changed recipe gets a new tag.

    The image is cached in the engine under that tag, so a fresh clone on the same
    machine reuses it and a changed recipe never reuses a stale one.
    """
    text = "\n".join([DISTROS[distro], MIRROR, *PACKAGES, APT_CONF, *MASKED_UNITS, IMAGE_CMD, RECIPE_VERSION])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def image_name(distro: str) -> str:
    return f"{IMAGE_REPO}:{distro}-{recipe_digest(distro)}"


def ensure_image(distro: str) -> str:
    if distro not in DISTROS:
        raise SystemExit(f"unknown distro {distro!r}; choose one of {', '.join(DISTROS)}")
    name = image_name(distro)
    if quiet(["docker", "image", "inspect", name]):
        return name
    # Scenarios run side by side: one image build (and one apt-get) at a time, the others wait and reuse it.
    with locked("image"):
        if not quiet(["docker", "image", "inspect", name]):
            _build_image(distro, name)
            _prune_images(distro, keep=name)
    return name


def _prune_images(distro: str, keep: str) -> None:
    """Drop this distro's images of older recipes (best effort: one a container still uses stays)."""
    listed = run(
        ["docker", "image", "ls", "--filter", f"label={LABEL}.distro={distro}", "--format", "{{.Repository}}:{{.Tag}}"],
        check=False,
        capture_output=True,
    )
    for old in listed.stdout.split():
        if old != keep and old.startswith(f"{IMAGE_REPO}:"):
            run(["docker", "image", "rm", old], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _build_image(distro: str, name: str) -> None:
    if shutil.which("debootstrap") is None:
        log("installing debootstrap")
        apt_install("debootstrap")
    with tempfile.TemporaryDirectory(prefix=f"dg-{distro}-") as root:
        log(f"debootstrap {DISTROS[distro]} into {root} (about a minute)")
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                DISTROS[distro],
                root,
                MIRROR,
            ],
            stdout=subprocess.DEVNULL,
        )
        with open(os.path.join(root, "etc/apt/apt.conf.d/90dockguard"), "w") as fh:
            fh.write(APT_CONF)
        for unit in MASKED_UNITS:
            link = os.path.join(root, "etc/systemd/system", unit)
            if not os.path.lexists(link):
                os.symlink("/dev/null", link)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        run(
            [
                "docker",
                "import",
                "-c",
                IMAGE_CMD,
                "-c",
                f"LABEL {LABEL}.distro={distro}",
                "-",
                name,
            ],
            stdin=tar.stdout,
            stdout=subprocess.DEVNULL,
        )
        if tar.wait() != 0:
            raise SystemExit("tar of the debootstrap tree failed")
    log(f"built {name}")


def host_run_args() -> list[str]:
    """The one place where a test host's container flags are chosen."""
    if os.environ.get("DOCKGUARD_PRIVILEGED") == "1":
        caps = ["--privileged"]
    else:
        caps = [
            "--cap-add",
            "ALL",
            "--cap-drop",
            "SYS_RESOURCE",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
            "--device-cgroup-rule",
            "a *:* rwm",
            "--device",
            "/dev/net/tun",
        ]
    return [
        *caps,
        # user namespaces inside the host need unmasked /proc paths
        "--security-opt",
        "systempaths=unconfined",
        "-v",
        "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "--cgroupns",
        "host",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
    ]


def wait_for_systemd(name: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        proc = run(
            ["docker", "exec", name, "systemctl", "is-system-running"],
            check=False,
            capture_output=True,
        )
        state = proc.stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    raise SystemExit(f"systemd in {name} did not finish booting within {timeout:.0f}s (state {state!r})")


def create(name: str, distro: str, network: str | None) -> None:
    image = ensure_image(distro)
    destroy_vm(name)  # a name is one host: a VM of that name goes too
    if quiet(["docker", "container", "inspect", name]):
        log(f"{name} exists: replacing it")
        destroy(name)
    argv = [
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--hostname",
        name,
        "--label",
        f"{LABEL}=1",
        *host_run_args(),
        "-v",
        f"{name}-lib:/var/lib/docker",
    ]
    if network:
        if not quiet(["docker", "network", "inspect", network]):
            run(["docker", "network", "create", "--label", f"{LABEL}=1", network], stdout=subprocess.DEVNULL)
        argv += ["--network", network]
    run([*argv, image, "/sbin/init"], stdout=subprocess.DEVNULL)
    wait_for_systemd(name)
    # Rootless Docker's slirp4netns needs /dev/net/tun usable as on a real host.
    run(["docker", "exec", name, "sh", "-c", "[ -e /dev/net/tun ] && chmod 0666 /dev/net/tun || true"])
    log(f"{name} is up ({distro})")


def destroy(name: str) -> None:
    """Remove the test host NAME, VM or container, and what it kept (overlay and state, or volume)."""
    destroy_vm(name)
    if shutil.which("docker") is None:  # no Docker on this machine: no container hosts either
        return
    ensure_engine()
    run(["docker", "rm", "-f", "-v", name], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(["docker", "volume", "rm", "-f", f"{name}-lib"], check=False, stdout=subprocess.DEVNULL)


def load_image(host: str, image: str) -> None:
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    run(["docker", "exec", "-i", host, "docker", "load", "-q"], stdin=save.stdout)
    if save.wait() != 0:
        raise SystemExit(f"docker save {image} failed")


# --------------------------------------------------------------------------
# VM test hosts: a Debian kernel of their own (kernel auditing, AppArmor,
# SELinux), booted by QEMU under TCG from a per-host qcow2 overlay.

VM_DISTROS: dict[str, str] = {"debian12-vm": "bookworm", "debian13-vm": "trixie"}
# debootstrap's own --include ...
VM_BASE_PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "openssh-server",
    "iproute2",
    "ca-certificates",
    "kmod",
    "udev",
]
# ... then apt-get install in the chroot (native speed; never inside the emulated VM).
VM_PACKAGES = [
    "linux-image-amd64",
    "auditd",
    "apparmor",
    "apparmor-utils",
    "selinux-basics",
    "selinux-policy-default",
    "policycoreutils",
    "docker.io",
    "python3-apt",
    "python3-cryptography",
    "python3-yaml",
    "sudo",
    "procps",
    "rsyslog",
    "rsyslog-gnutls",
    "libnss-myhostname",
]
VM_DISK_SIZE = "6G"
VM_NETWORK = "[Match]\nName=en*\n\n[Network]\nDHCP=yes\n"
VM_FSTAB = "/dev/vda / ext4 errors=remount-ro 0 1\n"
# QEMU's user-mode network answers DNS at 10.0.2.3 (no resolved in the image to take it from DHCP).
VM_RESOLV = "nameserver 10.0.2.3\n"
VM_HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
# One host key made at each VM's first boot (the image ships none): ed25519 only, quick under TCG.
VM_SSHD = "HostKey /etc/ssh/ssh_host_ed25519_key\n"
VM_KEY_ARG = "dockguard.ssh_key"
# The image has no login key: this reads the host's public key from the kernel command line
# (base64, one word) into root's authorized_keys, and makes the host key, before sshd starts.
VM_SETUP_SCRIPT = f"""#!/bin/sh
# dockguard VM test host: the login key from the kernel command line, a host key of its own.
set -eu
key=""
for word in $(cat /proc/cmdline); do
  case "$word" in
    {VM_KEY_ARG}=*) key="${{word#{VM_KEY_ARG}=}}" ;;
  esac
done
install -d -m 0700 /root/.ssh
if [ -n "$key" ]; then
  printf '%s' "$key" | base64 -d > /root/.ssh/authorized_keys.new
  chmod 0600 /root/.ssh/authorized_keys.new
  mv /root/.ssh/authorized_keys.new /root/.ssh/authorized_keys
fi
if [ ! -s /etc/ssh/ssh_host_ed25519_key ]; then
  rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub
  ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
fi
"""
VM_SETUP_UNIT = """[Unit]
Description=dockguard VM test host: SSH login key and host key
After=local-fs.target
Before=ssh.service ssh.socket

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/dockguard-vm-setup

[Install]
WantedBy=multi-user.target
"""
VM_ENABLED_UNITS = ("systemd-networkd.service", "ssh.service", "dockguard-vm-setup.service")
# Timers that would start apt or disk jobs in the middle of a test run, slow under TCG;
# no console logins (SSH is the way in), no DRM module for a VM without a display.
VM_MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "man-db.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "getty.target",
    "serial-getty@ttyS0.service",
    "modprobe@drm.service",
)
# A small initramfs with only what mounts the root disk (MODULES=most unpacks and
# loads hundreds of modules, a minute under TCG).
VM_INITRAMFS_CONF = "MODULES=list\nCOMPRESS=gzip\n"
VM_INITRAMFS_MODULES = "virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n"
# Drivers for hardware QEMU's pc machine has and a test host never uses.
VM_MODPROBE = "".join(
    f"blacklist {m}\n"
    for m in ("kvm_amd", "kvm_intel", "pcspkr", "floppy", "psmouse", "serio_raw", "i2c_piix4", "ccp", "ata_piix")
)
# Run in the warm-up boot of the image build, before it powers off: the first boot's
# work (AppArmor's profile cache, containerd's and dockerd's state) is done once, and
# what must be each VM's own is left out (keys, machine id, random seed, logs).
VM_WARMUP_CLEANUP = """set -eu
systemctl stop docker.socket docker.service containerd.service
rm -f /etc/docker/key.json /root/.ssh/authorized_keys /etc/ssh/ssh_host_* /var/lib/systemd/random-seed
rm -rf /var/log/journal/*
find /var/log -type f -exec truncate -s 0 {} +
: > /etc/machine-id
sync
# the login key is gone: power off from here, once this session has returned
systemd-run --quiet --on-active=3 systemctl poweroff
"""
VM_RECIPE_VERSION = "v2"  # bump when _build_vm_image() changes in a way the constants above do not show

LSM_ARGS: dict[str, tuple[str, ...]] = {
    "apparmor": ("apparmor=1", "security=apparmor"),
    "selinux": ("selinux=1", "security=selinux", "enforcing=0"),
}
VM_DEFAULT_MEMORY = 2048  # MiB
QEMU_PROGRAMS = {"qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils", "ssh": "openssh-client"}
# TCG's translated-code cache (MiB): QEMU's default of 1 GiB adds that much to every VM's RSS.
VM_TB_SIZE = 256
VM_SMP = 2
VM_SSH_USER = "root"
VM_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
SSH_OPTIONS = [
    "-o",
    "StrictHostKeyChecking=no",  # throwaway hosts with a fresh host key each
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
]


def cache_dir() -> str:
    """$DG_CACHE from scripts/bootstrap.sh, or its default."""
    return os.environ.get("DG_CACHE") or os.environ.get("DOCKGUARD_CACHE") or "/var/cache/dockguard"


def vm_recipe_digest(distro: str) -> str:
    """A short hash of everything a VM disk image is built from: a changed recipe builds a new image."""
    text = "\n".join(
        [
            VM_DISTROS[distro],
            MIRROR,
            *VM_BASE_PACKAGES,
            *VM_PACKAGES,
            VM_DISK_SIZE,
            APT_CONF,
            VM_NETWORK,
            VM_FSTAB,
            VM_RESOLV,
            VM_HOSTS,
            VM_SSHD,
            VM_SETUP_SCRIPT,
            VM_SETUP_UNIT,
            *VM_ENABLED_UNITS,
            *VM_MASKED_UNITS,
            VM_INITRAMFS_CONF,
            VM_INITRAMFS_MODULES,
            VM_MODPROBE,
            VM_WARMUP_CLEANUP,
            VM_RECIPE_VERSION,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def vm_image_dir(distro: str) -> str:
    return os.path.join(cache_dir(), "vm", f"{distro}-{vm_recipe_digest(distro)}")


def vm_image_ready(path: str) -> bool:
    return all(os.path.isfile(os.path.join(path, f)) for f in ("disk.img", "vmlinuz", "initrd.img", "done"))


@contextlib.contextmanager
def locked_file(path: str) -> Iterator[None]:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_programs(programs: dict[str, str]) -> None:
    """Install the Debian packages of the programs (program -> package) that are missing."""
    missing = sorted({pkg for prog, pkg in programs.items() if shutil.which(prog) is None})
    if missing:
        log(f"installing {' '.join(missing)}")
        apt_install(*missing)


def ensure_vm_image(distro: str) -> str:
    """The directory holding disk.img, vmlinuz and initrd.img for distro, built once per recipe."""
    if distro not in VM_DISTROS:
        raise SystemExit(f"unknown VM distro {distro!r}; choose one of {', '.join(VM_DISTROS)}")
    path = vm_image_dir(distro)
    if vm_image_ready(path):
        return path
    # Scenarios run side by side: one build at a time, the others wait and reuse it.
    with locked_file(os.path.join(cache_dir(), "vm", ".build.lock")):
        if not vm_image_ready(path):
            ensure_programs({"debootstrap": "debootstrap", "mkfs.ext4": "e2fsprogs", **QEMU_PROGRAMS})
            started = time.monotonic()
            _build_vm_image(distro, path)
            log(f"built {path} in {time.monotonic() - started:.0f}s")
            _prune_vm_images(distro, keep=path)
    return path


def _write(root: str, rel: str, text: str, mode: int = 0o644) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, mode)


def _unmount_all(root: str) -> None:
    """Unmount everything under root (deepest first) and prove nothing is left mounted."""
    real = os.path.realpath(root)
    with open("/proc/self/mounts") as fh:
        points = [line.split()[1] for line in fh]
    for point in sorted((p for p in points if p == real or p.startswith(real + "/")), reverse=True):
        run(["umount", "-l", point], check=False)
    with open("/proc/self/mounts") as fh:
        left = [line.split()[1] for line in fh if line.split()[1].startswith(real + "/")]
    if left:
        raise SystemExit(f"still mounted under {root}: {left}; not removing it")


def _build_vm_image(distro: str, dest: str) -> None:
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".build-{distro}-", dir=parent)
    root = os.path.join(work, "rootfs")
    try:
        log(f"debootstrap {VM_DISTROS[distro]} into {root} (about a minute)")
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(VM_BASE_PACKAGES)}",
                VM_DISTROS[distro],
                root,
                MIRROR,
            ],
            stdout=subprocess.DEVNULL,
        )
        _write(root, "etc/apt/apt.conf.d/90dockguard", APT_CONF)
        # No service may start inside the chroot: auditd would talk to THIS machine's kernel.
        _write(root, "usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755)
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "DEBIAN_FRONTEND": "noninteractive",
            "LC_ALL": "C.UTF-8",
            "HOME": "/root",
        }
        run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")])
        try:
            log(f"installing {len(VM_PACKAGES)} packages in the chroot (a few minutes)")
            run(["chroot", root, "apt-get", "update", "-qq"], env=env)
            run(
                ["chroot", root, "apt-get", "install", "-y", "-qq", *VM_PACKAGES],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            run(["chroot", root, "apt-get", "clean"], env=env)
            _write(root, "etc/initramfs-tools/conf.d/dockguard", VM_INITRAMFS_CONF)
            with open(os.path.join(root, "etc/initramfs-tools/modules"), "a") as fh:
                fh.write(VM_INITRAMFS_MODULES)
            run(["chroot", root, "update-initramfs", "-u", "-k", "all"], env=env, stdout=subprocess.DEVNULL)
        finally:
            _unmount_all(root)
        os.unlink(os.path.join(root, "usr/sbin/policy-rc.d"))
        _write(root, "etc/systemd/network/20-dockguard.network", VM_NETWORK)
        _write(root, "etc/fstab", VM_FSTAB)
        _write(root, "etc/hosts", VM_HOSTS)
        _write(root, "etc/hostname", "localhost\n")
        _write(root, "etc/ssh/sshd_config.d/dockguard.conf", VM_SSHD)
        _write(root, "usr/local/sbin/dockguard-vm-setup", VM_SETUP_SCRIPT, 0o755)
        _write(root, "etc/systemd/system/dockguard-vm-setup.service", VM_SETUP_UNIT)
        resolv = os.path.join(root, "etc/resolv.conf")
        if os.path.lexists(resolv):
            os.unlink(resolv)
        _write(root, "etc/resolv.conf", VM_RESOLV)
        _write(root, "etc/modprobe.d/dockguard-vm.conf", VM_MODPROBE)
        for key in os.listdir(os.path.join(root, "etc/ssh")):
            if key.startswith("ssh_host_"):
                os.unlink(os.path.join(root, "etc/ssh", key))
        # Every VM gets a machine id of its own at its first boot.
        _write(root, "etc/machine-id", "", 0o444)
        run(["chroot", root, "systemctl", "enable", "--quiet", *VM_ENABLED_UNITS], env=env)
        for unit in VM_MASKED_UNITS:
            link = os.path.join(root, "etc/systemd/system", unit)
            if not os.path.lexists(link):
                os.symlink("/dev/null", link)
        boot = os.path.join(root, "boot")
        kernels = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))
        if len(kernels) != 1:
            raise SystemExit(f"expected one kernel in {boot}, found {kernels}")
        version = kernels[0].removeprefix("vmlinuz-")
        shutil.copy(os.path.join(boot, kernels[0]), os.path.join(work, "vmlinuz"))
        shutil.copy(os.path.join(boot, f"initrd.img-{version}"), os.path.join(work, "initrd.img"))
        disk = os.path.join(work, "disk.img")
        run(["truncate", "-s", VM_DISK_SIZE, disk])
        log(f"mkfs.ext4 -d {root}")
        run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", root, disk])
        _unmount_all(root)
        shutil.rmtree(root)
        _warm_up(work)
        with open(os.path.join(work, "done"), "w") as fh:
            fh.write(f"{distro} {version}\n")
        if os.path.isdir(dest):
            shutil.rmtree(dest)
        os.rename(work, dest)
    except BaseException:
        _unmount_all(root)
        shutil.rmtree(work, ignore_errors=True)
        raise


def _warm_up(image_dir: str, timeout: float = 1200.0) -> None:
    """Boot the new image once, let the first boot's work happen, clean up, power off, keep the result."""
    state_dir = os.path.join(image_dir, "warmup")
    os.makedirs(state_dir, mode=0o700)
    key = os.path.join(state_dir, "id_ed25519")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
    with open(key + ".pub") as fh:
        public_key = fh.read()
    overlay = os.path.join(state_dir, "overlay.qcow2")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(image_dir, "disk.img"), "-F", "raw", overlay])
    port = free_port()
    argv = qemu_argv(
        name="dockguard-warmup",
        image_dir=image_dir,
        state_dir=state_dir,
        port=port,
        memory=VM_DEFAULT_MEMORY,
        cmdline=kernel_cmdline("localhost", "apparmor", public_key),
    )
    state: dict[str, object] = {"name": "warm-up boot", "port": port, "identity_file": key}
    started = time.monotonic()
    log(f"warm-up boot of the new image (console: {state_dir}/console.log)")
    run(argv, stdout=subprocess.DEVNULL)
    try:
        wait_for_vm(state, state_dir, started, timeout)
        # ssh joins its words into one line for the remote shell: the script is one quoted word
        run(ssh_argv(state, ["sh", "-c", shlex.quote(VM_WARMUP_CLEANUP)]))
        deadline = time.monotonic() + 300
        while _qemu_pid(state_dir) is not None:
            if time.monotonic() > deadline:
                raise _vm_fail(state_dir, "the warm-up boot did not power off within 300s")
            time.sleep(1)
    finally:
        _stop_qemu(state_dir)
    run(["qemu-img", "commit", "-q", overlay])
    log(f"warm-up boot done in {time.monotonic() - started:.0f}s")
    shutil.rmtree(state_dir)


def _prune_vm_images(distro: str, keep: str) -> None:
    """Drop this distro's disk images of older recipes that no VM host's overlay still uses."""
    parent = os.path.dirname(keep)
    used = {state.get("image_dir") for state in _all_vm_states()}
    for entry in os.listdir(parent):
        path = os.path.join(parent, entry)
        if entry.startswith(f"{distro}-") and path != keep and path not in used and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


def vm_hosts_dir() -> str:
    return os.path.join(cache_dir(), "vm-hosts")


def vm_state_dir(name: str) -> str:
    return os.path.join(vm_hosts_dir(), name)


def _all_vm_states() -> list[dict[str, object]]:
    states = []
    if os.path.isdir(vm_hosts_dir()):
        for name in os.listdir(vm_hosts_dir()):
            state = read_vm_state(name)
            if state:
                states.append(state)
    return states


def read_vm_state(name: str) -> dict[str, object] | None:
    try:
        with open(os.path.join(vm_state_dir(name), "host.json")) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def kernel_cmdline(name: str, lsm: str, public_key: str) -> str:
    """The VM's kernel command line: root disk, serial console, hostname, LSM, and the login key (base64)."""
    if lsm not in LSM_ARGS:
        raise SystemExit(f"unknown --lsm {lsm!r}; choose one of {', '.join(LSM_ARGS)}")
    key = base64.b64encode(public_key.strip().encode()).decode()
    return " ".join(
        [
            "root=/dev/vda",
            "rw",
            "console=ttyS0",
            f"systemd.hostname={name}",
            *LSM_ARGS[lsm],
            f"{VM_KEY_ARG}={key}",
        ]
    )


def qemu_argv(
    *,
    name: str,
    image_dir: str,
    state_dir: str,
    port: int,
    memory: int,
    cmdline: str,
) -> list[str]:
    """QEMU's command line: TCG (KVM hangs here), detached with a pidfile, serial console to a file."""
    for path in (image_dir, state_dir):
        if "," in path:
            raise SystemExit(f"{path!r}: QEMU options cannot take a path with a comma")
    return [
        "qemu-system-x86_64",
        "-name",
        name,
        "-accel",
        f"tcg,tb-size={VM_TB_SIZE}",
        "-smp",
        str(VM_SMP),
        "-m",
        str(memory),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        f"file:{os.path.join(state_dir, 'console.log')}",
        "-kernel",
        os.path.join(image_dir, "vmlinuz"),
        "-initrd",
        os.path.join(image_dir, "initrd.img"),
        "-append",
        cmdline,
        # a throwaway overlay: no flushes to wait for
        "-drive",
        f"file={os.path.join(state_dir, 'overlay.qcow2')},format=qcow2,if=virtio,cache=unsafe",
        "-netdev",
        f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device",
        "virtio-net-pci,netdev=n0",
        "-device",
        "virtio-rng-pci",
        "-daemonize",
        "-pidfile",
        os.path.join(state_dir, "qemu.pid"),
    ]


def ssh_argv(state: dict[str, object], command: list[str], connect_timeout: int = 10) -> list[str]:
    return [
        "ssh",
        *SSH_OPTIONS,
        "-o",
        f"ConnectTimeout={connect_timeout}",
        "-i",
        str(state["identity_file"]),
        "-p",
        str(state["port"]),
        f"{VM_SSH_USER}@127.0.0.1",
        "--",
        *command,
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _qemu_pid(state_dir: str) -> int | None:
    """QEMU's pid from its pidfile, only while that process is still this host's QEMU."""
    try:
        with open(os.path.join(state_dir, "qemu.pid")) as fh:
            pid = int(fh.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except (OSError, ValueError):
        return None
    overlay = os.path.join(state_dir, "overlay.qcow2").encode()
    return pid if any(overlay in arg for arg in argv) else None


ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[A-Z])")


def console_tail(state_dir: str, lines: int = 40) -> str:
    """The end of the serial console, without colours and systemd's progress spinner."""
    try:
        with open(os.path.join(state_dir, "console.log"), errors="replace") as fh:
            text = ANSI_ESCAPE.sub("", fh.read()[-200_000:])
    except OSError:
        return "(no console log)"
    kept = [
        line.strip()
        for chunk in text.split("\n")
        for line in chunk.split("\r")[-1:]
        if line.strip() and not ("Job " in line and " running (" in line)  # systemd's spinner
    ]
    return "\n".join(kept[-lines:])


def _vm_fail(state_dir: str, message: str) -> SystemExit:
    log_path = os.path.join(state_dir, "console.log")
    return SystemExit(f"--- last lines of {log_path} ---\n{console_tail(state_dir)}\n---\n{message}")


def create_vm(name: str, distro: str, lsm: str, memory: int, boot_timeout: float) -> None:
    if not VM_NAME_RE.match(name):
        raise SystemExit(f"VM name {name!r}: lowercase letters, digits, '.' and '-' only (a hostname)")
    if memory < 512:
        raise SystemExit(f"--memory {memory}: a VM test host needs at least 512 MiB")
    ensure_programs(QEMU_PROGRAMS)
    image_dir = ensure_vm_image(distro)
    destroy(name)
    state_dir = vm_state_dir(name)
    os.makedirs(state_dir, mode=0o700)
    key = os.path.join(state_dir, "id_ed25519")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"dockguard-{name}", "-f", key])
    with open(key + ".pub") as fh:
        public_key = fh.read()
    overlay = os.path.join(state_dir, "overlay.qcow2")
    run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(image_dir, "disk.img"), "-F", "raw", overlay],
    )
    cmdline = kernel_cmdline(name, lsm, public_key)
    started = time.monotonic()
    # The port is free when chosen; holding a lock until QEMU listens on it keeps
    # parallel creates from picking the same one (QEMU -daemonize returns once set up).
    with locked_file(os.path.join(vm_hosts_dir(), ".port.lock")):
        for _attempt in range(5):
            port = free_port()
            argv = qemu_argv(
                name=name, image_dir=image_dir, state_dir=state_dir, port=port, memory=memory, cmdline=cmdline
            )
            proc = run(argv, check=False, capture_output=True)
            if proc.returncode == 0:
                break
            if "host forwarding" not in proc.stderr:
                raise SystemExit(f"QEMU did not start for {name}: {proc.stderr.strip()}")
        else:
            raise SystemExit(f"QEMU found no free 127.0.0.1 port for {name}")
    state: dict[str, object] = {
        "name": name,
        "distro": distro,
        "lsm": lsm,
        "memory": memory,
        "address": "127.0.0.1",
        "port": port,
        "user": VM_SSH_USER,
        "identity_file": key,
        "overlay": overlay,
        "image_dir": image_dir,
        "console_log": os.path.join(state_dir, "console.log"),
        "pidfile": os.path.join(state_dir, "qemu.pid"),
    }
    with open(os.path.join(state_dir, "host.json"), "w") as fh:
        json.dump(state, fh, indent=2)
    log(f"{name}: QEMU started, SSH on 127.0.0.1:{port}; waiting for it (console: {state['console_log']})")
    wait_for_vm(state, state_dir, started, boot_timeout)
    log(f"{name} is up ({distro}, {lsm}, {memory} MiB) after {time.monotonic() - started:.0f}s")


def wait_for_vm(state: dict[str, object], state_dir: str, started: float, timeout: float) -> None:
    """SSH answers, then systemd finished booting: both within timeout, or a clear error with the console."""
    deadline = started + timeout
    while True:
        if _qemu_pid(state_dir) is None:
            raise _vm_fail(state_dir, f"QEMU of {state['name']} exited while booting")
        if quiet(ssh_argv(state, ["true"])):
            break
        if time.monotonic() > deadline:
            raise _vm_fail(state_dir, f"{state['name']}: no SSH on port {state['port']} within {timeout:.0f}s")
        time.sleep(2)
    log(f"{state['name']}: SSH answers after {time.monotonic() - started:.0f}s")
    left = max(10, int(deadline - time.monotonic()))
    proc = run(
        ssh_argv(state, ["timeout", str(left), "systemctl", "is-system-running", "--wait"]),
        check=False,
        capture_output=True,
    )
    status = proc.stdout.strip()
    if status == "degraded":
        failed = run(ssh_argv(state, ["systemctl", "--failed", "--no-legend"]), check=False, capture_output=True)
        log(f"{state['name']}: systemd is degraded; failed units:\n{failed.stdout}")
    elif status != "running":
        raise _vm_fail(
            state_dir, f"{state['name']}: systemd did not finish booting within {timeout:.0f}s (state {status!r})"
        )


def destroy_vm(name: str) -> None:
    state_dir = vm_state_dir(name)
    if not os.path.isdir(state_dir):
        return
    _stop_qemu(state_dir)
    shutil.rmtree(state_dir)


def _stop_qemu(state_dir: str) -> None:
    pid = _qemu_pid(state_dir)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _tick in range(100):
            if _qemu_pid(state_dir) is None:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def vm_info(name: str) -> dict[str, object]:
    state = read_vm_state(name)
    if state is None:
        raise SystemExit(f"no VM test host {name!r} (no {vm_state_dir(name)}/host.json)")
    state["running"] = _qemu_pid(vm_state_dir(name)) is not None
    return state


def ssh(name: str, command: list[str]) -> int:
    """Run command in a test host: over SSH in a VM, docker exec in a container."""
    state = read_vm_state(name)
    if state is not None:
        argv = ssh_argv(state, command)
        if sys.stdin.isatty() and not command:
            argv.insert(1, "-t")
    else:
        argv = ["docker", "exec", *(["-it"] if sys.stdin.isatty() else ["-i"]), name, *(command or ["bash"])]
    return subprocess.run(argv, check=False).returncode


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    kinds = sorted(DISTROS) + sorted(VM_DISTROS)
    sub.add_parser("engine")
    p_img = sub.add_parser("image")
    p_img.add_argument("distro", choices=kinds)
    p_create = sub.add_parser("create")
    p_create.add_argument("name")
    p_create.add_argument("distro", choices=kinds)
    p_create.add_argument("--network", help="container hosts: a Docker network to join")
    p_create.add_argument("--lsm", choices=sorted(LSM_ARGS), default="apparmor", help="VM hosts: the major LSM")
    p_create.add_argument("--memory", type=int, default=VM_DEFAULT_MEMORY, help="VM hosts: MiB of RAM")
    p_create.add_argument(
        "--boot-timeout", type=float, default=900.0, help="VM hosts: seconds until SSH and systemd are up"
    )
    p_destroy = sub.add_parser("destroy")
    p_destroy.add_argument("name", nargs="+")
    p_info = sub.add_parser("info")
    p_info.add_argument("name")
    p_ssh = sub.add_parser("ssh")
    p_ssh.add_argument("name")
    p_ssh.add_argument("command", nargs=argparse.REMAINDER, help="after --")
    p_load = sub.add_parser("load-image")
    p_load.add_argument("host")
    p_load.add_argument("image")
    args = parser.parse_args(argv)

    vm = getattr(args, "distro", "") in VM_DISTROS
    if args.cmd in ("engine", "load-image") or (args.cmd in ("image", "create") and not vm):
        ensure_engine()
    if args.cmd == "image":
        print(ensure_vm_image(args.distro) if vm else ensure_image(args.distro))
    elif args.cmd == "create" and vm:
        if args.network:
            raise SystemExit("--network is for container hosts; a VM has its own user-mode network")
        create_vm(args.name, args.distro, args.lsm, args.memory, args.boot_timeout)
    elif args.cmd == "create":
        create(args.name, args.distro, args.network)
    elif args.cmd == "destroy":
        for name in args.name:
            destroy(name)
    elif args.cmd == "info":
        print(json.dumps(vm_info(args.name), indent=2))
    elif args.cmd == "ssh":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return ssh(args.name, command)
    elif args.cmd == "load-image":
        load_image(args.host, args.image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
