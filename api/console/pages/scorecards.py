"""Scorecards (P8.2, P8.3): a month's figures beside the targets, per department and per
member of staff, the proposed standing, and supervision's decision with its note.

Everything comes from the API's routes (`api/routes/scorecards.py`), called as the API
calls them: a lead sees their own department, supervision every one and decides.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.access import ConsoleError, app_state, first_value, form_of, staff_of, viewer_of
from api.console.filters import choice
from api.console.refusals import Refused, attempt, refused_text
from api.console.render import page, redirect
from api.routes import scorecards as scorecard_routes
from api.visibility import oversees
from domain.actors import WORKING_DEPARTMENTS, Department
from domain.reports import Kpi, local_today
from domain.scorecards import PeriodError, Standing, month_window, period_of

router = APIRouter()

#: KPIs shown as a mean (2 places) rather than a share.
MEANS = frozenset({Kpi.CUSTOMER_SATISFACTION_MEAN.value})


def _period(value: str, request: Request) -> str:
    if not value:
        offset = app_state(request).settings.reports.utc_offset_hours
        return period_of(local_today(datetime.now(UTC), offset))
    try:
        month_window(value)
    except PeriodError:
        raise ConsoleError(422, "error.bad_filter", field="period") from None
    return value


async def _page(
    request: Request,
    period: str,
    department: Department | None,
    *,
    refused: Refused | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    viewer = viewer_of(request)
    staff = staff_of(request)
    cards = await scorecard_routes.get_scorecards(
        staff, app_state(request), period=period, department=department
    )
    overseer = oversees(staff)

    def shown(figure: Any) -> str:
        if figure.actual is None:
            return "—"
        if figure.kpi in MEANS:
            return str(viewer.locale.number(figure.actual, 2))
        return str(viewer.locale.percent(figure.actual))

    def target_shown(figure: Any) -> str:
        if figure.target is None:
            return ""
        if figure.kpi in MEANS:
            return str(viewer.locale.number(figure.target, 2))
        return str(viewer.locale.percent(figure.target))

    return page(
        request,
        "scorecards.html",
        status_code=status_code,
        cards=cards,
        period=period,
        department=department.value if department else "",
        departments=[d.value for d in WORKING_DEPARTMENTS] if overseer else [],
        may_decide=overseer and staff.department is Department.SUPERVISION,
        standings=[s.value for s in Standing],
        shown=shown,
        target_shown=target_shown,
        refusal=refused_text(viewer.locale, refused) if refused is not None else None,
    )


@router.get("/scorecards", response_class=HTMLResponse)
async def scorecards_page(request: Request, period: str = "", department: str = "") -> HTMLResponse:
    return await _page(
        request, _period(period, request), choice(Department, department, "department")
    )


@router.post("/scorecards/{period}/standings", response_model=None)
async def decide(request: Request, period: str) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    month = _period(period, request)
    form = form_of(request)
    department = choice(Department, first_value(form, "department"), "department")
    standing = choice(Standing, first_value(form, "standing"), "standing")
    note = first_value(form, "note")
    shown = choice(Department, first_value(form, "shown_department"), "department")
    if department is None or standing is None or not note:
        refused = Refused(422, reason=viewer.t("scorecards.decision_incomplete"))
        return await _page(request, month, shown, refused=refused, status_code=422)
    body = scorecard_routes.DecisionRequest(
        department=department,
        staff_id=first_value(form, "staff_id") or None,
        standing=standing,
        note=note[:1000],
    )
    refused_now = await attempt(
        scorecard_routes.decide_standing(month, body, staff_of(request), app_state(request))
    )
    if refused_now is not None:
        return await _page(
            request, month, shown, refused=refused_now, status_code=refused_now.status_code
        )
    query = {"period": month, **({"department": shown.value} if shown else {})}
    return redirect(viewer, f"{viewer.base}/scorecards?{urlencode(query)}#h-{department.value}")
