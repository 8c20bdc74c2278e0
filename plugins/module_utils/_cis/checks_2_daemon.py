# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""CIS section 2, the daemon's configuration: daemon.json, dockerd's flags and what docker info reports.

Docstrings follow the format stated in _cis.checks.
"""

from __future__ import annotations

import datetime

from ansible_collections.dockguard.hardening.plugins.module_utils import _logging, _tls
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.common import tcp_hosts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.facts import FactError, Facts
from ansible_collections.dockguard.hardening.plugins.module_utils._cis.verdict import Verdict, describe, section, yesno

CHECKS, check = section()


@check("rootless")
def _rootless(f: Facts, arg: str) -> Verdict:
    """Pass for a rootless daemon; manual for a rootful one (whether workloads allow rootless is a person's call)."""
    if f.target.rootless or "rootless" in f.security_options():
        return Verdict("pass", [f"rootless daemon of {f.target.user or 'a user'}"])
    return Verdict("manual", ["dockerd runs as root; rootless Docker removes that where workloads allow"])


@check("icc")
def _icc(f: Facts, arg: str) -> Verdict:
    """Pass when the default bridge runs with `enable_icc=false` (read live from /networks; daemon.json's `icc`
    or the `--icc` flag when there is no default bridge).
    """
    value, source = f.setting("icc")
    ev = [f"icc {describe(value, source)}"]
    live = next((n for n in f.networks() if n.get("Name") == "bridge"), None)
    live_icc = None
    if live is not None:
        live_icc = (live.get("Options") or {}).get("com.docker.network.bridge.enable_icc", "true")
        ev.append(f"default bridge enable_icc={live_icc}")
    configured_off = value is False or str(value).lower() == "false"
    if live_icc is not None:
        return yesno(live_icc == "false", ev)
    return yesno(configured_off, ev)


@check("log_level")
def _log_level(f: Facts, arg: str) -> Verdict:
    """Pass when `log-level` is unset or `info`, and `debug` is not on (daemon.json or dockerd flags)."""
    value, source = f.setting("log-level")
    debug, dsource = f.setting("debug")
    ev = [f"log-level {describe(value, source)}"]
    if debug:
        ev.append(f"debug {describe(debug, dsource)}")
    return yesno(value in (None, "info") and not debug, ev)


@check("iptables")
def _iptables(f: Facts, arg: str) -> Verdict:
    """Pass unless `iptables` is set to false (daemon.json or dockerd flag).

    Not applicable: a rootless daemon (its networking lives in the user's namespace).
    """
    if f.target.rootless:
        return Verdict("not_applicable", ["rootless daemon: networking is in the user's namespace (slirp4netns)"])
    value, source = f.setting("iptables")
    return yesno(value is not False, [f"iptables {describe(value, source)}"])


@check("insecure_registries")
def _insecure(f: Facts, arg: str) -> Verdict:
    """Pass when docker info lists no insecure registry (CIDR or name) other than loopback."""
    reg = f.info().get("RegistryConfig") or {}
    cidrs = [c for c in reg.get("InsecureRegistryCIDRs") or [] if not str(c).startswith(("127.", "::1"))]
    names = [n for n, c in (reg.get("IndexConfigs") or {}).items() if not (c or {}).get("Secure", True)]
    bad = cidrs + names
    return yesno(
        not bad, [f"insecure registries: {', '.join(bad)}" if bad else "no insecure registry (loopback aside)"]
    )


@check("no_aufs")
def _no_aufs(f: Facts, arg: str) -> Verdict:
    """Pass unless docker info's storage driver is `aufs`."""
    driver = f.info().get("Driver")
    return yesno(driver != "aufs", [f"storage driver {driver}"])


@check("no_devicemapper")
def _no_devicemapper(f: Facts, arg: str) -> Verdict:
    """Pass unless docker info's storage driver is `devicemapper`."""
    driver = f.info().get("Driver")
    return yesno(driver != "devicemapper", [f"storage driver {driver}"])


@check("tls")
def _tls_authentication(f: Facts, arg: str) -> Verdict:
    """Pass when the daemon listens on no TCP address, or does with `tlsverify` and `tlscacert`, `tlscert`
    and `tlskey` all set. The evidence adds the server certificate's validity (expiry, days left) and chain
    (its issuer, and whether the configured CA signed it).
    """
    tcp = tcp_hosts(f.hosts())
    if not tcp:
        return Verdict("pass", [f"no TCP listener (hosts: {', '.join(f.hosts()) or 'default unix socket'})"])
    verify = f.setting("tlsverify")[0]
    files = {k: f.setting(k)[0] for k in ("tlscacert", "tlscert", "tlskey")}
    ev = [f"TCP listeners: {', '.join(tcp)}", f"tlsverify={verify!r}"] + [f"{k}={v}" for k, v in files.items()]
    if files["tlscert"]:
        ev += _certificate_evidence(f, str(files["tlscert"]), str(files["tlscacert"] or ""))
    return yesno(bool(verify) and all(files.values()), ev)


def _certificate_evidence(f: Facts, cert_path: str, ca_path: str) -> list[str]:
    """The server certificate's validity and chain, as evidence (it never changes the verdict)."""
    if _tls.CRYPTOGRAPHY_IMPORT_ERROR is not None:
        return [f"server certificate {cert_path} not examined: python3-cryptography is not installed on the host"]
    try:
        cert = _tls.load_certificates(f.pem(cert_path), cert_path)[0]
        cas = _tls.load_certificates(f.pem(ca_path), ca_path) if ca_path else []
    except (FactError, _tls.TLSMaterialError) as exc:
        return [f"server certificate not examined: {exc}"]
    now = datetime.datetime.now(_tls.UTC)
    label = f"server certificate {cert_path}"
    validity = _tls.validity_finding(cert_path, label, cert, now, 0)
    findings = _tls.check_leaf(
        cert_path, cert, cas, key_path=None, private_key=None, names=(), purpose="server", now=now, min_days=0
    )
    chain = next(x for x in findings if x.check == "chains_to_ca")
    issuer = cert.issuer.rfc4514_string()
    where = f"the configured CA {ca_path}" if ca_path else "no configured CA (tlscacert)"
    return [
        validity.detail,
        f"issued by {issuer}: " + (f"verified by {where}" if chain.ok else f"not verified by {where}: {chain.detail}"),
    ]


@check("default_ulimits")
def _ulimits(f: Facts, arg: str) -> Verdict:
    """Pass when `default-ulimits` is set; manual when not (containers inherit dockerd's own limits)."""
    value, source = f.setting("default-ulimits")
    if value:
        return Verdict("pass", [f"default-ulimits {describe(value, source)}"])
    return Verdict("manual", ["default-ulimits not set: containers inherit dockerd's limits"])


@check("userns")
def _userns(f: Facts, arg: str) -> Verdict:
    """Pass when docker info's security options include `userns` (userns-remap), or the daemon is rootless."""
    sec = f.security_options()
    if "rootless" in sec or f.target.rootless:
        return Verdict("pass", ["rootless daemon: container root is the unprivileged user"])
    value, source = f.setting("userns-remap")
    ev = [f"userns-remap {describe(value, source)}", "docker info security options: " + ", ".join(sorted(sec))]
    return yesno("userns" in sec, ev)


@check("cgroup_parent")
def _cgroup_parent(f: Facts, arg: str) -> Verdict:
    """Pass when `cgroup-parent` is unset; manual when set (a person confirms the cgroup is intended)."""
    value, source = f.setting("cgroup-parent")
    if value is None:
        return Verdict("pass", ["cgroup-parent not set (default)"])
    return Verdict("manual", [f"cgroup-parent {describe(value, source)}: confirm it is intended"])


@check("base_device_size")
def _base_device(f: Facts, arg: str) -> Verdict:
    """Pass when no `dm.basesize` storage option is set; manual when one is (confirm it is needed)."""
    value, source = f.setting("storage-opts")
    sizes = [o for o in value or [] if "basesize" in str(o)]
    if not sizes:
        return Verdict("pass", ["no dm.basesize storage option"])
    return Verdict("manual", [f"storage-opts {sizes} from {source}: confirm it is needed"])


@check("authz_plugin")
def _authz(f: Facts, arg: str) -> Verdict:
    """Pass when docker info lists an authorization plugin (the dockguard plugin's policy is reported)."""
    plugins = (f.info().get("Plugins") or {}).get("Authorization") or []
    evidence = [f"authorization plugins: {', '.join(plugins) or 'none'}"]
    if "dockguard-authz" in plugins and not f.target.rootless:
        evidence.append(f.authz_policy())
    return yesno(bool(plugins), evidence)


LOCAL_LOG_DRIVERS = ("json-file", "local", "none", "")


@check("remote_logging")
def _remote_logging(f: Facts, arg: str) -> Verdict:
    """Pass when the default log driver sends logs off the host (a remote driver: fluentd, gelf, syslog with a
    remote syslog-address, ...), or keeps them in the host's journal (journald, or syslog to the local socket)
    from where they are forwarded: a running rsyslogd with an omfwd action over TLS (mode 1, peer
    authenticated) in /etc/rsyslog.conf or /etc/rsyslog.d/*.conf, or systemd-journal-upload to an https:// URL.
    Fail for json-file, local and none, and for a journal forwarded without TLS, not at all, or with journald's
    ForwardToSyslog=no while rsyslog does not read the journal itself. The evidence names the file and action.
    """
    driver = str(f.info().get("LoggingDriver") or "")
    ev = [f"log driver {driver or 'unknown'}"]
    if driver in LOCAL_LOG_DRIVERS:
        return Verdict("fail", [*ev, "container logs stay on the host"])
    address = ""
    if driver == "syslog":
        opts = f.setting("log-opts")[0]
        address = str((opts if isinstance(opts, dict) else {}).get("syslog-address") or "")
    if driver not in ("journald", "syslog") or (address and not address.startswith("unix")):
        return Verdict("pass", [*ev, "container logs leave the host" + (f" for {address}" if address else "")])
    ev.append(f"container logs go to the host's {'journal' if driver == 'journald' else 'syslog socket'}")
    return _forwarded(f, ev, via_journal=driver == "journald")


def _forwarded(f: Facts, ev: list[str], via_journal: bool) -> Verdict:
    """Whether rsyslog or systemd-journal-upload forwards the host's logs over TLS, and why (the evidence)."""
    rsyslog = f.config_files("/etc/rsyslog.conf", "/etc/rsyslog.d")
    forwards = _logging.rsyslog_forwards(rsyslog)
    upload = _logging.ini_value(
        f.config_files("/etc/systemd/journal-upload.conf", "/etc/systemd/journal-upload.conf.d"), "Upload", "URL"
    )
    running = any("rsyslogd" in names for names in f.processes_by_pidns().values())
    ev += [x.describe() for x in forwards]
    secure = [x for x in forwards if x.secure]
    if secure and not running:
        ev.append("rsyslogd is not running")
    if secure and running and via_journal and not _logging.reads_journal(rsyslog):
        journald = _logging.ini_value(
            f.config_files(
                "/etc/systemd/journald.conf", "/usr/lib/systemd/journald.conf.d", "/etc/systemd/journald.conf.d"
            ),
            "Journal",
            "ForwardToSyslog",
        )
        if journald and journald[0].lower() in ("no", "false", "0", "off"):
            ev.append(f"journald does not hand entries to rsyslog: ForwardToSyslog={journald[0]} in {journald[1]}")
            secure = []
        else:
            ev.append(
                f"journald hands entries to rsyslog: ForwardToSyslog={journald[0]} in {journald[1]}"
                if journald
                else "journald's ForwardToSyslog is the distribution's default"
            )
    if upload is not None:
        ev.append(f"systemd-journal-upload to {upload[0]} ({upload[1]})")
    uploads_tls = upload is not None and via_journal and upload[0].startswith("https://")
    if (secure and running) or uploads_tls:
        return Verdict("pass", ev)
    if not forwards and upload is None:
        ev.append("no forwarding found in /etc/rsyslog.conf, /etc/rsyslog.d or /etc/systemd/journal-upload.conf")
    return Verdict("fail", ev)


@check("no_new_privileges")
def _nnp(f: Facts, arg: str) -> Verdict:
    """Pass when `no-new-privileges` is true daemon-wide (daemon.json or dockerd flag)."""
    value, source = f.setting("no-new-privileges")
    return yesno(value is True, [f"no-new-privileges {describe(value, source)}"])


@check("live_restore")
def _live_restore(f: Facts, arg: str) -> Verdict:
    """Pass when docker info reports `LiveRestoreEnabled`.

    Not applicable: swarm mode is active (live-restore is incompatible with it).
    """
    live = bool(f.info().get("LiveRestoreEnabled"))
    ev = [f"docker info LiveRestoreEnabled={live}"]
    if f.swarm_active():
        return Verdict("not_applicable", [*ev, "swarm mode is active: live-restore is incompatible"])
    return yesno(live, ev)


@check("userland_proxy")
def _userland_proxy(f: Facts, arg: str) -> Verdict:
    """Pass when `userland-proxy` is set to false."""
    value, source = f.setting("userland-proxy")
    return yesno(value is False or str(value).lower() == "false", [f"userland-proxy {describe(value, source)}"])


@check("daemon_seccomp")
def _daemon_seccomp(f: Facts, arg: str) -> Verdict:
    """Pass with a custom daemon-wide `seccomp-profile` that the running daemon reports (docker info names the
    profile file) and that only root can change; manual with Docker's default profile; fail when the daemon
    applies no seccomp or `unconfined`, when the file others can write, or when the daemon runs another profile
    than the configured one (a restart is pending).
    """
    sec = [o for o in f.info().get("SecurityOptions") or [] if "seccomp" in str(o)]
    if not sec:
        return Verdict("fail", ["seccomp is not in the daemon's security options"])
    value, source = f.setting("seccomp-profile")
    if value == "unconfined":
        return Verdict("fail", [f"seccomp-profile {describe(value, source)}: containers run without seccomp"])
    if not value or value in ("builtin", "default"):
        return Verdict("manual", [f"{sec[0]}: Docker's default profile; a custom one is optional"])
    ev = [f"seccomp-profile {describe(value, source)}", str(sec[0])]
    running = dict(p.split("=", 1) for p in str(sec[0]).split(",") if "=" in p).get("profile")
    if running != value:
        return Verdict("fail", [*ev, "the running daemon does not run the configured profile: restart dockerd"])
    st = f.host.stat(str(value))
    ev.append(st.describe())
    if not st.exists or st.kind != "file" or st.uid != 0 or st.mode & 0o022:
        return Verdict("fail", [*ev, "the profile must be a regular file of root's that no one else can write"])
    return Verdict("pass", ev)


@check("experimental")
def _experimental(f: Facts, arg: str) -> Verdict:
    """Pass unless docker info reports an experimental build."""
    exp = bool(f.info().get("ExperimentalBuild"))
    return yesno(not exp, [f"docker info ExperimentalBuild={exp}"])
