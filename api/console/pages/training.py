"""Customer-service training (P7.1): the sessions held, who of customer service is due, the
form supervision records a session with, and each session's attendance.

The pages run the API's own routes (`/api/v1/training/...`) with the request models the
API validates; what a model or the API refuses comes back beside its field (422).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.console.access import ConsoleError, admits, app_state, form_of, staff_of, viewer_of
from api.console.forms import (
    FieldError,
    FormData,
    Input,
    Member,
    Widget,
    build,
    errors_of,
    first,
)
from api.console.forms import validate as validate_form
from api.console.refusals import Refused, ShownForm, attempt, show_beside
from api.console.render import page, redirect
from api.routes import training as training_routes
from api.routes.training import (
    SESSION_ID_PATTERN,
    AttendanceRequest,
    TrainingDueList,
    TrainingSessionRequest,
)

router = APIRouter()

#: Sessions the training page lists (the most recent).
RECENT_SESSIONS = 50

#: What the session page says after a step, by the `done` of its address.
DONE = {"recorded": "training.recorded", "attended": "training.attended"}


@dataclass(kw_only=True)
class TrainingForm(ShownForm):
    action: str


def session_form() -> TrainingForm:
    members: list[Member] = build(TrainingSessionRequest)
    return TrainingForm(form_id="session", members=members, action="record_session")


def attendance_form(due: TrainingDueList, attending: set[str]) -> TrainingForm | None:
    """Check boxes of the members of customer service not yet recorded as attending."""
    choices = [
        (m.staff_id, f"{m.name} ({m.staff_id})") for m in due.items if m.staff_id not in attending
    ]
    if not choices:
        return None
    members: list[Member] = build(AttendanceRequest)
    for member in members:
        if isinstance(member, Input) and member.name == "staff_ids":
            member.widget = Widget.CHECKBOXES
            member.choices = choices
            member.literal = True
    return TrainingForm(form_id="attendance", members=members, action="record_attendance")


def read_attendance(form: FormData) -> tuple[AttendanceRequest | None, list[FieldError]]:
    """The members ticked (check boxes: one value each, not lines of a text area)."""
    ticked = [v for v in form.get("staff_ids", []) if v.strip()]
    try:
        return AttendanceRequest.model_validate({"staff_ids": ticked}), []
    except ValidationError as error:
        return None, errors_of(error)


def checked_session(session_id: str) -> str:
    if not re.fullmatch(SESSION_ID_PATTERN, session_id):
        raise ConsoleError(404, "error.not_found")
    return session_id


async def _training_page(
    request: Request,
    *,
    failure: tuple[FormData, Refused] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    viewer = viewer_of(request)
    staff, state = staff_of(request), app_state(request)
    sessions = await training_routes.list_sessions(
        staff, state, first=None, last=None, limit=RECENT_SESSIONS
    )
    due = await training_routes.training_due(staff, state, everyone=True)
    form = session_form() if admits(staff.department, training_routes.record_session) else None
    if form is not None and failure is not None:
        show_beside(form, failure[0], failure[1], viewer.locale)
    return page(
        request,
        "training.html",
        status_code=status_code,
        sessions=sessions.items,
        due=due,
        overdue=[m for m in due.items if m.overdue],
        form=form,
    )


async def _session_page(
    request: Request,
    session_id: str,
    *,
    failure: tuple[FormData, Refused] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    viewer = viewer_of(request)
    staff, state = staff_of(request), app_state(request)
    session = await training_routes.get_session(session_id, staff, state)
    due = await training_routes.training_due(staff, state, everyone=True)
    form = None
    may_record = admits(staff.department, training_routes.record_attendance)
    if may_record:
        form = attendance_form(due, {a.staff_id for a in session.attendees})
        if form is not None and failure is not None:
            show_beside(form, failure[0], failure[1], viewer.locale)
    done = DONE.get(request.query_params.get("done", ""), "")
    return page(
        request,
        "training_session.html",
        status_code=status_code,
        session=session,
        form=form,
        may_record=may_record,
        done=done,
    )


@router.get("/training", response_class=HTMLResponse)
async def training_page(request: Request) -> HTMLResponse:
    return await _training_page(request)


@router.post("/training", response_model=None)
async def record_session(request: Request) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    form = form_of(request)
    body, errors = validate_form(TrainingSessionRequest, form, viewer.locale.zone)
    key = first(form, "idempotency_key") or None
    created: dict[str, Any] = {}

    async def run(request_body: TrainingSessionRequest) -> None:
        created["session"] = await training_routes.record_session(
            request_body, staff_of(request), app_state(request), Response(), key
        )

    refused = (
        Refused(422, errors=errors)
        if body is None
        else await attempt(run(TrainingSessionRequest.model_validate(body)))
    )
    if refused is not None:
        return await _training_page(
            request, failure=(form, refused), status_code=refused.status_code
        )
    session_id = created["session"].session_id
    return redirect(viewer, f"{viewer.base}/training/{session_id}?done=recorded")


@router.get("/training/{session_id}", response_class=HTMLResponse)
async def session_page(request: Request, session_id: str) -> HTMLResponse:
    return await _session_page(request, checked_session(session_id))


@router.post("/training/{session_id}/attendance", response_model=None)
async def record_attendance(request: Request, session_id: str) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    session_id = checked_session(session_id)
    form = form_of(request)
    body, errors = read_attendance(form)
    refused = (
        Refused(422, errors=errors)
        if body is None
        else await attempt(
            training_routes.record_attendance(
                session_id, body, staff_of(request), app_state(request)
            )
        )
    )
    if refused is not None:
        return await _session_page(
            request, session_id, failure=(form, refused), status_code=refused.status_code
        )
    return redirect(viewer, f"{viewer.base}/training/{session_id}?done=attended")
