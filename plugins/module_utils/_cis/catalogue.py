# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""The control catalogue: every CIS Docker Benchmark v1.6.0 control, once, as data.

Each control is one keyword record: its v1.6.0 id, a stable slug, profile
level (1 or 2), whether CIS scores it, the name of the check that judges it
(registered in _cis.checks, written in _cis.checks_<section>_*.py) with that
check's argument, the benchmark's title, and beside it the collection's
remediation (fix). Adding a control is one record here plus its check (and
its test cases). The audit module, the roles' defaults and the reports all use
these ids.

CIS v1.8.0 renumbered section 2: a new 2.7 (devicemapper storage driver not
used) shifts v1.6.0's 2.7-2.18 to 2.8-2.19, and 1.1.9 names docker.sock rather
than docker.socket. V1_8_0 maps v1.6.0 ids to v1.8.0 ids; the v1.8.0-only
control is EXTRA_V1_8_0.
"""

from __future__ import annotations

import typing as t

BENCHMARK = "CIS Docker Benchmark"
VERSION = "1.6.0"
ID_VERSIONS = ("1.6.0", "1.8.0")

SECTIONS = {
    "1": "Host Configuration",
    "2": "Docker daemon configuration",
    "3": "Docker daemon configuration files",
    "4": "Container Images and Build File",
    "5": "Container Runtime",
    "6": "Docker Security Operations",
    "7": "Docker Swarm Configuration",
}


class Remediation(t.NamedTuple):
    role: str | None
    variable: str | None
    value: t.Any
    text: str


class Control(t.NamedTuple):
    id: str
    slug: str
    level: int
    scored: bool
    check: str
    title: str
    arg: str = ""
    fix: Remediation | None = None  # None: the generic pointer to the benchmark (see remediation())

    @property
    def section(self) -> str:
        return self.id.split(".", 1)[0]


def _fix(text: str, role: str | None = None, variable: str | None = None, value: t.Any = None) -> Remediation:
    return Remediation(role, variable, value, text)


_DAEMON = "dockguard.hardening.daemon"
_TLS = "dockguard.hardening.tls"
_PERMS = _fix("Own the file root:root with the mode CIS asks for.", _DAEMON, "daemon_file_permissions_enabled", True)
_SOCKET = _fix(
    "Set SocketUser/SocketGroup/SocketMode on docker.socket.", _DAEMON, "daemon_socket_permissions_enabled", True
)
_HOST = "dockguard.hardening.host"
_AUDIT = _fix(
    "Audit the path: a rule in /etc/audit/rules.d loaded with augenrules (the host role's audit_rules module writes "
    "one for every 1.1.x path that exists).",
    _HOST,
    "host_audit_rules_enabled",
    True,
)
_TLS_FILES = _fix("Install the TLS material with the dockguard.hardening.tls role (CA and cert 0444, key 0400).", _TLS)

# The benchmark's controls in its order. A data table: kept one record per control, not reformatted.
# fmt: off
CONTROLS: tuple[Control, ...] = (
    # -- 1. Host Configuration
    Control(id="1.1.1", slug="data-root-partition", level=1, scored=True, check="partition",
            title="Ensure a separate partition for containers has been created",
            fix=_fix("Put the data-root (/var/lib/docker) on its own filesystem when provisioning the host.")),
    Control(id="1.1.2", slug="trusted-docker-users", level=1, scored=True, check="docker_group",
            title="Ensure only trusted users are allowed to control Docker daemon",
            fix=_fix("Keep only trusted administrators in the docker group (each member is root-equivalent): "
                     "the host role's docker_group module keeps it to an exact list.",
                     _HOST, "host_docker_group_members")),
    Control(id="1.1.3", slug="audit-dockerd", level=1, scored=True, check="audit_rule", arg="bin:dockerd",
            title="Ensure auditing is configured for the Docker daemon",
            fix=_AUDIT),
    Control(id="1.1.4", slug="audit-run-containerd", level=1, scored=True, check="audit_rule",
            arg="syscall:/run/containerd",
            title="Ensure auditing is configured for Docker files and directories -/run/containerd",
            fix=_AUDIT),
    Control(id="1.1.5", slug="audit-var-lib-docker", level=1, scored=True, check="audit_rule", arg="/var/lib/docker",
            title="Ensure auditing is configured for Docker files and directories - /var/lib/docker",
            fix=_AUDIT),
    Control(id="1.1.6", slug="audit-etc-docker", level=1, scored=True, check="audit_rule", arg="/etc/docker",
            title="Ensure auditing is configured for Docker files and directories - /etc/docker",
            fix=_AUDIT),
    Control(id="1.1.7", slug="audit-docker-service", level=2, scored=True, check="audit_rule",
            arg="unit:docker.service",
            title="Ensure auditing is configured for Docker files and directories - docker.service",
            fix=_AUDIT),
    Control(id="1.1.8", slug="audit-containerd-sock", level=2, scored=True, check="audit_rule",
            arg="/run/containerd/containerd.sock",
            title="Ensure auditing is configured for Docker files and directories - containerd.sock",
            fix=_AUDIT),
    Control(id="1.1.9", slug="audit-docker-socket", level=2, scored=True, check="audit_rule", arg="unit:docker.socket",
            title="Ensure auditing is configured for Docker files and directories - docker.socket",
            fix=_AUDIT),
    Control(id="1.1.10", slug="audit-etc-default-docker", level=2, scored=True, check="audit_rule",
            arg="/etc/default/docker",
            title="Ensure auditing is configured for Docker files and directories - /etc/default/docker",
            fix=_AUDIT),
    Control(id="1.1.11", slug="audit-daemon-json", level=2, scored=True, check="audit_rule",
            arg="/etc/docker/daemon.json",
            title="Ensure auditing is configured for Dockerfiles and directories - /etc/docker/daemon.json",
            fix=_AUDIT),
    Control(id="1.1.12", slug="audit-containerd-config", level=2, scored=True, check="audit_rule",
            arg="/etc/containerd/config.toml",
            title="Ensure auditing is configured for Dockerfiles and directories - /etc/containerd/config.toml",
            fix=_AUDIT),
    Control(id="1.1.13", slug="audit-etc-sysconfig-docker", level=2, scored=True, check="audit_rule",
            arg="/etc/sysconfig/docker",
            title="Ensure auditing is configured for Docker files and directories - /etc/sysconfig/docker",
            fix=_AUDIT),
    Control(id="1.1.14", slug="audit-containerd-bin", level=2, scored=True, check="audit_rule", arg="bin:containerd",
            title="Ensure auditing is configured for Docker files and directories - /usr/bin/containerd",
            fix=_AUDIT),
    Control(id="1.1.15", slug="audit-containerd-shim", level=2, scored=True, check="audit_rule",
            arg="bin:containerd-shim",
            title="Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim",
            fix=_AUDIT),
    Control(id="1.1.16", slug="audit-containerd-shim-runc-v1", level=2, scored=True, check="audit_rule",
            arg="bin:containerd-shim-runc-v1",
            title="Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim-runc-v1",
            fix=_AUDIT),
    Control(id="1.1.17", slug="audit-containerd-shim-runc-v2", level=2, scored=True, check="audit_rule",
            arg="bin:containerd-shim-runc-v2",
            title="Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim-runc-v2",
            fix=_AUDIT),
    Control(id="1.1.18", slug="audit-runc", level=2, scored=True, check="audit_rule", arg="bin:runc",
            title="Ensure auditing is configured for Docker files and directories - /usr/bin/runc",
            fix=_AUDIT),
    Control(id="1.2.1", slug="host-hardened", level=1, scored=False, check="manual_host",
            title="Ensure the container host has been Hardened"),
    Control(id="1.2.2", slug="docker-up-to-date", level=1, scored=False, check="engine_version",
            title="Ensure that the version of Docker is up to date",
            fix=_fix("Upgrade the engine package to the version the host's apt sources offer "
                     "(apt-get update; apt-get install --only-upgrade docker.io).")),
    # -- 2. Docker daemon configuration
    Control(id="2.1", slug="daemon-non-root", level=1, scored=False, check="rootless",
            title="Run the Docker daemon as a non-root user, if possible",
            fix=_fix("Run rootless Docker per user where the workload allows.", "dockguard.hardening.rootless")),
    Control(id="2.2", slug="icc-disabled", level=1, scored=True, check="icc",
            title="Ensure network traffic is restricted between containers on the default bridge",
            fix=_fix("Set icc to false in daemon.json.", _DAEMON, "daemon_icc", False)),
    Control(id="2.3", slug="log-level-info", level=1, scored=True, check="log_level",
            title="Ensure the logging level is set to 'info'",
            fix=_fix("Set log-level to info (or leave it unset).", _DAEMON, "daemon_log_level", "info")),
    Control(id="2.4", slug="iptables-enabled", level=1, scored=True, check="iptables",
            title="Ensure Docker is allowed to make changes to iptables",
            fix=_fix("Do not set iptables to false.", _DAEMON, "daemon_iptables", True)),
    Control(id="2.5", slug="no-insecure-registries", level=1, scored=True, check="insecure_registries",
            title="Ensure insecure registries are not used",
            fix=_fix("Remove insecure-registries; use TLS for every registry.",
                     _DAEMON, "daemon_insecure_registries", [])),
    Control(id="2.6", slug="no-aufs", level=1, scored=True, check="no_aufs",
            title="Ensure aufs storage driver is not used",
            fix=_fix("Use overlay2 (storage-driver).")),
    Control(id="2.7", slug="tls-authentication", level=1, scored=True, check="tls",
            title="Ensure TLS authentication for Docker daemon is configured",
            fix=_fix("Expose the API over TCP only with tlsverify and client certificates (the tls role).", _TLS)),
    Control(id="2.8", slug="default-ulimits", level=1, scored=False, check="default_ulimits",
            title="Ensure the default ulimit is configured appropriately",
            fix=_fix("Set default-ulimits in daemon.json.", _DAEMON, "daemon_default_ulimits")),
    Control(id="2.9", slug="userns-enabled", level=2, scored=True, check="userns",
            title="Enable user namespace support",
            fix=_fix("Enable userns-remap (the userns_remap role).", "dockguard.hardening.userns_remap")),
    Control(id="2.10", slug="default-cgroup-parent", level=2, scored=True, check="cgroup_parent",
            title="Ensure the default cgroup usage has been confirmed",
            fix=_fix("Leave cgroup-parent at its default unless a slice is intended.")),
    Control(id="2.11", slug="base-device-size", level=2, scored=True, check="base_device_size",
            title="Ensure base device size is not changed until needed",
            fix=_fix("Leave storage-opts dm.basesize unset until needed.")),
    Control(id="2.12", slug="authorization-plugin", level=2, scored=True, check="authz_plugin",
            title="Ensure that authorization for Docker client commands is enabled",
            fix=_fix("Install the dockguard authorization plugin (the authz role sets authorization-plugins).",
                     "dockguard.hardening.authz")),
    Control(id="2.13", slug="remote-logging", level=2, scored=True, check="remote_logging",
            title="Ensure centralized and remote logging is configured",
            fix=_fix("Keep container logs in the journal (log-driver journald) and forward them over TLS with a "
                     "disk-assisted queue (rsyslog) to a collector (the log_collector role).",
                     "dockguard.hardening.logging", "logging_collector_host")),
    Control(id="2.14", slug="no-new-privileges", level=1, scored=True, check="no_new_privileges",
            title="Ensure containers are restricted from acquiring new privileges",
            fix=_fix("Set no-new-privileges to true in daemon.json.", _DAEMON, "daemon_no_new_privileges", True)),
    Control(id="2.15", slug="live-restore", level=1, scored=True, check="live_restore",
            title="Ensure live restore is enabled",
            fix=_fix("Set live-restore to true in daemon.json.", _DAEMON, "daemon_live_restore", True)),
    Control(id="2.16", slug="userland-proxy-disabled", level=1, scored=True, check="userland_proxy",
            title="Ensure Userland Proxy is Disabled",
            fix=_fix("Set userland-proxy to false in daemon.json.", _DAEMON, "daemon_userland_proxy", False)),
    Control(id="2.17", slug="daemon-seccomp-profile", level=2, scored=False, check="daemon_seccomp",
            title="Ensure that a daemon-wide custom seccomp profile is applied if appropriate",
            fix=_fix("Apply the collection's seccomp profile (closes Copy Fail, CVE-2026-31431), root-owned and "
                     "reported by the running daemon.", "dockguard.hardening.confinement",
                     "confinement_seccomp_enabled", True)),
    Control(id="2.18", slug="experimental-disabled", level=1, scored=True, check="experimental",
            title="Ensure that experimental features are not implemented in production",
            fix=_fix("Set experimental to false.", _DAEMON, "daemon_experimental", False)),
    # -- 3. Docker daemon configuration files
    Control(id="3.1", slug="docker-service-owner", level=1, scored=True, check="file_owner",
            arg="unit:docker.service root:root",
            title="Ensure that the docker.service file ownership is set to root:root",
            fix=_PERMS),
    Control(id="3.2", slug="docker-service-mode", level=1, scored=True, check="file_mode",
            arg="unit:docker.service 644",
            title="Ensure that docker.service file permissions are appropriately set",
            fix=_PERMS),
    Control(id="3.3", slug="docker-socket-unit-owner", level=1, scored=True, check="file_owner",
            arg="unit:docker.socket root:root",
            title="Ensure that docker.socket file ownership is set to root:root",
            fix=_PERMS),
    Control(id="3.4", slug="docker-socket-unit-mode", level=1, scored=True, check="file_mode",
            arg="unit:docker.socket 644",
            title="Ensure that docker.socket file permissions are set to 644 or more restrictive",
            fix=_PERMS),
    Control(id="3.5", slug="etc-docker-owner", level=1, scored=True, check="file_owner", arg="/etc/docker root:root",
            title="Ensure that the /etc/docker directory ownership is set to root:root",
            fix=_PERMS),
    Control(id="3.6", slug="etc-docker-mode", level=1, scored=True, check="file_mode", arg="/etc/docker 755",
            title="Ensure that /etc/docker directory permissions are set to 755 or more restrictively",
            fix=_PERMS),
    Control(id="3.7", slug="registry-certs-owner", level=1, scored=True, check="file_owner", arg="certs.d root:root",
            title="Ensure that registry certificate file ownership is set to root:root",
            fix=_fix("chown root:root and chmod 0444 the files under /etc/docker/certs.d.")),
    Control(id="3.8", slug="registry-certs-mode", level=1, scored=True, check="file_mode", arg="certs.d 444",
            title="Ensure that registry certificate file permissions are set to 444 or more restrictively",
            fix=_fix("chown root:root and chmod 0444 the files under /etc/docker/certs.d.")),
    Control(id="3.9", slug="tls-ca-owner", level=1, scored=True, check="file_owner", arg="tls:tlscacert root:root",
            title="Ensure that TLS CA certificate file ownership is set to root:root",
            fix=_TLS_FILES),
    Control(id="3.10", slug="tls-ca-mode", level=1, scored=True, check="file_mode", arg="tls:tlscacert 444",
            title="Ensure that TLS CA certificate file permissions are set to 444 or more restrictively",
            fix=_TLS_FILES),
    Control(id="3.11", slug="tls-cert-owner", level=1, scored=True, check="file_owner", arg="tls:tlscert root:root",
            title="Ensure that Docker server certificate file ownership is set to root:root",
            fix=_TLS_FILES),
    Control(id="3.12", slug="tls-cert-mode", level=1, scored=True, check="file_mode", arg="tls:tlscert 444",
            title="Ensure that the Docker server certificate file permissions are set to 444 or more restrictively",
            fix=_TLS_FILES),
    Control(id="3.13", slug="tls-key-owner", level=1, scored=True, check="file_owner", arg="tls:tlskey root:root",
            title="Ensure that the Docker server certificate key file ownership is set to root:root",
            fix=_TLS_FILES),
    Control(id="3.14", slug="tls-key-mode", level=1, scored=True, check="file_mode", arg="tls:tlskey 400",
            title="Ensure that the Docker server certificate key file permissions are set to 400",
            fix=_TLS_FILES),
    Control(id="3.15", slug="docker-sock-owner", level=1, scored=True, check="file_owner", arg="socket root:docker",
            title="Ensure that the Docker socket file ownership is set to root:docker",
            fix=_SOCKET),
    Control(id="3.16", slug="docker-sock-mode", level=1, scored=True, check="file_mode", arg="socket 660",
            title="Ensure that the Docker socket file permissions are set to 660 or more restrictively",
            fix=_SOCKET),
    Control(id="3.17", slug="daemon-json-owner", level=2, scored=True, check="file_owner", arg="daemon.json root:root",
            title="Ensure that the daemon.json file ownership is set to root:root",
            fix=_PERMS),
    Control(id="3.18", slug="daemon-json-mode", level=2, scored=True, check="file_mode", arg="daemon.json 644",
            title="Ensure that daemon.json file permissions are set to 644 or more restrictive",
            fix=_PERMS),
    Control(id="3.19", slug="etc-default-docker-owner", level=2, scored=True, check="file_owner",
            arg="/etc/default/docker root:root",
            title="Ensure that the /etc/default/docker file ownership is set to root:root",
            fix=_PERMS),
    Control(id="3.20", slug="etc-default-docker-mode", level=2, scored=True, check="file_mode",
            arg="/etc/default/docker 644",
            title="Ensure that the /etc/default/docker file permissions are set to 644 or more restrictively",
            fix=_PERMS),
    Control(id="3.21", slug="etc-sysconfig-docker-mode", level=2, scored=True, check="file_mode",
            arg="/etc/sysconfig/docker 644",
            title="Ensure that the /etc/sysconfig/docker file permissions are set to 644 or more restrictively",
            fix=_PERMS),
    Control(id="3.22", slug="etc-sysconfig-docker-owner", level=2, scored=True, check="file_owner",
            arg="/etc/sysconfig/docker root:root",
            title="Ensure that the /etc/sysconfig/docker file ownership is set to root:root",
            fix=_PERMS),
    Control(id="3.23", slug="containerd-sock-owner", level=1, scored=True, check="file_owner",
            arg="containerd.sock root:root",
            title="Ensure that the Containerd socket file ownership is set to root:root",
            fix=_fix("containerd's socket should be root:root 0660.")),
    Control(id="3.24", slug="containerd-sock-mode", level=1, scored=True, check="file_mode", arg="containerd.sock 660",
            title="Ensure that the Containerd socket file permissions are set to 660 or more restrictively",
            fix=_fix("containerd's socket should be root:root 0660.")),
    # -- 4. Container Images and Build File
    Control(id="4.1", slug="container-user", level=1, scored=True, check="container_user",
            title="Ensure that a user for the container has been created",
            fix=_fix("Build images with a USER other than root, or run with --user.")),
    Control(id="4.2", slug="trusted-base-images", level=1, scored=False, check="manual_images",
            title="Ensure that containers use only trusted base images"),
    Control(id="4.3", slug="minimal-packages", level=1, scored=False, check="manual_images",
            title="Ensure that unnecessary packages are not installed in the container"),
    Control(id="4.4", slug="images-scanned", level=1, scored=False, check="manual_images",
            title="Ensure images are scanned and rebuilt to include security patches"),
    Control(id="4.5", slug="content-trust", level=2, scored=True, check="content_trust",
            title="Ensure Content trust for Docker is Enabled",
            fix=_fix("Run the content_trust role: DOCKER_CONTENT_TRUST=1 for login shells, PAM (/etc/environment), "
                     "sudo and systemd services, with DOCKER_CONTENT_TRUST_SERVER for a private Notary.",
                     "dockguard.hardening.content_trust", "content_trust_login_shells", True)),
    Control(id="4.6", slug="image-healthcheck", level=1, scored=True, check="image_healthcheck",
            title="Ensure that HEALTHCHECK instructions have been added to container images",
            fix=_fix("Add a HEALTHCHECK instruction to the image.")),
    Control(id="4.7", slug="no-update-alone", level=1, scored=False, check="manual_images",
            title="Ensure update instructions are not used alone in the Dockerfile"),
    Control(id="4.8", slug="no-setuid-setgid", level=2, scored=False, check="manual_images",
            title="Ensure setuid and setgid permissions are removed"),
    Control(id="4.9", slug="copy-not-add", level=1, scored=False, check="manual_images",
            title="Ensure that COPY is used instead of ADD in Dockerfiles"),
    Control(id="4.10", slug="no-secrets-in-dockerfiles", level=1, scored=False, check="manual_images",
            title="Ensure secrets are not stored in Dockerfiles"),
    Control(id="4.11", slug="verified-packages", level=2, scored=False, check="manual_images",
            title="Ensure only verified packages are installed"),
    Control(id="4.12", slug="signed-artifacts-validated", level=1, scored=False, check="manual_images",
            title="Ensure all signed artifacts are validated"),
    # -- 5. Container Runtime
    Control(id="5.1", slug="swarm-disabled", level=1, scored=True, check="swarm_disabled",
            title="Ensure swarm mode is not Enabled, if not needed",
            fix=_fix("docker swarm leave --force where swarm is not needed.")),
    Control(id="5.2", slug="apparmor-profile", level=1, scored=True, check="apparmor",
            title="Ensure that, if applicable, an AppArmor Profile is enabled",
            fix=_fix("Load a hardened docker-default AppArmor profile before dockerd starts, so every container "
                     "runs under it (role lsm); never run containers with apparmor=unconfined.",
                     "dockguard.hardening.lsm", "lsm_apparmor_enabled", True)),
    Control(id="5.3", slug="selinux-options", level=2, scored=True, check="selinux",
            title="Ensure that, if applicable, SELinux security options are set",
            fix=_fix("On a host running SELinux, set selinux-enabled in daemon.json (role lsm) so containers "
                     "get labels; never run them with label=disable.",
                     "dockguard.hardening.lsm", "lsm_selinux_enabled", True)),
    Control(id="5.4", slug="capabilities-restricted", level=1, scored=True, check="capabilities",
            title="Ensure that Linux kernel capabilities are restricted within containers",
            fix=_fix("Drop all capabilities and add back only those needed (--cap-drop ALL --cap-add ...).")),
    Control(id="5.5", slug="no-privileged", level=1, scored=True, check="privileged",
            title="Ensure that privileged containers are not used",
            fix=_fix("Do not run containers with --privileged.")),
    Control(id="5.6", slug="no-sensitive-mounts", level=1, scored=True, check="sensitive_mounts",
            title="Ensure sensitive host system directories are not mounted on containers",
            fix=_fix("Do not bind-mount /, /boot, /dev, /etc, /lib, /proc, /sys or /usr.")),
    Control(id="5.7", slug="no-sshd", level=1, scored=True, check="sshd",
            title="Ensure sshd is not run within containers",
            fix=_fix("Use docker exec, not an sshd in the container.")),
    Control(id="5.8", slug="no-privileged-ports", level=1, scored=True, check="privileged_ports",
            title="Ensure privileged ports are not mapped within containers",
            fix=_fix("Publish ports above 1023 on the host.")),
    Control(id="5.9", slug="needed-ports-only", level=1, scored=True, check="published_ports",
            title="Ensure that only needed ports are open on the container"),
    Control(id="5.10", slug="no-host-network", level=1, scored=True, check="host_network",
            title="Ensure that the host's network namespace is not shared",
            fix=_fix("Do not use --network host.")),
    Control(id="5.11", slug="memory-limit", level=1, scored=True, check="memory_limit",
            title="Ensure that the memory usage for containers is limited",
            fix=_fix("Set --memory.")),
    Control(id="5.12", slug="cpu-shares", level=1, scored=True, check="cpu_shares",
            title="Ensure that CPU priority is set appropriately on containers",
            fix=_fix("Set --cpu-shares.")),
    Control(id="5.13", slug="read-only-rootfs", level=1, scored=True, check="read_only_rootfs",
            title="Ensure that the container's root filesystem is mounted as read only",
            fix=_fix("Run with --read-only and tmpfs/volumes for writable paths.")),
    Control(id="5.14", slug="ports-bound-to-interface", level=1, scored=True, check="port_binding_ip",
            title="Ensure that incoming container traffic is bound to a specific host interface",
            fix=_fix("Publish ports on a specific address (-p ADDR:PORT:PORT).")),
    Control(id="5.15", slug="restart-policy", level=1, scored=True, check="restart_policy",
            title="Ensure that the 'on-failure' container restart policy is set to '5'",
            fix=_fix("Use --restart on-failure:5.")),
    Control(id="5.16", slug="no-host-pid", level=1, scored=True, check="host_pid",
            title="Ensure that the host's process namespace is not shared",
            fix=_fix("Do not use --pid host.")),
    Control(id="5.17", slug="no-host-ipc", level=1, scored=True, check="host_ipc",
            title="Ensure that the host's IPC namespace is not shared",
            fix=_fix("Do not use --ipc host; default-ipc-mode private keeps new containers in their own.",
                     "dockguard.hardening.confinement", "confinement_ipc_mode", "private")),
    Control(id="5.18", slug="no-host-devices", level=1, scored=False, check="host_devices",
            title="Ensure that host devices are not directly exposed to containers",
            fix=_fix("Do not pass host devices (--device) unless required.")),
    Control(id="5.19", slug="ulimit-overrides", level=1, scored=False, check="ulimit_overrides",
            title="Ensure that the default ulimit is overwritten at runtime if needed"),
    Control(id="5.20", slug="no-shared-propagation", level=1, scored=True, check="mount_propagation",
            title="Ensure mount propagation mode is not set to shared",
            fix=_fix("Do not mount volumes with shared propagation.")),
    Control(id="5.21", slug="no-host-uts", level=1, scored=True, check="host_uts",
            title="Ensure that the host's UTS namespace is not shared",
            fix=_fix("Do not use --uts host.")),
    Control(id="5.22", slug="seccomp-not-disabled", level=1, scored=True, check="seccomp_unconfined",
            title="Ensure the default seccomp profile is not Disabled",
            fix=_fix("Do not run with --security-opt seccomp=unconfined.")),
    Control(id="5.23", slug="no-privileged-exec", level=2, scored=False, check="exec_privileged",
            title="Ensure that docker exec commands are not used with the privileged option"),
    Control(id="5.24", slug="no-root-exec", level=2, scored=False, check="exec_root",
            title="Ensure that docker exec commands are not used with the user=root option"),
    Control(id="5.25", slug="cgroup-confirmed", level=1, scored=True, check="container_cgroup",
            title="Ensure that cgroup usage is confirmed",
            fix=_fix("Leave --cgroup-parent at its default unless intended.")),
    Control(id="5.26", slug="container-no-new-privileges", level=1, scored=True, check="container_nnp",
            title="Ensure that the container is restricted from acquiring additional privileges",
            fix=_fix("Set no-new-privileges daemon-wide or per container.", _DAEMON, "daemon_no_new_privileges", True)),
    Control(id="5.27", slug="runtime-health", level=1, scored=True, check="runtime_health",
            title="Ensure that container health is checked at runtime",
            fix=_fix("Give the image or container a health check (--health-cmd).")),
    Control(id="5.28", slug="latest-image", level=1, scored=False, check="manual_containers",
            title="Ensure that Docker commands always make use of the latest version of their image"),
    Control(id="5.29", slug="pids-limit", level=1, scored=True, check="pids_limit",
            title="Ensure that the PIDs cgroup limit is used",
            fix=_fix("Set --pids-limit per container: Engine 20.10 and 26.1 have no daemon-wide default.")),
    Control(id="5.30", slug="no-default-bridge", level=2, scored=False, check="default_bridge",
            title="Ensure that Docker's default bridge 'docker0' is not used",
            fix=_fix("Attach containers to user-defined networks, not the default bridge.")),
    Control(id="5.31", slug="no-host-userns", level=1, scored=True, check="host_userns",
            title="Ensure that the host's user namespaces are not shared",
            fix=_fix("Do not use --userns host.")),
    Control(id="5.32", slug="no-docker-sock-mount", level=1, scored=True, check="docker_sock_mount",
            title="Ensure that the Docker socket is not mounted inside any containers",
            fix=_fix("Do not mount the Docker socket into containers.")),
    # -- 6. Docker Security Operations
    Control(id="6.1", slug="image-sprawl", level=1, scored=False, check="image_sprawl",
            title="Ensure that image sprawl is avoided"),
    Control(id="6.2", slug="container-sprawl", level=1, scored=False, check="container_sprawl",
            title="Ensure that container sprawl is avoided"),
    # -- 7. Docker Swarm Configuration
    Control(id="7.1", slug="swarm-managers", level=1, scored=True, check="swarm_managers",
            title="Ensure that the minimum number of manager nodes have been created in a swarm"),
    Control(id="7.2", slug="swarm-service-binding", level=1, scored=True, check="swarm_manual",
            title="Ensure that swarm services are bound to a specific host interface"),
    Control(id="7.3", slug="swarm-overlay-encrypted", level=1, scored=True, check="swarm_overlay_encrypted",
            title="Ensure that all Docker swarm overlay networks are encrypted",
            fix=_fix("Create overlay networks with --opt encrypted.")),
    Control(id="7.4", slug="swarm-secrets", level=1, scored=False, check="swarm_manual",
            title="Ensure that Docker's secret management commands are used for managing secrets in a swarm cluster"),
    Control(id="7.5", slug="swarm-autolock", level=1, scored=True, check="swarm_autolock",
            title="Ensure that swarm manager is run in auto-lock mode",
            fix=_fix("docker swarm update --autolock=true.")),
    Control(id="7.6", slug="swarm-autolock-rotation", level=1, scored=False, check="swarm_manual",
            title="Ensure that the swarm manager auto-lock key is rotated periodically"),
    Control(id="7.7", slug="swarm-node-cert-rotation", level=1, scored=False, check="swarm_cert_expiry",
            title="Ensure that node certificates are rotated as appropriate"),
    Control(id="7.8", slug="swarm-ca-rotation", level=1, scored=False, check="swarm_manual",
            title="Ensure that CA certificates are rotated as appropriate"),
    Control(id="7.9", slug="swarm-plane-separation", level=1, scored=False, check="swarm_manual",
            title="Ensure that management plane traffic is separated from data plane traffic"),
)
# fmt: on

# v1.8.0 added 2.7 "Ensure that the devicemapper storage driver is not used".
EXTRA_V1_8_0 = Control(
    id="2.7@1.8.0",
    slug="no-devicemapper",
    level=1,
    scored=True,
    check="no_devicemapper",
    title="Ensure that the devicemapper storage driver is not used",
    fix=_fix("Use overlay2 (storage-driver); devicemapper is deprecated."),
)

BY_ID: dict[str, Control] = {c.id: c for c in CONTROLS}
BY_SLUG: dict[str, Control] = {c.slug: c for c in CONTROLS}


def _v180(cis_id: str) -> str:
    major, _dot, minor = cis_id.partition(".")
    if major == "2" and minor.isdigit() and 7 <= int(minor) <= 18:
        return f"2.{int(minor) + 1}"
    return cis_id


V1_8_0: dict[str, str] = {c.id: _v180(c.id) for c in CONTROLS}
V1_8_0[EXTRA_V1_8_0.id] = "2.7"
TITLE_CHANGES_V1_8_0 = {"1.1.9": "Ensure auditing is configured for Docker files and directories - docker.sock"}

REMEDIATION: dict[str, Remediation] = {c.id: c.fix for c in (*CONTROLS, EXTRA_V1_8_0) if c.fix is not None}


def remediation(cis_id: str) -> Remediation:
    """What fixes a control; a generic pointer to the benchmark when no role does."""
    return REMEDIATION.get(cis_id) or _fix(f"See CIS Docker Benchmark v{VERSION} control {cis_id}.")
