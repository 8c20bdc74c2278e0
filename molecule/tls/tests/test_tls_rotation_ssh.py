# SPDX-License-Identifier: GPL-3.0-or-later
"""CA rotation with an overlap, then dg-tls-b moving from TLS to SSH.

These change both hosts, so they run after test_tls.py (pytest collects files
in name order) and run each once, not per host.
"""

from __future__ import annotations

import json
import time

from cryptography import x509
from test_tls import CLIENTS, PEER, TLS, get, playbook, probe, put, recap_changed, refused_handshake

# -- CA rotation with an overlap (runs last: it changes the CA) ------------------------------


def test_ca_rotation_with_overlap_then_without() -> None:
    hosts = {n: get(n) for n in PEER}
    old_cert = (CLIENTS / "admin" / "cert.pem").read_bytes()
    old_key = (CLIENTS / "admin" / "key.pem").read_bytes()
    for h in hosts.values():
        put(h, "/root/probe/old-cert.pem", old_cert, "0444")
        put(h, "/root/probe/old-key.pem", old_key)

    overlap = playbook("converge.yml", "-e", json.dumps({"tls_ca_id": "2", "tls_ca_trusted_ids": ["1"]}))
    assert all(n > 0 for n in recap_changed(overlap.stdout).values()), overlap.stdout[-2000:]
    assert set(recap_changed(overlap.stdout)) == set(PEER)
    for name, h in hosts.items():
        peer = PEER[name]
        bundle = x509.load_pem_x509_certificates(h.file(f"{TLS}/ca.pem").content)
        assert [c.subject.rfc4514_string() for c in bundle] == ["CN=dockguard Docker CA 2", "CN=dockguard Docker CA 1"]
        served = x509.load_pem_x509_certificate(h.file(f"{TLS}/server-cert.pem").content)
        assert served.issuer.rfc4514_string() == "CN=dockguard Docker CA 2"
        # a client of the old CA still gets in during the overlap, and so do the new ones
        old = probe(h, peer, 2376, f"{TLS}/ca.pem", "/root/probe/old-cert.pem", "/root/probe/old-key.pem")
        assert old["ok"] and old["data"].startswith("HTTP/1.0 200 OK"), old
        new = h.run(f"runuser -u dgadmin -- docker --tlsverify -H tcp://{peer}:2376 info --format '{{{{.Name}}}}'")
        assert new.stdout.strip() == peer, new.stderr

    after = playbook("converge.yml", "-e", json.dumps({"tls_ca_id": "2", "tls_ca_trusted_ids": []}))
    assert all(n > 0 for n in recap_changed(after.stdout).values()), after.stdout[-2000:]
    assert set(recap_changed(after.stdout)) == set(PEER)
    for name, h in hosts.items():
        peer = PEER[name]
        bundle = x509.load_pem_x509_certificates(h.file(f"{TLS}/ca.pem").content)
        assert [c.subject.rfc4514_string() for c in bundle] == ["CN=dockguard Docker CA 2"]
        reason = refused_handshake(
            probe(h, peer, 2376, f"{TLS}/ca.pem", "/root/probe/old-cert.pem", "/root/probe/old-key.pem")
        )
        assert reason in {"SSLV3_ALERT_BAD_CERTIFICATE", "TLSV1_ALERT_UNKNOWN_CA"}, (name, reason)
        new = h.run(f"runuser -u dgadmin -- docker --tlsverify -H tcp://{peer}:2376 info --format '{{{{.Name}}}}'")
        assert new.stdout.strip() == peer, new.stderr

    again = playbook("converge.yml", "-e", json.dumps({"tls_ca_id": "2", "tls_ca_trusted_ids": []}))
    assert recap_changed(again.stdout) == {"dg-tls-a": 0, "dg-tls-b": 0}


# -- SSH instead of TCP (runs last: dg-tls-b leaves TLS) -------------------------------------


def test_ssh_instead_of_tcp() -> None:
    host = get("dg-tls-a")  # the SSH client
    server = get("dg-tls-b")
    host.run("install -d -m 0700 /root/.ssh")
    host.run("test -f /root/.ssh/dg_remote || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/dg_remote")
    pub = host.file("/root/.ssh/dg_remote.pub").content_string.strip()
    first = playbook("ssh.yml", "-e", json.dumps({"dg_ssh_pubkey": pub}))
    assert recap_changed(first.stdout)["dg-tls-b"] > 0

    # TCP is closed: nothing answers on 2376 or 2375 any more
    for port in (2376, 2375):
        closed = probe(host, "dg-tls-b", port)
        assert (closed["ok"], closed["error"]) == (False, "ConnectionRefusedError"), closed
    config = json.loads(server.file("/etc/docker/daemon.json").content_string)
    assert config["hosts"] == ["fd://"]
    assert not {"tls", "tlsverify", "tlscacert", "tlscert", "tlskey"} & set(config)

    # the docker CLI on dg-tls-a reaches dg-tls-b's daemon over SSH (sshd may still be coming back from the
    # role's restart: wait for its host key rather than writing an empty known_hosts)
    deadline = time.monotonic() + 30
    while not (scan := host.run("ssh-keyscan -t ed25519 dg-tls-b 2>/dev/null").stdout.strip()):
        assert time.monotonic() < deadline, "sshd on dg-tls-b never answered ssh-keyscan"
        time.sleep(0.5)
    put(host, "/root/.ssh/known_hosts", scan.encode() + b"\n", "0644")
    put(host, "/root/.ssh/config", b"Host dg-tls-b\n  IdentityFile /root/.ssh/dg_remote\n  BatchMode yes\n", "0600")
    out = host.run("DOCKER_HOST=ssh://dgremote@dg-tls-b docker info --format '{{.Name}}'")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "dg-tls-b"

    # and the login can do nothing else: the command asked for is replaced, no TTY, no forwarding
    shell = host.run("ssh dgremote@dg-tls-b id </dev/null")
    assert "uid=" not in shell.stdout
    effective = server.check_output("sshd -T -C user=dgremote,host=dg-tls-a,addr=172.18.0.9")
    for line in (
        "forcecommand docker system dial-stdio",
        "permittty no",
        "allowtcpforwarding no",
        "allowstreamlocalforwarding no",
        "passwordauthentication no",
    ):
        assert line in effective.splitlines(), line
    # other users are untouched by the Match block
    root = server.check_output("sshd -T -C user=root,host=dg-tls-a,addr=172.18.0.9").splitlines()
    assert "forcecommand none" in root

    # the audit-shaped finding for CIS 2.7 agrees
    args = {"daemon_json": "/etc/docker/daemon.json"}
    result = server.backend.run_ansible("dockguard.hardening.daemon_tls", json.dumps(args), check=False)
    assert "findings" in result, result
    tls = next(f for f in result["findings"] if f["check"] == "tls_configured")
    assert (tls["ok"], tls["detail"]) == (True, "the daemon does not listen on TCP")

    again = playbook("ssh.yml", "-e", json.dumps({"dg_ssh_pubkey": pub}))
    assert recap_changed(again.stdout) == {"dg-tls-b": 0}
