"""The daily report snapshots, and the indexes that keep reports and KPIs fast.

Reports aggregate in SQL over the read model (P6.3, P8.2). Each report reads one
range of one index that holds every column it needs (a covering index), so it
never visits the wide table rows (an order row carries its whole snapshot).
The indexes on tables defined elsewhere belong to those tables (`metadata`); the
migrations make them (db/migrations/).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, Index, Integer, String, Table

from db.tables import ledger_entries, metadata, orders, tasks
from db.types import UTCDateTime

#: One row per reported day: that day's reports and KPIs as computed by ReportingWorkflow.
report_snapshots = Table(
    "report_snapshots",
    metadata,
    Column("day", Date, primary_key=True),
    Column("utc_offset_hours", Integer, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    #: The workflow run that computed it (the Temporal UI's link back).
    Column("workflow_id", String(200), nullable=False),
    Column("content", JSON, nullable=False),
)

REPORT_INDEXES = (
    # Order volume, and the order accuracy rate's denominator.
    Index(
        "ix_orders_report_created",
        orders.c.created_at,
        orders.c.status,
        orders.c.kind,
        orders.c.total_amount,
        orders.c.order_id,
    ),
    # Logistics on-time delivery, attributed to the promised date.
    Index("ix_orders_report_promised", orders.c.promised_delivery_at, orders.c.delivered_at),
    # Order processing on-time rate, attributed to the task's deadline.
    Index(
        "ix_tasks_report_due",
        tasks.c.due_at,
        tasks.c.department,
        tasks.c.state,
        tasks.c.kind,
        tasks.c.closed_at,
    ),
    # Revenue net of refunds.
    Index(
        "ix_ledger_report_at", ledger_entries.c.at, ledger_entries.c.kind, ledger_entries.c.amount
    ),
)
