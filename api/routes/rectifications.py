"""Rectification items (P8.1.3): a department answers its own, supervision verifies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.deps import CurrentStaff, IdempotencyKey, State
from api.errors import ApiError, conflict, from_update_failure, is_closed, is_not_found, not_found
from api.routes import CONFLICT
from api.visibility import department_in_view, sees_department
from db import rectification
from domain.actors import Department
from domain.commands import ClaimTaskCommand
from domain.rectification import (
    RectificationAnswerCommand,
    RectificationState,
    RectificationVerifyCommand,
    rectification_workflow_id,
)
from workflows.rectification import RectificationWorkflow

router = APIRouter(prefix="/api/v1/rectifications", tags=["supervision"])

ItemId = Annotated[str, Path(pattern=r"^RI-[0-9a-f]{16}$")]


class RectificationEventPublic(BaseModel):
    seq: int
    at: datetime
    kind: str
    actor_id: str
    actor_department: str
    note: str
    task_id: str | None
    data: dict[str, Any]


class RectificationPublic(BaseModel):
    item_id: str | None
    order_id: str
    rule: str
    clause: str
    department: str
    message: str
    owner: str | None
    state: str
    round: int
    found_at: datetime
    due_at: datetime
    overdue: bool
    escalated: bool
    task_id: str | None
    #: False: an item of `oms audit` no workflow tracks (it cannot be answered here).
    tracked: bool
    cause: str | None
    corrective_action: str | None
    evidence: str | None
    answered_at: datetime | None
    answered_by: str | None
    verified_at: datetime | None
    verified_by: str | None
    verification_note: str | None
    closed_at: datetime | None
    events: list[RectificationEventPublic] = []

    @classmethod
    def from_row(
        cls, row: dict[str, Any], events: list[dict[str, Any]] | None = None
    ) -> RectificationPublic:
        return cls.model_validate(
            {
                **row,
                "round": row.get("round") or 1,
                "overdue": bool(row.get("overdue")),
                "escalated": bool(row.get("escalated")),
                "tracked": bool(row.get("workflow_id")),
                "events": events or [],
            }
        )


class RectificationList(BaseModel):
    items: list[RectificationPublic]


class RectificationAnswerRequest(BaseModel):
    cause: str = Field(min_length=1, max_length=1000)
    corrective_action: str = Field(min_length=1, max_length=1000)
    evidence: str = Field(min_length=1, max_length=2000)


class RectificationVerifyRequest(BaseModel):
    accepted: bool
    note: str = Field(default="", max_length=1000)


@router.get("", response_model=RectificationList)
async def list_rectifications(
    staff: CurrentStaff,
    state: State,
    department: Department | None = None,
    item_state: Annotated[RectificationState | None, Query(alias="state")] = None,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> RectificationList:
    """Rectification items, soonest due first: a department its own, supervision all."""
    wanted = department_in_view(staff, department, records="rectifications")

    def read() -> RectificationList:
        with state.db.read() as conn:
            rows = rectification.list_items(
                conn,
                department=wanted.value if wanted else None,
                state=item_state.value if item_state else None,
                order_id=order_id,
                limit=limit,
            )
        return RectificationList(items=[RectificationPublic.from_row(r) for r in rows])

    return await run_in_threadpool(read)


async def _item(state: State, item_id: str) -> RectificationPublic:
    def read() -> RectificationPublic | None:
        with state.db.read() as conn:
            row = rectification.get_item(conn, item_id)
            if row is None:
                return None
            return RectificationPublic.from_row(row, rectification.events_of(conn, item_id))

    item = await run_in_threadpool(read)
    if item is None:
        raise not_found(f"rectification {item_id}")
    return item


@router.get("/{item_id}", response_model=RectificationPublic)
async def get_rectification(
    item_id: ItemId, staff: CurrentStaff, state: State
) -> RectificationPublic:
    """One rectification item with every transition (who, when)."""
    item = await _item(state, item_id)
    if not sees_department(staff, Department(item.department)):
        raise not_found(f"rectification {item_id}")  # another department's is not shown
    return item


async def run_rectification_update(
    state: State, item_id: str, command: ClaimTaskCommand, key: str | None
) -> RectificationPublic:
    """A claim of an item's task (api/routes/tasks.py), carried out by its workflow."""
    item = await _item(state, item_id)
    return await _update(state, item, "claim_task", RectificationWorkflow.claim_task, command, key)


async def _update(
    state: State, item: RectificationPublic, name: str, update: Any, command: Any, key: str | None
) -> RectificationPublic:
    if not item.tracked or item.item_id is None:
        raise conflict(
            "this item was opened by `oms audit` and is not tracked: it cannot be answered here",
            item.state,
            "rectification_not_tracked",
        )
    handle = state.client.get_workflow_handle_for(
        RectificationWorkflow.run, rectification_workflow_id(item.item_id)
    )
    try:
        await handle.execute_update(update, command, id=f"{name}:{key or uuid.uuid4()}")
    except WorkflowUpdateFailedError as error:
        raise from_update_failure(error) from None
    except RPCError as error:
        if is_closed(error):
            raise conflict(
                "the rectification is closed (P8.1)", "closed", "rectification_closed"
            ) from None
        if is_not_found(error):
            raise not_found(f"rectification {item.item_id}") from None
        raise ApiError(503, "the rectification service is unavailable, try again") from None
    return await _item(state, item.item_id)


@router.post("/{item_id}/answer", response_model=RectificationPublic, responses=CONFLICT)
async def answer_rectification(
    item_id: ItemId,
    body: RectificationAnswerRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> RectificationPublic:
    """The department's answer: cause, corrective action, evidence (P8.1.3)."""
    item = await _item(state, item_id)
    command = RectificationAnswerCommand(**body.model_dump(), actor=staff.actor)
    return await _update(state, item, "answer", RectificationWorkflow.answer, command, key)


@router.post("/{item_id}/verify", response_model=RectificationPublic, responses=CONFLICT)
async def verify_rectification(
    item_id: ItemId,
    body: RectificationVerifyRequest,
    staff: CurrentStaff,
    state: State,
    key: IdempotencyKey = None,
) -> RectificationPublic:
    """Supervision's verification: accepted closes the item, rejected reopens it."""
    item = await _item(state, item_id)
    command = RectificationVerifyCommand(**body.model_dump(), actor=staff.actor)
    return await _update(state, item, "verify", RectificationWorkflow.verify, command, key)
