#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: user_tls
short_description: A local user's Docker client key and certificates, kept in their home without following their links
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Keeps C(key.pem), C(cert.pem) and C(ca.pem) in a directory of a local user's home (O(directory), C(~/.docker) by
    default), which the docker CLI reads with C(--tlsverify).
  - Generates the key on the host when it is missing or not of the wanted type (O(key_type), O(key_curve),
    O(key_size)), writes it V(0400), and returns a certificate signing request for it (RV(csr)) and the installed
    certificate (RV(certificate)). The key itself is never returned.
  - With O(certificate) and O(ca_bundle), installs them V(0444). A certificate that was not issued for the key is
    refused.
  - Every file and directory is owned by the user. Root does this inside a tree the user controls, so every path is
    walked from the home with C(O_NOFOLLOW) at each component; a symlink (the directory itself, or any of the three
    files), a hard link, a file of another owner, or a missing home or one that is not the user's fails the task,
    naming the path, before anything is written. Existing files are never chown-ed; a file with the wrong owner or
    mode is replaced by a new one.
extends_documentation_fragment:
  - dockguard.hardening.attributes
attributes:
  check_mode:
    support: full
    details: A key that would be generated does not exist yet, so RV(csr) is null then.
  diff_mode:
    support: full
    details: The diff describes keys by type and public fingerprint, never by their bytes.
  idempotent:
    support: full
requirements:
  - cryptography (Debian package C(python3-cryptography)) on the managed host; without it only check mode runs, judging
    paths, owners and modes (a first check-mode run, before the package is installed)
options:
  user:
    description: The local user whose material this is. Their home must exist and belong to them.
    type: str
    required: true
  directory:
    description: The directory of the three files, relative to the user's home. Created V(0700) when missing.
    type: str
    default: .docker
  common_name:
    description: The common name of the certificate signing request.
    type: str
    required: true
  key_type:
    description: Type of the key. A key of another type is replaced by a new one.
    type: str
    choices: [ECC, RSA]
    default: ECC
  key_curve:
    description: Curve of an ECC key.
    type: str
    choices: [secp256r1, secp384r1, secp521r1]
    default: secp384r1
  key_size:
    description: Size of an RSA key, in bits.
    type: int
    default: 4096
  certificate:
    description: A PEM certificate for the key, installed as C(cert.pem). Left out, C(cert.pem) is only read.
    type: str
  ca_bundle:
    description: The trusted CA bundle (PEM), installed as C(ca.pem). Left out, C(ca.pem) is only read.
    type: str
notes:
  - Run it as root (C(become)), for any user; the kernel's own checks are not what protects root here, the walk is.
seealso:
  - module: dockguard.hardening.daemon_tls
  - name: The tls role
    description: Issues these certificates from a CA kept off the Docker hosts.
    link: https://github.com/dockguard/hardening/blob/main/roles/tls/README.md
"""

EXAMPLES = r"""
---
- name: Alice's key, made on the host, and a CSR for it
  dockguard.hardening.user_tls:
    user: alice
    common_name: alice@docker1
  register: alice_key

- name: Sign it where the CA lives
  community.crypto.x509_certificate_pipe:
    provider: ownca
    csr_content: "{{ alice_key.csr }}"
    content: "{{ alice_key.certificate | default(omit, true) }}"
    ownca_path: /srv/ca/ca.pem
    ownca_privatekey_path: /srv/ca/ca-key.pem
  delegate_to: localhost
  register: alice_cert

- name: Install her certificate and the CA bundle
  dockguard.hardening.user_tls:
    user: alice
    common_name: alice@docker1
    certificate: "{{ alice_cert.certificate }}"
    ca_bundle: "{{ lookup('ansible.builtin.file', '/srv/ca/ca.pem') }}"
"""

RETURN = r"""
path:
  description: The directory of the material.
  returned: success
  type: str
  sample: /home/alice/.docker
uid:
  description: The user's uid, the owner of every file.
  returned: success
  type: int
  sample: 1001
gid:
  description: The user's primary gid, the group of every file.
  returned: success
  type: int
  sample: 1001
changes:
  description: What was (in check mode, would be) done, one line each.
  returned: success
  type: list
  elements: str
  sample:
    - created /home/alice/.docker (0700)
    - "generated /home/alice/.docker/key.pem (ECC secp384r1, 0400): there is no key"
key_generated:
  description: The key was (would be) generated.
  returned: success
  type: bool
  sample: false
key_reason:
  description: Why the key was (would be) generated, or null.
  returned: success
  type: str
  sample: the key's curve is secp256r1, not secp384r1
csr:
  description:
    - A PEM certificate signing request (clientAuth) for the key.
    - Null in check mode when the key would be generated.
  returned: success
  type: str
  sample: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----\n"
certificate:
  description: The PEM certificate in C(cert.pem) after the run (the one given in O(certificate)), or null.
  returned: success
  type: str
  sample: "-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----\n"
"""


import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dockguard.hardening.plugins.module_utils import _tls_client
from ansible_collections.dockguard.hardening.plugins.module_utils._common import files
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "user": {"type": "str", "required": True},
            "directory": {"type": "str", "default": ".docker"},
            "common_name": {"type": "str", "required": True},
            "key_type": {"type": "str", "choices": ["ECC", "RSA"], "default": "ECC"},
            "key_curve": {"type": "str", "choices": list(_tls_client.CURVES), "default": "secp384r1"},
            "key_size": {"type": "int", "default": 4096},
            "certificate": {"type": "str"},
            "ca_bundle": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if _tls_client.CRYPTOGRAPHY_IMPORT_ERROR is not None:
        if not module.check_mode:
            module.fail_json(msg=missing_required_lib("cryptography"), exception=_tls_client.CRYPTOGRAPHY_IMPORT_ERROR)
        # a first check-mode run, before the package is installed: paths, owners and modes can still be judged
        module.warn("python3-cryptography is not installed: check mode judged the paths, owners and modes only")
    p = module.params
    if p["key_type"] == "RSA" and p["key_size"] < 2048:
        module.fail_json(msg=f"key_size={p['key_size']}: an RSA key needs at least 2048 bits")
    execute(module, issue)


def issue(module: AnsibleModule) -> dict[str, t.Any]:
    """The user's material; a failure carries the changes made before it."""
    p = module.params
    material = _tls_client.ClientMaterial(
        files.user_tree(p["user"]),
        p["directory"],
        _tls_client.KeySpec(p["key_type"], p["key_curve"], p["key_size"]),
        p["common_name"],
        certificate=p["certificate"],
        ca_bundle=p["ca_bundle"],
        check_mode=module.check_mode,
    )
    try:
        result = material.run()
    except DockguardError as exc:
        raise DockguardError(exc.msg, **{"changes": material.changes, **exc.details}) from None
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    return result


if __name__ == "__main__":
    main()
