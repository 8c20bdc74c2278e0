# shellcheck shell=bash
# Runs on dg-content-trust-host: the engine trusts the registry's CA (per
# registry, as Docker documents), signers alice and bob and an ordinary user
# carol, each signer's delegation key made by the docker client in her own
# ~/.docker/trust, and a tiny image built here from busybox.
set -euo pipefail
install -D -m 0644 /root/dg-ca.pem /etc/docker/certs.d/dg-content-trust-svc:5000/ca.crt
for u in alice bob carol; do
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash -G docker "$u"
done
for u in alice bob; do
  if [ ! -e "/home/$u/$u.pub" ]; then
    (cd "/home/$u" && runuser -u "$u" -- env HOME="/home/$u" \
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE="molecule-only-$u" docker trust key generate "$u" --dir "/home/$u")
  fi
done
root=$(mktemp -d)
cp /bin/busybox "$root/busybox"
tar -C "$root" -c . | docker import -c 'CMD ["/busybox", "true"]' -m base - dg-content-trust-svc:5000/dg/app:base >/dev/null
rm -rf "$root"
# A CI runner that sets its own environment, content trust off: the role's
# drop-in must win over it.
cat > /etc/systemd/system/dg-ci-runner.service <<'UNIT'
[Unit]
Description=Stand-in for a CI runner that runs docker
[Service]
Environment=DOCKER_CONTENT_TRUST=0
ExecStart=/bin/sh -c 'env > /run/dg-ci-runner.env; exec sleep infinity'
UNIT
systemctl daemon-reload
systemctl start dg-ci-runner
