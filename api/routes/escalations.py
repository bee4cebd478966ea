"""Escalations: the tasks whose deadline passed, as their department's lead sees them (P8.1).

A breached task is escalated to `<department>_lead` (the `task_escalated` event);
this is that lead's list. Staff of a working department see their own
department's; supervision and admin see any. `GET /api/v1/tasks?escalated=true`
answers by the same rule (`escalations_of`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import CurrentStaff, State
from api.errors import ApiError
from api.schemas import TaskPublic
from db import queries
from db.staff import StaffMember
from domain.actors import WORKING_DEPARTMENTS, Department
from domain.tasks import TaskState

router = APIRouter(prefix="/api/v1/escalations", tags=["tasks"])

OVERSEERS = frozenset({Department.SUPERVISION, Department.ADMIN})


def escalations_of(staff: StaffMember, department: Department | None) -> Department | None:
    """The department whose escalations this member may list (None: every department's).

    Supervision and admin see any; a working department its own (asking for another's
    is 403); the systems none (403).
    """
    if staff.department in OVERSEERS:
        return department
    if staff.department not in WORKING_DEPARTMENTS:
        raise ApiError(403, f"{staff.department.value} has no escalations to see")
    if department is not None and department is not staff.department:
        raise ApiError(403, f"{staff.department.value} sees its own escalations only")
    return staff.department


class EscalationPublic(TaskPublic):
    #: Who the breach was escalated to (`<department>_lead`).
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
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> EscalationList:
    """Escalated tasks, oldest breach first (still open unless `state` says otherwise)."""
    department = escalations_of(staff, department)

    def read() -> queries.Page:
        with state.db.read() as conn:
            return queries.list_tasks(
                conn,
                state=task_state.value if task_state else None,
                department=department.value if department else None,
                escalated=True,
                limit=limit,
                cursor=cursor,
            )

    page = await run_in_threadpool(read)
    items = []
    for row in page.items:
        task = TaskPublic.from_row(row)
        items.append(
            EscalationPublic(
                **task.model_dump(),
                to=f"{task.department.value}_lead",
                escalated_at=task.due_at.isoformat(),
            )
        )
    return EscalationList(items=items, next_cursor=page.next_cursor)
