"""Customer-service training (P7.1): sessions held, who attended, and who is due again.

Supervision records a session (topic, day, trainer) and its attendance; a member of
customer service whose last session is more than `OMS_TRAINING__MAX_AGE_DAYS` (90) days
old, or who never attended one, is listed by `GET /training/due` and flagged on the
dashboard (`domain.training.training_overdue`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StringConstraints

from api.deps import CurrentStaff, IdempotencyKey, State
from api.errors import ApiError, conflict, not_found
from api.routes.reports import Day
from db import training as store
from domain.actors import Department, StaffRole
from domain.ids import fingerprint
from domain.reports import local_today
from domain.training import EARLIEST_SESSION_DAY, days_since, training_overdue

router = APIRouter(prefix="/api/v1/training", tags=["training"])

SESSION_ID_PATTERN = r"^TS-[0-9a-f]{16}$"
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
#: Not blank: the pattern says so in the OpenAPI document too.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"\S")]
StaffId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"\S")
]


class TrainingSessionRequest(BaseModel):
    topic: Annotated[Text, StringConstraints(max_length=200)]
    #: The day it was held: not in the future (a session is recorded once it took place).
    held_on: date
    trainer: Annotated[Text, StringConstraints(max_length=100)]


class AttendanceRequest(BaseModel):
    #: Members of staff who attended; those already recorded are left as they are.
    staff_ids: list[StaffId] = Field(min_length=1, max_length=500)


class Attendee(BaseModel):
    staff_id: str
    name: str
    department: Department | None


class TrainingSessionPublic(BaseModel):
    session_id: str
    topic: str
    held_on: date
    trainer: str
    recorded_by: str
    recorded_at: datetime
    attendees: list[Attendee]


class TrainingSessionList(BaseModel):
    items: list[TrainingSessionPublic]


class AttendanceRecorded(TrainingSessionPublic):
    #: The staff ids this request added (empty when all were recorded already).
    added: list[str]


class TrainingDue(BaseModel):
    staff_id: str
    name: str
    role: StaffRole
    #: The day of the last session attended; None: never trained.
    last_trained_on: date | None
    days_since: int | None
    overdue: bool


class TrainingDueList(BaseModel):
    #: The company's day the ages are counted to (OMS_REPORTS__UTC_OFFSET_HOURS).
    today: date
    max_age_days: int
    #: Customer-service members overdue (all of them with `all=true`), by name.
    items: list[TrainingDue]


def _today(state: State) -> date:
    return local_today(datetime.now(UTC), state.settings.reports.utc_offset_hours)


def _public(
    session: store.TrainingSession, people: dict[str, tuple[str, str]]
) -> dict[str, object]:
    attendees = []
    for staff_id in session.attendees:
        name, department = people.get(staff_id, (staff_id, ""))
        attendees.append(
            Attendee(
                staff_id=staff_id,
                name=name,
                department=Department(department) if department else None,
            )
        )
    return {
        "session_id": session.session_id,
        "topic": session.topic,
        "held_on": session.held_on,
        "trainer": session.trainer,
        "recorded_by": session.recorded_by,
        "recorded_at": session.recorded_at,
        "attendees": attendees,
    }


def _session_id(key: str | None) -> str:
    """From the Idempotency-Key (the same key records one session), else a new one."""
    if key:
        return "TS-" + hashlib.sha256(f"training:{key}".encode()).hexdigest()[:16]
    return "TS-" + uuid.uuid4().hex[:16]


@router.post(
    "/sessions",
    status_code=201,
    response_model=TrainingSessionPublic,
    responses={
        200: {
            "model": TrainingSessionPublic,
            "description": "The same request again (same Idempotency-Key and body): "
            "nothing recorded twice",
        },
        409: {
            "description": "This Idempotency-Key recorded another session "
            "(`refusal`: `training_session_key_reused`)"
        },
    },
)
async def record_session(
    body: TrainingSessionRequest,
    staff: CurrentStaff,
    state: State,
    response: Response,
    key: IdempotencyKey = None,
) -> TrainingSessionPublic:
    """Record a training session held (P7.1); attendance is recorded on it next."""
    today = _today(state)
    if body.held_on > today:
        raise ApiError(422, f"held_on ({body.held_on}) is after today ({today})", field="held_on")
    if body.held_on < EARLIEST_SESSION_DAY:
        raise ApiError(422, f"held_on is before {EARLIEST_SESSION_DAY}", field="held_on")
    session_id = _session_id(key)
    body_fingerprint = fingerprint(body.model_dump(mode="json"))

    def write() -> tuple[store.TrainingSession, bool, dict[str, tuple[str, str]]]:
        with state.db.write() as conn:
            session, new = store.record_session(
                conn,
                session_id,
                topic=body.topic,
                held_on=body.held_on,
                trainer=body.trainer,
                recorded_by=staff.staff_id,
                now=datetime.now(UTC),
                fingerprint=body_fingerprint,
            )
            return session, new, store.staff_of(conn, session.attendees)

    session, new, people = await run_in_threadpool(write)
    if not new:
        if session.fingerprint != body_fingerprint:
            raise conflict(
                "this Idempotency-Key recorded another session",
                None,
                "training_session_key_reused",
            )
        response.status_code = 200
    return TrainingSessionPublic.model_validate(_public(session, people))


@router.get("/sessions", response_model=TrainingSessionList)
async def list_sessions(
    staff: CurrentStaff,
    state: State,
    first: Annotated[
        Day | None, Query(alias="from", description="first day held, included")
    ] = None,
    last: Annotated[Day | None, Query(alias="to", description="last day held, included")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TrainingSessionList:
    """Training sessions, the most recent first, with who attended."""

    def read() -> TrainingSessionList:
        with state.db.read() as conn:
            sessions = store.list_sessions(conn, first_day=first, last_day=last, limit=limit)
            people = store.staff_of(conn, [s for session in sessions for s in session.attendees])
        return TrainingSessionList(
            items=[TrainingSessionPublic.model_validate(_public(s, people)) for s in sessions]
        )

    return await run_in_threadpool(read)


@router.get("/sessions/{session_id}", response_model=TrainingSessionPublic)
async def get_session(
    session_id: SessionId, staff: CurrentStaff, state: State
) -> TrainingSessionPublic:
    """One training session with who attended."""

    def read() -> TrainingSessionPublic | None:
        with state.db.read() as conn:
            session = store.find_session(conn, session_id)
            if session is None:
                return None
            people = store.staff_of(conn, session.attendees)
        return TrainingSessionPublic.model_validate(_public(session, people))

    found = await run_in_threadpool(read)
    if found is None:
        raise not_found(f"training session {session_id}")
    return found


@router.post("/sessions/{session_id}/attendance", response_model=AttendanceRecorded)
async def record_attendance(
    session_id: SessionId, body: AttendanceRequest, staff: CurrentStaff, state: State
) -> AttendanceRecorded:
    """Record who attended (staff ids); recording someone twice records them once.
    An unknown staff id refuses the whole request (422, nothing recorded)."""

    def write() -> AttendanceRecorded:
        with state.db.write() as conn:
            if store.find_session(conn, session_id) is None:
                raise not_found(f"training session {session_id}")
            unknown = store.unknown_staff(conn, body.staff_ids)
            if unknown:
                raise ApiError(
                    422,
                    f"no member of staff {', '.join(unknown)}",
                    field="staff_ids",
                    unknown=unknown,
                )
            added = store.record_attendance(
                conn, session_id, body.staff_ids, staff.staff_id, datetime.now(UTC)
            )
            session = store.find_session(conn, session_id)
            assert session is not None
            people = store.staff_of(conn, session.attendees)
        return AttendanceRecorded.model_validate(_public(session, people) | {"added": added})

    return await run_in_threadpool(write)


@router.get("/due", response_model=TrainingDueList)
async def training_due(
    staff: CurrentStaff,
    state: State,
    everyone: Annotated[bool, Query(alias="all")] = False,
) -> TrainingDueList:
    """Members of customer service whose last training is older than
    OMS_TRAINING__MAX_AGE_DAYS, or who never trained (`all=true`: every member, flagged)."""
    today = _today(state)
    max_age = state.settings.training.max_age_days

    def read() -> list[store.TrainedMember]:
        with state.db.read() as conn:
            return store.customer_service_training(conn)

    items = [
        TrainingDue(
            staff_id=m.staff_id,
            name=m.name,
            role=m.role,
            last_trained_on=m.last_trained_on,
            days_since=days_since(m.last_trained_on, today),
            overdue=training_overdue(m.last_trained_on, today, max_age),
        )
        for m in await run_in_threadpool(read)
    ]
    if not everyone:
        items = [i for i in items if i.overdue]
    return TrainingDueList(today=today, max_age_days=max_age, items=items)
