"""Read-model queries: order lists, an order's record, task inboxes (the CQRS read side)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select

from db.tables import order_events, order_lines, orders, tasks
from domain.view import OrderView


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


#: A paging cursor: `<microseconds since 1970-01-01 UTC>.<key>`, the time and the key of the
#: last item of the page before. Opaque to clients; a pattern in the OpenAPI document, so
#: that every cursor of this form is one the API takes (issue 17). Keys are order, task and
#: feedback ids (ORDER_ID_PATTERN, FEEDBACK_ID_PATTERN, `feedback:<id>-T1`...).
CURSOR_PATTERN = r"^-?[0-9]{1,16}\.[A-Za-z0-9][A-Za-z0-9_:.-]{0,199}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(at: datetime, key: str) -> str:
    return f"{(at - _EPOCH) // _MICROSECOND}.{key}"


class InvalidCursor(ValueError):
    """A paging cursor this API did not hand out (or one for another list)."""


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The time (aware, UTC) and key a cursor names; any cursor of the pattern is one."""
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidCursor("malformed cursor")
    microseconds, key = cursor.split(".", 1)
    return _EPOCH + int(microseconds) * _MICROSECOND, key


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
