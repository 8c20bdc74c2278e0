# SPDX-License-Identifier: GPL-3.0-or-later
"""Mutual TLS between two real Docker hosts, read and probed from the hosts and the controller.

dg-tls-a (Debian 12, Engine 20.10) and dg-tls-b (Debian 13, Engine 26.1) are
each the server of the other's client. Refusals are asserted by the TLS alert
or socket error they produce, never by a bare non-zero exit. The tests at the
end of the file rotate the CA and then move dg-tls-b to SSH; they must run
last (pytest keeps file order).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import pathlib
import re
import shlex
import socket
import ssl
import subprocess
import typing as t

import pytest
import testinfra
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).parents[1]))
CA_DIR = EPHEMERAL / "ca"
CLIENTS = EPHEMERAL / "clients"
PASSPHRASE = b"molecule-only-ca-passphrase"
PEER = {"dg-tls-a": "dg-tls-b", "dg-tls-b": "dg-tls-a"}
TLS = "/etc/docker/tls"
NOW = datetime.datetime.now(datetime.UTC)

# The probe runs on a client host with its own python3 (stdlib only): one
# HTTPS request to the Engine API, reporting the TLS alert or socket error.
PROBE = r"""
import json, socket, ssl, sys
host, port, ca, cert, key = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca) if ca != "-" else None
if ctx and cert != "-":
    ctx.load_cert_chain(cert, key)
data = b""


def report(**result):
    print(json.dumps(result))
    sys.exit(0)


def refusal(e):
    read = data.decode(errors="replace")  # what came before the error (an answer followed by a reset)
    if isinstance(e, ssl.SSLError):
        return {"ok": False, "error": "ssl", "reason": e.reason, "msg": str(e), "data": read}
    return {"ok": False, "error": type(e).__name__, "errno": e.errno, "msg": str(e), "data": read}


try:
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        s = ctx.wrap_socket(raw, server_hostname=host) if ctx else raw
        if ctx:
            # TLS 1.3: the server judges the client certificate after the client's side of the handshake is done,
            # and answers a refusal with an alert and a close. Give the alert time to arrive before sending.
            s.settimeout(2.0)
            try:
                data += s.recv(1)
            except TimeoutError:
                pass
            s.settimeout(10)
        try:
            s.sendall(b"GET /version HTTP/1.0\r\nHost: docker\r\n\r\n")
        except OSError as write_error:
            # The server refused and closed before the request went out, so the write met its reset. The alert it
            # sent first is still queued ahead of the reset: read it, and report the write error only without one.
            try:
                s.recv(65536)
            except ssl.SSLError as e:
                report(**refusal(e), write_error=str(write_error))
            except OSError:
                pass
            report(**refusal(write_error))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        report(ok=True, data=data.decode(errors="replace"))
except OSError as e:  # ssl.SSLError included
    report(**refusal(e))
"""

# How the docker CLI shows that the server refused its client certificate. The
# alert itself ("remote error: tls: bad certificate"); or, since TLS 1.3 ends
# the client's side of the handshake before the server judges the certificate,
# the server's close or reset overtaking the alert while the CLI writes or reads
# its request. Never the CLI refusing the server ("x509: ..."), which would say
# nothing about the server.
CLI_REFUSED = re.compile(
    r"remote error: tls: (bad certificate|unknown certificate authority|certificate required|expired certificate)"
    r"|connection reset by peer|broken pipe|: EOF\b"
)


def cli_refused(out: t.Any) -> str:
    """The docker CLI was refused by the server; the line of stderr that shows it."""
    assert out.rc != 0, f"the docker CLI got in: {out.stdout}"
    assert "x509:" not in out.stderr, f"the CLI refused the server, not the server the CLI: {out.stderr}"
    match = CLI_REFUSED.search(out.stderr)
    assert match, f"not a refusal by the server: {out.stderr}"
    return match.group(0)


def get(name: str) -> t.Any:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)


def name_of(host: t.Any) -> str:
    return t.cast("str", host.backend.get_hostname())


def ip_of(host: t.Any) -> str:
    """The host's address on the test network (hostname -I would also list its own docker0)."""
    return t.cast("str", host.check_output("hostname -i").split()[0])


def probe(client: t.Any, server: str, port: int, ca: str = "-", cert: str = "-", key: str = "-") -> dict[str, t.Any]:
    cmd = host_cmd(["python3", "-c", PROBE, server, str(port), ca, cert, key])
    out = client.run(cmd)
    assert out.rc == 0, out.stderr
    return t.cast("dict[str, t.Any]", json.loads(out.stdout))


def host_cmd(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


def ca_material(ca_id: str = "1") -> tuple[x509.Certificate, t.Any]:
    cert = x509.load_pem_x509_certificate((CA_DIR / f"ca-{ca_id}.pem").read_bytes())
    key = serialization.load_pem_private_key((CA_DIR / f"ca-{ca_id}-key.pem").read_bytes(), password=PASSPHRASE)
    return cert, key


def client_cert(
    issuer: tuple[x509.Certificate, t.Any], *, start: datetime.datetime, end: datetime.datetime
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe")]))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(issuer[1], hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def self_signed_ca(name: str) -> tuple[x509.Certificate, t.Any]:
    key = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def put(host: t.Any, path: str, data: bytes, mode: str = "0400") -> None:
    encoded = base64.b64encode(data).decode()
    quoted = shlex.quote(path)
    out = host.run(
        f"install -d -m 0700 {shlex.quote(os.path.dirname(path))} && echo {encoded} | base64 -d > {quoted} "
        f"&& chmod {mode} {quoted}"
    )
    assert out.rc == 0, out.stderr
    assert host.file(path).content == data


def refused_handshake(result: dict[str, t.Any]) -> str:
    """The TLS alert that refused the client; fails the test on success or on any other error."""
    assert result["ok"] is False, f"the daemon answered: {result}"
    assert result["error"] == "ssl", f"not a TLS refusal: {result}"
    assert result["reason"], f"a TLS error without an alert: {result}"
    return t.cast("str", result["reason"])


def playbook(
    name: str, *extra: str, succeed: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = ["ansible-playbook", "-i", INVENTORY, str(SCENARIO / name), *extra]
    full_env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", **(env or {})}
    out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900, env=full_env)
    assert (out.returncode == 0) is succeed, out.stdout[-4000:] + out.stderr[-2000:]
    return out


def recap_changed(output: str) -> dict[str, int]:
    changed = {}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines():
        parts = line.split()
        if parts and parts[0] in PEER and "changed=" in line:
            changed[parts[0]] = int(line.split("changed=")[1].split()[0])
    return changed


# -- the material and the daemon's configuration --------------------------------------


@pytest.mark.parametrize(
    ("path", "mode"), [(f"{TLS}/ca.pem", 0o444), (f"{TLS}/server-cert.pem", 0o444), (f"{TLS}/server-key.pem", 0o400)]
)
def test_material_owners_and_modes(host: t.Any, path: str, mode: int) -> None:
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == ("root", "root", mode)


def test_daemon_json_and_listening_sockets(host: t.Any) -> None:
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config == {
        "hosts": ["fd://", "tcp://0.0.0.0:2376"],
        "tls": True,
        "tlsverify": True,
        "tlscacert": f"{TLS}/ca.pem",
        "tlscert": f"{TLS}/server-cert.pem",
        "tlskey": f"{TLS}/server-key.pem",
    }
    dropin = host.file("/etc/systemd/system/docker.service.d/99-dockguard-daemon-config.conf")
    assert "-H fd://" not in dropin.content_string.split("ExecStart=", 2)[-1]
    listening = host.check_output("ss -Htln")
    assert ":2376 " in listening
    assert ":2375 " not in listening
    assert host.socket("unix:///run/docker.sock").is_listening


def test_daemon_tls_module_passes_on_the_host(host: t.Any) -> None:
    args = {"names": [name_of(host), ip_of(host), "localhost", "127.0.0.1"], "enforce": True}
    result = host.backend.run_ansible("dockguard.hardening.daemon_tls", json.dumps(args), check=False)
    assert result.get("ok") is True, result
    assert {f["cis"] for f in result["findings"]} >= {"2.7", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"}
    assert result["certificate"]["issuer"] == "CN=dockguard Docker CA 1"
    assert "clientAuth" not in json.dumps(result["certificate"])  # a server certificate only
    assert result["certificate"]["extended_key_usage"] == ["1.3.6.1.5.5.7.3.1"]


TLS_CONTROLS = ["2.7", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"]


def test_cis_audit_passes_the_tls_controls(host: t.Any) -> None:
    """CIS 2.7 and 3.9-3.14, judged by the collection's own audit on the TLS-enabled daemon."""
    result = host.backend.run_ansible(
        "dockguard.hardening.cis_audit", json.dumps({"controls": TLS_CONTROLS}), check=False
    )
    assert "audit" in result, result
    verdicts = {r["id"]: (r["status"], r["evidence"]) for r in result["audit"]["results"]}
    assert sorted(verdicts) == sorted(TLS_CONTROLS)
    assert {i: v for i, v in verdicts.items() if v[0] != "pass"} == {}
    assert any("tcp://" in e for e in verdicts["2.7"][1])
    assert "root:root 0400" in verdicts["3.14"][1][0]  # the server key


def test_server_key_was_made_on_the_host_and_matches(host: t.Any) -> None:
    """The controller has no copy of any server key: it only ever saw CSRs and certificates."""
    keys = [p for p in EPHEMERAL.rglob("*") if p.is_file() and b"PRIVATE KEY-----" in p.read_bytes()]
    # the CA's and the remote admin's, nothing else
    assert sorted(str(p.relative_to(EPHEMERAL)) for p in keys) == ["ca/ca-1-key.pem", "clients/admin/key.pem"]


# -- a client on one host reaches the daemon on the other -------------------------------------


def test_local_user_reaches_the_peer_with_its_client_certificate(host: t.Any) -> None:
    peer = PEER[name_of(host)]
    home = host.user("dgadmin").home
    for path, mode in (("key.pem", 0o400), ("cert.pem", 0o444), ("ca.pem", 0o444)):
        f = host.file(f"{home}/.docker/{path}")
        assert (f.user, f.mode) == ("dgadmin", mode)
    out = host.run(f"runuser -u dgadmin -- docker --tlsverify -H tcp://{peer}:2376 info --format '{{{{.Name}}}}'")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == peer
    version = host.run(
        f"runuser -u dgadmin -- docker --tlsverify -H tcp://{peer}:2376 version --format '{{{{.Server.Version}}}}'"
    )
    assert version.stdout.strip() == get(peer).check_output("docker version --format '{{.Server.Version}}'")


def test_remote_admin_from_the_controller(host: t.Any) -> None:
    admin = CLIENTS / "admin"
    assert oct((admin / "key.pem").stat().st_mode & 0o777) == "0o400"
    ctx = ssl.create_default_context(cafile=str(admin / "ca.pem"))
    ctx.load_cert_chain(str(admin / "cert.pem"), str(admin / "key.pem"))
    address = ip_of(host)  # the controller reaches the host by address: the certificate must carry it
    with (
        socket.create_connection((address, 2376), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=address) as s,
    ):
        cert = s.getpeercert()
        assert cert is not None
        assert ("IP Address", address) in cert["subjectAltName"]
        s.sendall(b"GET /info HTTP/1.0\r\nHost: docker\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.0 200 OK"), data[:200]
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["Name"] == name_of(host)


# -- refusals, by what refuses them --------------------------------------------------------


def test_refused_without_a_client_certificate(host: t.Any) -> None:
    peer = PEER[name_of(host)]
    reason = refused_handshake(probe(host, peer, 2376, ca=f"{TLS}/ca.pem"))
    # TLS 1.3 servers say "certificate required"; older Go says "bad certificate"
    assert reason in {"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_BAD_CERTIFICATE"}, reason


def test_refused_with_a_certificate_from_another_ca(host: t.Any) -> None:
    peer = PEER[name_of(host)]
    cert, key = client_cert(
        self_signed_ca("dockguard Docker CA 1"),
        start=NOW - datetime.timedelta(days=1),
        end=NOW + datetime.timedelta(days=10),
    )
    put(host, "/root/probe/foreign-cert.pem", cert, "0444")
    put(host, "/root/probe/foreign-key.pem", key)
    reason = refused_handshake(
        probe(host, peer, 2376, f"{TLS}/ca.pem", "/root/probe/foreign-cert.pem", "/root/probe/foreign-key.pem")
    )
    assert reason in {"SSLV3_ALERT_BAD_CERTIFICATE", "TLSV1_ALERT_UNKNOWN_CA"}, reason
    # and the docker CLI is refused too, whichever of the alert or the reset reaches it first
    out = host.run(
        f"docker --tlsverify --tlscacert {TLS}/ca.pem --tlscert /root/probe/foreign-cert.pem "
        f"--tlskey /root/probe/foreign-key.pem -H tcp://{peer}:2376 version"
    )
    cli_refused(out)


def test_refused_with_an_expired_certificate_from_our_ca(host: t.Any) -> None:
    peer = PEER[name_of(host)]
    cert, key = client_cert(
        ca_material(), start=NOW - datetime.timedelta(days=10), end=NOW - datetime.timedelta(days=1)
    )
    put(host, "/root/probe/expired-cert.pem", cert, "0444")
    put(host, "/root/probe/expired-key.pem", key)
    reason = refused_handshake(
        probe(host, peer, 2376, f"{TLS}/ca.pem", "/root/probe/expired-cert.pem", "/root/probe/expired-key.pem")
    )
    assert reason in {"SSLV3_ALERT_BAD_CERTIFICATE", "SSLV3_ALERT_CERTIFICATE_EXPIRED"}, reason
    # a valid certificate of the same CA, made the same way, is accepted: the date alone refused it
    good, good_key = client_cert(
        ca_material(), start=NOW - datetime.timedelta(days=1), end=NOW + datetime.timedelta(days=1)
    )
    put(host, "/root/probe/valid-cert.pem", good, "0444")
    put(host, "/root/probe/valid-key.pem", good_key)
    accepted = probe(host, peer, 2376, f"{TLS}/ca.pem", "/root/probe/valid-cert.pem", "/root/probe/valid-key.pem")
    assert accepted["ok"] and accepted["data"].startswith("HTTP/1.0 200 OK"), accepted


def test_plain_tcp_is_closed(host: t.Any) -> None:
    peer = PEER[name_of(host)]
    closed = probe(host, peer, 2375)
    assert (closed["ok"], closed["error"]) == (False, "ConnectionRefusedError"), closed
    # plain HTTP on the TLS port is answered with a refusal, never with the API (the answer counts even when a
    # reset follows it: the probe keeps what it read before an error)
    plain = probe(host, peer, 2376)
    assert plain["data"].startswith("HTTP/1.0 400 Bad Request"), plain
    assert "Client sent an HTTP request to an HTTPS server." in plain["data"]


# -- the CA stays off the Docker hosts -------------------------------------------------------


def test_ca_key_is_absent_from_the_host(host: t.Any) -> None:
    ca_public = (
        ca_material()[1]
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert host.run("find / -xdev -name 'ca-*-key.pem' -print -quit").stdout == ""
    found = host.run(
        "grep -rlsE -- '-----BEGIN (ENCRYPTED |EC |RSA )?PRIVATE KEY-----' "
        "/etc /root /home /tmp /var/tmp /opt /srv /usr/local /var/backups"
    ).stdout.split()
    assert f"{TLS}/server-key.pem" in found  # the search does find keys
    for path in found:
        data = host.file(path).content
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            key = serialization.load_pem_private_key(data, password=PASSPHRASE)
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert public != ca_public, f"the CA key is on {name_of(host)} at {path}"


def test_ca_key_on_the_controller_is_encrypted_and_private(host: t.Any) -> None:
    path = CA_DIR / "ca-1-key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert CA_DIR.stat().st_mode & 0o777 == 0o700
    with pytest.raises(TypeError, match="encrypted"):
        serialization.load_pem_private_key(path.read_bytes(), password=None)


# -- renewal, check mode, idempotence --------------------------------------------------------


def test_nearly_expired_certificate_was_renewed(host: t.Any) -> None:
    if name_of(host) != "dg-tls-a":
        pytest.skip("prepare.yml planted the nearly-expired certificate on dg-tls-a")
    before = int(host.file("/root/prepare-server-serial").content_string.strip())
    cert = x509.load_pem_x509_certificate(host.file(f"{TLS}/server-cert.pem").content)
    assert cert.serial_number != before
    assert (cert.not_valid_after_utc - NOW).days >= 360
    # and the daemon serves the renewed certificate
    served = ssl.get_server_certificate((ip_of(host), 2376))
    assert x509.load_pem_x509_certificate(served.encode()).serial_number == cert.serial_number


def changed_tasks(records: list[dict[str, t.Any]], run: str, host: str) -> set[str]:
    """Changed task names without the role prefix."""
    return {r["task"].split(" : ", 1)[-1] for r in records if r["run"] == run and r["host"] == host and r["changed"]}


def test_check_mode_predicted_and_idempotence_held(host: t.Any) -> None:
    with open(os.environ["DOCKGUARD_CHANGES_LOG"], encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    runs: list[tuple[str, bool]] = []
    for r in records:
        if r["playbook"] == "converge.yml" and r["run"] not in [x[0] for x in runs]:
            runs.append((r["run"], r["check"]))
    assert [check for _run, check in runs][:3] == [True, False, False], runs
    name = name_of(host)
    predicted = changed_tasks(records, runs[0][0], name)
    done = changed_tasks(records, runs[1][0], name)
    assert predicted, "check mode predicted nothing"
    assert predicted <= done, predicted - done
    restart = "Restart docker safely for new TLS material"
    # names of tasks in included files are templated once, for the first host:
    # compare them by their fixed part
    signed = "Signed where the CA lives, certificate for "
    assert any(n.startswith(signed) for n in done), done
    if name == "dg-tls-a":  # renewal of an installed certificate: predicted in full
        assert restart in predicted, predicted
        assert any(n.startswith(signed) for n in predicted), predicted
    else:  # a first install: the key and the daemon configuration
        assert {
            "Directory of the daemon's TLS material",
            "The daemon takes TLS from daemon.json and listens on the UNIX socket and TCP with tlsverify (CIS 2.7)",
        } <= predicted
    assert changed_tasks(records, runs[2][0], name) == set()
