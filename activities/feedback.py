"""Mirroring a piece of feedback into the read model (P7.3: every result is recorded)."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from db import notifications
from db.engine import Database
from db.feedback import apply_feedback_changes
from domain.feedback_handling import FeedbackChanges, RecordedFeedback


class FeedbackActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    def apply_feedback_changes(self, changes: FeedbackChanges) -> RecordedFeedback:
        """Write one step of a piece of feedback (row, new events, changed task)."""
        with self.db.write() as conn:
            apply_feedback_changes(
                conn,
                changes.view,
                changes.revision,
                changes.fingerprint,
                changes.events,
                changes.tasks,
            )
            # P7.2: the replies to send, in the same transaction as their events.
            notifications.record(conn, changes.notices, datetime.now(UTC))
        return RecordedFeedback(
            feedback_id=changes.view.feedback_id, revision=changes.revision, events=changes.events
        )
