"""Mirroring a rectification item into the read model (P8.1.3: every transition recorded)."""

from __future__ import annotations

from temporalio import activity

from db.engine import Database
from db.rectification import apply_rectification_changes
from domain.rectification import RecordedRectification, RectificationChanges


class RectificationActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    def apply_rectification_changes(self, changes: RectificationChanges) -> RecordedRectification:
        """Write one step of a rectification item (row, new events, changed task)."""
        with self.db.write() as conn:
            apply_rectification_changes(
                conn,
                changes.view,
                changes.revision,
                changes.events,
                changes.tasks,
                activity.info().workflow_id or "",
            )
        return RecordedRectification(
            item_id=changes.view.item_id, revision=changes.revision, events=changes.events
        )
