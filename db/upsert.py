"""INSERT ... ON CONFLICT for SQLite and PostgreSQL: the building block of idempotent writes.

The statements are built once per table and shape and then executed with each
row as parameters: building and cache-keying a fresh statement for every write
cost the worker more than executing it (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

#: Built statements by (dialect, table, columns, keys, newer_than). Statements are
#: immutable, so threads share them; a race only builds one twice.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _ignore_statement(dialect: str, table: Table) -> Any:
    key = ("ignore", dialect, table)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _insert(dialect, table).on_conflict_do_nothing()
    return statement


def _upsert_statement(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    newer_than: str | None,
) -> Any:
    key = ("upsert", dialect, table, columns, keys, newer_than)
    statement = _STATEMENTS.get(key)
    if statement is None:
        insert = _insert(dialect, table)
        where: ColumnElement[bool] | None = None
        if newer_than is not None:
            where = table.c[newer_than] < insert.excluded[newer_than]
        statement = _STATEMENTS[key] = insert.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: insert.excluded[name] for name in columns if name not in keys},
            where=where,
        )
    return statement


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows whose key is new; rows already present are left as they are."""
    if not rows:
        return 0
    return conn.execute(_ignore_statement(conn.dialect.name, table), list(rows)).rowcount


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
    statement = _upsert_statement(conn.dialect.name, table, tuple(row), tuple(keys), newer_than)
    return conn.execute(statement, dict(row)).rowcount
