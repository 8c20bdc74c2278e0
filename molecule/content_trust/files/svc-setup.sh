# shellcheck shell=bash
# Runs on dg-content-trust-svc after the configuration tree is unpacked:
# MariaDB up, Notary's tables and users, then signer, server and registry
# started and waited for over TLS. Test-only secrets come from the unpacked
# files (0600).
set -euo pipefail
chown docker-registry /etc/dg-services/tls/registry-key.pem
systemctl enable --now mariadb
mariadb < /etc/dg-services/notary-schema.sql
mariadb < /etc/dg-services/notary-users.sql
systemctl daemon-reload
systemctl enable dg-notary-signer dg-notary-server
systemctl restart docker-registry dg-notary-signer dg-notary-server
for i in $(seq 60); do
  if curl -fsS --cacert /etc/dg-services/tls/ca.pem https://localhost:4443/_notary_server/health >/dev/null 2>&1 &&
     curl -fsS --cacert /etc/dg-services/tls/ca.pem https://localhost:5000/v2/ >/dev/null 2>&1; then
    echo "registry and notary answer after ${i} tries"
    exit 0
  fi
  sleep 1
done
journalctl --no-pager -n 40 -u dg-notary-signer -u dg-notary-server -u docker-registry
exit 1
