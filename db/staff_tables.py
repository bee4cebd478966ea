"""Staff roles in their department (api.md, Staff roles): who leads, to receive escalations (P8.1).

A table of its own rather than a column of `staff`: a database made by an earlier
release is refused when a table it has lacks a column (db/schema.py), while a new
table is simply created on it. A member of staff without a row here is a `member`.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, String, Table

from db.tables import metadata
from db.types import UTCDateTime

staff_roles = Table(
    "staff_roles",
    metadata,
    # The staff table's key (no foreign key: backups restore tables one by one).
    Column("staff_id", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    CheckConstraint("role IN ('member', 'lead')", name="ck_staff_roles_role"),
    Index("ix_staff_roles_role", "role"),
)
