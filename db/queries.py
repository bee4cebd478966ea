"""Read-model queries: order lists, an order's record, task inboxes (the CQRS read side)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select

from db.tables import order_events, order_lines, orders, tasks
from domain.view import OrderView


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode()


class InvalidCursor(ValueError):
    """A paging cursor this API did not hand out (or one for another list)."""


def decode_cursor(cursor: str, parts: int = 2) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(values, list) and len(values) == parts:
            if isinstance(values[0], str):
                datetime.fromisoformat(values[0])  # every cursor starts with a time
            return values
    except Exception as error:
        raise InvalidCursor("malformed cursor") from error
    raise InvalidCursor("malformed cursor")


def order_view(conn: Connection, order_id: str) -> OrderView | None:
    row = conn.execute(select(orders.c.snapshot).where(orders.c.order_id == order_id)).first()
    return OrderView.model_validate(row[0]) if row else None


def order_status(conn: Connection, order_id: str) -> str | None:
    row = conn.execute(select(orders.c.status).where(orders.c.order_id == order_id)).first()
    return row[0] if row else None


def order_kind(conn: Connection, order_id: str) -> str | None:
    row = conn.execute(select(orders.c.kind).where(orders.c.order_id == order_id)).first()
    return row[0] if row else None


def order_skus(conn: Connection, order_id: str) -> list[str]:
    """The skus of the order's lines as last recorded."""
    rows = conn.execute(select(order_lines.c.sku).where(order_lines.c.order_id == order_id))
    return [row.sku for row in rows]


def order_events_of(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(order_events).where(order_events.c.order_id == order_id).order_by(order_events.c.seq)
    ).mappings()
    return [dict(r) for r in rows]


def order_tasks(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(tasks).where(tasks.c.order_id == order_id).order_by(tasks.c.opened_at)
    ).mappings()
    return [dict(r) for r in rows]


ORDER_SUMMARY_COLUMNS = (
    orders.c.order_id,
    orders.c.status,
    orders.c.kind,
    orders.c.customer_id,
    orders.c.total_amount,
    orders.c.paid_amount,
    orders.c.refunded_amount,
    orders.c.payment_status,
    orders.c.pending_departments,
    orders.c.overdue,
    orders.c.created_at,
    orders.c.updated_at,
)


def list_orders(
    conn: Connection,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Newest first, keyset-paged on (created_at, order_id)."""
    query: Select[Any] = select(*ORDER_SUMMARY_COLUMNS)
    if status:
        query = query.where(orders.c.status == status)
    if customer_id:
        query = query.where(orders.c.customer_id == customer_id)
    if created_from:
        query = query.where(orders.c.created_at >= created_from)
    if created_to:
        query = query.where(orders.c.created_at < created_to)
    if cursor:
        at, order_id = decode_cursor(cursor)
        at = datetime.fromisoformat(at)
        query = query.where(
            or_(
                orders.c.created_at < at,
                and_(orders.c.created_at == at, orders.c.order_id < order_id),
            )
        )
    query = query.order_by(orders.c.created_at.desc(), orders.c.order_id.desc()).limit(limit + 1)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["order_id"]) if more else None
    return Page(rows, next_cursor)


def list_tasks(
    conn: Connection,
    *,
    state: str | None = "open",
    department: str | None = None,
    kind: str | None = None,
    assignee: str | None = None,
    overdue: bool | None = None,
    order_id: str | None = None,
    escalated: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Tasks with their order's summary, soonest due first, keyset-paged on (due_at, task_id)."""
    query: Select[Any] = select(
        tasks,
        orders.c.status.label("order_status"),
        orders.c.total_amount.label("order_total"),
        orders.c.customer_id.label("order_customer_id"),
    ).join(orders, orders.c.order_id == tasks.c.order_id, isouter=True)
    if state:
        query = query.where(tasks.c.state == state)
    if department:
        query = query.where(tasks.c.department == department)
    if kind:
        query = query.where(tasks.c.kind == kind)
    if assignee:
        query = query.where(tasks.c.assignee == assignee)
    if overdue is not None:
        query = query.where(tasks.c.overdue == overdue)
    if order_id:
        query = query.where(tasks.c.order_id == order_id)
    if escalated is not None:
        query = query.where(tasks.c.escalated == escalated)
    if cursor:
        due, task_id = decode_cursor(cursor)
        due = datetime.fromisoformat(due)
        query = query.where(
            or_(tasks.c.due_at > due, and_(tasks.c.due_at == due, tasks.c.task_id > task_id))
        )
    query = query.order_by(tasks.c.due_at, tasks.c.task_id).limit(limit + 1)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["due_at"], rows[-1]["task_id"]) if more else None
    return Page(rows, next_cursor)


def get_task(conn: Connection, task_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(tasks).where(tasks.c.task_id == task_id)).mappings().first()
    return dict(row) if row else None
