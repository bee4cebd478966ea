"""The cause of a resolved feedback (P7.3.2): customer service tags it with a cause from the
list supervision keeps and the department or step responsible; every tagging is listed.

Reached from the feedback page. The page runs the API's own routes (`GET` and `PUT
/api/v1/feedback/{id}/cause`, `GET /api/v1/feedback-causes`) with the request model the
API validates (`CauseTagRequest`); the causes are offered in the reader's language as
supervision wrote them. Tagging feedback not yet resolved is refused by the API (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.access import admits, app_state, form_of, staff_of, viewer_of
from api.console.forms import FormData, Input, Member, Widget, build, refill
from api.console.forms import validate as validate_form
from api.console.i18n import Locale
from api.console.refusals import Refused, ShownForm, attempt, show_beside
from api.console.render import page, redirect
from api.routes import feedback as feedback_routes
from api.routes import feedback_causes as cause_routes
from domain.feedback import FeedbackState
from domain.feedback_analysis import RESPONSIBLE_DEPARTMENTS, CauseTagRequest

router = APIRouter()


@dataclass(kw_only=True)
class CauseForm(ShownForm):
    pass


def cause_label(locale: Locale, zh: str, en: str) -> str:
    """A cause's label as supervision wrote it, in the reader's language."""
    return zh if locale.language.startswith("zh") else en


def cause_form(causes: list[cause_routes.CausePublic], locale: Locale) -> CauseForm:
    """`CauseTagRequest` as a form: the causes in use to choose from, and only the
    departments that handle orders."""
    members: list[Member] = build(CauseTagRequest)
    for member in members:
        if not isinstance(member, Input):
            continue
        if member.name == "cause":
            member.widget = Widget.SELECT
            member.literal = True
            member.choices = [
                (c.code, cause_label(locale, c.label_zh, c.label_en)) for c in causes if c.active
            ]
        elif member.name == "department":
            member.choices = [(d.value, f"department.{d.value}") for d in RESPONSIBLE_DEPARTMENTS]
        elif member.name == "step":
            # `field.step` is a supplier claim's; a tag's step is the step responsible.
            member.label = "field.responsible_step"
        elif member.name == "note":
            member.label = "field.cause_note"
    return CauseForm(form_id="cause", members=members)


def as_posted(tag: cause_routes.CauseTagPublic | None) -> FormData:
    """The tag in force as its form would post it: a re-tag starts from it."""
    if tag is None:
        return {}
    form: FormData = {"cause": [tag.cause], "department": [tag.department.value]}
    if tag.step:
        form["step"] = [tag.step.value]
    if tag.note:
        form["note"] = [tag.note]
    return form


async def _cause_page(
    request: Request,
    feedback_id: str,
    *,
    failure: tuple[FormData, Refused] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    viewer = viewer_of(request)
    staff, state = staff_of(request), app_state(request)
    item = await feedback_routes.get_feedback(feedback_id, staff, state)
    tagging = await cause_routes.get_cause_tag(feedback_id, staff, state)
    causes = (await cause_routes.list_causes(staff, state, active=None)).items
    labels = {c.code: cause_label(viewer.locale, c.label_zh, c.label_en) for c in causes}
    form = None
    if item.state is FeedbackState.RESOLVED and admits(
        staff.department, cause_routes.put_cause_tag
    ):
        form = cause_form(causes, viewer.locale)
        if failure is None:
            refill(form.members, as_posted(tagging.tag))
        else:
            show_beside(form, failure[0], failure[1], viewer.locale)
    return page(
        request,
        "feedback_cause.html",
        status_code=status_code,
        item=item,
        tagging=tagging,
        labels=labels,
        form=form,
        done=request.query_params.get("done", "") == "tagged",
    )


@router.get("/feedback/{feedback_id}/cause", response_class=HTMLResponse)
async def cause_page(request: Request, feedback_id: str) -> HTMLResponse:
    return await _cause_page(request, feedback_id)


@router.post("/feedback/{feedback_id}/cause", response_model=None)
async def tag_cause(request: Request, feedback_id: str) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    form = form_of(request)
    body, errors = validate_form(CauseTagRequest, form, viewer.locale.zone)
    refused = (
        Refused(422, errors=errors)
        if body is None
        else await attempt(
            cause_routes.put_cause_tag(
                feedback_id,
                CauseTagRequest.model_validate(body),
                staff_of(request),
                app_state(request),
            )
        )
    )
    if refused is not None:
        return await _cause_page(
            request, feedback_id, failure=(form, refused), status_code=refused.status_code
        )
    here = f"{viewer.base}/feedback/{quote(feedback_id, safe='')}/cause"
    return redirect(viewer, f"{here}?done=tagged")
