"""The outbox's rows: written with the order's step, then moved on by the sending activity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from db.notification_tables import notifications
from db.upsert import insert_ignore
from domain.notices import Notice
from domain.notifications import NotificationState


def record(conn: Connection, notices: Sequence[Notice], now: datetime) -> None:
    """New messages, pending; a step written twice records each once."""
    insert_ignore(
        conn,
        notifications,
        [
            {
                **notice.model_dump(mode="json"),
                "state": NotificationState.PENDING.value,
                "attempts": 0,
                "created_at": now,
            }
            for notice in notices
        ],
    )


def rows(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """An order's messages, oldest first (replies to its feedback among them)."""
    query = (
        select(notifications)
        .where(notifications.c.order_id == order_id)
        .order_by(notifications.c.created_at, notifications.c.notification_id)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def by_id(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    """These messages, in the order given."""
    found = {
        row.notification_id: dict(row._mapping)
        for row in conn.execute(
            select(notifications).where(notifications.c.notification_id.in_(list(ids)))
        )
    }
    return [found[i] for i in ids if i in found]


def mark(conn: Connection, notification_id: str, **values: Any) -> None:
    conn.execute(
        update(notifications)
        .where(notifications.c.notification_id == notification_id)
        .values(**values)
    )
