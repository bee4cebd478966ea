"""Rectification items tracked by a workflow (P8.1.3): their answer, verification and
rounds on `rectification_items`, and every transition in `rectification_events`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

Written with `oms db revision --autogenerate`, then adjusted: the NOT NULL columns get a
server default, so the rows already there take one and the previous release's code, which
inserts rows without these columns while its orders drain, still can; and items made
before this revision get their id (`domain.rectification.rectification_item_id`, copied
here as it is today, so the revision does not change if that function does).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _item_id(order_id: str, rule: str, event_seq: int) -> str:
    digest = hashlib.sha256(f"{order_id}|{rule}|{event_seq}".encode()).hexdigest()[:16]
    return f"RI-{digest}"


def _give_items_their_ids() -> None:
    items = sa.table(
        "rectification_items",
        sa.column("order_id", sa.String),
        sa.column("rule", sa.String),
        sa.column("event_seq", sa.Integer),
        sa.column("item_id", sa.String),
    )
    bind = op.get_bind()
    keys = bind.execute(
        sa.select(items.c.order_id, items.c.rule, items.c.event_seq).where(
            items.c.item_id.is_(None)
        )
    ).all()
    for order_id, rule, event_seq in keys:
        bind.execute(
            items.update()
            .where(
                items.c.order_id == order_id,
                items.c.rule == rule,
                items.c.event_seq == event_seq,
            )
            .values(item_id=_item_id(order_id, rule, event_seq))
        )


def upgrade() -> None:
    op.create_table(
        "rectification_events",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_department", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("task_id", sa.String(length=120), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "seq", name=op.f("rectification_events_pkey")),
    )
    with op.batch_alter_table("rectification_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("workflow_id", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("round", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch_op.add_column(sa.Column("task_id", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("escalated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("cause", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("corrective_action", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("evidence", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("answered_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("verification_note", sa.String(length=1000), nullable=True))
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.create_unique_constraint(
            batch_op.f("rectification_items_item_id_key"), ["item_id"]
        )
    _give_items_their_ids()


def downgrade() -> None:
    with op.batch_alter_table("rectification_items", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("rectification_items_item_id_key"), type_="unique")
        batch_op.drop_column("revision")
        batch_op.drop_column("verification_note")
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("answered_by")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("evidence")
        batch_op.drop_column("corrective_action")
        batch_op.drop_column("cause")
        batch_op.drop_column("escalated")
        batch_op.drop_column("overdue")
        batch_op.drop_column("task_id")
        batch_op.drop_column("round")
        batch_op.drop_column("workflow_id")
        batch_op.drop_column("owner")
        batch_op.drop_column("item_id")

    op.drop_table("rectification_events")
