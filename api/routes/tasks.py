"""Task inboxes: each department's open work, soonest due first; claiming and closing tasks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentStaff, Cursor, IdempotencyKey, State
from api.errors import ApiError, conflict, not_found
from api.feedback_client import run_feedback_update
from api.orders_client import run_update
from api.routes import CONFLICT
from api.routes.escalations import escalations_of, with_leads
from api.routes.rectifications import RectificationPublic, run_rectification_update
from api.schemas import TaskList, TaskPublic
from api.visibility import sees_department
from db import queries
from db import staff as staff_store
from db.staff import StaffMember
from domain.actions import Action
from domain.actors import Department
from domain.commands import (
    ActionResult,
    ClaimRequest,
    ClaimTaskCommand,
    CompleteTaskCommand,
    TaskNoteRequest,
)
from domain.feedback import FeedbackResult
from domain.tasks import TaskKind, TaskState
from workflows.feedback import FeedbackWorkflow
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

#: What a claim answers: the order's, the feedback's or the rectification item's result.
Claimed = ActionResult | FeedbackResult | RectificationPublic


@router.get("", response_model=TaskList)
async def list_tasks(
    staff: CurrentStaff,
    state: State,
    department: Department | None = None,
    kind: TaskKind | None = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    escalated: bool | None = None,
    task_state: Annotated[TaskState | None, Query(alias="state")] = TaskState.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor = None,
) -> TaskList:
    """Tasks, soonest due first (open ones unless `state` says otherwise).

    `escalated=true` lists escalations, by the rule of `GET /api/v1/escalations`: a
    working department its own, supervision and admin any, the systems none (403).
    """
    if escalated:
        department = escalations_of(staff, department)

    def read() -> TaskList:
        with state.db.read() as conn:
            page = queries.list_tasks(
                conn,
                state=task_state.value if task_state else None,
                department=department.value if department else None,
                kind=kind.value if kind else None,
                assignee=assignee,
                overdue=overdue,
                order_id=order_id,
                escalated=escalated,
                limit=limit,
                cursor=cursor,
            )
            items = [t for t in map(TaskPublic.from_row, page.items) if _shown(staff, t)]
            # P8.1: an escalated task names the leads it went to, as they are now.
            with_leads(conn, items, datetime.now(UTC), staff)
        return TaskList(items=items, next_cursor=page.next_cursor)

    return await run_in_threadpool(read)


def _shown(staff: StaffMember, task: TaskPublic) -> bool:
    """Every department's order tasks are everyone's to see (they work the orders
    together); a rectify task only where its rectification item is (P8.1)."""
    return task.kind != TaskKind.RECTIFY.value or sees_department(staff, task.department)


async def _task(state: State, task_id: str) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        with state.db.read() as conn:
            return queries.get_task(conn, task_id)

    task = await run_in_threadpool(read)
    if task is None:
        raise not_found(f"task {task_id}")
    return task


@router.get("/{task_id}", response_model=TaskPublic)
async def get_task(task_id: str, staff: CurrentStaff, state: State) -> TaskPublic:
    """One task."""
    task = TaskPublic.from_row(await _task(state, task_id))
    if not _shown(staff, task):
        raise not_found(f"task {task_id}")  # as its rectification item is not shown

    def name_leads() -> None:
        with state.db.read() as conn:
            with_leads(conn, [task], datetime.now(UTC), staff)

    if task.escalated:
        await run_in_threadpool(name_leads)
    return task


@router.post("/{task_id}/complete", response_model=ActionResult, responses=CONFLICT)
async def complete_task(
    task_id: str,
    body: TaskNoteRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> ActionResult:
    """Close a task whose work was done outside the system, with a note of what was done."""
    task = await _task(state, task_id)
    if _feedback_of(task) is not None:
        raise conflict(
            "a reply_feedback task is closed by replying to the feedback",
            None,
            "reply_task_closed_by_reply",
        )
    if task["kind"] == TaskKind.RECTIFY.value:
        raise conflict(
            "a rectify task is closed by answering the rectification (P8.1)",
            None,
            "rectify_task_closed_by_answer",
        )
    command = CompleteTaskCommand(task_id=task_id, note=body.note, actor=staff.actor)
    return await run_update(
        state, task["order_id"], Action.COMPLETE_TASK, OrderWorkflow.complete_task, command, key
    )


def _feedback_of(task: dict[str, Any]) -> str | None:
    """The feedback a task belongs to (its workflow, not an order's, owns it), if any."""
    if task["kind"] == TaskKind.REPLY_FEEDBACK.value and task["case_id"]:
        return str(task["case_id"])
    return None


async def _assign(
    state: State, staff: StaffMember, task_id: str, assignee: str | None, key: str | None
) -> Claimed:
    task = await _task(state, task_id)
    if assignee is not None and assignee != staff.staff_id:

        def read() -> StaffMember | None:
            with state.db.read() as conn:
                return staff_store.find(conn, assignee)

        member = await run_in_threadpool(read)
        if member is None:
            raise ApiError(422, f"no staff member {assignee}", field="assignee")
        if member.department.value != task["department"]:
            raise ApiError(422, f"{assignee} is not in {task['department']}", field="assignee")
    command = ClaimTaskCommand(task_id=task_id, assignee=assignee, actor=staff.actor)
    if task["kind"] == TaskKind.RECTIFY.value and task["case_id"]:
        return await run_rectification_update(state, str(task["case_id"]), command, key)
    feedback_id = _feedback_of(task)
    if feedback_id is not None:
        return await run_feedback_update(
            state, feedback_id, "claim_task", FeedbackWorkflow.claim_task, command, key
        )
    return await run_update(
        state, task["order_id"], Action.CLAIM_TASK, OrderWorkflow.claim_task, command, key
    )


@router.post("/{task_id}/claim", response_model=Claimed, responses=CONFLICT)
async def claim_task(
    task_id: str, staff: CurrentStaff, state: State, key: IdempotencyKey = None
) -> Claimed:
    """Take a task of your department as your own."""
    return await _assign(state, staff, task_id, staff.staff_id, key)


@router.post("/{task_id}/unclaim", response_model=Claimed, responses=CONFLICT)
async def unclaim_task(
    task_id: str, staff: CurrentStaff, state: State, key: IdempotencyKey = None
) -> Claimed:
    """Give a task back to the department's inbox."""
    return await _assign(state, staff, task_id, None, key)


@router.post("/{task_id}/reassign", response_model=Claimed, responses=CONFLICT)
async def reassign_task(
    task_id: str, body: ClaimRequest, staff: CurrentStaff, state: State, key: IdempotencyKey = None
) -> Claimed:
    """Hand a task to a colleague of the same department (or back to the inbox with null)."""
    return await _assign(state, staff, task_id, body.assignee, key)
