"""The console decides access with the API's role matrix and runs the API's own routes."""

from __future__ import annotations

import re
import typing

import httpx
import pytest
from fastapi.routing import APIRoute

from api.app import create_app
from api.console.access import CONSOLE_ROUTES, REPORTS, Access
from api.console.endpoints import endpoint_of
from api.console.feedback_actions import FEEDBACK_ACTIONS
from api.console.order_actions import NOT_FORMS, ORDER_ACTIONS
from api.console.web import PAGES
from api.roles import ROLE_MATRIX, rule_for
from domain.actions import ACTION_RULES, Action
from domain.actors import Department
from tests.support.console import ConsoleBrowser
from tests.support.system import System


def console_routes() -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for page in PAGES
        for route in page.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def test_every_console_route_has_exactly_one_rule_and_the_api_app_serves_the_console():
    assert console_routes() == set(CONSOLE_ROUTES)
    mounts = [r for r in create_app().routes if getattr(r, "path", "") == "/console"]
    assert len(mounts) == 1


def test_every_api_route_the_console_runs_has_its_rule_in_the_role_matrix():
    functions = [f for rule in CONSOLE_ROUTES.values() for f in rule.runs]
    functions += [a.route for a in ORDER_ACTIONS.values()] + list(REPORTS.values())
    functions += [a.route for a in FEEDBACK_ACTIONS.values()]
    for function in functions:
        assert endpoint_of(function) in ROLE_MATRIX, function.__qualname__


def test_every_order_action_has_a_form_run_through_its_own_api_route():
    assert set(ORDER_ACTIONS) | NOT_FORMS == set(Action)
    for action, spec in ORDER_ACTIONS.items():
        # The form is built from the very model the API validates the body with ...
        assert typing.get_type_hints(spec.route)["body"] is spec.body, action
        # ... and the role matrix rule of that route is the action's own (domain/actions.py).
        rule = rule_for(*spec.endpoint)
        assert rule is not None and rule.departments == ACTION_RULES[action].departments


def test_every_feedback_action_has_a_form_run_through_its_own_api_route():
    for name, spec in FEEDBACK_ACTIONS.items():
        assert typing.get_type_hints(spec.route)["body"] is spec.body, name
        rule = rule_for(*spec.endpoint)
        assert rule is not None and rule.departments is not None
        for department in Department:
            assert spec.admits(department) == (department in rule.departments), name


def test_the_department_gets_an_action_exactly_when_the_role_matrix_admits_it():
    for spec in ORDER_ACTIONS.values():
        rule = rule_for(*spec.endpoint)
        assert rule is not None and rule.departments is not None
        for department in Department:
            assert spec.admits(department) == (department in rule.departments)


FAKE = {
    "order_id": "NO-SUCH-ORDER",
    "feedback_id": "NO-SUCH-FEEDBACK",
    "task_id": "NO-SUCH-TASK",
    "action": "review",
    "report": "orders",
    "sku": "NO-SUCH-SKU",
    "session_id": "TS-0000000000000000",
    "period": "2000-01",
    "item_id": "RI-0000000000000000",
}


async def test_every_console_route_answers_each_department_as_the_api_would(system: System):
    """403 exactly where the role matrix refuses the API routes the page runs; never a 5xx."""
    violations = []
    targets: list[tuple[str, str, tuple[typing.Any, ...]]] = []
    for (method, path), rule in CONSOLE_ROUTES.items():
        if rule.access is not Access.API:
            continue
        if "{action}" in path and path.startswith("/feedback/"):
            for name, feedback_spec in FEEDBACK_ACTIONS.items():
                targets.append((method, path.replace("{action}", name), (feedback_spec.route,)))
        elif "{action}" in path:
            for action, spec in ORDER_ACTIONS.items():
                targets.append((method, path.replace("{action}", action.value), (spec.route,)))
        elif "{report}" in path:
            for name, route in REPORTS.items():
                targets.append((method, path.replace("{report}", name), (route,)))
        else:
            targets.append((method, path, rule.runs))
    for department in Department:
        async with ConsoleBrowser(system) as browser:
            await browser.sign_in(department)
            for method, path, functions in targets:
                url = "/console" + re.sub(r"\{(\w+)\}", lambda m: FAKE[m.group(1)], path)
                if method == "GET":
                    response: httpx.Response = await browser.http.get(url)
                else:
                    response = await browser.post(url, {"target": "NO-SUCH-CASE"})
                admitted = all(
                    rule_for(*endpoint_of(f)).admits(department, lead=False)  # type: ignore[union-attr]
                    for f in functions
                )
                refused = response.status_code == 403
                if admitted == refused or response.status_code >= 500:
                    violations.append((department.value, method, url, response.status_code))
    assert violations == []


@pytest.mark.parametrize("department", [Department.WAREHOUSE, Department.FINANCE])
async def test_a_department_without_the_dashboard_gets_a_403_page_and_no_link(
    system: System, department: Department
):
    async with ConsoleBrowser(system) as browser:
        await browser.sign_in(department)
        inbox = await browser.get("/console/inbox")
        assert 'href="/console/dashboard"' not in inbox.text
        refused = await browser.get("/console/dashboard")
        assert refused.status_code == 403
        assert "无权执行" in refused.text
    async with ConsoleBrowser(system) as supervisor:
        await supervisor.sign_in(Department.SUPERVISION)
        assert 'href="/console/dashboard"' in (await supervisor.get("/console/inbox")).text
