# SPDX-License-Identifier: GPL-3.0-or-later
"""The daemon_tls module run for real (main(), AnsibleModule) on material generated into a temporary directory."""

from __future__ import annotations

import datetime
import grp
import ipaddress
import json
import os
import pathlib
import pwd
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.dockguard.hardening.plugins.modules import daemon_tls as mod

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def build(
    subject: str,
    signer: tuple[x509.Certificate | None, t.Any] | None,
    *,
    ca: bool = False,
    sans: t.Sequence[str] = (),
    end: datetime.datetime | None = None,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_cert, issuer_key = signer if signer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 2 * DAY)
        .not_valid_after(end or NOW + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        general: list[x509.GeneralName] = []
        for value in sans:
            try:
                general.append(x509.IPAddress(ipaddress.ip_address(value)))
            except ValueError:
                general.append(x509.DNSName(value))
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def write(path: pathlib.Path, data: bytes, mode: int) -> str:
    path.write_bytes(data)
    os.chmod(path, mode)
    return str(path)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_bytes(key: t.Any) -> bytes:
    return t.cast(
        "bytes",
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


class Material:
    """A CA, a server certificate and key, and daemon.json naming them, as the tls role installs them."""

    def __init__(self, tmp: pathlib.Path, *, end: datetime.datetime | None = None) -> None:
        self.dir = tmp
        self.ca, self.ca_key = build("dockguard Docker CA 1", None, ca=True)
        self.cert, self.key = build("dg-tls-a", (self.ca, self.ca_key), sans=["dg-tls-a", "172.18.0.2"], end=end)
        self.cacert_path = write(tmp / "ca.pem", cert_pem(self.ca), 0o444)
        self.cert_path = write(tmp / "server-cert.pem", cert_pem(self.cert), 0o444)
        self.key_path = write(tmp / "server-key.pem", key_bytes(self.key), 0o400)
        self.daemon_json = tmp / "daemon.json"
        self.daemon_json.write_text(
            json.dumps(
                {
                    "hosts": ["fd://", "tcp://0.0.0.0:2376"],
                    "tls": True,
                    "tlsverify": True,
                    "tlscacert": self.cacert_path,
                    "tlscert": self.cert_path,
                    "tlskey": self.key_path,
                }
            )
        )

    def args(self, **kw: t.Any) -> dict[str, t.Any]:
        # the files belong to whoever runs the tests (root on the test machines)
        me = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}
        return {"daemon_json": str(self.daemon_json), "names": ["dg-tls-a", "172.18.0.2"], **me, **kw}


@pytest.fixture
def material(tmp_path: pathlib.Path) -> Material:
    return Material(tmp_path)


def run(capsys: pytest.CaptureFixture[str], args: dict[str, t.Any], check: bool = False) -> dict[str, t.Any]:
    with (
        patch_module_args({**args, "_ansible_check_mode": check}),
        pytest.raises(SystemExit) as exit_,
    ):
        mod.main()
    out = json.loads(capsys.readouterr().out)
    assert (exit_.value.code == 0) is not bool(out.get("failed")), out
    return t.cast("dict[str, t.Any]", out)


def failed(out: dict[str, t.Any]) -> set[tuple[str, str]]:
    return {(pathlib.Path(f["file"]).name, f["check"]) for f in out["failed_findings"]}


def test_installed_material_is_ok_and_nothing_changes(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    out = run(capsys, material.args(enforce=True))
    assert out["ok"] is True, out["failed_findings"]
    assert out["changed"] is False
    assert out["failed_findings"] == []
    assert out["files"] == {"cacert": material.cacert_path, "cert": material.cert_path, "key": material.key_path}
    checks = {(pathlib.Path(f["file"]).name, f["check"]) for f in out["findings"]}
    assert checks == {
        ("daemon.json", "tls_configured"),
        ("ca.pem", "owner"),
        ("ca.pem", "mode"),
        ("ca.pem", "ca_constraints"),
        ("ca.pem", "validity"),
        ("server-cert.pem", "owner"),
        ("server-cert.pem", "mode"),
        ("server-key.pem", "owner"),
        ("server-key.pem", "mode"),
        ("server-key.pem", "key_matches_cert"),
        ("server-cert.pem", "chains_to_ca"),
        ("server-cert.pem", "validity"),
        ("server-cert.pem", "purpose"),
        ("server-cert.pem", "sans"),
    }
    cis = {f["cis"] for f in out["findings"] if f["cis"]}
    assert cis == {"2.7", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"}
    assert set(out["findings"][0]) == {"file", "check", "ok", "detail", "cis"}
    assert out["certificate"]["dns_names"] == ["dg-tls-a"]
    assert out["cas"][0]["is_ca"] is True
    # the key never leaves the host through the result
    body = key_bytes(material.key).split(b"\n")[1].decode()
    assert body not in json.dumps(out)
    assert run(capsys, material.args(), check=True)["findings"] == out["findings"]


def test_expired(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    material = Material(tmp_path, end=NOW - DAY)
    out = run(capsys, material.args())
    assert failed(out) == {("server-cert.pem", "validity")}
    assert out["certificate"]["days_left"] < 0


def test_wrong_key(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    _other_cert, other_key = build("other", (material.ca, material.ca_key))
    write(pathlib.Path(material.key_path), key_bytes(other_key), 0o400)
    out = run(capsys, material.args())
    assert failed(out) == {("server-key.pem", "key_matches_cert")}


def test_missing_san(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    out = run(capsys, material.args(names=["dg-tls-a", "dg-tls-a.example.org", "10.1.2.3"]))
    assert failed(out) == {("server-cert.pem", "sans")}
    assert out["failed_findings"][0]["detail"].startswith("no subjectAltName for dg-tls-a.example.org, 10.1.2.3")


def test_wrong_modes(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    os.chmod(material.key_path, 0o644)
    os.chmod(material.cacert_path, 0o664)
    out = run(capsys, material.args())
    assert failed(out) == {("server-key.pem", "mode"), ("ca.pem", "mode")}
    by_file = {pathlib.Path(f["file"]).name: f for f in out["failed_findings"]}
    assert by_file["server-key.pem"]["detail"] == "mode 0644 grants 0244 beyond 0400; set 0400"
    assert by_file["server-key.pem"]["cis"] == "3.14"
    assert by_file["ca.pem"]["cis"] == "3.10"


def test_wrong_owner_named_by_option(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    out = run(capsys, material.args(owner="nobody"))
    assert failed(out) == {("ca.pem", "owner"), ("server-cert.pem", "owner"), ("server-key.pem", "owner")}


def test_ca_that_did_not_sign(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    other_ca, _key = build("dockguard Docker CA 1", None, ca=True)  # same name, other key
    write(pathlib.Path(material.cacert_path), cert_pem(other_ca), 0o444)
    out = run(capsys, material.args())
    assert failed(out) == {("server-cert.pem", "chains_to_ca")}


def test_overlap_bundle_accepts_the_old_ca(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    new_ca, _key = build("dockguard Docker CA 2", None, ca=True)
    write(pathlib.Path(material.cacert_path), cert_pem(new_ca) + cert_pem(material.ca), 0o444)
    out = run(capsys, material.args(enforce=True))
    assert out["ok"] is True
    assert len(out["cas"]) == 2


def test_enforce_fails_naming_file_and_problem(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    os.chmod(material.key_path, 0o600)
    out = run(capsys, material.args(enforce=True, names=["dg-tls-b"]))
    assert out["failed"] is True
    assert out["msg"] == (
        "TLS material fails 2 check(s): "
        f"{material.key_path}: mode: mode 0600 grants 0200 beyond 0400; set 0400; "
        f"{material.cert_path}: sans: no subjectAltName for dg-tls-b (has DNS ['dg-tls-a'], IP ['172.18.0.2'])"
    )
    assert out["ok"] is False


def test_plain_tcp_and_no_files(capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    daemon_json = tmp_path / "daemon.json"
    daemon_json.write_text(json.dumps({"hosts": ["fd://", "tcp://0.0.0.0:2375"]}))
    out = run(capsys, {"daemon_json": str(daemon_json)})
    assert failed(out) == {("daemon.json", "tls_configured"), ("daemon.json", "exists")}
    assert out["files"] == {"cacert": None, "cert": None, "key": None}
    tls = next(f for f in out["failed_findings"] if f["check"] == "tls_configured")
    assert tls["cis"] == "2.7"
    assert "without tlsverify" in tls["detail"]


def test_missing_and_unreadable_files(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    os.unlink(material.key_path)
    pathlib.Path(material.cert_path).write_bytes(b"not a certificate")
    out = run(capsys, material.args())
    assert failed(out) == {("server-key.pem", "exists"), ("server-cert.pem", "parse")}


def test_encrypted_key(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    data = material.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    write(pathlib.Path(material.key_path), data, 0o400)
    out = run(capsys, material.args())
    assert failed(out) == {("server-key.pem", "parse")}
    assert "dockerd cannot read an encrypted key" in out["failed_findings"][0]["detail"]


def test_explicit_client_paths_override_daemon_json(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    client, key = build("alice", (material.ca, material.ca_key))
    cert_path = write(material.dir / "cert.pem", cert_pem(client), 0o444)
    key_path = write(material.dir / "key.pem", key_bytes(key), 0o400)
    out = run(capsys, material.args(cert=cert_path, key=key_path, purpose="client", names=[]))
    # build() gives serverAuth only: a client certificate must carry clientAuth
    assert failed(out) == {("cert.pem", "purpose")}
    assert out["files"]["cert"] == cert_path


def test_bad_daemon_json_and_unknown_owner(capsys: pytest.CaptureFixture[str], material: Material) -> None:
    material.daemon_json.write_text("{not json")
    out = run(capsys, material.args())
    assert out["failed"] is True
    assert out["msg"].startswith(f"{material.daemon_json}: cannot be read as JSON")
    out = run(capsys, material.args(daemon_json="/nonexistent", cacert=material.cacert_path, owner="no-such-user"))
    assert out["msg"] == "owner='no-such-user': no such user on this host"


# -- a client's material in a user's home: read without following the user's links -------------


class ClientHome:
    """alice's ~/.docker with a client certificate of the material's CA; alice is not root."""

    def __init__(self, material: Material, tmp: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.uid, self.gid = (4242, 4242) if os.getuid() == 0 else (os.getuid(), os.getgid())
        self.home = tmp / "home" / "alice"
        self.docker = self.home / ".docker"
        self.docker.mkdir(parents=True)
        client, key = build("alice", (material.ca, material.ca_key), usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        self.paths = {
            "cacert": write(self.docker / "ca.pem", cert_pem(material.ca), 0o444),
            "cert": write(self.docker / "cert.pem", cert_pem(client), 0o444),
            "key": write(self.docker / "key.pem", key_bytes(key), 0o400),
        }
        for path in (str(self.home), str(self.docker), *self.paths.values()):
            os.chown(path, self.uid, self.gid)
        entry = pwd.struct_passwd(("alice", "x", self.uid, self.gid, "", str(self.home), "/bin/sh"))
        real = pwd.getpwall
        monkeypatch.setattr(mod.pwd, "getpwall", lambda: [*real(), entry])

    def args(self, material: Material, **kw: t.Any) -> dict[str, t.Any]:
        return {
            "daemon_json": str(material.daemon_json),
            **self.paths,
            "purpose": "client",
            "owner": str(self.uid),
            "group": str(self.gid),
            **kw,
        }


@pytest.fixture
def client(material: Material, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> ClientHome:
    return ClientHome(material, tmp_path, monkeypatch)


def test_client_material_in_a_home_passes(
    capsys: pytest.CaptureFixture[str], material: Material, client: ClientHome
) -> None:
    out = run(capsys, client.args(material, enforce=True))
    assert out["ok"] is True, out["failed_findings"]
    assert ("key.pem", "key_matches_cert") in {(pathlib.Path(f["file"]).name, f["check"]) for f in out["findings"]}


def test_a_symlinked_key_in_a_home_is_not_followed(
    capsys: pytest.CaptureFixture[str], material: Material, client: ClientHome
) -> None:
    # the link points at a root key that does match nothing of alice's: followed, it would be read and judged
    os.unlink(client.paths["key"])
    os.symlink(material.key_path, client.paths["key"])
    out = run(capsys, client.args(material))
    assert failed(out) == {("key.pem", "path")}
    detail = out["failed_findings"][0]["detail"]
    assert detail.startswith(f"{client.paths['key']} is a symlink (to '{material.key_path}')"), detail
    assert "key_matches_cert" not in {f["check"] for f in out["findings"]}


def test_a_hard_link_and_a_symlinked_directory_in_a_home_are_not_followed(
    capsys: pytest.CaptureFixture[str], material: Material, client: ClientHome
) -> None:
    os.unlink(client.paths["cert"])
    os.link(material.cert_path, client.paths["cert"])
    out = run(capsys, client.args(material))
    assert ("cert.pem", "path") in failed(out)
    assert "is a hard link (2 names for one file)" in next(
        f["detail"] for f in out["failed_findings"] if f["check"] == "path"
    )

    real_dir = client.home / "real"
    os.rename(client.docker, real_dir)
    os.symlink(material.dir, client.docker)  # ~/.docker -> the daemon's TLS directory
    out = run(capsys, client.args(material))
    assert failed(out) == {("ca.pem", "path"), ("cert.pem", "path"), ("key.pem", "path")}
    assert all(f"{client.docker} is a symlink" in f["detail"] for f in out["failed_findings"])
