#!/usr/bin/python
# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: trust_signer
short_description: A Docker Content Trust signer of a repository, through the notary client
version_added: 0.3.0
author:
  - dockguard.hardening contributors (@dockguard)
description:
  - Makes one signer of one repository hold exactly the given public keys, or removes the signer, on a Notary
    server (Notary v1, Docker Content Trust; CIS Docker Benchmark 4.5).
  - A signer V(NAME) is what C(docker trust signer add) makes - the delegation role C(targets/NAME) with the signer's
    keys, and the same keys in C(targets/releases), the role C(docker pull) trusts. Giving a new key list rotates the
    signer's delegation keys; the old keys leave both roles in the same publish.
  - Runs where the repository keys live, the controller by default (C(delegate_to)), never on a Docker host. All
    cryptography is the notary client's (C(notary init), C(notary key rotate), C(notary delegation add/remove),
    C(notary publish)); passphrases reach it through its environment and never appear in the result.
  - With O(create_repository=true) a repository without trust data is initialized first - the root key of
    O(trust_dir) (made there, encrypted with O(root_passphrase), when there is none), a repository (targets) key, and
    the snapshot key handed to the server.
  - Changes are staged and published at once. When any step fails the staged changes are dropped
    (C(notary reset --all)) and the task fails naming the repository and the step, so the server's repository is
    either as it was or as planned. After a publish the roles are read back from the server and compared with the
    plan.
extends_documentation_fragment:
  - dockguard.hardening.attributes
  - dockguard.hardening.attributes.full
options:
  repository:
    description: The repository with its registry (the GUN), as in image names, for example V(registry:5000/team/app).
    type: str
    required: true
  name:
    description: The signer's name; the delegation role is C(targets/NAME).
    type: str
    required: true
  state:
    description: V(present) makes the signer hold exactly O(public_keys); V(absent) removes it and its keys.
    type: str
    choices: [present, absent]
    default: present
  public_keys:
    description:
      - Files (on the host the module runs on) with the signer's public keys in PEM, as C(docker trust key generate)
        writes them (C(NAME.pub)), or certificates. Required with O(state=present).
    type: list
    elements: path
    default: []
  notary_server:
    description: URL of the Notary server.
    type: str
    required: true
  notary_ca:
    description: CA certificate that signed the Notary server's TLS certificate (the system's trust when omitted).
    type: path
  trust_dir:
    description: The notary client's trust directory holding the root and repository keys (kept offline, 0700).
    type: path
    required: true
  notary_bin:
    description: The notary client.
    type: path
    default: notary
  create_repository:
    description: Initialize a repository that has no trust data on the server yet (needs O(root_passphrase)).
    type: bool
    default: false
  root_passphrase:
    description: Passphrase of the root key (NOTARY_ROOT_PASSPHRASE); needed only to initialize a repository.
    type: str
  targets_passphrase:
    description: Passphrase of the repository (targets) key (NOTARY_TARGETS_PASSPHRASE); needed for any change.
    type: str
  snapshot_passphrase:
    description: Passphrase for the snapshot key made at initialization (defaults to O(targets_passphrase)).
    type: str
notes:
  - Pulls with C(DOCKER_CONTENT_TRUST=1) trust C(targets/releases) (and C(targets)); a signer removed from it can still
    push images, but pulls with content trust no longer accept what it signs after the removal.
  - When a key that signed a role last leaves it (a rotation, or a removed signer who pushed last), the role no longer
    verifies until a holder of a remaining key re-signs it with C(notary witness); a docker push does not repair it
    (the server refuses it as an old version). See RV(resign).
seealso:
  - name: docker trust signer add
    description: The docker client's command this module's roles correspond to.
    link: https://docs.docker.com/reference/cli/docker/trust/signer/add/
  - name: Notary delegations
    description: Delegation roles in the notary client.
    link: https://github.com/notaryproject/notary/blob/master/docs/advanced_usage.md
"""

EXAMPLES = r"""
---
- name: Alice signs team/app (the repository is created on first use)
  dockguard.hardening.trust_signer:
    repository: registry.example.com:5000/team/app
    name: alice
    public_keys: [/srv/signers/alice.pub]
    notary_server: https://notary.example.com:4443
    notary_ca: /srv/pki/notary-ca.pem
    trust_dir: ~/.dockguard/notary
    create_repository: true
    root_passphrase: "{{ vault_notary_root_passphrase }}"
    targets_passphrase: "{{ vault_notary_targets_passphrase }}"
  delegate_to: localhost
  no_log: true

- name: Bob no longer signs team/app
  dockguard.hardening.trust_signer:
    repository: registry.example.com:5000/team/app
    name: bob
    state: absent
    notary_server: https://notary.example.com:4443
    trust_dir: ~/.dockguard/notary
    targets_passphrase: "{{ vault_notary_targets_passphrase }}"
  delegate_to: localhost
"""

RETURN = r"""
repository:
  description: The repository.
  returned: always
  type: str
  sample: registry.example.com:5000/team/app
key_ids:
  description: IDs of O(public_keys), as the notary client names them.
  returned: always
  type: list
  elements: str
  sample: ["6d3c8a0f4e1b2a9c7d5e3f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"]
actions:
  description: What was (in check mode, would be) done.
  returned: always
  type: list
  elements: str
  sample:
    - initialize the repository
    - add keys 6d3c8a0f4e1b to targets/alice
    - add keys 6d3c8a0f4e1b to targets/releases
resign:
  description:
    - Roles that stay but lost keys in this task. What a removed key signed last in them no longer verifies - pulls
      of the tags listed there fail and docker pushes into them are refused - until a holder of a remaining key
      re-signs them (C(notary witness -p GUN ROLE...)); the task warns with the command.
  returned: always
  type: list
  elements: str
  sample: ["targets/alice", "targets/releases"]
roles:
  description: The repository's delegation roles and their key IDs after the task (planned in check mode).
  returned: always
  type: dict
  sample: {"targets/alice": ["6d3c8a0f4e1b2a9c7d5e3f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"],
           "targets/releases": ["6d3c8a0f4e1b2a9c7d5e3f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"]}
"""

import os
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockguard.hardening.plugins.module_utils import _notary as nt
from ansible_collections.dockguard.hardening.plugins.module_utils._common.module import execute


def _read_keys(paths: list[str]) -> dict[str, str]:
    wanted = {}
    for path in paths:
        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                text = fh.read(65536)
        except OSError as exc:
            raise nt.NotaryError(f"public_keys: cannot read {path}: {exc.strerror}") from exc
        wanted[nt.key_id(text, f"public_keys: {path}")] = path
    return wanted


def run(module: AnsibleModule) -> dict[str, t.Any]:
    p = module.params
    nt.check_names(p["repository"], p["name"])
    present = p["state"] == "present"
    if present and not p["public_keys"]:
        raise nt.NotaryError("public_keys is empty: state=present needs the signer's public key files (NAME.pub)")
    wanted = _read_keys(p["public_keys"]) if present else {}
    trust_dir = p["trust_dir"]  # type=path: already expanded
    secrets = {
        "NOTARY_ROOT_PASSPHRASE": p["root_passphrase"] or "",
        "NOTARY_TARGETS_PASSPHRASE": p["targets_passphrase"] or "",
        "NOTARY_SNAPSHOT_PASSPHRASE": p["snapshot_passphrase"] or p["targets_passphrase"] or "",
    }

    def runner(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
        rc, out, err = module.run_command(argv, environ_update=env, expand_user_and_vars=False)
        return rc, out, err

    if module.check_mode and not os.path.isdir(trust_dir):
        # the notary client writes its cache into its trust directory: check mode reads into a throwaway one
        with tempfile.TemporaryDirectory() as scratch:
            return _run(module, p, runner, scratch, wanted, present, secrets)
    return _run(module, p, runner, trust_dir, wanted, present, secrets)


def _run(
    module: AnsibleModule,
    p: dict[str, t.Any],
    runner: nt.Runner,
    trust_dir: str,
    wanted: dict[str, str],
    present: bool,
    secrets: dict[str, str],
) -> dict[str, t.Any]:
    repo = nt.Repository(
        runner, p["notary_bin"], p["notary_server"], trust_dir, p["notary_ca"], p["repository"], secrets
    )
    current = repo.delegations()
    actions = []
    if current is None:
        if not present:
            return {"changed": False, "repository": repo.gun, "key_ids": [], "actions": [], "resign": [], "roles": {}}
        if not p["create_repository"]:
            raise nt.NotaryError(
                f"{repo.gun}: {repo.server} has no trust data for it; set create_repository=true to initialize it "
                "(with root_passphrase), or check repository"
            )
        if not p["root_passphrase"] or not p["targets_passphrase"]:
            raise nt.NotaryError(f"{repo.gun}: initializing it needs root_passphrase and targets_passphrase")
        actions.append("initialize the repository")
        current = {}
    changes, after = nt.plan(current, p["name"], wanted, present)
    actions += [c.describe() for c in changes]
    if changes and not p["targets_passphrase"]:
        raise nt.NotaryError(f"{repo.gun}: {actions[-1]} needs targets_passphrase (the repository key's)")
    result: dict[str, t.Any] = {
        "changed": bool(actions),
        "repository": repo.gun,
        "key_ids": sorted(wanted),
        "actions": actions,
        "roles": after,
    }
    if module._diff:
        result["diff"] = {"before": {"roles": current}, "after": {"roles": after}}
    result["resign"] = nt.resign_roles(changes)
    warning = nt.resign_warning(repo.gun, result["resign"])
    if warning:
        result["warnings"] = [warning]
    if module.check_mode or not actions:
        return result
    if "initialize the repository" in actions:
        repo.initialize()
    if changes:
        repo.apply(changes)
    got = repo.delegations() or {}
    if got != after:
        raise nt.NotaryError(
            f"{repo.gun}: after publishing, the server lists roles {got}, not the planned {after}", step="verify"
        )
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "repository": {"type": "str", "required": True},
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "public_keys": {"type": "list", "elements": "path", "default": []},
            "notary_server": {"type": "str", "required": True},
            "notary_ca": {"type": "path"},
            "trust_dir": {"type": "path", "required": True},
            "notary_bin": {"type": "path", "default": "notary"},
            "create_repository": {"type": "bool", "default": False},
            "root_passphrase": {"type": "str", "no_log": True},
            "targets_passphrase": {"type": "str", "no_log": True},
            "snapshot_passphrase": {"type": "str", "no_log": True},
        },
        supports_check_mode=True,
    )
    execute(module, run)


if __name__ == "__main__":
    main()
