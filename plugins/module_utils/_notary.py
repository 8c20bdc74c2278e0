# Copyright (c) dockguard.hardening contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE: this module_util is internal to dockguard.hardening and can have
# breaking changes at any time. Do not use it from other collections.
"""Docker Content Trust signers of one repository, through the notary client.

A signer NAME of a repository (a GUN such as registry:5000/team/app) is what
`docker trust signer add` makes: the delegation role targets/NAME holding the
signer's public keys, and the same keys in targets/releases, the role
`docker pull` trusts. Everything cryptographic is done by the notary client
(`notary init`, `notary key rotate`, `notary delegation add|remove`,
`notary publish`); this file only reads its answers, plans, and names what
failed. Passphrases reach the client in its environment
(NOTARY_{ROOT,TARGETS,SNAPSHOT}_PASSPHRASE) and are blanked from anything it
prints.

Data flows one way: current roles (`notary delegation list`) -> plan (pure) ->
staged changes -> one `notary publish` -> roles read again and compared. A
failed step resets the staged changes (`notary reset --all`), so the remote
repository is either as before or as planned, never half-way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import typing as t

from ansible_collections.dockguard.hardening.plugins.module_utils._common.commands import C_ENV
from ansible_collections.dockguard.hardening.plugins.module_utils._common.errors import DockguardError

RELEASES = "targets/releases"
_GUN = re.compile(r"^[a-z0-9][a-z0-9.:-]*(?:/[a-z0-9._-]+)+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_KEY_ID = re.compile(r"^[0-9a-f]{64}$")
_PEM = re.compile(
    r"-----BEGIN ([A-Z ]+)-----\r?\n(?:[^\r\n:]+:[^\r\n]*\r?\n)*\r?\n?([A-Za-z0-9+/=\r\n]+)-----END \1-----"
)


class NotaryError(DockguardError):
    """A step against the repository failed; the message names the repository and the step."""


def check_names(gun: str, name: str) -> None:
    """Refuse a repository or signer name the docker client would not accept, before anything runs."""
    if not _GUN.match(gun):
        raise NotaryError(
            f"repository={gun!r} is not a repository name with its registry (REGISTRY[:PORT]/PATH, lower case), "
            "e.g. registry.example.com:5000/team/app"
        )
    if not _NAME.match(name) or name == "releases":
        raise NotaryError(
            f"name={name!r} is not a signer name: lower-case letters, digits, '-' and '_', at most 64, "
            "and not 'releases' (the role every signer's keys are added to)"
        )


def key_id(pem: str, source: str) -> str:
    """The ID the notary client gives a public key or certificate in PEM (its canonical TUF key form, hashed).

    This names the key; it neither makes nor checks a signature.
    """
    m = _PEM.search(pem)
    if not m or m.group(1) not in ("PUBLIC KEY", "CERTIFICATE"):
        raise NotaryError(
            f"{source}: not a PEM public key or certificate (what `docker trust key generate NAME` writes to NAME.pub)"
        )
    der = base64.b64decode("".join(m.group(2).split()))
    if m.group(1) == "CERTIFICATE":
        body = base64.b64encode(der).decode("ascii")
        lines = "".join(body[i : i + 64] + "\n" for i in range(0, len(body), 64))
        reencoded = f"-----BEGIN CERTIFICATE-----\n{lines}-----END CERTIFICATE-----\n"  # as Go's pem.Encode
        public = base64.b64encode(reencoded.encode("ascii")).decode("ascii")
        keytype = "ecdsa-x509" if b"\x2a\x86\x48\xce\x3d\x02\x01" in der else "rsa-x509"
    else:
        public = base64.b64encode(der).decode("ascii")
        keytype = "ecdsa" if b"\x2a\x86\x48\xce\x3d\x02\x01" in der else "rsa"
    canonical = json.dumps({"keytype": keytype, "keyval": {"private": None, "public": public}}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def parse_delegations(text: str) -> dict[str, list[str]]:
    """`notary delegation list` output -> {role: sorted key IDs}.

    The table prints a role's first key on the role's line and each further key
    on a line of its own below it.
    """
    roles: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        words = line.split()
        if not words or set(words[0]) <= {"-"} or words[0] == "ROLE":
            continue
        if words[0].startswith("targets/"):
            current = words[0]
            roles[current] = []
        ids = [w for w in words if _KEY_ID.match(w)]
        if current is not None:
            roles[current].extend(ids)
    return {role: sorted(set(ids)) for role, ids in roles.items()}


class Change(t.NamedTuple):
    """One staged change: add keys (files) to a role, remove key IDs from it, or remove the role (no IDs)."""

    action: str  # add, remove_keys, remove_role
    role: str
    keys: tuple[str, ...] = ()  # files to add, or key IDs to remove
    ids: tuple[str, ...] = ()  # the key IDs of the files added

    def describe(self) -> str:
        if self.action == "add":
            return f"add keys {', '.join(k[:12] for k in self.ids)} to {self.role}"
        if self.action == "remove_keys":
            return f"remove keys {', '.join(k[:12] for k in self.keys)} from {self.role}"
        return f"remove role {self.role}"


def plan(
    current: dict[str, list[str]], name: str, wanted: dict[str, str], present: bool
) -> tuple[list[Change], dict[str, list[str]]]:
    """The changes that make signer NAME hold exactly the wanted keys ({key ID: file}), or none when absent.

    Returns the changes and the roles as they will be. Keys of targets/releases
    that another signer's role also holds stay there.
    """
    role = f"targets/{name}"
    have = set(current.get(role, []))
    want = set(wanted) if present else set()
    others: set[str] = set()
    for other, ids in current.items():
        if other not in (role, RELEASES):
            others.update(ids)
    releases = set(current.get(RELEASES, []))
    changes: list[Change] = []
    after = {r: list(ids) for r, ids in current.items()}

    if want - have:
        new = sorted(want - have)
        changes.append(Change("add", role, tuple(wanted[k] for k in new), tuple(new)))
    if want - releases:
        new = sorted(want - releases)
        changes.append(Change("add", RELEASES, tuple(wanted[k] for k in new), tuple(new)))
    gone = have - want
    if not want and role in current:
        changes.append(Change("remove_role", role))
        after.pop(role)
    elif gone:
        changes.append(Change("remove_keys", role, tuple(sorted(gone))))
    if want:
        after[role] = sorted(want)
    drop = (gone & releases) - others
    new_releases = (releases | want) - drop
    if drop and not new_releases and RELEASES in current:
        changes.append(Change("remove_role", RELEASES))
        after.pop(RELEASES, None)
    elif drop:
        changes.append(Change("remove_keys", RELEASES, tuple(sorted(drop))))
        after[RELEASES] = sorted(new_releases)
    elif want - releases:
        after[RELEASES] = sorted(new_releases)
    return changes, after


def resign_roles(changes: list[Change]) -> list[str]:
    """Roles that keep existing but lose keys: what those keys signed last no longer verifies (TUF threshold).

    Until a holder of a remaining key re-signs such a role as it is (`notary witness`), pulls of the tags it lists
    fail, and the docker client's pushes into it are refused: it starts the unverifiable role afresh at version 1,
    which the server already holds.
    """
    return sorted({c.role for c in changes if c.action == "remove_keys"})


def resign_warning(gun: str, roles: list[str]) -> str:
    """What the signer has to do after keys left ROLES, with the commands (empty when nothing left)."""
    if not roles:
        return ""
    return (
        f"{gun}: keys left {', '.join(roles)}. If a removed key signed one of them last, it no longer verifies: "
        "pulls of the tags it lists fail and docker pushes into it are refused until a holder of one of its "
        f"remaining keys re-signs it with the notary client: `notary -s SERVER -d ~/.docker/trust witness -p {gun} "
        f"{' '.join(roles)}` (NOTARY_DELEGATION_PASSPHRASE is the key's passphrase)"
    )


class Runner(t.Protocol):
    def __call__(self, argv: list[str], env: dict[str, str]) -> tuple[int, str, str]: ...


class Repository:
    """One repository on one Notary server, seen through the notary client with its own trust directory."""

    def __init__(
        self,
        run: Runner,
        notary: str,
        server: str,
        trust_dir: str,
        tls_ca: str | None,
        gun: str,
        secrets: dict[str, str],
    ) -> None:
        self._run = run
        self._base = [notary, "-s", server, "-d", trust_dir] + (["--tlscacert", tls_ca] if tls_ca else [])
        self.gun = gun
        self.server = server
        self._env = dict(C_ENV)
        self._secrets = [v for v in secrets.values() if v]
        self._env.update({k: v for k, v in secrets.items() if v})

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    def call(self, step: str, *args: str) -> str:
        rc, out, err = self._run([*self._base, *args], self._env)
        if rc != 0:
            raise NotaryError(
                f"{self.gun}: {step} failed (notary {args[0]}, rc={rc}): {self.scrub(reason(out, err))}"
                + _hint(out + err, self.server),
                step=step,
                stderr=self.scrub(err.strip()),
            )
        return self.scrub(out)

    def delegations(self) -> dict[str, list[str]] | None:
        """The repository's delegation roles on the server; None when the server has no trust data for it."""
        rc, out, err = self._run([*self._base, "delegation", "list", self.gun], self._env)
        if rc == 0:
            return parse_delegations(out)
        text = out + err
        if "does not have trust data" in text or "not found" in text.lower():
            return None
        raise NotaryError(
            f"{self.gun}: reading its signers from {self.server} failed (notary delegation list, rc={rc}): "
            f"{self.scrub(reason(out, err))}" + _hint(text, self.server),
            step="read",
        )

    def initialize(self) -> None:
        """Root key (kept, or made, in the trust directory) and targets key; the server keeps the snapshot key."""
        self.call("initialize the repository (root and repository keys)", "init", "-p", self.gun)
        self.call("hand the snapshot key to the server", "key", "rotate", self.gun, "snapshot", "-r")

    def apply(self, changes: list[Change]) -> None:
        """Stage every change and publish them at once; on any failure drop what was staged."""
        try:
            for c in changes:
                if c.action == "add":
                    self.call(f"stage: {c.describe()}", "delegation", "add", self.gun, c.role, *c.keys, "--all-paths")
                elif c.action == "remove_keys":
                    self.call(f"stage: {c.describe()}", "delegation", "remove", self.gun, c.role, *c.keys, "-y")
                else:
                    self.call(f"stage: {c.describe()}", "delegation", "remove", self.gun, c.role, "-y")
            self.call("publish the signed changes (needs the repository key)", "publish", self.gun)
        except NotaryError:
            self._run([*self._base, "reset", self.gun, "--all"], self._env)
            raise


def reason(out: str, err: str) -> str:
    """The line of the notary client's output that says why it failed (it prints `* fatal: ...` on stdout)."""
    lines = [ln.strip() for ln in (err + "\n" + out).splitlines() if ln.strip()]
    for line in lines:
        if line.startswith("* fatal:"):
            return line[len("* fatal:") :].strip()
    return lines[-1] if lines else "no output"


def _hint(text: str, server: str) -> str:
    """What to do about the notary client's most common failures."""
    low = text.lower()
    if "could not find necessary signing keys" in low or "no valid signing keys" in low or "passphrase" in low:
        # the notary client reports a key it cannot decrypt as not available
        return (
            " (the key is not in trust_dir, or its passphrase is wrong: restore the key from its offline backup, or"
            " give the passphrase it was made with; nothing was published)"
        )
    if any(w in low for w in ("connection refused", "no such host", "timeout", "could not reach", "offline")):
        return f" (Notary at {server} cannot be reached: check notary_server and that the server runs)"
    if "certificate" in low and ("unknown authority" in low or "verify" in low):
        return f" (the TLS certificate of {server} is not trusted: set notary_ca to its CA)"
    return ""
