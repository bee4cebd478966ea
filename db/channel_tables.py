"""The simulated notification channel's own books (activities/channels.py).

A stand-in for an SMS, email or chat provider keeps what it would have sent here, one
row per notification id (the idempotency key), so a message sent again is stored once.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from db.tables import metadata
from db.types import UTCDateTime

simulated_channel_messages = Table(
    "simulated_channel_messages",
    metadata,
    Column("notification_id", String(150), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("language", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("reference", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_simulated_channel_messages_order", "order_id", "at"),
)
