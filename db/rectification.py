"""Writing and reading rectification items (P8.1): audit findings as requests with a deadline.

Items are opened here (by the supervision run and by `oms audit`); a tracked item's later
steps (answered, verified, reminded, escalated) are written by its RectificationWorkflow
through `apply_rectification_changes`, newest revision wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from db.audit_tables import rectification_events, rectification_items
from db.order_records import task_row
from db.tables import tasks
from db.upsert import insert_ignore, upsert
from domain.rectification import RectificationEvent, RectificationView, rectification_item_id
from domain.tasks import Task


def _with_id(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "owner": None,
        **row,
        "item_id": rectification_item_id(row["order_id"], row["rule"], row["event_seq"]),
    }


def open_new_items(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Open the items not yet on record (same order, rule and event); returns the new ones."""
    candidates = {}
    for row in rows:
        with_id = _with_id(row)
        candidates[with_id["item_id"]] = with_id
    if not candidates:
        return []
    known = set(
        conn.execute(
            select(rectification_items.c.item_id).where(
                rectification_items.c.item_id.in_(list(candidates))
            )
        ).scalars()
    )
    new = [row for item_id, row in candidates.items() if item_id not in known]
    insert_ignore(conn, rectification_items, new)
    return new


def open_items(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Open the items not yet on record (same order, rule and event); returns how many were new."""
    return len(open_new_items(conn, rows))


def apply_rectification_changes(
    conn: Connection,
    view: RectificationView,
    revision: int,
    events: Sequence[RectificationEvent],
    changed_tasks: Sequence[Task],
    workflow_id: str,
) -> None:
    """One step of a tracked item: its row (newest revision wins), new events, its task."""
    table = rectification_items
    task = view.task
    answer = view.answer
    values = {
        "state": view.state.value,
        "owner": view.owner,
        "due_at": view.due_at,
        "round": view.round,
        "task_id": task.task_id if task else None,
        "overdue": bool(task and task.is_open and task.overdue),
        "escalated": bool(task and task.escalated),
        "cause": answer.cause if answer else None,
        "corrective_action": answer.corrective_action if answer else None,
        "evidence": answer.evidence if answer else None,
        "answered_at": answer.at if answer else None,
        "answered_by": answer.by if answer else None,
        "verified_at": view.verified_at,
        "verified_by": view.verified_by,
        "verification_note": view.verification_note,
        "closed_at": view.closed_at,
        "closed_by": view.verified_by if view.closed_at else None,
        "workflow_id": workflow_id,
        "revision": revision,
    }
    conn.execute(
        update(table)
        .where(table.c.item_id == view.item_id, table.c.revision < revision)
        .values(**values)
    )
    insert_ignore(
        conn,
        rectification_events,
        [
            {
                "item_id": view.item_id,
                "seq": event.seq,
                "at": event.at,
                "kind": event.kind.value,
                "actor_id": event.actor.staff_id,
                "actor_department": event.actor.department.value,
                "note": event.note,
                "task_id": event.task_id,
                "data": event.data,
            }
            for event in events
        ],
    )
    for changed in changed_tasks:
        upsert(conn, tasks, task_row(changed), keys=["task_id"], newer_than="revision")


def list_items(
    conn: Connection,
    *,
    department: str | None = None,
    state: str | None = "open",
    order_id: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Items soonest due first."""
    table = rectification_items
    query = select(table)
    if department:
        query = query.where(table.c.department == department)
    if state:
        query = query.where(table.c.state == state)
    if order_id:
        query = query.where(table.c.order_id == order_id)
    query = query.order_by(table.c.due_at, table.c.order_id, table.c.rule, table.c.event_seq)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def get_item(conn: Connection, item_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(rectification_items).where(rectification_items.c.item_id == item_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def events_of(conn: Connection, item_id: str) -> list[dict[str, Any]]:
    table = rectification_events
    rows = conn.execute(select(table).where(table.c.item_id == item_id).order_by(table.c.seq))
    return [dict(row) for row in rows.mappings()]
