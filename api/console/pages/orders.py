"""The order page (summary, tasks, timeline, cases, money, and the actions allowed now),
the action forms it posts, and the order search.

The order is the API's `GET /api/v1/orders/{id}`; every action runs the API route of
that action with the request model the API validates (`order_actions.py`). A refusal
by the workflow's validator (409) and a field the model refuses (422) come back on the
same page, beside the form that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.access import ConsoleError, app_state, form_of, staff_of, viewer_of
from api.console.filters import choice, date_filter
from api.console.forms import FormData, build, first
from api.console.forms import validate as validate_form
from api.console.i18n import Locale
from api.console.order_actions import ORDER_ACTIONS, Offer, Target, offers
from api.console.pages.inbox import may_claim
from api.console.refusals import (
    Refused,
    ShownForm,
    attempt,
    error_text,
    show_beside,
    shown_reason,
)
from api.console.render import page, redirect
from api.console.timeline import order_timeline
from api.console.workflow_words import risk_text
from api.orders_client import recorded_status
from api.routes import orders
from api.routes.notifications import order_notifications
from api.schemas import OrderPublic
from domain.actions import Action
from domain.actors import Department
from domain.states import TERMINAL, OrderStatus

router = APIRouter()

#: Where an order stands on its way, for the stage bar of the order page.
STAGES = ("intake", "review", "warehouse", "dispatch", "delivery", "after_sales", "closed")
STAGE_OF: dict[OrderStatus, str] = {
    OrderStatus.RECEIVED: "intake",
    OrderStatus.NEEDS_CORRECTION: "intake",
    OrderStatus.AWAITING_PAYMENT: "intake",
    OrderStatus.UNDER_REVIEW: "review",
    OrderStatus.OUT_OF_STOCK: "warehouse",
    OrderStatus.READY_TO_PACK: "warehouse",
    OrderStatus.AWAITING_DISPATCH: "dispatch",
    # P1.2: a service's visit is agreed where goods are dispatched, and done as delivered.
    OrderStatus.AWAITING_APPOINTMENT: "dispatch",
    OrderStatus.SERVICE_SCHEDULED: "delivery",
    OrderStatus.AWAITING_CONFIRMATION: "delivery",
    OrderStatus.IN_TRANSIT: "delivery",
    OrderStatus.DELIVERED: "after_sales",
} | {status: "closed" for status in TERMINAL}


@dataclass(kw_only=True)
class ActionForm(ShownForm):
    offer: Offer

    @property
    def action(self) -> str:
        return self.offer.action.action.value

    @property
    def target(self) -> str:
        return self.offer.target

    @property
    def about(self) -> str:
        return self.offer.about


@dataclass(frozen=True)
class Failure:
    """A posted action that did not go through, to show on the page again."""

    action: Action
    target: str
    form: FormData
    refused: Refused


def action_forms(order: OrderPublic, department: Department) -> list[ActionForm]:
    """A form for every action this department may take on the order now."""
    return [
        ActionForm(offer=offer, form_id=f"a{n}", members=build(offer.action.body))
        for n, offer in enumerate(offers(order, department), start=1)
    ]


def _apply_failure(
    forms: list[ActionForm], failure: Failure, locale: Locale
) -> tuple[list[str], str | None]:
    """Put the failure beside its form; what finds no form is returned for the page's top."""
    for form in forms:
        if form.offer.action.action is failure.action and form.offer.target == failure.target:
            show_beside(form, failure.form, failure.refused, locale)
            return [], None
    errors = [error_text(locale, e) for e in failure.refused.errors]
    return errors, shown_reason(locale, failure.refused)


async def _order_page(
    request: Request, order_id: str, *, failure: Failure | None = None, status_code: int = 200
) -> HTMLResponse:
    viewer = viewer_of(request)
    staff = staff_of(request)
    order = await orders.get_order(order_id, staff, app_state(request))
    forms = action_forms(order, staff.department)
    page_errors: list[str] = []
    page_refusal: str | None = None
    if failure is not None:
        page_errors, page_refusal = _apply_failure(forms, failure, viewer.locale)
    done = request.query_params.get("done", "")
    timeline = await order_timeline(app_state(request), staff, order)
    notices = await order_notifications(order_id, staff, app_state(request))
    return page(
        request,
        "order.html",
        status_code=status_code,
        # The API's answer as it is: phones and addresses already masked for this
        # department (domain/personal_data.py), the Temporal UI link only where it may decode.
        order=order,
        risk_reasons=[risk_text(viewer.locale, r) for r in order.risk_reasons],
        masked=frozenset(order.masked_fields),
        forms=forms,
        stages=STAGES,
        stage=STAGE_OF[order.status],
        timeline=timeline.entries,
        # P3.4: the carrier's scans; P3-P5: what the customer was told.
        scans=[event for event in order.events if event.kind == "tracking"],
        notices=notices.notifications,
        timeline_source=timeline.source,
        done=done if done in ORDER_ACTIONS else "",
        page_errors=page_errors,
        page_refusal=page_refusal,
        may_claim=lambda task: may_claim(viewer, task),
        here=f"{viewer.base}/orders/{order_id}",
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(request: Request, order_id: str) -> HTMLResponse:
    return await _order_page(request, order_id)


@router.post("/orders/{order_id}/actions/{action}", response_model=None)
async def take_action(
    request: Request, order_id: str, action: str
) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    staff = staff_of(request)
    spec = ORDER_ACTIONS[Action(action)]  # the gate answered 404 for an unknown action
    form = form_of(request)
    target = first(form, "target")
    if spec.target is not Target.ORDER and not target:
        raise ConsoleError(422, "error.no_target")
    body, errors = validate_form(spec.body, form, viewer.locale.zone)
    key = first(form, "idempotency_key") or None
    refused = (
        Refused(422, errors=errors)
        if body is None
        else await attempt(spec.send(app_state(request), staff, order_id, target, body, key))
    )
    if refused is not None:
        failure = Failure(spec.action, target, form, refused)
        return await _order_page(
            request, order_id, failure=failure, status_code=refused.status_code
        )
    return redirect(viewer, f"{viewer.base}/orders/{order_id}?done={spec.action.value}")


# --- search ------------------------------------------------------------------------------------


def day_start(day: date, locale: Locale) -> datetime:
    """The first instant of a day in the console's time zone."""
    return datetime.combine(day, time(), locale.zone)


@router.get("/search", response_class=HTMLResponse, response_model=None)
async def search(
    request: Request,
    order_id: str = "",
    customer_id: str = "",
    status: str = "",
    created_from: str = "",
    created_to: str = "",
    cursor: str = "",
) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    staff = staff_of(request)
    state = app_state(request)
    values = {
        "order_id": order_id.strip(),
        "customer_id": customer_id.strip(),
        "status": status,
        "created_from": created_from,
        "created_to": created_to,
    }
    context: dict[str, Any] = {"values": values, "statuses": list(OrderStatus)}
    if values["order_id"]:
        if await recorded_status(state, values["order_id"]) is not None:
            return redirect(viewer, f"{viewer.base}/orders/{values['order_id']}")
        return page(request, "search.html", results=None, not_found=True, more_url="", **context)
    first_day = date_filter(created_from, "created_from")
    last_day = date_filter(created_to, "created_to")
    searched = any(values.values())
    results = None
    next_cursor = None
    if searched:
        listed = await orders.list_orders(
            staff,
            state,
            status=choice(OrderStatus, status, "status"),
            customer_id=values["customer_id"] or None,
            created_from=day_start(first_day, viewer.locale) if first_day else None,
            created_to=day_start(last_day + timedelta(days=1), viewer.locale) if last_day else None,
            limit=50,
            cursor=cursor or None,
        )
        results, next_cursor = listed.items, listed.next_cursor
    more_url = ""
    if next_cursor:
        more_url = f"{viewer.base}/search?{urlencode(values | {'cursor': next_cursor})}"
    return page(
        request, "search.html", results=results, not_found=False, more_url=more_url, **context
    )
