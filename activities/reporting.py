"""The daily report snapshot (P6.3, P8.2): compute a day's reports and KPIs and store them."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db import reports
from db.engine import Database
from domain.reports import SnapshotRequest, SnapshotStored, day_window


class ReportingActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    def store_daily_snapshot(self, request: SnapshotRequest) -> SnapshotStored:
        """Compute the day's reports and KPIs and store them as that day's snapshot."""
        window = day_window(request.day, request.utc_offset_hours)
        now = datetime.now(UTC)
        with self.db.read() as conn:
            content = reports.daily_content(conn, window, now)
        with self.db.write() as conn:
            reports.store_snapshot(
                conn, request.day, request.utc_offset_hours, content, request.workflow_id, now
            )
        return SnapshotStored(
            day=request.day,
            computed_at=now,
            orders=int(content["orders"]["orders"]),
            kpi_rows=len(content["kpis"]),
        )
