"""Response bodies of the feedback and rating endpoints (P7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.actors import Department
from domain.feedback import (
    Channel,
    FeedbackKind,
    FeedbackOutcome,
    FeedbackReply,
    FeedbackState,
    FeedbackView,
)


class FeedbackCreated(BaseModel):
    feedback_id: str
    state: FeedbackState
    #: The customer-service task; None only if the workflow has not opened it yet.
    task_id: str | None
    first_reply_due_at: datetime | None


class FeedbackSummary(BaseModel):
    feedback_id: str
    kind: FeedbackKind
    channel: Channel
    customer_id: str
    order_id: str | None
    subject: str
    state: FeedbackState
    received_at: datetime
    first_reply_due_at: datetime
    first_reply_at: datetime | None
    replies: int
    resolved_at: datetime | None
    outcome: FeedbackOutcome | None
    task_id: str | None
    assignee: str | None = None
    overdue: bool = False
    escalated: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FeedbackSummary:
        data = dict(row)
        data["overdue"] = bool(data.get("overdue"))
        data["escalated"] = bool(data.get("escalated"))
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


class FeedbackList(BaseModel):
    items: list[FeedbackSummary]
    next_cursor: str | None


class FeedbackEventPublic(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor_id: str
    actor_department: str
    note: str
    task_id: str | None
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FeedbackEventPublic:
        return cls.model_validate({k: v for k, v in row.items() if k in cls.model_fields})


class FeedbackPublic(BaseModel):
    feedback_id: str
    kind: FeedbackKind
    channel: Channel
    customer_id: str
    order_id: str | None
    subject: str
    message: str
    state: FeedbackState
    received_at: datetime
    received_by: str
    first_reply_due_at: datetime
    first_reply_at: datetime | None
    replies: list[FeedbackReply]
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: FeedbackOutcome | None
    result: str | None
    referred_to: list[Department]
    task_id: str | None
    assignee: str | None
    overdue: bool
    escalated: bool
    events: list[FeedbackEventPublic]
    #: The feedback's workflow in the Temporal UI: only for the departments that may read
    #: histories decrypted (supervision, admin); null for the others.
    temporal_ui_url: str | None

    @classmethod
    def build(
        cls, view: FeedbackView, events: list[dict[str, Any]], ui_url: str | None
    ) -> FeedbackPublic:
        task = view.task
        return cls(
            **view.model_dump(exclude={"task", "received_by", "replies"}),
            replies=view.replies,
            received_by=view.received_by.staff_id,
            task_id=task.task_id if task else None,
            assignee=task.assignee if task else None,
            overdue=bool(task and task.overdue),
            escalated=bool(task and task.escalated),
            events=[FeedbackEventPublic.from_row(e) for e in events],
            temporal_ui_url=ui_url,
        )


class RatingPublic(BaseModel):
    order_id: str
    score: int
    comment: str
    channel: Channel
    rated_at: datetime
    rated_by: str
