# SPDX-License-Identifier: GPL-3.0-or-later
"""The user_tls module run for real (main(), AnsibleModule) on a home in a temporary directory.

The "user" is whoever runs the tests (their uid owns the temporary home), so
every walk, refusal and write is the real one; only the account lookup is
replaced.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import pathlib
import stat
import typing as t

import pytest
from ansible.module_utils.testing import patch_module_args
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.modules import user_tls as mod

NOW = datetime.datetime.now(datetime.UTC)


class Home:
    def __init__(self, base: pathlib.Path) -> None:
        self.base = base
        self.path = base / "home" / "alice"
        self.path.mkdir(parents=True)
        self.docker = self.path / ".docker"
        # a root-owned file outside the home, as /etc/shadow would be
        self.outside = base / "etc"
        self.outside.mkdir()
        self.secret = self.outside / "shadow"
        self.secret.write_bytes(b"root:$6$secret-hash:19000:0:99999:7:::\n")
        self.secret.chmod(0o640)

    def tree(self, name: str) -> files.UserTree:
        return files.UserTree(name, os.getuid(), os.getgid(), str(self.path))

    def snapshot(self) -> dict[str, tuple[int, int, str]]:
        """Everything outside the home: mode, owner, content hash."""
        out = {}
        for p in sorted(self.outside.rglob("*")):
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
            out[str(p)] = (st.st_mode, st.st_uid, digest)
        return out


@pytest.fixture
def home(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    h = Home(tmp_path)
    monkeypatch.setattr(files, "user_tree", h.tree)
    return h


def run(capsys: pytest.CaptureFixture[str], check: bool = False, diff: bool = False, **args: t.Any) -> dict[str, t.Any]:
    args = {"user": "alice", "common_name": "alice@dg-tls-a", **args, "_ansible_check_mode": check}
    with patch_module_args({**args, "_ansible_diff": diff}), pytest.raises(SystemExit) as exit_:
        mod.main()
    out = json.loads(capsys.readouterr().out)
    assert (exit_.value.code == 0) is not bool(out.get("failed")), out
    return t.cast("dict[str, t.Any]", out)


def mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockguard Docker CA 1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def sign(csr_pem: str, issuer: tuple[x509.Certificate, t.Any]) -> str:
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer[0].subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=10))
    )
    for ext in csr.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    return builder.sign(issuer[1], hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def public(data: bytes) -> bytes:
    key = serialization.load_pem_private_key(data, password=None)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# -- the normal life of the material ---------------------------------------------------------


def test_key_made_on_the_host_then_certificate_installed_then_nothing(
    capsys: pytest.CaptureFixture[str], home: Home
) -> None:
    first = run(capsys)
    assert first["changed"] is True
    assert first["key_generated"] is True and first["key_reason"] == "there is no key"
    assert first["certificate"] is None
    assert first["path"] == str(home.docker)
    assert (mode(home.docker), mode(home.docker / "key.pem")) == (0o700, 0o400)
    assert not (home.docker / "cert.pem").exists()
    key = (home.docker / "key.pem").read_bytes()
    csr = x509.load_pem_x509_csr(first["csr"].encode())
    assert csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == public(key)
    assert csr.subject.rfc4514_string() == "CN=alice@dg-tls-a"
    eku = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [o.dotted_string for o in eku] == ["1.3.6.1.5.5.7.3.2"]  # clientAuth
    # the key never appears in a result
    body = key.split(b"\n")[1].decode()
    assert body not in json.dumps(first)

    authority = ca()
    cert = sign(first["csr"], authority)
    installed = run(capsys, certificate=cert, ca_bundle=pem(authority[0]), diff=True)
    assert installed["changed"] is True
    assert installed["key_generated"] is False
    assert installed["certificate"] == cert
    assert (home.docker / "cert.pem").read_text() == cert
    assert (home.docker / "ca.pem").read_text() == pem(authority[0])
    assert (mode(home.docker / "cert.pem"), mode(home.docker / "ca.pem")) == (0o444, 0o444)
    assert (home.docker / "key.pem").read_bytes() == key
    assert installed["diff"]["before"]["cert.pem"] == "absent"
    assert installed["diff"]["after"]["cert.pem"].startswith("CN=alice@dg-tls-a serial ")
    assert body not in json.dumps(installed)

    again = run(capsys, certificate=cert, ca_bundle=pem(authority[0]))
    assert (again["changed"], again["changes"]) == (False, [])
    reread = run(capsys, check=True)
    assert (reread["changed"], reread["certificate"]) == (False, cert)


def test_check_mode_predicts_and_writes_nothing(capsys: pytest.CaptureFixture[str], home: Home) -> None:
    out = run(capsys, check=True)
    assert out["changed"] is True
    assert out["csr"] is None  # the key does not exist yet
    assert [c.split(" ")[0] for c in out["changes"]] == ["created", "generated"]
    assert not home.docker.exists()
    assert run(capsys)["changes"] == out["changes"]


def test_wrong_mode_is_fixed_by_a_new_file_never_by_chmod_of_the_old(
    capsys: pytest.CaptureFixture[str], home: Home
) -> None:
    run(capsys)
    key = home.docker / "key.pem"
    key.chmod(0o644)
    home.docker.chmod(0o755)
    inode = key.stat().st_ino
    data = key.read_bytes()
    out = run(capsys)
    assert out["changed"] is True
    assert out["key_generated"] is False
    assert any(c.startswith(f"rewrote {key} ") for c in out["changes"]), out["changes"]
    assert (mode(key), key.read_bytes()) == (0o400, data)
    assert key.stat().st_ino != inode
    assert mode(home.docker) == 0o700


def test_key_of_another_curve_is_replaced(capsys: pytest.CaptureFixture[str], home: Home) -> None:
    run(capsys, key_curve="secp256r1")
    old = (home.docker / "key.pem").read_bytes()
    out = run(capsys)
    assert out["key_reason"] == "the key's curve is secp256r1, not secp384r1"
    assert public((home.docker / "key.pem").read_bytes()) != public(old)


def test_certificate_for_another_key_is_refused(capsys: pytest.CaptureFixture[str], home: Home) -> None:
    run(capsys)
    other_key = ec.generate_private_key(ec.SECP384R1())
    other_csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mallory")]))
        .sign(other_key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    out = run(capsys, certificate=sign(other_csr, ca()))
    assert out["failed"] is True
    assert out["msg"].startswith("certificate (CN=mallory) was not issued for the key in ")
    assert not (home.docker / "cert.pem").exists()


def test_bad_directory_and_missing_home(capsys: pytest.CaptureFixture[str], home: Home) -> None:
    out = run(capsys, directory="/etc/docker")
    assert out["msg"] == "directory='/etc/docker' must be a path relative to the home, such as .docker"
    out = run(capsys, directory="../bob/.docker")
    assert out["failed"] is True
    home.path.rmdir()
    out = run(capsys)
    assert "does not exist" in out["msg"] and "never creates a home" in out["msg"], out["msg"]
    assert not home.path.exists()


# -- a user who plants links ---------------------------------------------------------------


def plant_dir_symlink(home: Home) -> str:
    home.docker.symlink_to(home.outside)
    return f"{home.docker} is a symlink (to '{home.outside}')"


def plant_key_symlink(home: Home) -> str:
    home.docker.mkdir()
    (home.docker / "key.pem").symlink_to(home.secret)
    return f"{home.docker}/key.pem is a symlink (to '{home.secret}')"


def plant_cert_symlink(home: Home) -> str:
    home.docker.mkdir()
    (home.docker / "cert.pem").symlink_to(home.secret)
    return f"{home.docker}/cert.pem is a symlink (to '{home.secret}')"


def plant_ca_symlink(home: Home) -> str:
    home.docker.mkdir()
    (home.docker / "ca.pem").symlink_to(home.outside / "missing")  # a dangling link: written, it would be created
    return f"{home.docker}/ca.pem is a symlink (to '{home.outside / 'missing'}')"


def plant_key_hard_link(home: Home) -> str:
    home.docker.mkdir()
    os.link(home.secret, home.docker / "key.pem")
    return f"{home.docker}/key.pem is a hard link (2 names for one file)"


def plant_docker_as_file(home: Home) -> str:
    home.docker.write_text("not a directory")
    return f"{home.docker} is not a directory"


@pytest.mark.parametrize(
    "plant",
    [
        plant_dir_symlink,
        plant_key_symlink,
        plant_cert_symlink,
        plant_ca_symlink,
        plant_key_hard_link,
        plant_docker_as_file,
    ],
)
@pytest.mark.parametrize("certificate", [False, True], ids=["first-run", "install"])
def test_planted_links_are_refused_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], home: Home, plant: t.Callable[[Home], str], certificate: bool
) -> None:
    authority = ca()
    args: dict[str, t.Any] = {}
    if certificate:
        # the material exists (as after a first run) when the user plants the link
        first = run(capsys)
        args = {"certificate": sign(first["csr"], authority), "ca_bundle": pem(authority[0])}
        for name in ("key.pem", "cert.pem", "ca.pem"):
            (home.docker / name).unlink(missing_ok=True)
        home.docker.rmdir()
    expected = plant(home)
    before = home.snapshot()
    listing = sorted(str(p) for p in home.path.rglob("*"))
    for check in (True, False):
        out = run(capsys, check=check, **args)
        assert out["failed"] is True
        assert out["msg"].startswith(expected), out["msg"]
        assert "refusing" in out["msg"]
        assert out["changes"] == []
    assert home.snapshot() == before
    assert sorted(str(p) for p in home.path.rglob("*")) == listing
    assert b"secret-hash" not in json.dumps(out).encode()


def test_check_mode_without_cryptography_still_judges_paths(
    capsys: pytest.CaptureFixture[str], home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first check-mode run, before the role installed python3-cryptography: paths are judged, nothing parsed."""
    run(capsys)  # a key exists
    # the module's own reference: once an Ansible plugin loader has run in this process (the filter tests),
    # an import here may give another copy of the module_util than the one the module holds
    monkeypatch.setattr(mod._tls_client, "CRYPTOGRAPHY_IMPORT_ERROR", "ImportError: cryptography")
    # where a warning goes depends on what ran before in this process (a plugin loader routes them to the
    # controller's display): record the module's own call
    warned: list[str] = []
    monkeypatch.setattr(mod.AnsibleModule, "warn", lambda self, msg: warned.append(msg))
    out = run(capsys, check=True)
    assert (out["changed"], out["csr"], out["key_generated"]) == (False, None, False)
    assert any("python3-cryptography is not installed" in w for w in warned), out
    (home.docker / "cert.pem").symlink_to(home.secret)
    out = run(capsys, check=True)
    assert out["msg"].startswith(f"{home.docker}/cert.pem is a symlink"), out
    (home.docker / "cert.pem").unlink()
    out = run(capsys)
    assert out["failed"] is True
    assert "cryptography" in out["msg"]
    for name in ("key.pem",):
        (home.docker / name).unlink()
    home.docker.rmdir()
    out = run(capsys, check=True)
    assert [c.split(" ")[0] for c in out["changes"]] == ["created", "generated"]
