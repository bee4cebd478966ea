"""Targets, monthly evaluations and confirmed standings (P8.2, P8.3).

Targets and standings are kept as history: a new target or decision is a new row, never
an update, so who set what and when stays on record; the one in force is the latest.
An evaluation is the figures of one month as the monthly run computed them, one row per
department (`staff_id` empty) and per member of staff; a run again for the month replaces
its rows (the figures of a closed month do not change, a late correction aside).
"""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, Float, Index, Integer, String, Table

from db.tables import metadata
from db.types import UTCDateTime

STANDINGS_CHECK = "('excellent', 'meets', 'needs_improvement')"

kpi_targets = Table(
    "kpi_targets",
    metadata,
    Column("target_id", Integer, primary_key=True, autoincrement=True),
    Column("kpi", String(64), nullable=False),
    Column("department", String(32), nullable=False),
    #: NULL: the target withdrawn from `effective_from` on.
    Column("target", Float),
    #: The first month (`YYYY-MM`) the target applies to.
    Column("effective_from", String(7), nullable=False),
    Column("set_by", String(64), nullable=False),
    Column("set_at", UTCDateTime, nullable=False),
    Column("note", String(500), nullable=False, default=""),
    Index("ix_kpi_targets_key", "kpi", "department", "effective_from"),
)

scorecard_evaluations = Table(
    "scorecard_evaluations",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("department", String(32), primary_key=True),
    #: Empty for the department's own line.
    Column("staff_id", String(64), primary_key=True),
    Column("evaluated_at", UTCDateTime, nullable=False),
    Column("workflow_id", String(200)),
    Column("proposed", String(24)),
    #: The scorecard line as shown: figures, targets, flags (api/routes/scorecards.py).
    Column("figures", JSON, nullable=False, default=dict),
    CheckConstraint(
        f"proposed IS NULL OR proposed IN {STANDINGS_CHECK}", name="ck_scorecard_proposed"
    ),
)

scorecard_decisions = Table(
    "scorecard_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(7), nullable=False),
    Column("department", String(32), nullable=False),
    Column("staff_id", String(64), nullable=False, default=""),
    Column("standing", String(24), nullable=False),
    #: P8.3: the reward or penalty decided, and why.
    Column("note", String(1000), nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    CheckConstraint(f"standing IN {STANDINGS_CHECK}", name="ck_scorecard_standing"),
    Index("ix_scorecard_decisions_period", "period", "department"),
)
