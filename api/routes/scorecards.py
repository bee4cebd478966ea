"""Scorecards (P8.2, P8.3): a month's figures beside the targets, per department and per
member of staff, the standing they propose, and supervision's decision with its note.

Supervision and admin see every department; a department's lead sees their own, and
nobody else sees any (api.md, Scorecards). Targets and decisions are kept as history.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, WithJsonSchema
from temporalio.client import WorkflowFailureError

from api.deps import CurrentStaff, State
from api.errors import ApiError, conflict
from api.routes import CONFLICT
from api.visibility import department_in_view
from db import scorecards
from db import staff as staff_store
from domain.actors import WORKING_DEPARTMENTS, Department
from domain.reports import Kpi, local_today
from domain.scorecards import (
    PERIOD_PATTERN,
    TARGET_BOUNDS,
    PeriodError,
    ScorecardInput,
    ScorecardsStored,
    Standing,
    TargetError,
    check_target,
    month_window,
    period_of,
)
from workflows.scorecards import ScorecardWorkflow

router = APIRouter(prefix="/api/v1/scorecards", tags=["supervision"])

Period = Annotated[str, Query(pattern=PERIOD_PATTERN, description="a month, YYYY-MM")]
TargetKpi = Annotated[Kpi, Path(description="a KPI that takes a target")]
#: A department with a scorecard (the working ones): what the OpenAPI document lists, so
#: that a department without one is refused by the schema too (422 either way).
ScoredDepartment = Annotated[
    Department,
    WithJsonSchema({"type": "string", "enum": sorted(d.value for d in WORKING_DEPARTMENTS)}),
]
WorkingDepartment = Annotated[ScoredDepartment, Path(description="a working department")]


class ScorecardFigure(BaseModel):
    kpi: str
    numerator: float
    denominator: int
    #: None: nothing to measure this month.
    actual: float | None
    #: The target in force for the month, if any.
    target: float | None
    #: None: not judged (no target, or too few cases: `OMS_SCORECARDS__MIN_CASES`).
    met: bool | None


class ScorecardDecision(BaseModel):
    standing: Standing
    #: P8.3: the reward or penalty decided, and why.
    note: str
    decided_by: str
    decided_at: datetime


class ScorecardLine(BaseModel):
    department: str
    #: None for the department's own line.
    staff_id: str | None
    name: str | None
    role: str | None
    tasks_done: int
    tasks_on_time: int
    orders_handled: int
    figures: list[ScorecardFigure]
    #: P7.1, customer service only: training older than `OMS_TRAINING__MAX_AGE_DAYS`.
    training_overdue: bool | None
    proposed: Standing | None
    #: The decision in force (the latest), and every decision of the month, latest first.
    decision: ScorecardDecision | None
    decisions: list[ScorecardDecision]


class DepartmentScorecard(ScorecardLine):
    members_training_overdue: list[str]
    members: list[ScorecardLine]


class Scorecards(BaseModel):
    period: str
    #: When the figures were computed: the monthly run's time, or now when `provisional`.
    evaluated_at: datetime
    #: True: no stored evaluation of the month (not over, or not run yet): computed now.
    provisional: bool
    departments: list[DepartmentScorecard]


class TargetRequest(BaseModel):
    #: None withdraws the target from `effective_from` on.
    target: float | None
    #: The first month it applies to; the current month by default.
    effective_from: str | None = Field(default=None, pattern=PERIOD_PATTERN)
    note: str = Field(default="", max_length=500)


class TargetPublic(BaseModel):
    target_id: int
    kpi: str
    department: str
    target: float | None
    effective_from: str
    set_by: str
    set_at: datetime
    note: str


class TargetList(BaseModel):
    #: The targets in force for `period`.
    period: str
    targets: list[TargetPublic]
    #: Every target set, latest first (with `history=true`).
    history: list[TargetPublic]


class DecisionRequest(BaseModel):
    department: ScoredDepartment
    #: Omitted: the department's own line.
    staff_id: str | None = Field(default=None, min_length=1, max_length=64)
    standing: Standing
    note: str = Field(min_length=1, max_length=1000)


class EvaluationRequest(BaseModel):
    period: str = Field(pattern=PERIOD_PATTERN)


def _now() -> datetime:
    return datetime.now(UTC)


def _this_month(state: State) -> str:
    return period_of(local_today(_now(), state.settings.reports.utc_offset_hours))


def _check_period(period: str) -> None:
    try:
        month_window(period)
    except PeriodError as error:
        raise ApiError(422, str(error), field="period") from None


def _decisions(found: list[dict[str, Any]]) -> list[ScorecardDecision]:
    return [ScorecardDecision.model_validate(d) for d in found]


def _line(line: dict[str, Any], decided: dict[tuple[str, str], list[dict[str, Any]]]) -> Any:
    history = _decisions(decided.get((line["department"], line["staff_id"]), []))
    return {
        **line,
        "staff_id": line["staff_id"] or None,
        "decision": history[0] if history else None,
        "decisions": history,
    }


def _assemble(
    period: str,
    evaluated_at: datetime,
    provisional: bool,
    lines: list[dict[str, Any]],
    decided: dict[tuple[str, str], list[dict[str, Any]]],
    department: Department | None,
) -> Scorecards:
    departments: list[DepartmentScorecard] = []
    for line in lines:
        if department is not None and line["department"] != department.value:
            continue
        if line["staff_id"] == scorecards.DEPARTMENT_LINE:
            departments.append(
                DepartmentScorecard.model_validate({**_line(line, decided), "members": []})
            )
        else:
            departments[-1].members.append(ScorecardLine.model_validate(_line(line, decided)))
    return Scorecards(
        period=period, evaluated_at=evaluated_at, provisional=provisional, departments=departments
    )


@router.get("", response_model=Scorecards)
async def get_scorecards(
    staff: CurrentStaff,
    state: State,
    period: Period,
    department: ScoredDepartment | None = None,
) -> Scorecards:
    """The month's scorecards: the stored evaluation, or the figures as they stand now."""
    _check_period(period)
    wanted = department_in_view(staff, department, records="scorecards", leads_only=True)
    if wanted is not None and wanted not in WORKING_DEPARTMENTS:
        raise ApiError(422, f"{wanted.value} has no scorecard", field="department")
    settings = state.settings

    def read() -> Scorecards:
        now = _now()
        offset = settings.reports.utc_offset_hours
        with state.db.read() as conn:
            stored = scorecards.stored_evaluation(conn, period)
            if stored is not None:
                evaluated_at, lines = stored
            else:
                flags = scorecards.training_flags(conn, period, now, settings.training, offset)
                evaluated_at = now
                lines = scorecards.evaluate(
                    conn,
                    period,
                    now,
                    settings.scorecards,
                    utc_offset_hours=offset,
                    training_overdue=flags,
                )
            decided = scorecards.decisions(conn, period)
        return _assemble(period, evaluated_at, stored is None, lines, decided, wanted)

    return await run_in_threadpool(read)


@router.post("/evaluations", response_model=ScorecardsStored)
async def evaluate_now(
    body: EvaluationRequest, staff: CurrentStaff, state: State
) -> ScorecardsStored:
    """Run the month's evaluation now (as the monthly schedule does) and store it."""
    _check_period(body.period)
    if body.period > _this_month(state):
        raise ApiError(422, "a month to come has no figures yet", field="period")
    try:
        return await state.client.execute_workflow(
            ScorecardWorkflow.run,
            ScorecardInput(
                period=body.period,
                utc_offset_hours=state.settings.reports.utc_offset_hours,
                requested_by=staff.staff_id,
            ),
            id=f"{state.settings.scorecards.schedule_id}-{body.period}-on-demand-{uuid.uuid4().hex[:8]}",
            task_queue=state.settings.task_queue,
            static_summary=f"Scorecards for {body.period}, asked by {staff.staff_id}",
        )
    except WorkflowFailureError:
        raise ApiError(503, "the evaluation did not finish, try again") from None


def _target_public(row: dict[str, Any]) -> TargetPublic:
    return TargetPublic.model_validate(row)


@router.get("/targets", response_model=TargetList)
async def list_targets(
    staff: CurrentStaff,
    state: State,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    department: Department | None = None,
    history: bool = False,
) -> TargetList:
    """The targets in force for a month (this one by default), and with `history` every
    target ever set, with who set it and when."""
    wanted = department_in_view(staff, department, records="scorecards", leads_only=True)
    month = period or _this_month(state)
    _check_period(month)

    def read() -> TargetList:
        with state.db.read() as conn:
            in_force = scorecards.targets_in_force(conn, month)
            past = (
                scorecards.target_history(conn, department=wanted.value if wanted else None)
                if history
                else []
            )
        rows = sorted(in_force.values(), key=lambda r: (r["department"], r["kpi"]))
        if wanted is not None:
            rows = [r for r in rows if r["department"] == wanted.value]
        return TargetList(
            period=month,
            targets=[_target_public(r) for r in rows],
            history=[_target_public(r) for r in past],
        )

    return await run_in_threadpool(read)


@router.put("/targets/{department}/{kpi}", response_model=TargetPublic)
async def set_target(
    department: WorkingDepartment,
    kpi: TargetKpi,
    body: TargetRequest,
    staff: CurrentStaff,
    state: State,
) -> TargetPublic:
    """Set (or withdraw) a department's target for a KPI from a month on; kept as history."""
    if department not in WORKING_DEPARTMENTS:
        raise ApiError(422, f"{department.value} has no scorecard", field="department")
    if kpi not in TARGET_BOUNDS:
        raise ApiError(422, f"{kpi.value} takes no target", field="kpi")
    try:
        check_target(kpi, body.target)
    except TargetError as error:
        raise ApiError(422, str(error), field="target") from None
    effective_from = body.effective_from or _this_month(state)
    _check_period(effective_from)

    def write() -> TargetPublic:
        with state.db.write() as conn:
            in_force = scorecards.targets_in_force(conn, effective_from)
            current = in_force.get((kpi.value, department.value))
            if (
                current is not None
                and current["effective_from"] == effective_from
                and current["target"] == body.target
                and current["note"] == body.note
            ):
                return _target_public(current)  # a retried request sets it once
            row = scorecards.set_target(
                conn,
                kpi=kpi,
                department=department.value,
                target=body.target,
                effective_from=effective_from,
                set_by=staff.staff_id,
                now=_now(),
                note=body.note,
            )
        return _target_public(row)

    return await run_in_threadpool(write)


@router.post("/{period}/standings", response_model=ScorecardDecision, responses=CONFLICT)
async def decide_standing(
    period: Annotated[str, Path(pattern=PERIOD_PATTERN)],
    body: DecisionRequest,
    staff: CurrentStaff,
    state: State,
) -> ScorecardDecision:
    """Supervision confirms or changes a proposed standing, with the reward or penalty
    decided in the note (P8.3). Only for a month that is over."""
    _check_period(period)
    if body.department not in WORKING_DEPARTMENTS:
        raise ApiError(422, f"{body.department.value} has no scorecard", field="department")
    if period >= _this_month(state):
        raise conflict(
            f"{period} is not over: its standings are decided once it is (P8.2)",
            None,
            "scorecard_period_open",
            {"period": period},
        )
    staff_id = body.staff_id or scorecards.DEPARTMENT_LINE

    def write() -> ScorecardDecision:
        now = _now()
        with state.db.write() as conn:
            if staff_id:
                member = staff_store.find(conn, staff_id)
                if member is None or member.department is not body.department:
                    raise ApiError(
                        422,
                        f"{staff_id} is not a member of {body.department.value}",
                        field="staff_id",
                    )
            same = scorecards.latest_decision_if_same(
                conn,
                period=period,
                department=body.department.value,
                staff_id=staff_id,
                standing=body.standing,
                note=body.note,
            )
            row = same or scorecards.record_decision(
                conn,
                period=period,
                department=body.department.value,
                staff_id=staff_id,
                standing=body.standing,
                note=body.note,
                decided_by=staff.staff_id,
                now=now,
            )
        return ScorecardDecision.model_validate(row)

    return await run_in_threadpool(write)
