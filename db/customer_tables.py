"""The blocked customer list (P3.1 customer qualification): kept by sales."""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from db.tables import metadata
from db.types import UTCDateTime

customer_blocks = Table(
    "customer_blocks",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("reason", String(500), nullable=False),
    Column("blocked_by", String(64), nullable=False),
    Column("blocked_at", UTCDateTime, nullable=False),
)
