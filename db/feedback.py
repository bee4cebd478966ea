"""Feedback and ratings in the read model: idempotent writes, and the reads the API serves.

Writes of feedback come only from `FeedbackWorkflow`'s activity (the workflow owns
the feedback's state): the row is an upsert that only a newer `revision`
overwrites, events are keyed by `(feedback_id, seq)` and never rewritten, the task
goes to `tasks` like every other inbox task. A rating is written once per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select

from db.feedback_tables import feedback, feedback_events, satisfaction_ratings
from db.order_records import task_row
from db.queries import Page, decode_cursor, encode_cursor
from db.tables import tasks
from db.upsert import insert_ignore, upsert
from domain.actors import Actor
from domain.feedback import FeedbackEvent, FeedbackView, RatingRequest
from domain.tasks import Task


def feedback_row(view: FeedbackView, revision: int, fingerprint: str) -> dict[str, Any]:
    return {
        "feedback_id": view.feedback_id,
        "kind": view.kind.value,
        "channel": view.channel.value,
        "customer_id": view.customer_id,
        "order_id": view.order_id,
        "subject": view.subject,
        "message": view.message,
        "state": view.state.value,
        "received_at": view.received_at,
        "received_by": view.received_by.staff_id,
        "received_department": view.received_by.department.value,
        "first_reply_due_at": view.first_reply_due_at,
        "first_reply_at": view.first_reply_at,
        "replies": len(view.replies),
        "resolved_at": view.resolved_at,
        "resolved_by": view.resolved_by,
        "outcome": view.outcome.value if view.outcome else None,
        "result": view.result,
        "referred_to": ",".join(view.referred_to),
        "task_id": view.task.task_id if view.task else None,
        "intake_fingerprint": fingerprint,
        "revision": revision,
        "snapshot": view.model_dump(mode="json"),
    }


def feedback_event_row(feedback_id: str, event: FeedbackEvent) -> dict[str, Any]:
    return {
        "feedback_id": feedback_id,
        "seq": event.seq,
        "at": event.at,
        "kind": event.kind.value,
        "actor_id": event.actor.staff_id,
        "actor_department": event.actor.department.value,
        "note": event.note,
        "task_id": event.task_id,
        "data": event.data,
    }


def apply_feedback_changes(
    conn: Connection,
    view: FeedbackView,
    revision: int,
    fingerprint: str,
    events: list[FeedbackEvent],
    changed_tasks: list[Task],
) -> None:
    """One step of a piece of feedback, in the caller's transaction; safe to repeat."""
    upsert(
        conn,
        feedback,
        feedback_row(view, revision, fingerprint),
        keys=["feedback_id"],
        newer_than="revision",
    )
    insert_ignore(conn, feedback_events, [feedback_event_row(view.feedback_id, e) for e in events])
    for task in changed_tasks:
        upsert(conn, tasks, task_row(task), keys=["task_id"], newer_than="revision")


# --- reads --------------------------------------------------------------------------------------

LIST_COLUMNS = tuple(c for c in feedback.c if c.name not in ("snapshot", "message"))


def list_feedback(
    conn: Connection,
    *,
    state: str | None = None,
    kind: str | None = None,
    channel: str | None = None,
    order_id: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Newest first, keyset-paged on (received_at, feedback_id); with the task's deadline flags."""
    query: Select[Any] = select(
        *LIST_COLUMNS,
        tasks.c.overdue.label("overdue"),
        tasks.c.escalated.label("escalated"),
        tasks.c.assignee.label("assignee"),
    ).join(tasks, tasks.c.task_id == feedback.c.task_id, isouter=True)
    for column, value in (
        (feedback.c.state, state),
        (feedback.c.kind, kind),
        (feedback.c.channel, channel),
        (feedback.c.order_id, order_id),
        (feedback.c.customer_id, customer_id),
    ):
        if value:
            query = query.where(column == value)
    if cursor:
        at, feedback_id = decode_cursor(cursor)
        query = query.where(
            or_(
                feedback.c.received_at < at,
                and_(feedback.c.received_at == at, feedback.c.feedback_id < feedback_id),
            )
        )
    query = query.order_by(feedback.c.received_at.desc(), feedback.c.feedback_id.desc())
    rows = [dict(r) for r in conn.execute(query.limit(limit + 1)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["received_at"], rows[-1]["feedback_id"]) if more else None
    return Page(rows, next_cursor)


def feedback_view(conn: Connection, feedback_id: str) -> FeedbackView | None:
    row = conn.execute(
        select(feedback.c.snapshot).where(feedback.c.feedback_id == feedback_id)
    ).first()
    return FeedbackView.model_validate(row[0]) if row else None


def feedback_fingerprint(conn: Connection, feedback_id: str) -> str | None:
    row = conn.execute(
        select(feedback.c.intake_fingerprint).where(feedback.c.feedback_id == feedback_id)
    ).first()
    return row[0] if row else None


def feedback_events_of(conn: Connection, feedback_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(feedback_events)
        .where(feedback_events.c.feedback_id == feedback_id)
        .order_by(feedback_events.c.seq)
    ).mappings()
    return [dict(r) for r in rows]


# --- ratings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRating:
    order_id: str
    score: int
    comment: str
    channel: str
    rated_at: datetime
    actor_id: str
    fingerprint: str


def rating_of(conn: Connection, order_id: str) -> StoredRating | None:
    row = (
        conn.execute(
            select(satisfaction_ratings).where(satisfaction_ratings.c.order_id == order_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredRating(
        order_id=row["order_id"],
        score=row["score"],
        comment=row["comment"],
        channel=row["channel"],
        rated_at=row["rated_at"],
        actor_id=row["actor_id"],
        fingerprint=row["fingerprint"],
    )


def record_rating(
    conn: Connection,
    order_id: str,
    rating: RatingRequest,
    actor: Actor,
    fingerprint: str,
    now: datetime,
) -> tuple[StoredRating, bool]:
    """Store the order's rating unless it has one; returns it and whether it is new."""
    new = insert_ignore(
        conn,
        satisfaction_ratings,
        [
            {
                "order_id": order_id,
                "score": rating.score,
                "comment": rating.comment,
                "channel": rating.channel.value,
                "rated_at": now,
                "actor_id": actor.staff_id,
                "actor_department": actor.department.value,
                "fingerprint": fingerprint,
            }
        ],
    )
    stored = rating_of(conn, order_id)
    assert stored is not None
    return stored, bool(new)
