# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""A local user's Docker client TLS material in their home, kept by root without following the user's links.

The directory (``~/.docker`` by default) and its ``key.pem``, ``cert.pem`` and
``ca.pem`` live in a tree the user controls. Every read and write goes through
:class:`UserTree` (an openat walk with ``O_NOFOLLOW`` from the home, refusing
symlinks, hard links and files of other owners), so a link the user plants
never makes root read or write anything outside the home. All three names are
judged before the first write: a refused path leaves everything as it was.

The key is generated here (python3-cryptography), written ``0400`` and never
returned; only a CSR for it and the (public) certificate leave the host.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import traceback
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._common.files import UserTree

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

# Without python3-cryptography (a first check-mode run: the role installs it in
# the same run) only check mode works, judging paths, owners and modes.
NOT_JUDGED = "present (not judged: python3-cryptography is not installed yet)"

KEY, CERT, CA = "key.pem", "cert.pem", "ca.pem"
MODES = {KEY: 0o400, CERT: 0o444, CA: 0o444}
DIR_MODE = 0o700
CURVES = ("secp256r1", "secp384r1", "secp521r1")


class ClientTLSError(DockguardError):
    """Input or material that cannot be used; the message names it and the fix."""


@dataclasses.dataclass(frozen=True)
class KeySpec:
    type: str  # ECC or RSA
    curve: str = "secp384r1"
    size: int = 4096

    def describe(self) -> str:
        return f"ECC {self.curve}" if self.type == "ECC" else f"RSA {self.size}"


def _curve(name: str) -> t.Any:
    curves: dict[str, t.Any] = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1, "secp521r1": ec.SECP521R1}
    return curves[name]()


def generate_key(spec: KeySpec) -> t.Any:
    if spec.type == "ECC":
        return ec.generate_private_key(_curve(spec.curve))
    return rsa.generate_private_key(public_exponent=65537, key_size=spec.size)


def key_pem(key: t.Any) -> bytes:
    return t.cast(
        "bytes",
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def describe_key(key: t.Any) -> str:
    """Type and public fingerprint of a key: what a result or diff may show of it."""
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(spki).hexdigest()[:16]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"ECC {key.curve.name}, public key sha256 {digest}"
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}, public key sha256 {digest}"
    return f"{type(key).__name__}, public key sha256 {digest}"


def load_key(data: bytes, spec: KeySpec) -> tuple[t.Any | None, str | None]:
    """(key, None) when the file holds a usable key of the wanted type; (None, why not) otherwise."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        return None, "the key is encrypted (the docker CLI cannot read it)"
    except Exception:  # pylint: disable=broad-exception-caught  # ValueError, UnsupportedAlgorithm and friends
        return None, "the file is not a PEM private key"
    if spec.type == "ECC":
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return None, f"the key is not {spec.describe()}"
        if key.curve.name != spec.curve:
            return None, f"the key's curve is {key.curve.name}, not {spec.curve}"
    else:
        if not isinstance(key, rsa.RSAPrivateKey):
            return None, f"the key is not {spec.describe()}"
        if key.key_size != spec.size:
            return None, f"the key has {key.key_size} bits, not {spec.size}"
    return key, None


def make_csr(key: t.Any, common_name: str) -> str:
    """A clientAuth signing request for the key, as the role's openssl_csr_pipe made them."""
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _certificates(pem: bytes, what: str) -> list[x509.Certificate]:
    marker = b"-----BEGIN CERTIFICATE-----"
    if marker not in pem:
        raise ClientTLSError(f"{what}: no PEM certificate in it")
    certs = []
    for chunk in pem.split(marker)[1:]:
        try:
            certs.append(x509.load_pem_x509_certificate(marker + chunk))
        except ValueError as exc:
            raise ClientTLSError(f"{what}: a certificate cannot be parsed ({exc})") from None
    return certs


def describe_certs(pem: bytes | None) -> str:
    if pem is None:
        return "absent"
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        return NOT_JUDGED
    try:
        certs = _certificates(pem, "")
    except ClientTLSError:
        return "not a PEM certificate"
    return "; ".join(
        f"{c.subject.rfc4514_string()} serial {c.serial_number:x} issued by {c.issuer.rfc4514_string()}" for c in certs
    )


def _same_public_key(cert: x509.Certificate, key: t.Any) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bool(cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt))


class ClientMaterial:
    """Desired vs current of one user's directory and three files, then the writes (never in check mode)."""

    def __init__(
        self,
        tree: UserTree,
        directory: str,
        spec: KeySpec,
        common_name: str,
        *,
        certificate: str | None = None,
        ca_bundle: str | None = None,
        check_mode: bool = False,
    ) -> None:
        self.tree = tree
        self.dir = directory.rstrip("/")
        self.spec = spec
        self.common_name = common_name
        self.certificate = certificate
        self.ca_bundle = ca_bundle
        self.check_mode = check_mode
        self.changes: list[str] = []

    def rel(self, name: str) -> str:
        return f"{self.dir}/{name}"

    def shown(self, name: str = "") -> str:
        return self.tree.path(self.rel(name) if name else self.dir)

    # -- current ---------------------------------------------------------------------

    def current(self) -> tuple[os.stat_result | None, dict[str, os.stat_result | None], dict[str, bytes | None]]:
        """The directory and every file, judged before anything is written (links, hard links, owners)."""
        with self.tree.directory(self.dir) as dfd:
            dir_st = os.fstat(dfd) if dfd is not None else None
        stats = {name: self.tree.stat(self.rel(name)) for name in (KEY, CERT, CA)}
        data = {name: self.tree.read(self.rel(name)) if stats[name] is not None else None for name in (KEY, CERT, CA)}
        return dir_st, stats, data

    def attrs_ok(self, st: os.stat_result | None, mode: int) -> bool:
        return st is not None and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (
            self.tree.uid,
            self.tree.gid,
            mode,
        )

    # -- the run ---------------------------------------------------------------------

    def run(self) -> dict[str, t.Any]:
        if not self.dir or os.path.isabs(self.dir) or ".." in self.dir.split("/"):
            raise ClientTLSError(f"directory={self.dir!r} must be a path relative to the home, such as .docker")
        dir_st, stats, data = self.current()
        key_data = data[KEY]
        if key_data is None:
            key, key_reason = None, "there is no key"
        elif CRYPTOGRAPHY_IMPORT_ERROR is not None:
            key, key_reason = None, None
        else:
            key, key_reason = load_key(key_data, self.spec)
        new_key = None
        if key is None and not self.check_mode:
            new_key = generate_key(self.spec)
            key = new_key
        wanted_cert = self.certificate.encode("utf-8") if self.certificate is not None else None
        wanted_ca = self.ca_bundle.encode("utf-8") if self.ca_bundle is not None else None
        if wanted_cert is not None and CRYPTOGRAPHY_IMPORT_ERROR is None:
            cert = _certificates(wanted_cert, "certificate")[0]
            if key is not None and not _same_public_key(cert, key):
                raise ClientTLSError(
                    f"certificate ({cert.subject.rfc4514_string()}) was not issued for the key in {self.shown(KEY)}; "
                    "nothing was written: give the certificate signed from this run's csr"
                )
        if wanted_ca is not None and CRYPTOGRAPHY_IMPORT_ERROR is None:
            _certificates(wanted_ca, "ca_bundle")

        before = self.summary(dir_st, data, stats)
        self.ensure_directory(dir_st)
        if new_key is not None or (self.check_mode and key_reason):
            self.note(f"generated {self.shown(KEY)} ({self.spec.describe()}, 0400): {key_reason}")
            if new_key is not None:
                self.tree.write(self.rel(KEY), key_pem(new_key), MODES[KEY])
        else:
            self.ensure_file(KEY, t.cast(bytes, data[KEY]), stats[KEY], data[KEY])
        final_cert = wanted_cert if wanted_cert is not None else data[CERT]
        if final_cert is not None:
            self.ensure_file(CERT, final_cert, stats[CERT], data[CERT])
        if (wanted_ca if wanted_ca is not None else data[CA]) is not None:
            self.ensure_file(CA, t.cast(bytes, wanted_ca if wanted_ca is not None else data[CA]), stats[CA], data[CA])

        result: dict[str, t.Any] = {
            "changed": bool(self.changes),
            "path": self.shown(),
            "uid": self.tree.uid,
            "gid": self.tree.gid,
            "changes": self.changes,
            "key_generated": bool(key_reason),
            "key_reason": key_reason,
            "csr": make_csr(key, self.common_name) if key is not None else None,
            "certificate": final_cert.decode("utf-8") if final_cert is not None and _is_cert(final_cert) else None,
        }
        after = {
            "directory": f"{DIR_MODE:04o}",
            KEY: f"{describe_key(key)}, 0400"
            if key is not None
            else (f"a new {self.spec.describe()} key, 0400" if key_reason else NOT_JUDGED),
            CERT: describe_certs(final_cert) + (", 0444" if final_cert is not None else ""),
            CA: describe_certs(wanted_ca if wanted_ca is not None else data[CA])
            + (", 0444" if (wanted_ca or data[CA]) is not None else ""),
        }
        result["diff"] = {"before": before, "after": after}
        return result

    def note(self, change: str) -> None:
        self.changes.append(change)

    def summary(
        self, dir_st: os.stat_result | None, data: dict[str, bytes | None], stats: dict[str, os.stat_result | None]
    ) -> dict[str, str]:
        def attrs(name: str) -> str:
            st = stats[name]
            return "" if st is None else f", {stat.S_IMODE(st.st_mode):04o}"

        key_text = "absent"
        key_data = data[KEY]
        if key_data is not None and CRYPTOGRAPHY_IMPORT_ERROR is not None:
            key_text = NOT_JUDGED + attrs(KEY)
        elif key_data is not None:
            key, why = load_key(key_data, self.spec)
            key_text = (describe_key(key) if key is not None else t.cast(str, why)) + attrs(KEY)
        return {
            "directory": "absent" if dir_st is None else f"{stat.S_IMODE(dir_st.st_mode):04o}",
            KEY: key_text,
            CERT: describe_certs(data[CERT]) + attrs(CERT),
            CA: describe_certs(data[CA]) + attrs(CA),
        }

    def ensure_directory(self, dir_st: os.stat_result | None) -> None:
        if dir_st is None:
            self.note(f"created {self.shown()} ({DIR_MODE:04o})")
            if not self.check_mode:
                with self.tree.directory(self.dir, create=True, mode=DIR_MODE):
                    pass
            return
        # an existing directory is only ever chmod-ed through the fd of the walk, and only when it is the user's
        if dir_st.st_uid == self.tree.uid and stat.S_IMODE(dir_st.st_mode) != DIR_MODE:
            self.note(f"mode of {self.shown()} {stat.S_IMODE(dir_st.st_mode):04o} -> {DIR_MODE:04o}")
            if not self.check_mode:
                with self.tree.directory(self.dir) as dfd:
                    if dfd is not None:
                        os.fchmod(dfd, DIR_MODE)

    def ensure_file(self, name: str, wanted: bytes, st: os.stat_result | None, current: bytes | None) -> None:
        """Write the file when its content differs, or rewrite it when its owner or mode does (never chown it)."""
        if current == wanted and self.attrs_ok(st, MODES[name]):
            return
        if current is None:
            self.note(f"wrote {self.shown(name)} ({MODES[name]:04o})")
        elif current != wanted:
            self.note(f"replaced {self.shown(name)} ({MODES[name]:04o})")
        else:
            st = t.cast(os.stat_result, st)
            self.note(
                f"rewrote {self.shown(name)} as {self.tree.name} {MODES[name]:04o} "
                f"(was uid {st.st_uid}, gid {st.st_gid}, {stat.S_IMODE(st.st_mode):04o})"
            )
        if not self.check_mode:
            self.tree.write(self.rel(name), wanted, MODES[name])


def _is_cert(pem: bytes) -> bool:
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        return b"-----BEGIN CERTIFICATE-----" in pem
    try:
        _certificates(pem, "")
    except ClientTLSError:
        return False
    return True
