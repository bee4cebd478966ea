"""Feedback analysis (P7.3.2): the cause list supervision keeps, the cause customer service
tags on each resolved feedback, and the periodic report of causes, their trend and the
departments they point at.

Tagging writes the read model only (`db/feedback_causes.py`): the feedback's workflow has
ended once it is resolved, and a tag changes nothing of the feedback itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints

from api.deps import CurrentStaff, State
from api.errors import ApiError, conflict, not_found
from api.routes.reports import Format, FromDate, ToDate, _window
from api.tabular import table_response
from db import feedback_causes as store
from domain.actors import Department
from domain.feedback import FeedbackState
from domain.feedback_analysis import (
    CAUSE_CODE_PATTERN,
    CAUSE_COLUMNS,
    CauseTagProblem,
    CauseTagRequest,
    OrderStep,
    cause_rows,
    department_rows,
    previous_window,
    responsible_department,
)
from domain.reports import GroupBy, ReportFormat

router = APIRouter(prefix="/api/v1", tags=["feedback analysis"])

CauseCode = Annotated[str, Path(pattern=CAUSE_CODE_PATTERN)]
FeedbackId = Annotated[str, Path(min_length=1, max_length=64)]


class CausePublic(BaseModel):
    code: str
    label_zh: str
    label_en: str
    #: False: retired (kept for the tags that name it; no new tag may name it).
    active: bool
    changed_by: str
    changed_at: datetime

    @classmethod
    def of(cls, cause: store.Cause) -> CausePublic:
        return cls(
            code=cause.code,
            label_zh=cause.label_zh,
            label_en=cause.label_en,
            active=cause.active,
            changed_by=cause.changed_by,
            changed_at=cause.changed_at,
        )


class CauseList(BaseModel):
    items: list[CausePublic]


#: Not blank: the pattern says so in the OpenAPI document too.
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")
]
#: What else the tagging can answer (api/openapi.py adds the answers every route has).
TAG_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The feedback is not resolved (`refusal`: `feedback_not_resolved`); "
        "nothing was changed"
    }
}


class CausePut(BaseModel):
    label_zh: Label
    label_en: Label
    active: bool = True


class CauseTagPublic(BaseModel):
    cause: str
    label_zh: str
    label_en: str
    department: Department
    step: OrderStep | None
    note: str
    tagged_by: str
    tagged_at: datetime
    #: 1 for the first tag, one more for each re-tag (the history has them all).
    revision: int


class CauseTagEntry(BaseModel):
    seq: int
    cause: str
    department: Department
    step: OrderStep | None
    note: str
    tagged_by: str
    tagged_at: datetime


class FeedbackCause(BaseModel):
    feedback_id: str
    #: The tag in force; None while the feedback is untagged.
    tag: CauseTagPublic | None
    #: Every tagging, oldest first.
    history: list[CauseTagEntry]


# --- the cause list ----------------------------------------------------------------------------


@router.get("/feedback-causes", response_model=CauseList)
async def list_causes(staff: CurrentStaff, state: State, active: bool | None = None) -> CauseList:
    """The causes feedback is tagged with (P7.3.2), in code order; `active` filters."""

    def read() -> list[store.Cause]:
        with state.db.read() as conn:
            return store.list_causes(conn, active=active)

    return CauseList(items=[CausePublic.of(c) for c in await run_in_threadpool(read)])


@router.put("/feedback-causes/{code}", response_model=CausePublic)
async def put_cause(
    code: CauseCode, body: CausePut, staff: CurrentStaff, state: State
) -> CausePublic:
    """Add a cause, change its labels, or put a retired one back in use (idempotent)."""

    def write() -> store.Cause:
        with state.db.write() as conn:
            return store.put_cause(
                conn,
                code,
                body.label_zh,
                body.label_en,
                body.active,
                staff.staff_id,
                datetime.now(UTC),
            )

    return CausePublic.of(await run_in_threadpool(write))


@router.delete("/feedback-causes/{code}", response_model=CausePublic)
async def retire_cause(code: CauseCode, staff: CurrentStaff, state: State) -> CausePublic:
    """Retire a cause: no new tag may name it; the tags that do keep it (idempotent)."""

    def write() -> store.Cause | None:
        with state.db.write() as conn:
            return store.retire_cause(conn, code, staff.staff_id, datetime.now(UTC))

    found = await run_in_threadpool(write)
    if found is None:
        raise not_found(f"feedback cause {code}")
    return CausePublic.of(found)


# --- tags on feedback --------------------------------------------------------------------------


def _feedback_cause(conn: Any, feedback_id: str) -> FeedbackCause:
    tag = store.tag_of(conn, feedback_id)
    public = None
    if tag is not None:
        cause = store.find_cause(conn, tag.cause)
        public = CauseTagPublic(
            cause=tag.cause,
            label_zh=cause.label_zh if cause else tag.cause,
            label_en=cause.label_en if cause else tag.cause,
            department=Department(tag.department),
            step=OrderStep(tag.step) if tag.step else None,
            note=tag.note,
            tagged_by=tag.tagged_by,
            tagged_at=tag.tagged_at,
            revision=tag.revision,
        )
    history = [CauseTagEntry.model_validate(r) for r in store.tag_history(conn, feedback_id)]
    return FeedbackCause(feedback_id=feedback_id, tag=public, history=history)


@router.get("/feedback/{feedback_id}/cause", response_model=FeedbackCause)
async def get_cause_tag(
    feedback_id: FeedbackId, staff: CurrentStaff, state: State
) -> FeedbackCause:
    """The cause a resolved feedback is tagged with, and every tagging (P7.3.2)."""

    def read() -> FeedbackCause | None:
        with state.db.read() as conn:
            if store.feedback_resolution(conn, feedback_id) is None:
                return None
            return _feedback_cause(conn, feedback_id)

    found = await run_in_threadpool(read)
    if found is None:
        raise not_found(f"feedback {feedback_id}")
    return found


@router.put("/feedback/{feedback_id}/cause", response_model=FeedbackCause, responses=TAG_REFUSED)
async def put_cause_tag(
    feedback_id: FeedbackId, body: CauseTagRequest, staff: CurrentStaff, state: State
) -> FeedbackCause:
    """Tag a resolved feedback with its cause and the department or step responsible;
    a re-tag replaces it (kept in the history). Only resolved feedback is tagged (409);
    a cause not in use, or neither a department that handles orders nor a step, is 422."""
    cause_code = body.cause.strip()

    def write() -> FeedbackCause:
        with state.db.write() as conn:
            found = store.feedback_resolution(conn, feedback_id)
            if found is None:
                raise not_found(f"feedback {feedback_id}")
            feedback_state, resolved_at = found
            if feedback_state != FeedbackState.RESOLVED.value or resolved_at is None:
                raise conflict(
                    f"only resolved feedback is tagged with its cause; it is {feedback_state}",
                    feedback_state,
                    "feedback_not_resolved",
                    {"feedback_state": feedback_state},
                )
            try:
                department = responsible_department(body.department, body.step)
            except CauseTagProblem as problem:
                raise ApiError(422, problem.message, field=problem.field) from None
            cause = store.find_cause(conn, cause_code)
            if cause is None or not cause.active:
                why = "is retired" if cause else "is not on the list"
                raise ApiError(
                    422,
                    f"cause {cause_code!r} {why}; GET /api/v1/feedback-causes?active=true "
                    "lists those in use",
                    field="cause",
                )
            store.tag_feedback(
                conn,
                feedback_id,
                cause=cause.code,
                department=department.value,
                step=body.step.value if body.step else None,
                note=body.note.strip(),
                resolved_at=resolved_at,
                actor_id=staff.staff_id,
                now=datetime.now(UTC),
            )
            return _feedback_cause(conn, feedback_id)

    return await run_in_threadpool(write)


# --- the report --------------------------------------------------------------------------------


@router.get("/reports/feedback-causes", response_class=Response, tags=["reports"])
async def feedback_causes_report(
    staff: CurrentStaff,
    state: State,
    first: FromDate = None,
    last: ToDate = None,
    fmt: Format = ReportFormat.JSON,
) -> Response:
    """Causes of the feedback resolved in the window: count, the previous window of equal
    length, the change, and the departments they point at (P7.3.2)."""
    window = _window(state, first, last)
    before = previous_window(window)

    def read() -> dict[str, Any]:
        with state.db.read() as conn:
            current = store.tag_counts(conn, window)
            previous = store.tag_counts(conn, before)
            causes = [c.label for c in store.list_causes(conn)]
            return {
                "rows": cause_rows(causes, current, previous),
                "departments": department_rows(current, previous),
                "resolved": store.resolved_count(conn, window),
                "tagged": sum(current.values()),
                "previous": {
                    "from": before.first_day.isoformat(),
                    "to": before.last_day.isoformat(),
                    "resolved": store.resolved_count(conn, before),
                    "tagged": sum(previous.values()),
                },
            }

    found = await run_in_threadpool(read)
    rows = found.pop("rows")
    return table_response(
        "feedback-causes", window, GroupBy.ALL, CAUSE_COLUMNS, rows, fmt, extra=found
    )
