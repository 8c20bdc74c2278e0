# SPDX-License-Identifier: GPL-3.0-or-later
"""Real Docker test hosts for dockguard.hardening.

A test host is a systemd container that runs its own dockerd, managed by
systemd exactly as on a server. This tool owns every step, with no hand work:

  engine              make sure a Docker engine answers here (install
                      docker.io and start dockerd when none does)
  image DISTRO        build and cache the base image for DISTRO
                      (debian12, debian13) with debootstrap + docker import
  create NAME DISTRO  start a test host (image built first when missing)
  destroy NAME        remove a test host and its /var/lib/docker volume
  load-image HOST IMG copy an image of this engine into HOST's engine

The container flags are chosen in one place, host_run_args(): by default
all capabilities minus CAP_SYS_RESOURCE (``--privileged`` fails on machines
whose bounding set lacks it); DOCKGUARD_PRIVILEGED=1 uses ``--privileged``
where that works. See docs/test-hosts.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
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
    path = os.path.join(tempfile.gettempdir(), f"dockguard-testhost-{name}.lock")
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
    run(["docker", "rm", "-f", "-v", name], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(["docker", "volume", "rm", "-f", f"{name}-lib"], check=False, stdout=subprocess.DEVNULL)


def load_image(host: str, image: str) -> None:
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    run(["docker", "exec", "-i", host, "docker", "load", "-q"], stdin=save.stdout)
    if save.wait() != 0:
        raise SystemExit(f"docker save {image} failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("engine")
    p_img = sub.add_parser("image")
    p_img.add_argument("distro", choices=sorted(DISTROS))
    p_create = sub.add_parser("create")
    p_create.add_argument("name")
    p_create.add_argument("distro", choices=sorted(DISTROS))
    p_create.add_argument("--network")
    p_destroy = sub.add_parser("destroy")
    p_destroy.add_argument("name", nargs="+")
    p_load = sub.add_parser("load-image")
    p_load.add_argument("host")
    p_load.add_argument("image")
    args = parser.parse_args(argv)

    ensure_engine()
    if args.cmd == "image":
        print(ensure_image(args.distro))
    elif args.cmd == "create":
        create(args.name, args.distro, args.network)
    elif args.cmd == "destroy":
        for name in args.name:
            destroy(name)
    elif args.cmd == "load-image":
        load_image(args.host, args.image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
