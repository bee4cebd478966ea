"""Tables of customer-service training (P7.1): the sessions held, and who attended each.

Written by the API (supervision records a session and its attendance); attendance is
keyed by (session, member of staff), so recording it twice records it once.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, String, Table

from db.tables import metadata
from db.types import UTCDateTime

training_sessions = Table(
    "training_sessions",
    metadata,
    Column("session_id", String(40), primary_key=True),
    Column("topic", String(200), nullable=False),
    #: The day it was held (the company's calendar day).
    Column("held_on", Date, nullable=False),
    Column("trainer", String(100), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    #: Hash of the recording request, so a repeated POST with another body is a 409.
    Column("fingerprint", String(64), nullable=False),
    Index("ix_training_sessions_held_on", "held_on"),
)

training_attendance = Table(
    "training_attendance",
    metadata,
    Column("session_id", String(40), primary_key=True),
    # The staff table's key (no foreign key: backups restore tables one by one).
    Column("staff_id", String(64), primary_key=True),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_training_attendance_staff", "staff_id"),
)
