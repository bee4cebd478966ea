"""Sending the customer's messages from the outbox through the channel (P3-P5).

The outbox rows were written with the events that caused them. This activity sends
each through the channel adapter (activities/channels.py) with its notification id
as the idempotency key, and moves the row on: `sent`, with the provider's reference;
or, refused by the channel (`Declined`) or still failing at the last attempt
(`OMS_NOTIFICATION_ATTEMPTS`), `handed_off`: the workflow opens customer service's
`notify_customer` task. A message already sent is never sent again: a retried
activity skips it, and the channel honours the id if the row's update was lost.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters import Declined
from activities.channels import NotificationChannel
from db import notifications
from db.engine import Database
from domain.notifications import (
    Channel,
    HandedOff,
    NoticesSent,
    NotificationState,
    OutgoingMessage,
    SendNotices,
)

SENT, HANDED_OFF = NotificationState.SENT.value, NotificationState.HANDED_OFF.value


class NotificationActivities:
    def __init__(self, db: Database, channel: NotificationChannel, attempts: int) -> None:
        self.db = db
        self.channel = channel
        self.attempts = attempts

    @activity.defn
    def send_notifications(self, request: SendNotices) -> NoticesSent:
        """Send an order's pending messages; answer what was sent and what was handed off."""
        last_attempt = activity.info().attempt >= self.attempts
        with self.db.read() as conn:
            rows = notifications.by_id(conn, request.notification_ids)
        answer = NoticesSent(order_id=request.order_id)
        found = {row["notification_id"] for row in rows}
        for missing in sorted(set(request.notification_ids) - found):
            answer.handed_off.append(
                HandedOff(
                    notification_id=missing, template="", channel="", reason="not in the outbox"
                )
            )
        failing: list[str] = []
        for row in rows:
            notice_id = row["notification_id"]
            if row["state"] == SENT:
                answer.sent.append(notice_id)
                continue
            if row["state"] == HANDED_OFF:
                answer.handed_off.append(_handed_off(row, row["last_error"] or ""))
                continue
            try:
                reference = self.channel.send(_message(row))
            except Declined as refused:
                self._hand_off(row, f"declined: {refused}")
                answer.handed_off.append(_handed_off(row, f"declined: {refused}"))
                continue
            except Exception as error:  # Temporary, Unknown, anything else: try again
                reason = f"{type(error).__name__}: {error}"[:500]
                if last_attempt:
                    self._hand_off(row, f"gave up after {row['attempts'] + 1} attempts: {reason}")
                    answer.handed_off.append(_handed_off(row, reason))
                else:
                    self._failed(row, reason)
                    failing.append(notice_id)
                continue
            with self.db.write() as conn:
                notifications.mark(
                    conn,
                    notice_id,
                    state=SENT,
                    reference=reference[:200],
                    sent_at=datetime.now(UTC),
                    attempts=row["attempts"] + 1,
                )
            answer.sent.append(notice_id)
        if failing:
            # Temporal retries with backoff; what was sent is skipped next time.
            raise ApplicationError(
                f"{len(failing)} message(s) of {request.order_id or 'feedback'} not delivered yet",
                type="ChannelUnavailable",
            )
        return answer

    def _failed(self, row: dict[str, object], reason: str) -> None:
        with self.db.write() as conn:
            attempts = int(str(row["attempts"])) + 1
            notifications.mark(
                conn, str(row["notification_id"]), attempts=attempts, last_error=reason
            )

    def _hand_off(self, row: dict[str, object], reason: str) -> None:
        with self.db.write() as conn:
            notifications.mark(
                conn,
                str(row["notification_id"]),
                state=HANDED_OFF,
                attempts=int(str(row["attempts"])) + 1,
                last_error=reason[:500],
            )


def _message(row: dict[str, object]) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=str(row["notification_id"]),
        order_id=None if row["order_id"] is None else str(row["order_id"]),
        channel=Channel(str(row["channel"])),
        recipient=str(row["recipient"]),
        language=str(row["language"]),
        text=str(row["text"]),
    )


def _handed_off(row: dict[str, object], reason: str) -> HandedOff:
    return HandedOff(
        notification_id=str(row["notification_id"]),
        template=str(row["template"]),
        channel=str(row["channel"]),
        reason=reason[:300],
    )
