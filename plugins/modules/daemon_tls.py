#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daemon_tls
short_description: Check the TLS material a Docker daemon or client is configured with
version_added: 0.2.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Reads the CA bundle, certificate and key that C(daemon.json) names (C(tlscacert), C(tlscert), C(tlskey)),
    or the files given in O(cacert), O(cert) and O(key), and judges them.
  - The key matches the certificate; the certificate is signed by a CA of the trusted bundle; its
    subjectAltNames cover the names clients use (O(names)); it is valid now and for at least O(min_days_left)
    more days; its extended key usage allows O(purpose); each CA of the bundle is a CA and valid.
  - Owners and modes as the CIS Docker Benchmark v1.6.0 wants them (3.9-3.14) - CA bundle and certificate
    V(0444) or more restrictive, key V(0400) or more restrictive, owned by O(owner):O(group).
  - With the daemon's C(daemon.json), whether a daemon that listens on TCP verifies its clients (CIS 2.7).
  - A file inside the home of a user (other than root) who owns that home, such as a client's C(~/.docker/key.pem),
    is read by walking from the home with C(O_NOFOLLOW) at each component; a symlink or hard link there is a failed
    C(path) finding naming the link, and is never followed.
  - Returns every judgement as a finding (RV(findings)). With O(enforce=true) the task fails when a finding is
    not ok, naming the file and the problem. The module never changes anything and never returns key material.
extends_documentation_fragment:
  - dockguard.hardening.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: The module changes nothing, so there is nothing to diff.
  idempotent:
    support: full
requirements:
  - cryptography (Debian package C(python3-cryptography)) on the managed host
options:
  daemon_json:
    description:
      - The daemon configuration that names the TLS files and the listening sockets.
      - Ignored for the file paths O(cacert), O(cert) and O(key) that are given.
      - A missing file means the daemon has no TLS configured.
    type: path
    default: /etc/docker/daemon.json
  cacert:
    description: The trusted CA bundle (one or more PEM certificates). Overrides C(tlscacert) of O(daemon_json).
    type: path
  cert:
    description: The certificate. Overrides C(tlscert) of O(daemon_json).
    type: path
  key:
    description: The unencrypted private key of O(cert). Overrides C(tlskey) of O(daemon_json).
    type: path
  purpose:
    description:
      - V(server) requires the C(serverAuth) extended key usage, V(client) C(clientAuth).
      - A certificate without the extension is accepted for both, as Go's TLS stack does.
    type: str
    choices: [server, client]
    default: server
  names:
    description:
      - The DNS names and IP addresses clients use to reach the daemon; each must be covered by a subjectAltName
        (Go ignores the common name).
    type: list
    elements: str
    default: []
  min_days_left:
    description: A certificate (or CA) with fewer days left than this is a failed finding.
    type: int
    default: 30
  owner:
    description: The user that must own the three files, by name or numeric id.
    type: str
    default: root
  group:
    description: The group that must own the three files, by name or numeric id.
    type: str
    default: root
  enforce:
    description: Fail when any finding is not ok, with a message naming each file and problem.
    type: bool
    default: false
notes:
  - Run it with root privileges; the daemon's key is readable by root only.
seealso:
  - name: Protect the Docker daemon socket
    description: Docker's guide to mutual TLS for the daemon.
    link: https://docs.docker.com/engine/security/protect-access/
  - module: dockguard.hardening.daemon_config
"""

EXAMPLES = r"""
---
- name: Check the daemon's TLS material and fail on any problem
  dockguard.hardening.daemon_tls:
    names: ["{{ inventory_hostname }}", "{{ ansible_facts.default_ipv4.address }}"]
    min_days_left: 30
    enforce: true

- name: Report on a user's client certificate for monitoring
  dockguard.hardening.daemon_tls:
    cacert: /home/alice/.docker/ca.pem
    cert: /home/alice/.docker/cert.pem
    key: /home/alice/.docker/key.pem
    purpose: client
    owner: alice
    group: alice
  register: alice_tls

- name: Show what is wrong
  ansible.builtin.debug:
    msg: "{{ alice_tls.findings | rejectattr('ok') | list }}"
"""

RETURN = r"""
ok:
  description: Every finding is ok.
  returned: always
  type: bool
  sample: false
findings:
  description:
    - One entry per judged fact, in the shape the CIS audit reuses.
    - C(check) is one of C(tls_configured), C(exists), C(path), C(parse), C(owner), C(mode), C(key_matches_cert),
      C(chains_to_ca), C(ca_constraints), C(validity), C(purpose), C(sans).
    - C(cis) is the CIS Docker Benchmark v1.6.0 control the fact belongs to, or null.
  returned: always
  type: list
  elements: dict
  sample:
    - {"file": "/etc/docker/tls/server-key.pem", "check": "mode", "ok": false,
       "detail": "mode 0644 grants 0244 beyond 0400; set 0400", "cis": "3.14"}
    - {"file": "/etc/docker/tls/server-cert.pem", "check": "validity", "ok": true,
       "detail": "the certificate valid until 2027-06-01T10:00:00Z (240.5 days left)", "cis": null}
failed_findings:
  description: The findings that are not ok.
  returned: always
  type: list
  elements: dict
  sample: [{"file": "/etc/docker/tls/server-key.pem", "check": "mode", "ok": false,
            "detail": "mode 0644 grants 0244 beyond 0400; set 0400", "cis": "3.14"}]
files:
  description: The three files judged (null when neither given nor configured).
  returned: always
  type: dict
  sample: {"cacert": "/etc/docker/tls/ca.pem", "cert": "/etc/docker/tls/server-cert.pem",
           "key": "/etc/docker/tls/server-key.pem"}
certificate:
  description: Public facts about the certificate.
  returned: when the certificate could be read
  type: dict
  sample: {"subject": "CN=dg-tls-a", "issuer": "CN=dockguard Docker CA 1", "serial": "5f2a",
           "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z", "days_left": 240.5,
           "dns_names": ["dg-tls-a"], "ip_addresses": ["172.18.0.2"], "extended_key_usage": ["1.3.6.1.5.5.7.3.1"],
           "is_ca": false}
cas:
  description: Public facts about each CA of the trusted bundle.
  returned: when the bundle could be read
  type: list
  elements: dict
  sample: [{"subject": "CN=dockguard Docker CA 1", "issuer": "CN=dockguard Docker CA 1", "serial": "1",
            "not_before": "2026-01-01T00:00:00Z", "not_after": "2036-01-01T00:00:00Z", "days_left": 3600.0,
            "dns_names": [], "ip_addresses": [], "extended_key_usage": null, "is_ca": true}]
"""

import datetime
import grp
import json
import os
import pwd
import stat
import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dockguard.hardening.plugins.module_utils import _tls
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute

KINDS = ("cacert", "cert", "key")
MODE_KIND = {"cacert": "ca", "cert": "cert", "key": "key"}


class DaemonTLS:
    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params
        self.findings: list[_tls.Finding] = []

    def owner_ids(self) -> tuple[int, int]:
        owner, group = self.p["owner"], self.p["group"]
        try:
            uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise _tls.TLSMaterialError(f"owner={owner!r}: no such user on this host") from None
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise _tls.TLSMaterialError(f"group={group!r}: no such group on this host") from None
        return uid, gid

    def daemon_config(self) -> dict[str, t.Any] | None:
        path = self.p["daemon_json"]
        tree = self.user_tree(path)  # a rootless daemon's ~/.config/docker/daemon.json: never through a link
        try:
            if tree is not None:
                text = tree.read_text(tree.relative(path))
                if text is None:
                    return None
                data = json.loads(text)
            else:
                with open(path, encoding="utf-8") as fh:
                    data = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise _tls.TLSMaterialError(f"{path}: cannot be read as JSON ({exc})") from None
        if not isinstance(data, dict):
            raise _tls.TLSMaterialError(f"{path}: not a JSON object")
        return data

    def user_tree(self, path: str) -> files.UserTree | None:
        """The home (of an account other than root, owned by it) that path lies in: links there are the user's."""
        norm = os.path.normpath(path)
        best: pwd.struct_passwd | None = None
        for pw in pwd.getpwall():
            home = os.path.normpath(pw.pw_dir) if pw.pw_dir else ""
            if pw.pw_uid == 0 or home in ("", "/") or not norm.startswith(home.rstrip("/") + "/"):
                continue
            try:
                if os.lstat(home).st_uid != pw.pw_uid:
                    continue
            except OSError:
                continue
            if best is None or len(home) > len(os.path.normpath(best.pw_dir)):
                best = pw
        return None if best is None else files.UserTree(best.pw_name, best.pw_uid, best.pw_gid, best.pw_dir)

    def read(self, kind: str, path: str) -> bytes | None:
        """The file's bytes after judging its owner and mode; None (with a finding) when it is missing or refused.

        A file in a user's home is read through UserTree: a symlink or hard link the user planted there is a
        failed finding, never followed by root.
        """
        tree = self.user_tree(path)
        try:
            st = tree.stat(tree.relative(path)) if tree is not None else os.stat(path)
        except FileNotFoundError:
            st = None
        except files.UnsafePathError as exc:
            self.findings.append(_tls.Finding(path, "path", False, exc.msg))
            return None
        if st is None:
            self.findings.append(_tls.Finding(path, "exists", False, f"the {kind} file does not exist"))
            return None
        if not stat.S_ISREG(st.st_mode):
            self.findings.append(_tls.Finding(path, "exists", False, f"the {kind} path is not a regular file"))
            return None
        attrs = _tls.FileAttrs(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
        widest = _tls.DEFAULT_MODES[MODE_KIND[kind]]
        self.findings += _tls.check_attrs(path, MODE_KIND[kind], attrs, widest, self.owner_ids())
        if tree is not None:
            try:
                return tree.read(tree.relative(path))
            except files.UnsafePathError as exc:
                self.findings.append(_tls.Finding(path, "path", False, exc.msg))
                return None
        with open(path, "rb") as fh:
            return fh.read()

    def parse(self, path: str, loader: t.Callable[[bytes, str], t.Any], data: bytes | None) -> t.Any:
        if data is None:
            return None
        try:
            value = loader(data, path)
        except _tls.TLSMaterialError as exc:
            self.findings.append(_tls.Finding(path, "parse", False, str(exc)))
            return None
        return value

    def run(self) -> dict[str, t.Any]:
        now = datetime.datetime.now(_tls.UTC)
        config = self.daemon_config()
        settings = _tls.daemon_tls_settings(config or {})
        if config is not None:
            self.findings.append(_tls.check_daemon_config(self.p["daemon_json"], config))
        files = {kind: self.p[kind] or settings[f"tls{kind}"] for kind in KINDS}
        result: dict[str, t.Any] = {"changed": False, "files": files}
        for kind in KINDS:
            if files[kind] is None:
                self.findings.append(
                    _tls.Finding(
                        self.p["daemon_json"],
                        "exists",
                        False,
                        f"no {kind} file: give {kind}, or set tls{kind} in daemon_json",
                    )
                )
        data = {kind: self.read(kind, path) for kind, path in files.items() if path is not None}
        cas = self.parse(files["cacert"] or "", _tls.load_certificates, data.get("cacert"))
        certs = self.parse(files["cert"] or "", _tls.load_certificates, data.get("cert"))
        key = self.parse(files["key"] or "", _tls.load_private_key, data.get("key"))
        if cas:
            result["cas"] = [_tls.describe(ca, now) for ca in cas]
            self.findings += _tls.check_ca(files["cacert"], cas, now, self.p["min_days_left"])
        if certs:
            cert = certs[0]
            result["certificate"] = _tls.describe(cert, now)
            self.findings += _tls.check_leaf(
                files["cert"],
                cert,
                cas or [],
                key_path=files["key"],
                private_key=key,
                names=self.p["names"],
                purpose=self.p["purpose"],
                now=now,
                min_days=self.p["min_days_left"],
            )
        result["findings"] = [f.as_dict() for f in self.findings]
        result["failed_findings"] = [f.as_dict() for f in self.findings if not f.ok]
        result["ok"] = not result["failed_findings"]
        return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "daemon_json": {"type": "path", "default": "/etc/docker/daemon.json"},
            "cacert": {"type": "path"},
            "cert": {"type": "path"},
            "key": {"type": "path", "no_log": False},
            "purpose": {"type": "str", "choices": ["server", "client"], "default": "server"},
            "names": {"type": "list", "elements": "str", "default": []},
            "min_days_left": {"type": "int", "default": 30},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "enforce": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    if _tls.CRYPTOGRAPHY_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=_tls.CRYPTOGRAPHY_IMPORT_ERROR)
    execute(module, judge)


def judge(module: AnsibleModule) -> dict[str, t.Any]:
    """The findings; with enforce, a failure naming each failed check (the findings as its result keys)."""
    result = DaemonTLS(module).run()
    if module.params["enforce"] and not result["ok"]:
        problems = "; ".join(f"{f['file']}: {f['check']}: {f['detail']}" for f in result["failed_findings"])
        raise DockguardError(f"TLS material fails {len(result['failed_findings'])} check(s): {problems}", **result)
    return result


if __name__ == "__main__":
    main()
