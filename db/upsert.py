"""INSERT ... ON CONFLICT for SQLite and PostgreSQL: the building block of idempotent writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows whose key is new; rows already present are left as they are."""
    if not rows:
        return 0
    stmt = _insert(conn, table).on_conflict_do_nothing()
    return conn.execute(stmt, list(rows)).rowcount


def upsert(
    conn: Connection,
    table: Table,
    row: Mapping[str, Any],
    *,
    keys: Sequence[str],
    newer_than: str | None = None,
) -> int:
    """Insert the row, or update every non-key column of the existing one.

    With `newer_than` (a column name), the existing row is only updated when the
    new row's value there is greater: a retried or late write of an older
    snapshot never overwrites a newer one.
    """
    stmt = _insert(conn, table).values(**row)
    where: ColumnElement[bool] | None = None
    if newer_than is not None:
        where = table.c[newer_than] < stmt.excluded[newer_than]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in row if name not in keys},
        where=where,
    )
    return conn.execute(stmt).rowcount
