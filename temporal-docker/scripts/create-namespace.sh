#!/bin/sh
# Register the namespace and the search attributes ops filter orders by (architecture rule 7;
# the same list as workflows/search_attributes.py). Safe to run again.
#
# The frontend takes only mutual TLS and a bearer token (docs/ops.md, "The engine closed
# (production)"). The admin leaf and the CA come in TEMPORAL_TLS_CA / _CERT / _KEY and
# TEMPORAL_TLS_SERVER_NAME (the names the temporal CLI has always read); they are exported
# under the CLI's newer names too, so that any CLI version of the image finds them. The token,
# a service account's with `<namespace>:admin`, is TEMPORAL_API_KEY (read by every version).
set -eu

: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}"
: "${TEMPORAL_TLS_CA:?}" "${TEMPORAL_TLS_CERT:?}" "${TEMPORAL_TLS_KEY:?}"
: "${TEMPORAL_TLS_SERVER_NAME:?}"
: "${TEMPORAL_API_KEY:?the setup service account token (SETUP_TEMPORAL_TOKEN in .env)}"
RETENTION="${RETENTION:-30d}"

export TEMPORAL_TLS=true
export TEMPORAL_TLS_SERVER_CA_CERT_PATH="$TEMPORAL_TLS_CA"
export TEMPORAL_TLS_CLIENT_CERT_PATH="$TEMPORAL_TLS_CERT"
export TEMPORAL_TLS_CLIENT_KEY_PATH="$TEMPORAL_TLS_KEY"

# A refused certificate looks like a frontend not up yet: say what the CLI said.
until answer="$(temporal operator cluster health --address "$TEMPORAL_ADDRESS" 2>&1)"; do
  echo "waiting for the Temporal frontend: $(printf '%s\n' "$answer" | tail -n 1)"; sleep 2
done

if ! temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --address "$TEMPORAL_ADDRESS"
fi

add() {
  temporal operator search-attribute create --namespace "$NAMESPACE" \
    --address "$TEMPORAL_ADDRESS" --name "$1" --type "$2" \
    || echo "search attribute $1 exists"
}
add OrderStatus Keyword
add PendingDepartment Keyword
add CustomerId Keyword
add OrderTotal Double
add Overdue Bool

echo "namespace $NAMESPACE is ready"
