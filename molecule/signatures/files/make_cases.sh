#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# One image per case in $REG/app (and a copy in $REG/other), built from busybox
# here (no other registry), signed by Debian's cosign or attacked with
# dg-registry-tool. COSIGN_PASSWORD comes from the environment.
set -euo pipefail
cd /root/keys
BUSYBOX=$(command -v busybox)

image() { # image TAG [REPO]: a distinct image (its /case file says which) pushed as REPO:TAG
  local dir
  dir=$(mktemp -d)
  cp "$BUSYBOX" "$dir/busybox"
  echo "$1 $RANDOM" > "$dir/case"
  tar -C "$dir" -c . | docker import -q -c 'ENTRYPOINT ["/busybox"]' -c 'CMD ["sleep", "3600"]' - "$REG/${2:-app}:$1" >/dev/null
  docker push -q "$REG/${2:-app}:$1" >/dev/null
  rm -rf "$dir"
}
sign() { # sign KEY TAG [cosign options]
  local key=$1 tag=$2
  shift 2
  cosign sign --key "$key.key" --tlog-upload=false --yes "$@" "$REG/app:$tag" >/dev/null 2>&1
}

for tag in signed unsigned otherkey tampered moved copied referrer bundle ed; do image "$tag"; done
sign a signed
sign b otherkey
sign a tampered && dg-registry-tool tamper app tampered
sign a moved && image moved                                   # the tag now names a new, unsigned digest
docker tag "$REG/app:copied" "$REG/app:copied-before" && docker push -q "$REG/app:copied-before" >/dev/null
sign a copied && image copied && dg-registry-tool copy-sig app copied-before copied
COSIGN_EXPERIMENTAL=1 sign a referrer --registry-referrers-mode=oci-1-1
echo '{"built-by": "molecule"}' > /tmp/predicate.json
cosign attest --key a.key --tlog-upload=false --yes --new-bundle-format --type custom \
  --predicate /tmp/predicate.json "$REG/app:bundle" >/dev/null 2>&1
sign ed ed
dg-registry-tool index app index signed unsigned
dg-registry-tool index app index-signed signed otherkey && sign a index-signed
# the signed image and its signature, copied to another repository as they are
sigtag=$(skopeo inspect --format '{{.Digest}}' "docker://$REG/app:signed" | tr : -).sig
skopeo copy -q --preserve-digests "docker://$REG/app:signed" "docker://$REG/other:signed"
skopeo copy -q --preserve-digests "docker://$REG/app:$sigtag" "docker://$REG/other:$sigtag"
