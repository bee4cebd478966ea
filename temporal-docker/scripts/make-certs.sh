#!/bin/sh
# The certificates of mutual TLS between every client and the Temporal server, and between the
# server's own services (docs/ops.md, "The engine closed (production)"). It makes only what is
# missing, wrong or about to expire: run it again and nothing changes.
#
# The one-shot `certs` service runs it before anything else starts, as root, so that it can
# hand each key to the user its container runs as. By hand, from temporal-docker/:
#     sudo sh scripts/make-certs.sh ./certs
#
# Two CAs, because the server trusts them for different things:
#   certs/cluster-ca/   signs the server's certificate. The server's services accept each other
#                       (internode mTLS) by it, and the internal frontend grants a caller it
#                       accepts everything, with no authorizer. It signs nothing else.
#   certs/client-ca/    signs the clients' certificates: the public frontend (7233) accepts
#                       them, and then still asks the authorizer about each call (JWT).
# A client certificate signed by the cluster CA would open the internal ports to it; kept apart,
# a stolen client leaf reaches the public frontend only, and with no token it can do nothing.
#
#   certs/server/       tls.crt, tls.key (SAN DNS:temporal, server and client use), ca.pem (the
#                       cluster CA), client-ca.pem (the client CA)
#   certs/api|worker|ui|admin/
#                       tls.crt, tls.key (signed by the client CA), ca.pem (the cluster CA, to
#                       check the server)
# Keys are 0600 and each leaf folder 0700, owned by the uid the role's container runs as; a
# service mounts its own folder and nothing else. No service mounts a CA folder: move the CA
# keys offline once the leaves exist, and back for the next issue.
#
# Rotation: ROTATE=leaves reissues every leaf under the same CAs (the old leaves stay valid
# until they expire: there is no revocation list); ROTATE=clients makes a new client CA and new
# client leaves, which is how a leaked client key stops working; ROTATE=all makes both CAs and
# every leaf anew. A leaf is also reissued when it no longer verifies against its CA or expires
# within RENEW_DAYS. Then recreate the services: docker compose up -d --force-recreate
set -eu
umask 077

OUT="${1:-${CERTS_DIR:-./certs}}"
CA_DAYS="${CA_DAYS:-3650}"
LEAF_DAYS="${LEAF_DAYS:-365}"
RENEW_DAYS="${RENEW_DAYS:-30}"
ROTATE="${ROTATE:-}"
# The frontend's name as the clients dial it: the compose service `temporal`.
SERVER_NAME="${SERVER_NAME:-temporal}"
# Who may read each key: the uid the role's image runs as (check after changing an image tag:
# docker compose run --rm --no-deps --entrypoint id <service>). Root reads any of them.
TEMPORAL_UID="${CERTS_TEMPORAL_UID:-1000}" # temporalio/server and temporalio/admin-tools
UI_UID="${CERTS_UI_UID:-5000}"             # temporalio/ui
APP_UID="${CERTS_APP_UID:-10001}"          # oms-app (temporal-docker/Dockerfile, user oms)

CLUSTER_CA="$OUT/cluster-ca"
CLIENT_CA="$OUT/client-ca"
ROLES="server api worker ui admin"

case "$ROTATE" in
  "" | leaves | clients | all) ;;
  *) echo "ROTATE must be leaves, clients or all, not '$ROTATE'" >&2; exit 2 ;;
esac

command -v openssl >/dev/null || { echo "make-certs.sh needs openssl" >&2; exit 1; }

mkdir -p "$CLUSTER_CA" "$CLIENT_CA"
chmod 700 "$OUT" "$CLUSTER_CA" "$CLIENT_CA"

new_key() {
  # EC P-256, PKCS#8; the umask makes it 0600 from its creation, the chmod says so.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  chmod 600 "$1"
}

make_ca() {
  dir="$1"
  name="$2"
  if [ -f "$dir/ca.pem" ]; then
    stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$dir/ca.pem" "$dir/retired-$stamp-ca.pem"
    [ ! -f "$dir/ca.key" ] || mv "$dir/ca.key" "$dir/retired-$stamp-ca.key"
  fi
  new_key "$dir/ca.key"
  cat >"$dir/ca.cnf" <<EOF
[req]
prompt = no
distinguished_name = dn
x509_extensions = v3_ca
[dn]
O = OMS
CN = OMS Temporal $name CA $(date -u +%Y-%m-%d)
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  openssl req -new -x509 -sha256 -days "$CA_DAYS" -config "$dir/ca.cnf" \
    -key "$dir/ca.key" -out "$dir/ca.pem"
  rm -f "$dir/ca.cnf"
  chmod 644 "$dir/ca.pem"
  echo "made a new $name CA: $dir/ca.pem"
}

owner_of() {
  case "$1" in
    server | admin) echo "$TEMPORAL_UID" ;;
    ui) echo "$UI_UID" ;;
    api | worker) echo "$APP_UID" ;;
  esac
}

signer_of() {
  if [ "$1" = server ]; then echo "$CLUSTER_CA"; else echo "$CLIENT_CA"; fi
}

# Whether a role's leaf is there, verifies against its CA and stays valid long enough.
leaf_is_good() {
  dir="$OUT/$1"
  [ -f "$dir/tls.crt" ] && [ -f "$dir/tls.key" ] || return 1
  openssl verify -CAfile "$(signer_of "$1")/ca.pem" "$dir/tls.crt" >/dev/null 2>&1 || return 1
  openssl x509 -checkend "$((RENEW_DAYS * 86400))" -noout -in "$dir/tls.crt" >/dev/null
}

issue() {
  role="$1"
  dir="$OUT/$role"
  signer="$(signer_of "$role")"
  if [ "$role" = server ]; then
    # The server's certificate is also its client certificate towards its own services
    # (internode mTLS), hence clientAuth; clients check it against the name `temporal`.
    usage="serverAuth, clientAuth"
    names="DNS:$SERVER_NAME"
    cn="$SERVER_NAME"
  else
    usage="clientAuth"
    names="DNS:oms-$role"
    cn="oms-$role"
  fi
  [ -f "$signer/ca.key" ] || {
    echo "cannot issue the $role certificate: $signer/ca.key is not here (put it back)" >&2
    exit 1
  }
  work="$(mktemp -d "$OUT/.issue-$role.XXXXXX")"
  new_key "$work/tls.key"
  cat >"$work/ext.cnf" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $usage
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $names
EOF
  openssl req -new -sha256 -key "$work/tls.key" -subj "/O=OMS/OU=$role/CN=$cn" \
    -out "$work/tls.csr"
  openssl x509 -req -sha256 -days "$LEAF_DAYS" -in "$work/tls.csr" \
    -CA "$signer/ca.pem" -CAkey "$signer/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$work/ext.cnf" -out "$work/tls.crt"
  mkdir -p "$dir"
  mv "$work/tls.key" "$dir/tls.key"
  mv "$work/tls.crt" "$dir/tls.crt"
  rm -rf "$work"
  echo "issued $dir/tls.crt ($cn, $usage)"
}

# Every run: the CA copies, the modes, and the owner the role's container reads as.
hand_over() {
  role="$1"
  dir="$OUT/$role"
  cp "$CLUSTER_CA/ca.pem" "$dir/ca.pem"
  chmod 644 "$dir/tls.crt" "$dir/ca.pem"
  if [ "$role" = server ]; then
    cp "$CLIENT_CA/ca.pem" "$dir/client-ca.pem"
    chmod 644 "$dir/client-ca.pem"
  fi
  chmod 600 "$dir/tls.key"
  chmod 700 "$dir"
  uid="$(owner_of "$role")"
  if [ "$(id -u)" = 0 ]; then
    chown -R "$uid" "$dir"
  elif [ "$(id -u)" != "$uid" ]; then
    echo "warning: $dir stays yours (uid $(id -u)); its container reads as uid $uid and" \
      "cannot open tls.key: run 'docker compose run --rm certs', or this script with sudo" >&2
  fi
}

if [ "$ROTATE" = all ] || [ ! -f "$CLUSTER_CA/ca.pem" ]; then
  make_ca "$CLUSTER_CA" cluster
fi
if [ "$ROTATE" = all ] || [ "$ROTATE" = clients ] || [ ! -f "$CLIENT_CA/ca.pem" ]; then
  make_ca "$CLIENT_CA" client
fi
chmod 600 "$CLUSTER_CA"/*.key "$CLIENT_CA"/*.key 2>/dev/null || true

for role in $ROLES; do
  # (ROTATE=clients reissues the client leaves: they no longer verify against the new CA.)
  if [ "$ROTATE" = leaves ] || [ "$ROTATE" = all ] || ! leaf_is_good "$role"; then
    issue "$role"
  fi
  hand_over "$role"
done

for role in $ROLES; do
  printf '%-7s %s\n' "$role" "$(openssl x509 -enddate -noout -in "$OUT/$role/tls.crt")"
done
