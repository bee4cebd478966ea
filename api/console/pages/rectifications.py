"""Supervision's findings and the rectification items they open (P8.1.1, P8.1.3).

Supervision runs the checks now, sees every department's items with filters, and
verifies answers; a department sees its own items and answers them (cause, corrective
action, evidence). Everything goes through the API's routes
(`api/routes/rectifications.py`, `api/routes/supervision.py`), as the API would.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.access import (
    ConsoleError,
    admits,
    app_state,
    first_value,
    form_of,
    staff_of,
    viewer_of,
)
from api.console.filters import choice
from api.console.refusals import Refused, attempt, refused_text
from api.console.render import page, redirect
from api.routes import rectifications as item_routes
from api.routes import supervision as run_routes
from api.visibility import oversees
from domain.actors import WORKING_DEPARTMENTS, Department
from domain.rectification import RectificationState

router = APIRouter()

ITEM_ID = re.compile(r"^RI-[0-9a-f]{16}$")
RUN_ID = re.compile(r"^[A-Za-z0-9:._-]{1,100}$")
#: What a redirect after a form says happened (`?done=`).
DONE = {"answered": "rectifications.done_answered", "verified": "rectifications.done_verified"}


def _item_id(value: str) -> str:
    if not ITEM_ID.match(value):
        raise ConsoleError(404, "error.not_found")
    return value


@router.get("/rectifications", response_class=HTMLResponse)
async def items_page(
    request: Request, department: str = "", state: str = "", run: str = ""
) -> HTMLResponse:
    staff, api = staff_of(request), app_state(request)
    wanted = choice(Department, department, "department")
    item_state = choice(RectificationState, state, "state")
    listed = await item_routes.list_rectifications(
        staff, api, department=wanted, item_state=item_state, order_id=None, limit=200
    )
    latest_run = None
    if run and RUN_ID.match(run):
        latest_run = await run_routes.get_run(run, staff, api)
    overseer = oversees(staff)
    return page(
        request,
        "rectifications.html",
        items=listed.items,
        run=latest_run,
        values={"department": department, "state": state},
        departments=[d.value for d in WORKING_DEPARTMENTS] if overseer else [],
        states=[s.value for s in RectificationState],
        may_run=admits(staff.department, run_routes.run_now),
    )


@router.post("/supervision/runs", response_model=None)
async def run_checks(request: Request) -> RedirectResponse:
    """P8.1.1: the checks now; the list then shows the run's findings above the items."""
    viewer = viewer_of(request)
    run = await run_routes.run_now(staff_of(request), app_state(request), key=uuid.uuid4().hex)
    return redirect(viewer, f"{viewer.base}/rectifications?{urlencode({'run': run.run_id})}")


async def _item_page(
    request: Request,
    item_id: str,
    *,
    refused: Refused | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    viewer, staff, api = viewer_of(request), staff_of(request), app_state(request)
    item = await item_routes.get_rectification(item_id, staff, api)
    may_answer = (
        item.tracked
        and item.state == RectificationState.OPEN.value
        and admits(staff.department, item_routes.answer_rectification)
        and (
            staff.department.value == item.department or staff.department is Department.SUPERVISION
        )
    )
    may_verify = (
        item.tracked
        and item.state == RectificationState.ANSWERED.value
        and admits(staff.department, item_routes.verify_rectification)
    )
    refusal = refused_text(viewer.locale, refused) if refused is not None else None
    done_key = DONE.get(request.query_params.get("done", ""))
    return page(
        request,
        "rectification.html",
        status_code=status_code,
        item=item,
        may_answer=may_answer,
        may_verify=may_verify,
        refusal=refusal,
        done=viewer.t(done_key) if done_key else "",
    )


@router.get("/rectifications/{item_id}", response_class=HTMLResponse)
async def item_page(request: Request, item_id: str) -> HTMLResponse:
    return await _item_page(request, _item_id(item_id))


async def _after(
    request: Request, item_id: str, call: Any, done: str
) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    refused = await attempt(call)
    if refused is not None:
        return await _item_page(request, item_id, refused=refused, status_code=refused.status_code)
    return redirect(viewer, f"{viewer.base}/rectifications/{quote(item_id)}?done={done}")


@router.post("/rectifications/{item_id}/answer", response_model=None)
async def answer(request: Request, item_id: str) -> HTMLResponse | RedirectResponse:
    item_id = _item_id(item_id)
    form = form_of(request)
    fields = {name: first_value(form, name) for name in ("cause", "corrective_action", "evidence")}
    if not all(fields.values()):
        refused = Refused(422, reason=viewer_of(request).t("rectifications.answer_incomplete"))
        return await _item_page(request, item_id, refused=refused, status_code=422)
    body = item_routes.RectificationAnswerRequest(
        cause=fields["cause"][:1000],
        corrective_action=fields["corrective_action"][:1000],
        evidence=fields["evidence"][:2000],
    )
    call = item_routes.answer_rectification(
        item_id, body, staff_of(request), app_state(request), key=uuid.uuid4().hex
    )
    return await _after(request, item_id, call, "answered")


@router.post("/rectifications/{item_id}/verify", response_model=None)
async def verify(request: Request, item_id: str) -> HTMLResponse | RedirectResponse:
    item_id = _item_id(item_id)
    form = form_of(request)
    accepted = first_value(form, "accepted")
    if accepted not in ("yes", "no"):
        raise ConsoleError(422, "error.bad_filter", field="accepted")
    body = item_routes.RectificationVerifyRequest(
        accepted=accepted == "yes", note=first_value(form, "note")[:1000]
    )
    call = item_routes.verify_rectification(
        item_id, body, staff_of(request), app_state(request), key=uuid.uuid4().hex
    )
    return await _after(request, item_id, call, "verified")
