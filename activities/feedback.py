"""Mirroring a piece of feedback into the read model (P7.3: every result is recorded)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from db.engine import Database
from db.feedback import apply_feedback_changes
from domain.feedback import FeedbackEvent, FeedbackView
from domain.tasks import Task


class FeedbackChanges(BaseModel):
    """What changed in one step of a piece of feedback, written in one transaction."""

    view: FeedbackView
    #: Grows with every write from the workflow; the read model keeps the highest.
    revision: int
    #: Hash of the intake request (POST /feedback is idempotent on feedback_id and body).
    fingerprint: str
    events: list[FeedbackEvent] = []
    tasks: list[Task] = []


class RecordedFeedback(BaseModel):
    """The events a step wrote, returned so that they stand in the workflow history too."""

    feedback_id: str
    revision: int
    events: list[FeedbackEvent] = []


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
        return RecordedFeedback(
            feedback_id=changes.view.feedback_id, revision=changes.revision, events=changes.events
        )
