# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Checks on the TLS material a Docker daemon (or client) is configured with.

Pure functions on PEM bytes and file attributes, built on the ``cryptography``
library (no hand-written crypto, no openssl shell-outs). Every check yields a
:class:`Finding` (file, check, ok, detail, cis) that an audit can reuse as is.

The hosts this runs on have the distribution's ``python3-cryptography``
(Debian 12: 38.0, Debian 13: 43.0), so the newer conveniences
(``not_valid_after_utc``, ``verify_directly_issued_by``) are used when present
and the equivalent calls of the older API otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import traceback
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID
except ImportError:
    # A host without python3-cryptography: importing this must still work, so the
    # module can fail with missing_required_lib("cryptography") and this traceback.
    CRYPTOGRAPHY_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

UTC = datetime.timezone.utc  # datetime.UTC is 3.11+; managed hosts may run Python 3.9

# CIS Docker Benchmark v1.6.0 file controls for the daemon's TLS material.
CIS_OWNER = {"ca": "3.9", "cert": "3.11", "key": "3.13"}
CIS_MODE = {"ca": "3.10", "cert": "3.12", "key": "3.14"}
CIS_TLS = "2.7"
# Most permissive modes CIS accepts (anything more restrictive passes).
DEFAULT_MODES = {"ca": 0o444, "cert": 0o444, "key": 0o400}
if CRYPTOGRAPHY_IMPORT_ERROR is None:
    PURPOSES = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
    EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}


def eku_name(oid: x509.ObjectIdentifier) -> str:
    return EKU_NAMES.get(oid, oid.dotted_string)


class TLSMaterialError(DockguardError):
    """PEM input that cannot be read; the message says which file and why."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One judged fact about one file."""

    file: str
    check: str
    ok: bool
    detail: str
    cis: str | None = None

    def as_dict(self) -> dict[str, t.Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class FileAttrs:
    """What os.stat says about a file, without the content."""

    uid: int
    gid: int
    mode: int  # permission bits only


# -- loading -----------------------------------------------------------------


def load_certificates(pem: bytes, name: str) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, in order; at least one."""
    marker = b"-----BEGIN CERTIFICATE-----"
    if marker not in pem:
        raise TLSMaterialError(f"{name}: no PEM certificate in the file")
    certs = []
    for number, chunk in enumerate(pem.split(marker)[1:], start=1):
        try:
            certs.append(x509.load_pem_x509_certificate(marker + chunk))
        except ValueError as exc:
            raise TLSMaterialError(f"{name}: certificate {number} of the file cannot be parsed ({exc})") from None
    return certs


def load_private_key(pem: bytes, name: str) -> t.Any:
    """An unencrypted PEM private key. The key's bytes never appear in a message."""
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise TLSMaterialError(
            f"{name}: the key is encrypted with a passphrase; dockerd cannot read an encrypted key"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TLSMaterialError(f"{name}: not a PEM private key this host can read") from None


# -- facts about certificates ------------------------------------------------------------


def not_before(cert: x509.Certificate) -> datetime.datetime:
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=UTC)


def not_after(cert: x509.Certificate) -> datetime.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=UTC)


def days_left(cert: x509.Certificate, now: datetime.datetime) -> float:
    """Days until expiry (negative once expired), to one decimal."""
    return round((not_after(cert) - now).total_seconds() / 86400, 1)


def public_bytes(key: t.Any) -> bytes:
    return t.cast(
        "bytes",
        key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
    )


def key_matches(cert: x509.Certificate, private_key: t.Any) -> bool:
    return public_bytes(cert.public_key()) == public_bytes(private_key.public_key())


def sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) of the subjectAltName extension."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return (
        [str(n).lower() for n in ext.get_values_for_type(x509.DNSName)],
        [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)],
    )


def _dns_match(pattern: str, name: str) -> bool:
    if pattern == name:
        return True
    # RFC 6125: a wildcard covers exactly one left-most label
    if pattern.startswith("*.") and "." in name:
        return name.split(".", 1)[1] == pattern[2:]
    return False


def uncovered_names(cert: x509.Certificate, names: t.Iterable[str]) -> list[str]:
    """The names clients use that the certificate's SANs do not cover (Go, like browsers, ignores the CN)."""
    dns, ips = sans(cert)
    ip_set = {ipaddress.ip_address(ip) for ip in ips}
    missing = []
    for name in names:
        try:
            if ipaddress.ip_address(name) not in ip_set:
                missing.append(name)
            continue
        except ValueError:
            pass
        lowered = name.lower().rstrip(".")
        if not any(_dns_match(pattern, lowered) for pattern in dns):
            missing.append(name)
    return missing


def extended_key_usages(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    """The EKU OIDs, or None without the extension (which Go reads as "any purpose")."""
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _verify_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        elif isinstance(key, dsa.DSAPublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """The certificate names the issuer's subject and carries the issuer's signature."""
    if cert.issuer != issuer.subject:
        return False
    verify = getattr(cert, "verify_directly_issued_by", None)
    if verify is not None:
        try:
            verify(issuer)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True
    return _verify_signature(cert, issuer)


def describe(cert: x509.Certificate, now: datetime.datetime) -> dict[str, t.Any]:
    """Public facts about a certificate for results and diffs (no key material)."""
    dns, ips = sans(cert)
    ekus = extended_key_usages(cert)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": not_before(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": days_left(cert, now),
        "dns_names": dns,
        "ip_addresses": ips,
        "extended_key_usage": None if ekus is None else [oid.dotted_string for oid in ekus],
        "is_ca": is_ca(cert),
    }


# -- checks ------------------------------------------------------------------


def check_attrs(path: str, kind: str, attrs: FileAttrs, widest: int, owner: tuple[int, int] = (0, 0)) -> list[Finding]:
    """Owner and mode of a CA bundle, certificate or key (CIS 3.9-3.14)."""
    own_ok = (attrs.uid, attrs.gid) == owner
    extra = attrs.mode & ~widest
    return [
        Finding(
            path,
            "owner",
            own_ok,
            f"owned by {attrs.uid}:{attrs.gid}" + ("" if own_ok else f", expected {owner[0]}:{owner[1]}"),
            CIS_OWNER.get(kind),
        ),
        Finding(
            path,
            "mode",
            extra == 0,
            f"mode {attrs.mode:04o}"
            + ("" if extra == 0 else f" grants {extra:04o} beyond {widest:04o}; set {attrs.mode & widest:04o}"),
            CIS_MODE.get(kind),
        ),
    ]


def check_ca(path: str, cas: list[x509.Certificate], now: datetime.datetime, min_days: int) -> list[Finding]:
    """Each CA of the trusted bundle is a CA and valid, with enough days left."""
    findings = []
    for index, ca in enumerate(cas, start=1):
        label = f"CA {index} ({ca.subject.rfc4514_string()})"
        findings.append(
            Finding(
                path,
                "ca_constraints",
                is_ca(ca),
                f"{label} " + ("is a CA" if is_ca(ca) else "is not a CA (no basicConstraints CA:TRUE)"),
            )
        )
        findings.append(validity_finding(path, label, ca, now, min_days))
    return findings


def validity_finding(path: str, label: str, cert: x509.Certificate, now: datetime.datetime, min_days: int) -> Finding:
    left = days_left(cert, now)
    stamp = not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ")
    if now < not_before(cert):
        return Finding(path, "validity", False, f"{label} is not valid before {not_before(cert):%Y-%m-%dT%H:%M:%SZ}")
    if left < 0:
        return Finding(path, "validity", False, f"{label} expired on {stamp} ({-left} days ago)")
    if left < min_days:
        return Finding(
            path, "validity", False, f"{label} expires on {stamp}, in {left} days (fewer than {min_days}); renew it"
        )
    return Finding(path, "validity", True, f"{label} valid until {stamp} ({left} days left)")


def check_leaf(
    cert_path: str,
    cert: x509.Certificate,
    cas: list[x509.Certificate],
    *,
    key_path: str | None,
    private_key: t.Any | None,
    names: t.Sequence[str],
    purpose: str,
    now: datetime.datetime,
    min_days: int,
) -> list[Finding]:
    """A daemon's (purpose=server) or a client's (purpose=client) certificate and key."""
    findings = []
    if key_path is not None and private_key is not None:
        match = key_matches(cert, private_key)
        findings.append(
            Finding(
                key_path,
                "key_matches_cert",
                match,
                f"the key is the certificate's ({cert_path})"
                if match
                else f"the key does not belong to {cert_path}: the certificate was issued for another key",
            )
        )
    signer = next((i for i, ca in enumerate(cas, start=1) if issued_by(cert, ca)), None)
    findings.append(
        Finding(
            cert_path,
            "chains_to_ca",
            signer is not None,
            f"signed by trusted CA {signer} ({cas[signer - 1].subject.rfc4514_string()})"
            if signer is not None
            else f"not signed by any CA of the trusted bundle (issuer {cert.issuer.rfc4514_string()})",
        )
    )
    findings.append(validity_finding(cert_path, "the certificate", cert, now, min_days))
    ekus = extended_key_usages(cert)
    want = PURPOSES[purpose]
    eku_ok = ekus is None or want in ekus
    findings.append(
        Finding(
            cert_path,
            "purpose",
            eku_ok,
            f"usable for {eku_name(want)}"
            if eku_ok
            else f"extended key usage {[eku_name(o) for o in ekus or []]} lacks {eku_name(want)} "
            f"for a {purpose} certificate",
        )
    )
    if names:
        missing = uncovered_names(cert, names)
        dns, ips = sans(cert)
        findings.append(
            Finding(
                cert_path,
                "sans",
                not missing,
                f"covers {', '.join(names)}"
                if not missing
                else f"no subjectAltName for {', '.join(missing)} (has DNS {dns or 'none'}, IP {ips or 'none'})",
            )
        )
    return findings


def daemon_tls_settings(config: dict[str, t.Any]) -> dict[str, t.Any]:
    """The TLS-related keys of a daemon.json, with dockerd's meaning of them."""
    hosts = [str(h) for h in config.get("hosts", []) or []]
    tcp = [h for h in hosts if h.startswith("tcp://") or (("://" not in h) and ":" in h)]
    return {
        "tls": config.get("tls"),
        "tlsverify": config.get("tlsverify"),
        "tlscacert": config.get("tlscacert"),
        "tlscert": config.get("tlscert"),
        "tlskey": config.get("tlskey"),
        "tcp_hosts": tcp,
    }


def check_daemon_config(path: str, config: dict[str, t.Any]) -> Finding:
    """CIS 2.7: a daemon listening on TCP verifies its clients' certificates."""
    s = daemon_tls_settings(config)
    if not s["tcp_hosts"]:
        return Finding(path, "tls_configured", True, "the daemon does not listen on TCP", CIS_TLS)
    missing = [k for k in ("tlscacert", "tlscert", "tlskey") if not s[k]]
    if s["tlsverify"] is not True:
        return Finding(
            path,
            "tls_configured",
            False,
            f"listens on {', '.join(s['tcp_hosts'])} without tlsverify: anyone who reaches the port is root",
            CIS_TLS,
        )
    if missing:
        return Finding(path, "tls_configured", False, f"tlsverify is on but {', '.join(missing)} not set", CIS_TLS)
    return Finding(path, "tls_configured", True, f"listens on {', '.join(s['tcp_hosts'])} with tlsverify", CIS_TLS)
