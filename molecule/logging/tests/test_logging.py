# SPDX-License-Identifier: GPL-3.0-or-later
"""Central logging that loses nothing (CIS 2.13), proven between two real hosts.

dg-logging-sender (Debian 13, Engine 26.1) runs containers with the journald
log driver and forwards the journal with rsyslog over mutual TLS to
dg-logging-collector (Debian 12), which writes a file per sending host. Every
line a test prints carries a marker made for that test run, and is looked for
in the collector's files, counted exactly.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import pathlib
import re
import shlex
import subprocess
import time
import typing as t
import uuid

import pytest
import testinfra
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = pathlib.Path(os.environ.get("MOLECULE_SCENARIO_DIRECTORY", pathlib.Path(__file__).parents[1]))
SENDER = "dg-logging-sender"
COLLECTOR = "dg-logging-collector"
REMOTE = "/var/log/remote"
FORWARD_CONF = "/etc/rsyslog.d/60-dockguard-forward.conf"
# measurements kept past the scenario's destroy: this checkout's state directory (scripts/bootstrap.sh)
TIMINGS = pathlib.Path(os.environ.get("DG_WORK") or EPHEMERAL) / "logging-timings.json"

# A TLS client with a given certificate (or none) that sends one syslog line
# and reports how the collector answered. Runs on the sender (stdlib only).
PROBE = r"""
import json, socket, ssl, sys
host, port, ca, cert, key, line = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
if cert != "-":
    ctx.load_cert_chain(cert, key)
try:
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.settimeout(3)
            s.sendall(line.encode() + b"\n")
            try:
                s.recv(1)  # the collector never answers a sender: only a refusal ends this early
                print(json.dumps({"ok": True, "closed": True}))
            except TimeoutError:
                print(json.dumps({"ok": True, "closed": False}))
except OSError as e:
    print(json.dumps({"ok": False, "error": type(e).__name__, "msg": str(e)}))
"""


def get(name: str) -> t.Any:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=INVENTORY)


def record(name: str, value: float | int) -> None:
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data[name] = value
    TIMINGS.write_text(json.dumps(data, indent=1, sort_keys=True))
    print(f"{name}: {value}")


def collected(marker: str) -> list[str]:
    """Every line of the collector's files that carries the marker."""
    out = get(COLLECTOR).run(f"grep -rhF -- {shlex.quote(marker)} {REMOTE}")
    assert out.rc in (0, 1), out.stderr
    return out.stdout.splitlines()


def wait_for(marker: str, count: int, timeout: float) -> tuple[list[str], float]:
    start = time.monotonic()
    while True:
        lines = collected(marker)
        if len(lines) >= count or time.monotonic() - start > timeout:
            return lines, time.monotonic() - start
        time.sleep(1)


def container_prints(name: str, script: str) -> str:
    sender = get(SENDER)
    out = sender.run(f"docker run --rm --name {name} logprobe:1 sh -c {shlex.quote(script)}")
    assert out.rc == 0, out.stderr
    return t.cast("str", out.stdout)


# -- the configuration the roles left --------------------------------------------------------------


def test_containers_log_to_the_journal_tagged_with_their_name() -> None:
    sender = get(SENDER)
    config = json.loads(sender.file("/etc/docker/daemon.json").content_string)
    assert config["log-driver"] == "journald"
    assert config["log-opts"] == {"tag": "{{.Name}}"}
    assert sender.check_output("docker info --format '{{.LoggingDriver}}'") == "journald"


@pytest.mark.parametrize(
    ("name", "directory"), [(SENDER, "/etc/dockguard/logging-tls"), (COLLECTOR, "/etc/dockguard/log-collector-tls")]
)
def test_keys_are_root_only_and_made_on_the_hosts(name: str, directory: str) -> None:
    h = get(name)
    for path, mode in (("key.pem", 0o400), ("cert.pem", 0o444), ("ca.pem", 0o444)):
        f = h.file(f"{directory}/{path}")
        assert (f.user, f.group, f.mode) == ("root", "root", mode), path
    # the controller only ever saw CSRs and certificates: the CA's key is the one private key there
    keys = [p for p in EPHEMERAL.rglob("*.pem") if b"PRIVATE KEY-----" in p.read_bytes()]
    assert [str(p.relative_to(EPHEMERAL)) for p in keys] == ["logging-ca/ca-1-key.pem"]


def test_the_collector_listens_with_tls_only_on_its_port() -> None:
    collector = get(COLLECTOR)
    assert ":6514 " in collector.check_output("ss -Htln")
    conf = collector.file("/etc/rsyslog.d/50-dockguard-collector.conf").content_string
    assert 'streamDriver.mode="1"' in conf
    assert 'streamDriver.authMode="x509/certvalid"' in conf


# -- lines arrive, with the container's name, and none is lost ------------------------------------


def test_a_container_line_arrives_with_the_containers_name() -> None:
    marker = f"dg-line-{uuid.uuid4().hex[:12]}"
    name = f"dg-probe-{uuid.uuid4().hex[:6]}"
    start = time.monotonic()
    assert container_prints(name, f"echo {marker}").strip() == marker
    lines, waited = wait_for(marker, 1, 60)
    record("one_line_arrival_s", round(time.monotonic() - start, 2))
    assert len(lines) == 1, lines
    # rsyslog's file format: time, the sending host, the tag (the container's name), the message
    assert re.match(rf"^\S+ {SENDER} {name}\[\d+\] {marker}$", lines[0]), lines[0]
    assert waited < 60


def test_docker_logs_still_works_with_the_journal() -> None:
    sender = get(SENDER)
    name = f"dg-kept-{uuid.uuid4().hex[:6]}"
    marker = f"dg-kept-{uuid.uuid4().hex[:12]}"
    out = sender.run(f"docker run -d --name {name} logprobe:1 sh -c {shlex.quote(f'echo {marker}; sleep 30')}")
    assert out.rc == 0, out.stderr
    try:
        deadline = time.monotonic() + 20
        logs = ""
        while marker not in logs and time.monotonic() < deadline:
            logs = sender.run(f"docker logs {name}").stdout
            time.sleep(0.5)
        assert logs.strip() == marker
        assert sender.check_output(f"docker inspect -f '{{{{.HostConfig.LogConfig.Type}}}}' {name}") == "journald"
    finally:
        sender.run(f"docker rm -f {name}")


LINES = 200


def test_lines_printed_while_the_collector_is_down_all_arrive_once() -> None:
    collector, sender = get(COLLECTOR), get(SENDER)
    marker = f"dg-outage-{uuid.uuid4().hex[:12]}"
    name = f"dg-outage-{uuid.uuid4().hex[:6]}"
    # the socket too: a local logger would otherwise start rsyslog again
    stop = collector.run("systemctl stop syslog.socket rsyslog.service && systemctl is-active rsyslog.service")
    assert stop.stdout.strip() == "inactive", stop.stdout + stop.stderr
    try:
        printed = container_prints(name, f"for i in $(seq 1 {LINES}); do echo {marker} $i; done")
        assert len(printed.splitlines()) == LINES
        # the sender has them, the collector cannot: the queue holds them
        kept = sender.run(f"docker logs {name} 2>&1 || journalctl CONTAINER_NAME={name} -o cat --no-pager")
        assert kept.rc == 0
        time.sleep(5)
        assert collected(marker) == []
        suspended = sender.run("journalctl -u rsyslog --since '-2min' --no-pager")
        assert "suspended" in suspended.stdout or "cannot connect" in suspended.stdout, suspended.stdout[-2000:]
    finally:
        start = collector.run("systemctl start rsyslog.service syslog.socket")
    assert start.rc == 0, start.stderr
    lines, waited = wait_for(marker, LINES, 120)
    record("outage_lines", LINES)
    record("outage_delivery_after_return_s", round(waited, 2))
    numbers = [int(line.rsplit(" ", 1)[1]) for line in lines]
    assert sorted(numbers) == list(range(1, LINES + 1)), f"missing {set(range(1, LINES + 1)) - set(numbers)}"
    assert all(f" {name}[" in line for line in lines)


# -- a sender without a certificate of the CA is refused ----------------------------------------------


def foreign_material() -> tuple[bytes, bytes]:
    """A certificate for the sender's own name, from a CA the collector does not trust."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dg foreign CA")])
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SENDER)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SENDER)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def put(h: t.Any, path: str, data: bytes) -> None:
    encoded = base64.b64encode(data).decode()
    out = h.run(f"install -d -m 0700 /root/foreign && echo {encoded} | base64 -d > {path} && chmod 0400 {path}")
    assert out.rc == 0, out.stderr


def probe(cert: str, key: str, line: str) -> dict[str, t.Any]:
    argv = ["python3", "-c", PROBE, COLLECTOR, "6514", "/etc/dockguard/logging-tls/ca.pem", cert, key, line]
    out = get(SENDER).run(" ".join(shlex.quote(a) for a in argv))
    assert out.rc == 0, out.stderr
    return t.cast("dict[str, t.Any]", json.loads(out.stdout))


def collector_log_since(mark: str) -> str:
    return t.cast(
        "str", get(COLLECTOR).check_output(f"journalctl -u rsyslog --since {shlex.quote(mark)} --no-pager -o cat")
    )


@pytest.mark.parametrize("kind", ["foreign", "none"])
def test_a_sender_without_a_certificate_of_the_ca_is_refused(kind: str) -> None:
    sender, collector = get(SENDER), get(COLLECTOR)
    cert, key = "-", "-"
    if kind == "foreign":
        pem, key_pem = foreign_material()
        cert, key = "/root/foreign/cert.pem", "/root/foreign/key.pem"
        put(sender, cert, pem)
        put(sender, key, key_pem)
    marker = f"dg-{kind}-{uuid.uuid4().hex[:12]}"
    since = collector.check_output("date '+%Y-%m-%d %H:%M:%S'")
    result = probe(cert, key, f"<13>1 2026-01-01T00:00:00Z {SENDER} intruder - - - {marker}")
    # the collector closes the connection (TLS 1.3: after the client's side of the handshake)
    assert result.get("closed", True) is True, result
    time.sleep(3)
    assert collected(marker) == []
    said = ""
    deadline = time.monotonic() + 15
    expected = "Issuer DN: CN=dg foreign CA" if kind == "foreign" else "peer did not provide a certificate"
    while expected not in said and time.monotonic() < deadline:
        said = collector_log_since(since) + collector.run(f"grep -F {shlex.quote(expected)} /var/log/syslog").stdout
        time.sleep(1)
    assert expected in said, said[-3000:]


# -- the audit ------------------------------------------------------------------------------------------


def test_cis_audit_passes_2_13_and_says_why() -> None:
    sender = get(SENDER)
    result = sender.backend.run_ansible(
        "dockguard.hardening.cis_audit", json.dumps({"controls": ["2.13"]}), check=False
    )
    assert "audit" in result, result
    (verdict,) = result["audit"]["results"]
    assert verdict["status"] == "pass", verdict
    evidence = " | ".join(verdict["evidence"])
    assert "log driver journald" in evidence
    assert (
        f"omfwd to {COLLECTOR}:6514 (tcp) in {FORWARD_CONF}: over TLS (gtls, mode 1, auth x509/name), "
        "disk-assisted queue" in evidence
    ), evidence


# -- bad input: a clear error, nothing changed ------------------------------------------------------------


def playbook(*extra: str) -> subprocess.CompletedProcess[str]:
    argv = ["ansible-playbook", "-i", INVENTORY, str(SCENARIO / "bad_input.yml"), *extra]
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, env=env)


STATE = f"md5sum /etc/docker/daemon.json {FORWARD_CONF} /etc/dockguard/logging-tls/*.pem"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"logging_collector_host": "no-such-collector.invalid"},
            "logging_collector_host 'no-such-collector.invalid' does not resolve on dg-logging-sender",
        ),
        ({"logging_ca_dir": "/nonexistent/logging-ca"}, "No logging CA on localhost: /nonexistent/logging-ca/ca-1.pem"),
    ],
)
def test_bad_input_is_refused_before_anything_changes(extra: dict[str, str], message: str) -> None:
    sender = get(SENDER)
    before = sender.check_output(STATE)
    out = playbook("-e", json.dumps(extra))
    assert out.returncode != 0
    # ansible-core 2.19 prints a task's failure on stderr
    text = re.sub(r"\s+", " ", out.stdout + out.stderr)
    assert message in text, out.stdout[-2000:] + out.stderr[-2000:]
    assert "Nothing was changed" in text
    assert re.search(r"dg-logging-sender\s*:.*changed=0", out.stdout), out.stdout[-800:]
    assert sender.check_output(STATE) == before
