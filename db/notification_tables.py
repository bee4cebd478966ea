"""The customer notifications outbox (P3-P5): one row per message, written in the same
transaction as the order's event that causes it (db/order_records.py)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from db.tables import metadata
from db.types import UTCDateTime

notifications = Table(
    "notifications",
    metadata,
    Column("notification_id", String(100), primary_key=True),
    # None for a reply to feedback about no order (P7.2).
    Column("order_id", String(64)),
    Column("event_seq", Integer, nullable=False),
    Column("template", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    # Personal data (a phone number or an e-mail address): masked by the API like the order's.
    Column("recipient", String(254), nullable=False),
    Column("language", String(8), nullable=False),
    # The text as it is (or was) sent.
    Column("text", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent | handed_off
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("reference", String(200)),
    Column("last_error", String(500)),
    Index("ix_notifications_order", "order_id", "event_seq"),
)
