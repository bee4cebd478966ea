"""Writing and reading rectification items (P8.1): audit findings as requests with a deadline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from db.audit_tables import rectification_items
from db.upsert import insert_ignore


def open_items(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Open the items not yet on record (same order, rule and event); returns how many were new."""
    return insert_ignore(conn, rectification_items, rows)


def list_items(
    conn: Connection,
    *,
    department: str | None = None,
    state: str | None = "open",
    order_id: str | None = None,
) -> list[dict[str, Any]]:
    """Items soonest due first."""
    table = rectification_items
    query = select(table)
    if department:
        query = query.where(table.c.department == department)
    if state:
        query = query.where(table.c.state == state)
    if order_id:
        query = query.where(table.c.order_id == order_id)
    query = query.order_by(table.c.due_at, table.c.order_id, table.c.rule, table.c.event_seq)
    return [dict(row) for row in conn.execute(query).mappings()]
