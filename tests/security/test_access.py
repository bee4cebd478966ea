"""Access that holds (issue 6): the role matrix, dead tokens, rate limits, body limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.app import create_app
from api.roles import ROLE_MATRIX, as_markdown
from db import staff as staff_store
from domain.actors import Department
from tests.support.orders import order_body
from tests.support.system import ApiServer, System

#: Stand-ins for path parameters: unknown ids are fine, an admitted caller gets a 404
#: or 422, never a 401/403, and nothing is changed.
FAKE_PARAMS = {
    "order_id": "NO-SUCH-ORDER",
    "task_id": "NO-SUCH-TASK",
    "case_id": "NO-SUCH-CASE",
    "refund_id": "NO-SUCH-REFUND",
    "sku": "NO-SUCH-SKU",
    "feedback_id": "NO-SUCH-FEEDBACK",
    "run_id": "NO-SUCH-RUN",
    "item_id": "RI-0000000000000000",
    "customer_id": "NO-SUCH-CUSTOMER",
    "code": "no_such_cause",
    "session_id": "TS-0000000000000000",
    # An unknown carrier is a 404 before any signature is looked at.
    "carrier": "NO-SUCH-CARRIER",
    # Scorecards (P8.2): a month long past, a department and a KPI that take targets.
    "period": "2000-01",
    "department": "sales",
    "kpi": "order_processing_on_time_rate",
}


def endpoints_of_the_schema() -> set[tuple[str, str]]:
    schema = create_app().openapi()
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_every_endpoint_has_exactly_one_rule_and_the_docs_show_them():
    assert endpoints_of_the_schema() == set(ROLE_MATRIX)
    with open("docs/roles.md") as docs:
        assert docs.read() == as_markdown(), "regenerate: python -m api.roles > docs/roles.md"


async def call(system: System, method: str, path: str, token: str | None) -> httpx.Response:
    url = re.sub(r"\{(\w+)\}", lambda m: FAKE_PARAMS[m.group(1)], path)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {} if method in ("POST", "PUT") else None
    return await system.http.request(method, url, json=body, headers=headers)


@pytest.fixture
def revoked_token(system: System) -> str:
    with system.db.write() as conn:
        member, token = staff_store.add_staff(conn, "Leaver", Department.ADMIN, datetime.now(UTC))
        staff_store.revoke(conn, member.staff_id, datetime.now(UTC))
    return token


@pytest.fixture
def expired_token(system: System) -> str:
    with system.db.write() as conn:
        _, token = staff_store.add_staff(
            conn,
            "Temp",
            Department.SALES,
            datetime.now(UTC),
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
    return token


async def test_the_role_matrix_holds_for_every_endpoint_and_every_caller(
    system: System, revoked_token: str, expired_token: str
):
    violations = []
    checked = 0
    for (method, path), rule in sorted(ROLE_MATRIX.items()):
        callers: list[tuple[str, str | None, set[int] | None]] = []
        for department in Department:
            # The tokens are plain members': a leads-only route refuses them (P8.2).
            admitted = rule.admits(department, lead=False)
            # Admitted: anything but 401/403 (a 404 or 422 for the stand-in ids and bodies).
            callers.append(
                (department.value, system.tokens[department], None if admitted else {403})
            )
        dead = None if rule.public else {401}
        callers += [
            ("no token", None, dead),
            ("revoked", revoked_token, dead),
            ("expired", expired_token, dead),
        ]
        for who, token, expected in callers:
            response = await call(system, method, path, token)
            checked += 1
            ok = (
                response.status_code not in (401, 403)
                if expected is None
                else response.status_code in expected
            )
            if not ok or response.status_code >= 500:
                violations.append((method, path, who, response.status_code))
    assert violations == []
    assert checked == len(ROLE_MATRIX) * (len(Department) + 3)


async def test_a_revoked_or_rotated_token_stops_working_at_once(system: System):
    with system.db.write() as conn:
        member, token = staff_store.add_staff(conn, "Rotating", Department.SALES, datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    assert (await system.http.get("/api/v1/tasks", headers=headers)).status_code == 200
    with system.db.write() as conn:
        new_token = staff_store.rotate(conn, member.staff_id)
    assert (await system.http.get("/api/v1/tasks", headers=headers)).status_code == 401
    rotated = {"Authorization": f"Bearer {new_token}"}
    assert (await system.http.get("/api/v1/tasks", headers=rotated)).status_code == 200
    with system.db.write() as conn:
        staff_store.revoke(conn, member.staff_id, datetime.now(UTC))
    assert (await system.http.get("/api/v1/tasks", headers=rotated)).status_code == 401


async def test_tokens_are_stored_only_as_hashes(system: System):
    from sqlalchemy import select

    from db.tables import staff

    with system.db.read() as conn:
        stored = {row.token_hash for row in conn.execute(select(staff.c.token_hash))}
    assert not set(system.tokens.values()) & stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)


async def test_a_body_over_the_limit_is_413_and_starts_nothing(system: System):
    body = order_body()
    body["customer"]["name"] = "x" * (system.settings.max_body_bytes + 1)
    response = await system.post("platform", "/api/v1/orders", body)
    assert response.status_code == 413

    # Streamed without a Content-Length, it is cut off all the same.
    async def chunks():
        for _ in range(system.settings.max_body_bytes // 1000 + 2):
            yield b" " * 1000

    streamed = await system.http.post(
        "/api/v1/orders",
        content=chunks(),
        headers={**system.auth("platform"), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert (await system.get("sales", f"/api/v1/orders/{body['order_id']}")).status_code == 404


async def test_too_many_requests_from_one_token_are_429_with_retry_after(system: System):
    settings = system.settings.model_copy(
        # One token back every 20 s: a slow machine taking a second over the five requests
        # must not refill the bucket between them.
        update={"rate_limit_per_second": 0.05, "rate_limit_burst": 3}
    )
    server = ApiServer(settings)
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            codes = [
                (await http.get("/api/v1/tasks", headers=system.auth("sales"))).status_code
                for _ in range(5)
            ]
            assert codes[:3] == [200, 200, 200] and codes[3] == 429
            limited = await http.get("/api/v1/tasks", headers=system.auth("sales"))
            assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
            # Another member of staff has a bucket of their own.
            other = await http.get("/api/v1/tasks", headers=system.auth("warehouse"))
            assert other.status_code == 200
    finally:
        server.stop()
