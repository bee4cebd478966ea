"""Mirroring the workflow's state into the read model (architecture rule 3)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db.engine import Database
from db.order_records import apply_changes
from domain.order.writes import OrderChanges, RecordedChanges


class ReadModelActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    def apply_order_changes(self, changes: OrderChanges) -> RecordedChanges:
        """Write one step of an order (snapshot, new events, changed tasks) in one transaction."""
        with self.db.write() as conn:
            apply_changes(conn, changes, datetime.now(UTC))
        return RecordedChanges(
            order_id=changes.view.order.order_id, revision=changes.revision, events=changes.events
        )
