"""Who may open each console page and post each console form: the API's role matrix, reused.

The console is mounted beside the API as an application of its own, so the API's
bearer-token `authorize` dependency does not run for it; this gate does instead, with
the same shape: deny by default (a console route with no entry here is a 403), then
the session (sign-in page when there is none), the caller's rate limit (429), the CSRF
token of a form, and the department. What is reachable without a session (the
sign-in page and form, the language form, any page that sends the browser to sign in)
is limited per client address instead (429 with Retry-After), before the form is read.
The department check is the API's: every console route names the API route functions
it runs, and each of their endpoints' rules in `api/roles.py` must admit the caller's
department (403 otherwise). No department is named in this module.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request

from api.console.endpoints import admits_route, endpoint_of
from api.console.feedback_actions import FEEDBACK_ACTIONS
from api.console.order_actions import ORDER_ACTIONS
from api.console.sessions import CSRF_FIELD, Viewer, identify
from api.deps import AppState, admit_address
from api.roles import rule_for
from api.routes import (
    feedback,
    feedback_causes,
    orders,
    products,
    rectifications,
    reports,
    scorecards,
    supervision,
    tasks,
    training,
)
from db.staff import StaffMember
from domain.actions import Action
from domain.actors import Department

RouteFunction = Callable[..., Awaitable[Any]]

#: The reports the dashboard offers as CSV, by name: the API route that makes each.
REPORTS: dict[str, RouteFunction] = {
    "orders": reports.orders_report,
    "revenue": reports.revenue_report,
    "satisfaction": reports.satisfaction_report,
    "kpis": reports.kpis,
    "feedback_causes": feedback_causes.feedback_causes_report,
}

#: Reports of the whole window, without periods: their CSV takes no `group_by`.
UNGROUPED_REPORTS = frozenset({"feedback_causes"})

MAX_FORM_FIELDS = 500


class Access(StrEnum):
    PUBLIC = "public"  # no session needed (sign-in, language)
    SIGNED_IN = "signed_in"  # any signed-in member of staff (sign-out)
    API = "api"  # whoever the role matrix admits to the API routes it runs


class ConsoleError(Exception):
    """A page other than the one asked for: 403, 404, 409, 429... with a catalogue message."""

    def __init__(self, status_code: int, key: str, **params: Any) -> None:
        super().__init__(key)
        self.status_code = status_code
        self.key = key
        self.params = params


class SignInRequired(Exception):
    """No live session: the browser goes to the sign-in page and comes back afterwards."""


@dataclass(frozen=True)
class ConsoleRule:
    access: Access
    #: The API route functions the console route runs (all must admit the department).
    runs: tuple[RouteFunction, ...] = ()
    #: For a route whose API endpoint depends on its path (`/actions/{action}`).
    resolve: Callable[[Request], tuple[RouteFunction, ...]] | None = None

    def route_functions(self, request: Request) -> tuple[RouteFunction, ...]:
        return self.resolve(request) if self.resolve else self.runs


def _action_route(request: Request) -> tuple[RouteFunction, ...]:
    try:
        return (ORDER_ACTIONS[Action(request.path_params["action"])].route,)
    except (KeyError, ValueError):
        raise ConsoleError(404, "error.not_found") from None


def _feedback_action_route(request: Request) -> tuple[RouteFunction, ...]:
    try:
        return (FEEDBACK_ACTIONS[request.path_params["action"]].route,)
    except KeyError:
        raise ConsoleError(404, "error.not_found") from None


def _report_route(request: Request) -> tuple[RouteFunction, ...]:
    try:
        return (REPORTS[request.path_params["report"]],)
    except KeyError:
        raise ConsoleError(404, "error.not_found") from None


def runs(*functions: RouteFunction) -> ConsoleRule:
    return ConsoleRule(Access.API, runs=functions)


PUBLIC = ConsoleRule(Access.PUBLIC)

#: Every route of the console, keyed like the API's role matrix (method, path template).
CONSOLE_ROUTES: dict[tuple[str, str], ConsoleRule] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    ("POST", "/language"): PUBLIC,
    ("POST", "/sign-out"): ConsoleRule(Access.SIGNED_IN),
    ("GET", "/inbox"): runs(tasks.list_tasks),
    ("GET", "/inbox/rows"): runs(tasks.list_tasks),
    ("POST", "/tasks/{task_id}/claim"): runs(tasks.claim_task),
    ("POST", "/tasks/{task_id}/unclaim"): runs(tasks.unclaim_task),
    ("GET", "/orders/{order_id}"): runs(orders.get_order),
    ("POST", "/orders/{order_id}/actions/{action}"): ConsoleRule(Access.API, resolve=_action_route),
    ("GET", "/search"): runs(orders.list_orders),
    ("GET", "/feedback"): runs(feedback.list_feedback),
    ("GET", "/feedback/{feedback_id}"): runs(feedback.get_feedback, feedback_causes.get_cause_tag),
    ("GET", "/feedback/{feedback_id}/cause"): runs(
        feedback.get_feedback, feedback_causes.get_cause_tag, feedback_causes.list_causes
    ),
    ("POST", "/feedback/{feedback_id}/cause"): runs(
        feedback.get_feedback, feedback_causes.put_cause_tag
    ),
    ("POST", "/feedback/{feedback_id}/actions/{action}"): ConsoleRule(
        Access.API, resolve=_feedback_action_route
    ),
    ("GET", "/dashboard"): runs(
        reports.kpis,
        reports.orders_report,
        reports.revenue_report,
        feedback_causes.feedback_causes_report,
        training.training_due,
    ),
    ("GET", "/dashboard/{report}.csv"): ConsoleRule(Access.API, resolve=_report_route),
    ("GET", "/products"): runs(products.list_products),
    ("POST", "/products"): runs(products.get_product, products.put_product),
    ("GET", "/products/{sku}"): runs(products.get_product),
    ("POST", "/products/{sku}"): runs(products.get_product, products.put_product),
    ("GET", "/training"): runs(training.list_sessions, training.training_due),
    ("POST", "/training"): runs(training.record_session),
    ("GET", "/training/{session_id}"): runs(training.get_session, training.training_due),
    ("POST", "/training/{session_id}/attendance"): runs(
        training.get_session, training.record_attendance
    ),
    ("GET", "/scorecards"): runs(scorecards.get_scorecards),
    ("GET", "/rectifications"): runs(rectifications.list_rectifications),
    ("POST", "/supervision/runs"): runs(supervision.run_now),
    ("GET", "/rectifications/{item_id}"): runs(rectifications.get_rectification),
    ("POST", "/rectifications/{item_id}/answer"): runs(
        rectifications.get_rectification, rectifications.answer_rectification
    ),
    ("POST", "/rectifications/{item_id}/verify"): runs(
        rectifications.get_rectification, rectifications.verify_rectification
    ),
    ("POST", "/scorecards/{period}/standings"): runs(
        scorecards.get_scorecards, scorecards.decide_standing
    ),
}


def admits(department: Department, *functions: RouteFunction, lead: bool = False) -> bool:
    """Whether the role matrix lets this department (a lead of it, or not) call every one
    of these API routes."""
    return all(admits_route(department, function, lead=lead) for function in functions)


def refused_departments(department: Department, functions: tuple[RouteFunction, ...]) -> list[str]:
    """The departments of the first rule that refuses this one, for the 403 page."""
    for function in functions:
        rule = rule_for(*endpoint_of(function))
        if rule is not None and rule.departments is not None and department not in rule.departments:
            return sorted(d.value for d in rule.departments)
    return []


async def read_form(request: Request) -> dict[str, list[str]]:
    """A urlencoded form body (the console posts nothing else; no multipart parser needed)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ConsoleError(415, "error.bad_form")
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        return parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise ConsoleError(413, "error.bad_form") from None


def first_value(form: dict[str, list[str]], name: str) -> str:
    """A form field's first value, stripped ("" when absent)."""
    return (form.get(name) or [""])[0].strip()


def app_state(request: Request) -> AppState:
    """The API's shared state (database, Temporal client, settings, rate limiter)."""
    state: AppState = request.app.state.api.state.oms
    return state


async def gate(request: Request) -> None:
    """Runs before every console route (the console app's dependency)."""
    state = app_state(request)
    viewer = await identify(request, state)
    request.state.viewer = viewer
    method = "GET" if request.method == "HEAD" else request.method
    route = request.scope.get("route")
    rule = CONSOLE_ROUTES.get((method, getattr(route, "path", "")))
    if rule is None:
        raise ConsoleError(403, "error.no_rule")
    if rule.access is Access.PUBLIC or viewer.staff is None:
        wait = admit_address(request, state)
        if wait:
            raise ConsoleError(429, "error.too_many", seconds=max(1, math.ceil(wait)))
    form: dict[str, list[str]] = {}
    if method == "POST":
        form = await read_form(request)
    request.state.form = form
    if rule.access is Access.PUBLIC:
        _check_csrf(viewer, method, form)
        return
    if viewer.staff is None:
        raise SignInRequired()
    wait = state.limiter.admit(viewer.staff.staff_id)
    if wait:
        raise ConsoleError(429, "error.too_many", seconds=max(1, math.ceil(wait)))
    _check_csrf(viewer, method, form)
    if rule.access is Access.API:
        functions = rule.route_functions(request)
        if not admits(viewer.staff.department, *functions, lead=viewer.staff.is_lead):
            raise ConsoleError(
                403,
                "error.forbidden",
                departments=refused_departments(viewer.staff.department, functions),
                department=viewer.staff.department.value,
            )


def _check_csrf(viewer: Viewer, method: str, form: dict[str, list[str]]) -> None:
    if method == "POST" and not viewer.csrf_ok((form.get(CSRF_FIELD) or [""])[0]):
        raise ConsoleError(403, "error.csrf")


def staff_of(request: Request) -> StaffMember:
    """The signed-in member of staff (the gate has made sure there is one)."""
    staff = viewer_of(request).staff
    if staff is None:
        raise SignInRequired()
    return staff


def viewer_of(request: Request) -> Viewer:
    viewer: Viewer = request.state.viewer
    return viewer


def form_of(request: Request) -> dict[str, list[str]]:
    form: dict[str, list[str]] = getattr(request.state, "form", {})
    return form
