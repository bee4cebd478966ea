"""The customer notification channel adapter (P3, P4, P5, P7.2): SMS, email, in-app chat.

`OMS_NOTIFICATION_CHANNEL` names the class (`simulated` by default), built as
`ClassName(db, **OMS_NOTIFICATION_CHANNEL_OPTIONS)` (activities/adapters.py).

Failure modes (activities/adapters.py): `Declined` (this recipient cannot be reached
this way: customer service takes over at once), `Temporary` and `Unknown` (retried
with the same notification id, which the channel honours, so nothing is sent twice).

The embedded default is `SimulatedChannel`, a stand-in that sends nothing: it records
what it would send in a table of its own (db/channel_tables.py) and acts out the failure
modes for recipients whose digits start with a configured prefix: `000` declined,
`999` unavailable (`Temporary`), `998` sent but the answer lost (`Unknown`, the first
time only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select

from activities.adapters import Declined, Temporary, Unknown
from db.channel_tables import simulated_channel_messages
from db.engine import Database
from db.upsert import insert_ignore
from domain.notifications import Channel, OutgoingMessage


class NotificationChannel(Protocol):
    def send(self, message: OutgoingMessage) -> str:
        """Send the message; returns the provider's reference.

        Idempotent on `message.notification_id`: sent again, it is not delivered twice
        and the same reference comes back.
        """
        ...


@dataclass(frozen=True)
class RecordedMessage:
    """A message the simulated channel would have sent."""

    notification_id: str
    order_id: str
    channel: Channel
    recipient: str
    language: str
    text: str
    reference: str
    at: datetime


class SimulatedChannel:
    """A stand-in for the SMS, email and chat providers (named as such: it sends nothing).

    Args:
        db: the read model; the stand-in's books are its `simulated_channel_messages`.
        decline_prefix: recipients whose digits start with it cannot be reached (`Declined`).
        fail_prefix: recipients whose digits start with it meet an unavailable provider
            (`Temporary`); nothing is recorded.
        unknown_prefix: for recipients whose digits start with it, the first send is
            recorded but its answer lost (`Unknown`); the retry returns the reference.
    """

    def __init__(
        self,
        db: Database,
        decline_prefix: str = "000",
        fail_prefix: str = "999",
        unknown_prefix: str = "998",
    ) -> None:
        self.db = db
        self.decline_prefix = decline_prefix
        self.fail_prefix = fail_prefix
        self.unknown_prefix = unknown_prefix

    def send(self, message: OutgoingMessage) -> str:
        digits = "".join(ch for ch in message.recipient if ch.isdigit())
        # No recipient in the messages: they end up in failure texts and logs.
        if self.decline_prefix and digits.startswith(self.decline_prefix):
            raise Declined(f"the simulated channel cannot reach recipients {self.decline_prefix}…")
        if self.fail_prefix and digits.startswith(self.fail_prefix):
            raise Temporary(f"the simulated channel is unavailable for {self.fail_prefix}…")
        reference = "SIMMSG-" + hashlib.sha256(message.notification_id.encode()).hexdigest()[:16]
        with self.db.write() as conn:
            recorded = insert_ignore(
                conn,
                simulated_channel_messages,
                [
                    {
                        "notification_id": message.notification_id,
                        "order_id": message.order_id,
                        "channel": message.channel.value,
                        "recipient": message.recipient,
                        "language": message.language,
                        "text": message.text,
                        "reference": reference,
                        "at": datetime.now(UTC),
                    }
                ],
            )
            stored = conn.execute(
                select(simulated_channel_messages.c.reference).where(
                    simulated_channel_messages.c.notification_id == message.notification_id
                )
            ).scalar_one()
        if recorded and self.unknown_prefix and digits.startswith(self.unknown_prefix):
            # Sent, but the answer is lost on the way back, as a timeout would lose it.
            raise Unknown(f"the simulated channel lost its answer for {self.unknown_prefix}…")
        return str(stored)

    def sent_messages(self, order_id: str) -> list[RecordedMessage]:
        """What the stand-in would have sent for an order, oldest first (tests, the demo)."""
        table = simulated_channel_messages
        with self.db.read() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.order_id == order_id)
                .order_by(table.c.at, table.c.notification_id)
            ).all()
        return [
            RecordedMessage(
                notification_id=row.notification_id,
                order_id=row.order_id,
                channel=Channel(row.channel),
                recipient=row.recipient,
                language=row.language,
                text=row.text,
                reference=row.reference,
                at=row.at,
            )
            for row in rows
        ]
