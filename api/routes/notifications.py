"""What the customer was told about an order, and when (P3-P5): the outbox's rows."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import CurrentStaff, State
from api.errors import not_found
from api.orders_client import recorded_status
from db import notifications
from domain.notifications import Channel, NotificationState
from domain.personal_data import recipient_for

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


class NotificationOut(BaseModel):
    notification_id: str
    order_id: str
    event_seq: int
    template: str
    channel: Channel
    #: The phone, e-mail address or customer id it went to; masked like the order's phone
    #: for departments whose work does not need it (domain/personal_data.py).
    recipient: str
    language: str
    #: The text as sent (or to be sent): it names no personal data (domain/notices.py).
    text: str
    state: NotificationState
    attempts: int
    created_at: datetime
    sent_at: datetime | None = None
    reference: str | None = None
    last_error: str | None = None


class NotificationList(BaseModel):
    order_id: str
    notifications: list[NotificationOut]


@router.get("/{order_id}/notifications", response_model=NotificationList)
async def order_notifications(order_id: str, staff: CurrentStaff, state: State) -> NotificationList:
    """Every message to the customer about the order, oldest first: its text, channel and
    state (`pending`, `sent`, `handed_off` to customer service)."""
    if await recorded_status(state, order_id) is None:
        raise not_found(f"order {order_id}")

    def read() -> list[dict[str, object]]:
        with state.db.read() as conn:
            return notifications.rows(conn, order_id)

    rows = await run_in_threadpool(read)
    department = staff.department
    return NotificationList(
        order_id=order_id,
        notifications=[
            NotificationOut.model_validate(
                {
                    **row,
                    "recipient": recipient_for(
                        department, Channel(str(row["channel"])), str(row["recipient"])
                    ),
                }
            )
            for row in rows
        ],
    )
