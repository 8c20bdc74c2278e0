# SPDX-License-Identifier: GPL-3.0-or-later
"""_tls on material generated here with the cryptography library: real CAs, keys and certificates."""

from __future__ import annotations

import datetime
import ipaddress
import typing as t

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.dockguard.hardening.plugins.module_utils import _tls

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(name: str = "Test CA", key: t.Any = None, days: int = 3650) -> tuple[x509.Certificate, t.Any]:
    key = key or ec_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + days * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(  # pylint: disable=too-many-arguments
    ca: tuple[x509.Certificate, t.Any],
    key: t.Any = None,
    dns: t.Sequence[str] = ("dg-tls-a", "dg-tls-a.example.org"),
    ips: t.Sequence[str] = ("172.18.0.2", "127.0.0.1"),
    eku: t.Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    issuer_name: x509.Name | None = None,
) -> tuple[x509.Certificate, t.Any]:
    key = key or ec_key()
    ca_cert, ca_key = ca
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0] if dns else "leaf")]))
        .issuer_name(issuer_name or ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start or NOW - DAY)
        .not_valid_after(end or NOW + 365 * DAY)
    )
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: t.Any, password: bytes | None = None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return t.cast("bytes", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))


@pytest.fixture(scope="module")
def ca() -> tuple[x509.Certificate, t.Any]:
    return make_ca("dockguard Docker CA 1")


def by_check(findings: list[_tls.Finding]) -> dict[str, _tls.Finding]:
    return {f.check: f for f in findings}


def leaf_findings(
    cert: x509.Certificate,
    cas: list[x509.Certificate],
    key: t.Any,
    names: t.Sequence[str] = ("dg-tls-a", "172.18.0.2"),
    purpose: str = "server",
    min_days: int = 30,
) -> dict[str, _tls.Finding]:
    return by_check(
        _tls.check_leaf(
            "/etc/docker/tls/server-cert.pem",
            cert,
            cas,
            key_path="/etc/docker/tls/server-key.pem",
            private_key=key,
            names=names,
            purpose=purpose,
            now=NOW,
            min_days=min_days,
        )
    )


# -- the good case first: a test that cannot fail would prove nothing ---------------


def test_good_material_passes_every_check(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, key = make_leaf(ca)
    found = leaf_findings(cert, [ca[0]], key)
    assert set(found) == {"key_matches_cert", "chains_to_ca", "validity", "purpose", "sans"}
    assert all(f.ok for f in found.values()), found
    assert "signed by trusted CA 1 (CN=dockguard Docker CA 1)" in found["chains_to_ca"].detail


# -- the refusals the issue names ----------------------------------------------------


def test_expired_certificate(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, key = make_leaf(ca, start=NOW - 40 * DAY, end=NOW - 2 * DAY)
    found = leaf_findings(cert, [ca[0]], key)
    assert not found["validity"].ok
    assert "expired on" in found["validity"].detail
    assert "days ago" in found["validity"].detail
    # everything else about it is fine: the failure is the date alone
    assert all(f.ok for c, f in found.items() if c != "validity")


def test_not_yet_valid_certificate(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, key = make_leaf(ca, start=NOW + 2 * DAY, end=NOW + 300 * DAY)
    found = leaf_findings(cert, [ca[0]], key)
    assert not found["validity"].ok
    assert "is not valid before" in found["validity"].detail


@pytest.mark.parametrize(("days", "min_days", "ok"), [(10, 30, False), (29.5, 30, False), (31, 30, True), (5, 0, True)])
def test_days_left_threshold(ca: tuple[x509.Certificate, t.Any], days: float, min_days: int, ok: bool) -> None:
    cert, key = make_leaf(ca, end=NOW + datetime.timedelta(days=days))
    found = leaf_findings(cert, [ca[0]], key, min_days=min_days)
    assert found["validity"].ok is ok
    if not ok:
        assert f"fewer than {min_days}" in found["validity"].detail
        assert "renew it" in found["validity"].detail


def test_wrong_key(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, _key = make_leaf(ca)
    found = leaf_findings(cert, [ca[0]], ec_key())
    assert not found["key_matches_cert"].ok
    assert found["key_matches_cert"].file == "/etc/docker/tls/server-key.pem"
    assert "does not belong to /etc/docker/tls/server-cert.pem" in found["key_matches_cert"].detail


def test_wrong_key_of_another_type(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, _key = make_leaf(ca)
    found = leaf_findings(cert, [ca[0]], rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert not found["key_matches_cert"].ok


@pytest.mark.parametrize(
    ("names", "missing"),
    [
        (["dg-tls-b"], ["dg-tls-b"]),
        (["172.18.0.3"], ["172.18.0.3"]),
        (["dg-tls-a", "10.0.0.1", "DG-TLS-A.example.org."], ["10.0.0.1"]),
        # an IP written as a DNS SAN does not count, nor the common name
        (["leaf"], ["leaf"]),
    ],
)
def test_missing_san(ca: tuple[x509.Certificate, t.Any], names: list[str], missing: list[str]) -> None:
    cert, key = make_leaf(ca)
    found = leaf_findings(cert, [ca[0]], key, names=names)
    assert not found["sans"].ok
    assert found["sans"].detail.startswith(f"no subjectAltName for {', '.join(missing)} ")
    assert _tls.uncovered_names(cert, names) == missing


def test_certificate_without_any_san(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, key = make_leaf(ca, dns=(), ips=())
    found = leaf_findings(cert, [ca[0]], key, names=["dg-tls-a"])
    assert not found["sans"].ok
    assert "has DNS none, IP none" in found["sans"].detail


def test_wildcard_covers_one_label_only(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, _key = make_leaf(ca, dns=("*.example.org",), ips=())
    assert _tls.uncovered_names(cert, ["a.example.org", "b.a.example.org", "example.org"]) == [
        "b.a.example.org",
        "example.org",
    ]


def test_ipv6_san_compared_as_address(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, _key = make_leaf(ca, dns=("h",), ips=("fd00::1",))
    assert _tls.uncovered_names(cert, ["fd00:0:0::1", "fd00::2"]) == ["fd00::2"]


def test_ca_that_did_not_sign(ca: tuple[x509.Certificate, t.Any]) -> None:
    other = make_ca("Another CA")
    cert, key = make_leaf(other)
    found = leaf_findings(cert, [ca[0]], key)
    assert not found["chains_to_ca"].ok
    assert found["chains_to_ca"].detail == "not signed by any CA of the trusted bundle (issuer CN=Another CA)"


def test_forged_issuer_name_is_not_enough(ca: tuple[x509.Certificate, t.Any]) -> None:
    """Another CA that writes our CA's name as issuer: the signature decides."""
    impostor = make_ca("dockguard Docker CA 1")
    cert, key = make_leaf(impostor)
    assert cert.issuer == ca[0].subject
    found = leaf_findings(cert, [ca[0]], key)
    assert not found["chains_to_ca"].ok
    assert not _tls.issued_by(cert, ca[0])
    assert _tls.issued_by(cert, impostor[0])


def test_rotation_overlap_trusts_either_ca(ca: tuple[x509.Certificate, t.Any]) -> None:
    new_ca = make_ca("dockguard Docker CA 2")
    old_cert, old_key = make_leaf(ca)
    new_cert, new_key = make_leaf(new_ca)
    bundle = [new_ca[0], ca[0]]
    assert leaf_findings(old_cert, bundle, old_key)["chains_to_ca"].detail.startswith("signed by trusted CA 2")
    assert leaf_findings(new_cert, bundle, new_key)["chains_to_ca"].detail.startswith("signed by trusted CA 1")
    # after the overlap only the new CA is trusted: old certificates are refused
    assert not leaf_findings(old_cert, [new_ca[0]], old_key)["chains_to_ca"].ok


@pytest.mark.parametrize(
    ("eku", "purpose", "ok"),
    [
        ((ExtendedKeyUsageOID.SERVER_AUTH,), "server", True),
        ((ExtendedKeyUsageOID.CLIENT_AUTH,), "server", False),
        ((ExtendedKeyUsageOID.CLIENT_AUTH,), "client", True),
        ((ExtendedKeyUsageOID.SERVER_AUTH,), "client", False),
        ((ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH), "client", True),
        (None, "server", True),  # no extension: any purpose, as Go reads it
    ],
)
def test_purpose(
    ca: tuple[x509.Certificate, t.Any], eku: tuple[x509.ObjectIdentifier, ...] | None, purpose: str, ok: bool
) -> None:
    cert, key = make_leaf(ca, eku=eku)
    found = leaf_findings(cert, [ca[0]], key, purpose=purpose)
    assert found["purpose"].ok is ok
    if not ok:
        assert f"for a {purpose} certificate" in found["purpose"].detail


def test_signature_check_without_verify_directly_issued_by(ca: tuple[x509.Certificate, t.Any]) -> None:
    """The code path of Debian 12's cryptography 38, which lacks verify_directly_issued_by."""
    rsa_ca = make_ca("RSA CA", key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    rsa_impostor = make_ca("RSA CA", key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    for issuer, impostor in ((ca, make_ca("dockguard Docker CA 1")), (rsa_ca, rsa_impostor)):
        cert, _key = make_leaf(issuer)
        assert _tls._verify_signature(cert, issuer[0])
        forged, _key = make_leaf(impostor)
        assert not _tls._verify_signature(forged, issuer[0])


def test_not_after_helpers_are_timezone_aware(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, _key = make_leaf(ca, end=NOW + 10 * DAY)
    assert _tls.not_after(cert).tzinfo is not None
    assert 9.9 <= _tls.days_left(cert, NOW) <= 10.0


# -- CA bundle -----------------------------------------------------------------------


def test_ca_bundle_checks(ca: tuple[x509.Certificate, t.Any]) -> None:
    not_a_ca, _key = make_leaf(ca)
    old = make_ca("old CA", days=5)
    findings = _tls.check_ca("/etc/docker/tls/ca.pem", [ca[0], not_a_ca, old[0]], NOW, 30)
    assert [(f.check, f.ok) for f in findings] == [
        ("ca_constraints", True),
        ("validity", True),
        ("ca_constraints", False),
        ("validity", True),
        ("ca_constraints", True),
        ("validity", False),
    ]
    assert "CA 3 (CN=old CA) expires on" in findings[5].detail


def test_load_bundle_and_errors(ca: tuple[x509.Certificate, t.Any]) -> None:
    other = make_ca("CA 2")
    assert [c.subject for c in _tls.load_certificates(pem(ca[0]) + pem(other[0]), "b")] == [
        ca[0].subject,
        other[0].subject,
    ]
    with pytest.raises(_tls.TLSMaterialError, match="no PEM certificate"):
        _tls.load_certificates(b"hello", "/x/ca.pem")
    broken = pem(ca[0]).replace(b"\n", b"\n!", 3)
    with pytest.raises(_tls.TLSMaterialError, match=r"/x/ca.pem: certificate 1 of the file cannot be parsed"):
        _tls.load_certificates(broken, "/x/ca.pem")


def test_encrypted_key_is_refused_without_leaking_it() -> None:
    key = ec_key()
    data = key_pem(key, b"s3cret-passphrase")
    with pytest.raises(_tls.TLSMaterialError) as exc:
        _tls.load_private_key(data, "/etc/docker/tls/server-key.pem")
    assert "encrypted with a passphrase" in str(exc.value)
    assert _tls.key_matches(make_leaf(make_ca(), key=key)[0], _tls.load_private_key(key_pem(key), "k"))
    with pytest.raises(_tls.TLSMaterialError) as bad:
        _tls.load_private_key(b"-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n", "k")
    assert "QUJD" not in str(bad.value)


# -- owners and modes (CIS 3.9-3.14) ---------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mode", "widest", "ok", "detail", "cis"),
    [
        ("ca", 0o444, 0o444, True, "mode 0444", "3.10"),
        ("ca", 0o400, 0o444, True, "mode 0400", "3.10"),
        ("ca", 0o644, 0o444, False, "mode 0644 grants 0200 beyond 0444; set 0444", "3.10"),
        ("cert", 0o664, 0o444, False, "mode 0664 grants 0220 beyond 0444; set 0444", "3.12"),
        ("key", 0o400, 0o400, True, "mode 0400", "3.14"),
        ("key", 0o600, 0o400, False, "mode 0600 grants 0200 beyond 0400; set 0400", "3.14"),
        ("key", 0o444, 0o400, False, "mode 0444 grants 0044 beyond 0400; set 0400", "3.14"),
        ("key", 0o4400, 0o400, False, "mode 4400 grants 4000 beyond 0400; set 0400", "3.14"),
    ],
)
def test_modes(kind: str, mode: int, widest: int, ok: bool, detail: str, cis: str) -> None:
    findings = _tls.check_attrs(f"/etc/docker/tls/{kind}.pem", kind, _tls.FileAttrs(0, 0, mode), widest)
    owner, mode_finding = findings
    assert owner == _tls.Finding(f"/etc/docker/tls/{kind}.pem", "owner", True, "owned by 0:0", _tls.CIS_OWNER[kind])
    assert mode_finding == _tls.Finding(f"/etc/docker/tls/{kind}.pem", "mode", ok, detail, cis)


@pytest.mark.parametrize(("uid", "gid"), [(1000, 0), (0, 999), (1000, 1000)])
def test_wrong_owner(uid: int, gid: int) -> None:
    owner, _mode = _tls.check_attrs("/k", "key", _tls.FileAttrs(uid, gid, 0o400), 0o400)
    assert not owner.ok
    assert owner.detail == f"owned by {uid}:{gid}, expected 0:0"
    assert owner.cis == "3.13"


# -- daemon.json (CIS 2.7) -------------------------------------------------------------


TLS_KEYS = {"tlscacert": "/c", "tlscert": "/s", "tlskey": "/k"}


@pytest.mark.parametrize(
    ("config", "ok", "detail"),
    [
        ({}, True, "the daemon does not listen on TCP"),
        ({"hosts": ["fd://"]}, True, "the daemon does not listen on TCP"),
        ({"hosts": ["fd://", "tcp://0.0.0.0:2375"]}, False, "listens on tcp://0.0.0.0:2375 without tlsverify"),
        ({"hosts": [":2375"], "tls": True, **TLS_KEYS}, False, "listens on :2375 without tlsverify"),
        ({"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": True}, False, "tlscacert, tlscert, tlskey not set"),
        ({"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": True, **TLS_KEYS}, True, "with tlsverify"),
    ],
)
def test_daemon_config(config: dict[str, t.Any], ok: bool, detail: str) -> None:
    finding = _tls.check_daemon_config("/etc/docker/daemon.json", config)
    assert (finding.check, finding.ok, finding.cis) == ("tls_configured", ok, "2.7")
    assert detail in finding.detail


def test_describe_has_no_key_material(ca: tuple[x509.Certificate, t.Any]) -> None:
    cert, key = make_leaf(ca)
    info = _tls.describe(cert, NOW)
    assert info["dns_names"] == ["dg-tls-a", "dg-tls-a.example.org"]
    assert info["ip_addresses"] == ["172.18.0.2", "127.0.0.1"]
    assert info["extended_key_usage"] == ["1.3.6.1.5.5.7.3.1"]
    assert info["is_ca"] is False
    assert info["issuer"] == "CN=dockguard Docker CA 1"
    assert key_pem(key).split(b"\n")[1].decode() not in repr(info)
