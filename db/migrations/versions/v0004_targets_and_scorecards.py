"""Targets, monthly scorecard evaluations and confirmed standings (P8.2, P8.3).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

New tables only (db/scorecard_tables.py): nothing already there changes, and the previous
release, which knows none of them, goes on writing its own tables while its orders drain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

STANDINGS = "('excellent', 'meets', 'needs_improvement')"


def upgrade() -> None:
    op.create_table(
        "kpi_targets",
        sa.Column("target_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("effective_from", sa.String(length=7), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("target_id", name=op.f("kpi_targets_pkey")),
    )
    op.create_index("ix_kpi_targets_key", "kpi_targets", ["kpi", "department", "effective_from"])
    op.create_table(
        "scorecard_evaluations",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("proposed", sa.String(length=24), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            f"proposed IS NULL OR proposed IN {STANDINGS}", name="ck_scorecard_proposed"
        ),
        sa.PrimaryKeyConstraint(
            "period", "department", "staff_id", name=op.f("scorecard_evaluations_pkey")
        ),
    )
    op.create_table(
        "scorecard_decisions",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("standing", sa.String(length=24), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(f"standing IN {STANDINGS}", name="ck_scorecard_standing"),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("scorecard_decisions_pkey")),
    )
    op.create_index(
        "ix_scorecard_decisions_period", "scorecard_decisions", ["period", "department"]
    )


def downgrade() -> None:
    op.drop_index("ix_scorecard_decisions_period", table_name="scorecard_decisions")
    op.drop_table("scorecard_decisions")
    op.drop_table("scorecard_evaluations")
    op.drop_index("ix_kpi_targets_key", table_name="kpi_targets")
    op.drop_table("kpi_targets")
