#!/bin/sh
# Register the namespace and the search attributes ops filter orders by (architecture rule 7;
# the same list as workflows/search_attributes.py). Safe to run again.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}"
RETENTION="${RETENTION:-30d}"

until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  echo "waiting for the Temporal frontend"; sleep 2
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
