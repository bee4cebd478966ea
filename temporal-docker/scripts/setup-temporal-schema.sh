#!/bin/sh
# Create Temporal's two databases on PostgreSQL and bring their schemas to the version this
# admin-tools image ships (the same version as the server). Safe to run again: `create`
# fails harmlessly on an existing database and `update-schema` applies only what is missing.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"
}

until nc -z "$POSTGRES_SEEDS" "$PORT"; do echo "waiting for PostgreSQL"; sleep 1; done

for database in temporal temporal_visibility; do
  sql --db "$database" create || echo "database $database exists"
done

sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$SCHEMA/temporal/versioned"

sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"

echo "Temporal schemas are up to date"
