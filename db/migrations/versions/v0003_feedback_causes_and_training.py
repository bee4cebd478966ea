"""Feedback analysis (P7.3.2) and customer-service training (P7.1): the causes supervision
keeps (`feedback_causes`), each resolved feedback's cause (`feedback_cause_tags`, with every
tagging in `feedback_cause_tag_history`), training sessions and their attendance.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

New tables only, so the previous release's code runs on the database unchanged while its
orders drain. The default list of causes is not written here: the API writes it on its
first start on an empty list (db/feedback_causes.py `seed_default_causes`), so a database
migrated to head has its new tables empty, like every other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_causes",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("feedback_causes_pkey")),
    )
    op.create_table(
        "feedback_cause_tags",
        sa.Column("feedback_id", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("tagged_by", sa.String(length=64), nullable=False),
        sa.Column("tagged_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("feedback_id", name=op.f("feedback_cause_tags_pkey")),
    )
    op.create_index(
        "ix_feedback_cause_tags_report",
        "feedback_cause_tags",
        ["resolved_at", "cause", "department"],
        unique=False,
    )
    op.create_table(
        "feedback_cause_tag_history",
        sa.Column("feedback_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("tagged_by", sa.String(length=64), nullable=False),
        sa.Column("tagged_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("feedback_id", "seq", name=op.f("feedback_cause_tag_history_pkey")),
    )
    op.create_table(
        "training_sessions",
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("trainer", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("training_sessions_pkey")),
    )
    op.create_index("ix_training_sessions_held_on", "training_sessions", ["held_on"], unique=False)
    op.create_table(
        "training_attendance",
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "staff_id", name=op.f("training_attendance_pkey")),
    )
    op.create_index(
        "ix_training_attendance_staff", "training_attendance", ["staff_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_training_attendance_staff", table_name="training_attendance")
    op.drop_table("training_attendance")
    op.drop_index("ix_training_sessions_held_on", table_name="training_sessions")
    op.drop_table("training_sessions")
    op.drop_table("feedback_cause_tag_history")
    op.drop_index("ix_feedback_cause_tags_report", table_name="feedback_cause_tags")
    op.drop_table("feedback_cause_tags")
    op.drop_table("feedback_causes")
