"""Tables of feedback analysis (P7.3.2): the causes supervision keeps, and each resolved
feedback's cause as customer service tagged it.

The tags are a read model of their own, written by the API (the feedback's workflow has
ended once it is resolved, and tagging changes nothing of it): `feedback_cause_tags` holds
the tag in force, one row per feedback (a re-tag overwrites it, with who and when), and
`feedback_cause_tag_history` every tagging in order, never rewritten. The tag copies the
feedback's `resolved_at` (fixed once resolved), so the report reads one index of one table.

No foreign keys, as elsewhere in the read model: backups restore tables one by one.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table

from db.tables import metadata
from db.types import UTCDateTime

#: The list of causes supervision keeps; a retired cause stays (old tags name it).
feedback_causes = Table(
    "feedback_causes",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("label_zh", String(100), nullable=False),
    Column("label_en", String(100), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("changed_by", String(64), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)

feedback_cause_tags = Table(
    "feedback_cause_tags",
    metadata,
    Column("feedback_id", String(64), primary_key=True),
    Column("cause", String(40), nullable=False),
    #: The department responsible (domain.actors.Department), and the step when named.
    Column("department", String(32), nullable=False),
    Column("step", String(40)),
    Column("note", String(1000), nullable=False, default=""),
    Column("tagged_by", String(64), nullable=False),
    Column("tagged_at", UTCDateTime, nullable=False),
    #: The feedback's own `resolved_at`: the report's windows are of it.
    Column("resolved_at", UTCDateTime, nullable=False),
    #: How many times the feedback has been tagged (1 for the first tag).
    Column("revision", Integer, nullable=False),
    Index("ix_feedback_cause_tags_report", "resolved_at", "cause", "department"),
)

feedback_cause_tag_history = Table(
    "feedback_cause_tag_history",
    metadata,
    Column("feedback_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("cause", String(40), nullable=False),
    Column("department", String(32), nullable=False),
    Column("step", String(40)),
    Column("note", String(1000), nullable=False, default=""),
    Column("tagged_by", String(64), nullable=False),
    Column("tagged_at", UTCDateTime, nullable=False),
)
