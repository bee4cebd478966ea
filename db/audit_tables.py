"""The supervision group's rectification items (P8.1): one per audit finding.

Keyed by (order, rule, event seq): running the audit again over the same
histories finds the same findings and adds nothing.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from db.tables import metadata
from db.types import UTCDateTime

rectification_items = Table(
    "rectification_items",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("rule", String(40), primary_key=True),
    Column("event_seq", Integer, primary_key=True),
    Column("clause", String(40), nullable=False),
    #: The department asked to rectify it, by the deadline below.
    Column("department", String(32), nullable=False),
    Column("message", String(500), nullable=False),
    Column("event_at", UTCDateTime, nullable=False),
    Column("found_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False, default="open"),  # open | closed
    Column("closed_at", UTCDateTime),
    Column("closed_by", String(64)),
    Column("resolution", String(500)),
    Index("ix_rectification_inbox", "state", "department", "due_at"),
)
