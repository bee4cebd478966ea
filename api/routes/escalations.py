"""Escalations: the tasks whose deadline passed, as their department's leads see them (P8.1).

A breached task is escalated to its department's leads (the `task_escalated` event names
the department and the role: the workflow cannot know who leads today, domain/escalation.py).
This list names them, from the staff table as it is now (`leads`: the active leads, by
name); `to` says `<department> leads`.

Who sees it: staff of a working department see their own department's escalations,
leads and members alike: the department's work is everyone's in it (any member may act
on its tasks, P3-P5), so members see which of their tasks were escalated; it is the
leads the escalation is addressed to, and the console puts it in their inbox. Supervision
and admin see any department's. `GET /api/v1/tasks?escalated=true` answers by the same
rule (`escalations_of`) and names the leads of every escalated task too (`with_leads`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Connection

from api.deps import AppState, CurrentStaff, Cursor, State
from api.schemas import LeadPublic, TaskPublic
from api.visibility import department_in_view, sees_department
from db import queries
from db import staff as staff_store
from db.staff import StaffMember
from domain.actors import Department
from domain.escalation import addressed_to
from domain.tasks import TaskState

router = APIRouter(prefix="/api/v1/escalations", tags=["tasks"])


def escalations_of(staff: StaffMember, department: Department | None) -> Department | None:
    """The department whose escalations this member may list (None: every department's)."""
    return department_in_view(staff, department, records="escalations")


def with_leads(
    conn: Connection, items: Sequence[TaskPublic], now: datetime, viewer: StaffMember
) -> None:
    """Name the active leads of the department of every escalated task among `items`, where
    the viewer may see that department's escalations (api/visibility.py)."""
    named = [t for t in items if t.escalated and sees_department(viewer, t.department)]
    departments = {task.department for task in named}
    if not departments:
        return
    leads = staff_store.leads_of(conn, departments, now)
    for task in named:
        task.leads = [LeadPublic(staff_id=m.staff_id, name=m.name) for m in leads[task.department]]


async def leads_of(state: AppState, department: Department) -> list[LeadPublic]:
    """The department's active leads, by name (for the console's inbox of a lead)."""

    def read() -> list[LeadPublic]:
        with state.db.read() as conn:
            leads = staff_store.leads_of(conn, [department], datetime.now(UTC))[department]
        return [LeadPublic(staff_id=m.staff_id, name=m.name) for m in leads]

    return await run_in_threadpool(read)


class EscalationPublic(TaskPublic):
    #: Who the breach was escalated to: `<department> leads` (P8.1); `leads` names them.
    to: str
    #: The escalation fires when the deadline passes.
    escalated_at: str


class EscalationList(BaseModel):
    items: list[EscalationPublic]
    next_cursor: str | None


@router.get("", response_model=EscalationList)
async def list_escalations(
    staff: CurrentStaff,
    state: State,
    department: Department | None = None,
    task_state: Annotated[TaskState | None, Query(alias="state")] = TaskState.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> EscalationList:
    """Escalated tasks, oldest breach first (still open unless `state` says otherwise)."""
    department = escalations_of(staff, department)

    def read() -> EscalationList:
        with state.db.read() as conn:
            page = queries.list_tasks(
                conn,
                state=task_state.value if task_state else None,
                department=department.value if department else None,
                escalated=True,
                limit=limit,
                cursor=cursor,
            )
            items = [
                EscalationPublic(
                    **task.model_dump(),
                    to=addressed_to(task.department),
                    escalated_at=task.due_at.isoformat(),
                )
                for task in map(TaskPublic.from_row, page.items)
            ]
            with_leads(conn, items, datetime.now(UTC), staff)
        return EscalationList(items=items, next_cursor=page.next_cursor)

    return await run_in_threadpool(read)
