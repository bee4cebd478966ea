"""Sign-ins of the staff web console (api/console): one row per open session.

The browser holds only a random session id; the row is keyed by its SHA-256 and
remembers the hash of the token that signed in, so that rotating or revoking the
token ends the session too (the row joins the staff table on that hash).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from db.tables import metadata
from db.types import UTCDateTime

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("staff_id", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_console_sessions_expires", "expires_at"),
)
