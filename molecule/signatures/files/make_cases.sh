#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# On dg-signatures-reg, after prepare.yml unpacked reg.tar: start the registry
# with TLS, make cosign keys, build one image per case in $REG/app (and a copy
# in $REG/other) from busybox (no other registry), sign them with Debian's
# cosign or attack them with dg-registry-tool. COSIGN_PASSWORD comes from the
# environment. Progress and errors go to $LOG; the last line of stdout is the
# public keys as JSON, for the other host.
set -euo pipefail
# installed without a shebang line (ansible-test sanity allows none in a non-module file it cannot run)
registry_tool() { python3 /usr/local/bin/dg-registry-tool "$@"; }
LOG=/var/log/dg-make-cases.log
exec 3>&1 >"$LOG" 2>&1
set -x

chgrp docker-registry /etc/docker/registry/registry.key
update-ca-certificates
systemctl restart docker-registry
for _ in $(seq 60); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 5000), 1)' 2>/dev/null && break
  sleep 1
done

cd /root/keys
for key in a b; do [ -e "$key.key" ] || cosign generate-key-pair --output-key-prefix "$key"; done
[ -e ed.key ] || cosign import-key-pair --key ed.pem --output-key-prefix ed --yes
cp a.pub b.pub ed.pub /etc/dockguard-test/keys/
BUSYBOX=$(command -v busybox)

image() { # image TAG [REPO]: a distinct image (its /case file says which) pushed as REPO:TAG
  local dir
  dir=$(mktemp -d)
  cp "$BUSYBOX" "$dir/busybox"
  echo "$1 $RANDOM" > "$dir/case"
  tar -C "$dir" -c . | docker import -c 'ENTRYPOINT ["/busybox"]' -c 'CMD ["sleep", "3600"]' - "$REG/${2:-app}:$1"
  docker push -q "$REG/${2:-app}:$1"
  rm -rf "$dir"
}
sign() { # sign KEY TAG [cosign options]
  local key=$1 tag=$2
  shift 2
  cosign sign --key "$key.key" --tlog-upload=false --yes "$@" "$REG/app:$tag"
}

for tag in signed unsigned otherkey tampered moved copied referrer bundle ed; do image "$tag"; done
sign a signed
sign b otherkey
sign a tampered && registry_tool tamper app tampered
sign a moved && image moved                                   # the tag now names a new, unsigned digest
docker tag "$REG/app:copied" "$REG/app:copied-before" && docker push -q "$REG/app:copied-before"
sign a copied && image copied && registry_tool copy-sig app copied-before copied
COSIGN_EXPERIMENTAL=1 sign a referrer --registry-referrers-mode=oci-1-1
echo '{"built-by": "molecule"}' > /tmp/predicate.json
cosign attest --key a.key --tlog-upload=false --yes --new-bundle-format --type custom \
  --predicate /tmp/predicate.json "$REG/app:bundle"
sign ed ed
registry_tool index app index signed unsigned
registry_tool index app index-signed signed otherkey && sign a index-signed
# the signed image and its signature, copied to another repository as they are
sigtag=$(skopeo inspect --format '{{.Digest}}' "docker://$REG/app:signed" | tr : -).sig
skopeo copy -q --preserve-digests "docker://$REG/app:signed" "docker://$REG/other:signed"
skopeo copy -q --preserve-digests "docker://$REG/app:$sigtag" "docker://$REG/other:$sigtag"

python3 -c 'import json, sys; print(json.dumps({k: open(f"{k}.pub").read() for k in sys.argv[1:]}))' a b ed >&3
