"""The supervision group's periodic checks (P8.1.1): each run, and what it found.

A run is keyed by its period (`domain.supervision.period_key`), so the schedule
starting the same period's run twice stores one run; an on-demand run has a key
of its own. Findings are keyed by (run, rule, subject).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table

from db.tables import metadata
from db.types import UTCDateTime

supervision_runs = Table(
    "supervision_runs",
    metadata,
    Column("run_id", String(100), primary_key=True),
    #: `<boundary>/<seconds>s` for a scheduled run, `on-demand:<id>` otherwise.
    Column("period", String(100), nullable=False, unique=True),
    Column("trigger", String(16), nullable=False),  # schedule | on_demand
    Column("requested_by", String(64)),
    Column("workflow_id", String(200), nullable=False, default=""),
    #: The lapses reported are those that arose in [period_start, period_end); an on-demand
    #: run has no start (everything up to its time).
    Column("period_start", UTCDateTime),
    Column("period_end", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("findings", Integer, nullable=False),
    #: Findings per severity, e.g. {"high": 1, "medium": 0, "low": 3}.
    Column("by_severity", JSON, nullable=False, default=dict),
    Index("ix_supervision_runs_started", "started_at"),
)

supervision_findings = Table(
    "supervision_findings",
    metadata,
    Column("run_id", String(100), primary_key=True),
    Column("rule", String(40), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("clause", String(40), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("department", String(32), nullable=False),
    Column("order_id", String(64)),
    Column("event_seq", Integer),
    Column("at", UTCDateTime, nullable=False),
    Column("message", String(500), nullable=False),
    Index("ix_supervision_findings_department", "department", "run_id"),
    Index("ix_supervision_findings_order", "order_id"),
)
