"""The supervision group's rectification items (P8.1): one per audit finding.

Keyed by (order, rule, event seq): running the audit again over the same
histories finds the same findings and adds nothing.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table

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
    #: open | answered | closed (P8.1.3: answered by the department, verified by supervision).
    Column("state", String(16), nullable=False, default="open"),
    Column("closed_at", UTCDateTime),
    Column("closed_by", String(64)),
    Column("resolution", String(500)),
    #: The item's id in the API (domain.rectification.rectification_item_id of the key).
    Column("item_id", String(40), unique=True),
    #: The member of staff answerable (the department's lead when it was opened).
    Column("owner", String(64)),
    #: Set when a RectificationWorkflow tracks the item (items of `oms audit` have none).
    Column("workflow_id", String(120)),
    Column("round", Integer, nullable=False, default=1),
    Column("task_id", String(120)),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("escalated", Boolean, nullable=False, default=False),
    Column("cause", String(1000)),
    Column("corrective_action", String(1000)),
    Column("evidence", String(2000)),
    Column("answered_at", UTCDateTime),
    Column("answered_by", String(64)),
    Column("verified_at", UTCDateTime),
    Column("verified_by", String(64)),
    Column("verification_note", String(1000)),
    #: Grows with every write from the workflow; the read model keeps the highest.
    Column("revision", Integer, nullable=False, default=0),
    Index("ix_rectification_inbox", "state", "department", "due_at"),
)

#: Every transition of a tracked item, with its actor and time (P8.1.3).
rectification_events = Table(
    "rectification_events",
    metadata,
    Column("item_id", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_department", String(32), nullable=False),
    Column("note", String(1000), nullable=False, default=""),
    Column("task_id", String(120)),
    Column("data", JSON, nullable=False, default=dict),
)
