"""Supervision (P8.1): run the periodic checks now, and read a run with its findings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from temporalio.common import WorkflowIDConflictPolicy

from api.deps import CurrentStaff, State
from api.errors import not_found
from api.routes import NOT_FOUND
from db import supervision
from domain.supervision import SupervisionInput, SupervisionRunStored
from workflows.supervision import SupervisionWorkflow

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])

RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,100}$")]
#: The same key twice is the same run (its findings as first stored).
RunKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class FindingPublic(BaseModel):
    rule: str
    clause: str
    severity: str
    department: str
    order_id: str | None
    subject: str
    event_seq: int | None
    at: datetime
    message: str


class SupervisionRunPublic(BaseModel):
    run_id: str
    period: str
    trigger: str
    requested_by: str | None
    workflow_id: str
    period_start: datetime | None
    period_end: datetime
    started_at: datetime
    findings: int
    by_severity: dict[str, int]
    #: False: the run had been stored before (same period or key); its findings as then.
    created: bool = True
    items: list[FindingPublic]


async def _read_run(state: State, run_id: str) -> dict[str, Any] | None:
    def read() -> dict[str, Any] | None:
        with state.db.read() as conn:
            return supervision.run_with_findings(conn, run_id)

    return await run_in_threadpool(read)


@router.post("/runs", response_model=SupervisionRunPublic, status_code=201, responses=NOT_FOUND)
async def run_now(staff: CurrentStaff, state: State, key: RunKey = None) -> SupervisionRunPublic:
    """Run the supervision checks now over everything recorded; answers the run and findings."""
    period = f"on-demand:{key or uuid.uuid4().hex}"
    stored: SupervisionRunStored = await state.client.execute_workflow(
        SupervisionWorkflow.run,
        SupervisionInput(
            period=period,
            settings=state.settings.supervision,
            trigger="on_demand",
            requested_by=staff.staff_id,
        ),
        id=f"supervision-{period.replace(':', '-')}",
        task_queue=state.settings.task_queue,
        # The same key sent again while the first is running joins it.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="Supervision checks on demand (P8.1)",
    )
    run = await _read_run(state, stored.run_id)
    if run is None:
        raise not_found(f"supervision run {stored.run_id}")
    return SupervisionRunPublic.model_validate({**run, "created": stored.created})


@router.get("/runs/{run_id}", response_model=SupervisionRunPublic)
async def get_run(run_id: RunId, staff: CurrentStaff, state: State) -> SupervisionRunPublic:
    """One supervision run with its findings, most severe first."""
    run = await _read_run(state, run_id)
    if run is None:
        raise not_found(f"supervision run {run_id}")
    return SupervisionRunPublic.model_validate(run)
