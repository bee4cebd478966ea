"""Tables of customer feedback (P7.2, P7.3) and satisfaction ratings.

Feedback is mirrored from its `FeedbackWorkflow` like orders are: the row keyed by
`feedback_id` (only a newer `revision` overwrites), its record in `feedback_events`
keyed by `(feedback_id, seq)` (never rewritten). Its task lives in `tasks` with the
other inboxes. A rating is one row per order.
"""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, Index, Integer, String, Table, Text

from db.tables import metadata
from db.types import UTCDateTime

feedback = Table(
    "feedback",
    metadata,
    Column("feedback_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # inquiry | complaint | praise
    Column("channel", String(16), nullable=False),  # online | hotline | email
    Column("customer_id", String(64), nullable=False),
    Column("order_id", String(64)),
    Column("subject", String(200), nullable=False, default=""),
    Column("message", Text, nullable=False),
    Column("state", String(16), nullable=False),  # open | replied | resolved
    Column("received_at", UTCDateTime, nullable=False),
    Column("received_by", String(64), nullable=False),
    Column("received_department", String(32), nullable=False),
    Column("first_reply_due_at", UTCDateTime, nullable=False),
    Column("first_reply_at", UTCDateTime),
    Column("replies", Integer, nullable=False, default=0),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(64)),
    Column("outcome", String(20)),
    Column("result", Text),
    #: Departments the feedback was passed to (P3.5), comma-separated.
    Column("referred_to", String(200), nullable=False, default=""),
    Column("task_id", String(100)),
    Column("intake_fingerprint", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    #: The workflow's whole view (FeedbackView), for the detail page.
    Column("snapshot", JSON, nullable=False),
    # The satisfaction report reads only this index (no table lookups).
    Index(
        "ix_feedback_report",
        "received_at",
        "channel",
        "kind",
        "state",
        "first_reply_at",
        "first_reply_due_at",
    ),
    Index("ix_feedback_state_received", "state", "received_at"),
    Index("ix_feedback_order", "order_id"),
    Index("ix_feedback_customer", "customer_id", "received_at"),
)

feedback_events = Table(
    "feedback_events",
    metadata,
    Column("feedback_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_department", String(32), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("task_id", String(100)),
    Column("data", JSON, nullable=False, default=dict),
    Index("ix_feedback_events_kind_at", "kind", "at"),
)

#: One rating per order (the first one stands); `fingerprint` tells a repeat from a change.
satisfaction_ratings = Table(
    "satisfaction_ratings",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("comment", String(1000), nullable=False, default=""),
    Column("channel", String(16), nullable=False),
    Column("rated_at", UTCDateTime, nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_department", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    CheckConstraint("score >= 1 AND score <= 5", name="ck_rating_score"),
    Index("ix_ratings_report", "rated_at", "channel", "score"),
)
