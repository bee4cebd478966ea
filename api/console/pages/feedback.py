"""Customer feedback (P7): the list, one piece of feedback with its replies and result,
and the forms customer service answers and closes it with.

The pages run the API's own routes (`GET /api/v1/feedback`, `GET .../{id}`, and the
reply and resolve actions with the request models the API validates); a refusal by
the feedback workflow (409: already resolved) and a field the model refuses (422)
come back beside the form, as on the order page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.access import ConsoleError, admits, app_state, form_of, staff_of, viewer_of
from api.console.feedback_actions import FEEDBACK_ACTIONS, FeedbackAction, feedback_offers
from api.console.filters import choice
from api.console.forms import FormData, build, first
from api.console.forms import validate as validate_form
from api.console.pages.feedback_causes import cause_label
from api.console.refusals import (
    Refused,
    ShownForm,
    attempt,
    error_text,
    show_beside,
    shown_reason,
)
from api.console.render import page, redirect
from api.routes import feedback as feedback_routes
from api.routes import feedback_causes as cause_routes
from domain.feedback import Channel, FeedbackKind, FeedbackState

router = APIRouter()


@dataclass(kw_only=True)
class FeedbackForm(ShownForm):
    """One action form on the feedback page: about the feedback itself, no other target."""

    spec: FeedbackAction
    target: str = ""
    about: str = ""

    @property
    def action(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Failure:
    """A posted action that did not go through, shown again beside its form."""

    action: str
    form: FormData
    refused: Refused


async def _feedback_page(
    request: Request, feedback_id: str, *, failure: Failure | None = None, status_code: int = 200
) -> HTMLResponse:
    viewer = viewer_of(request)
    staff = staff_of(request)
    item = await feedback_routes.get_feedback(feedback_id, staff, app_state(request))
    # P7.3.2: the cause a resolved feedback is tagged with (its own page tags it).
    cause = await cause_routes.get_cause_tag(feedback_id, staff, app_state(request))
    forms = [
        FeedbackForm(spec=spec, form_id=f"a{n}", members=build(spec.body))
        for n, spec in enumerate(feedback_offers(item, staff.department), start=1)
    ]
    page_errors: list[str] = []
    page_refusal: str | None = None
    if failure is not None:
        shown = [f for f in forms if f.action == failure.action]
        if shown:
            show_beside(shown[0], failure.form, failure.refused, viewer.locale)
        else:  # the form is gone (resolved meanwhile): say why at the top
            page_errors = [error_text(viewer.locale, e) for e in failure.refused.errors]
            page_refusal = shown_reason(viewer.locale, failure.refused)
    done = request.query_params.get("done", "")
    return page(
        request,
        "feedback.html",
        status_code=status_code,
        item=item,
        forms=forms,
        done=done if done in FEEDBACK_ACTIONS else "",
        page_errors=page_errors,
        page_refusal=page_refusal,
        cause=cause.tag,
        cause_label=(
            cause_label(viewer.locale, cause.tag.label_zh, cause.tag.label_en) if cause.tag else ""
        ),
        may_tag=admits(staff.department, cause_routes.put_cause_tag),
    )


@router.get("/feedback", response_class=HTMLResponse)
async def feedback_list(
    request: Request,
    state: str = "",
    kind: str = "",
    channel: str = "",
    customer_id: str = "",
    cursor: str = "",
) -> HTMLResponse:
    viewer = viewer_of(request)
    values = {"state": state, "kind": kind, "channel": channel, "customer_id": customer_id.strip()}
    listed = await feedback_routes.list_feedback(
        staff_of(request),
        app_state(request),
        feedback_state=choice(FeedbackState, state, "feedback_state"),
        kind=choice(FeedbackKind, kind, "feedback_kind"),
        channel=choice(Channel, channel, "channel"),
        order_id=None,
        customer_id=values["customer_id"] or None,
        limit=50,
        cursor=cursor or None,
    )
    more_url = ""
    if listed.next_cursor:
        query = urlencode({k: v for k, v in values.items() if v} | {"cursor": listed.next_cursor})
        more_url = f"{viewer.base}/feedback?{query}"
    return page(
        request,
        "feedback_list.html",
        items=listed.items,
        values=values,
        states=list(FeedbackState),
        kinds=list(FeedbackKind),
        channels=list(Channel),
        more_url=more_url,
    )


@router.get("/feedback/{feedback_id}", response_class=HTMLResponse)
async def feedback_page(request: Request, feedback_id: str) -> HTMLResponse:
    return await _feedback_page(request, feedback_id)


@router.post("/feedback/{feedback_id}/actions/{action}", response_model=None)
async def take_feedback_action(
    request: Request, feedback_id: str, action: str
) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    spec = FEEDBACK_ACTIONS.get(action)
    if spec is None:  # the gate has answered 404 already; kept for type checkers
        raise ConsoleError(404, "error.not_found")
    form = form_of(request)
    body, errors = validate_form(spec.body, form, viewer.locale.zone)
    key = first(form, "idempotency_key") or None
    refused = (
        Refused(422, errors=errors)
        if body is None
        else await attempt(
            spec.route(feedback_id, body, staff_of(request), app_state(request), key)
        )
    )
    if refused is not None:
        failure = Failure(action, form, refused)
        return await _feedback_page(
            request, feedback_id, failure=failure, status_code=refused.status_code
        )
    here = f"{viewer.base}/feedback/{quote(feedback_id, safe='')}"
    return redirect(viewer, f"{here}?done={action}")
