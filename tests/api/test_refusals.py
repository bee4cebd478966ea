"""api.md Errors: 401, 403, 404, 409 (with the current status), 422 (naming the field).

Each refused request must change nothing: the order's status and record stay as they were.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.orders import new_order_id, order_body
from tests.support.system import System


async def order_under_review(system: System, **changes: Any) -> str:
    sku = f"SKU-R-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "99.00")], **changes)
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    await system.wait_for(body["order_id"], "under_review")
    return str(body["order_id"])


async def snapshot(system: System, order_id: str) -> tuple[str, int, list[str]]:
    order = await system.order(order_id)
    return order["status"], len(order["events"]), sorted(t["task_id"] for t in order["open_tasks"])


async def test_an_action_out_of_turn_is_409_with_the_current_status(system: System):
    order_id = await order_under_review(system)
    before = await snapshot(system, order_id)
    response = await system.post(
        "warehouse",
        f"/api/v1/orders/{order_id}/pack",
        {"packages": 1, "accessories": ["manual", "warranty_card"]},
    )
    assert response.status_code == 409
    assert response.json()["status"] == "under_review"
    assert "pack" in response.json()["detail"]
    # The refusal by name, with what its message is made of (for the console's words).
    assert response.json()["refusal"] == "action_not_now"
    assert response.json()["refusal_params"] == {
        "action": "pack",
        "status": "under_review",
        "clause": "P3.3",
    }
    assert await snapshot(system, order_id) == before


@pytest.mark.parametrize(
    ("department", "path", "body"),
    [
        ("warehouse", "review", {"approved": True}),
        ("customer_service", "review", {"approved": True}),
        ("sales", "pack", {"packages": 1}),
        ("sales", "dispatch", {"carrier": "SF", "method": "express", "tracking_number": "1"}),
        ("finance", "tracking", {"event_id": "E1", "event": "delivered"}),
    ],
)
async def test_a_department_that_may_not_act_gets_403(system: System, department, path, body):
    order_id = await order_under_review(system)
    before = await snapshot(system, order_id)
    response = await system.post(department, f"/api/v1/orders/{order_id}/{path}", body)
    assert response.status_code == 403, response.text
    assert department in response.json()["detail"]
    assert await snapshot(system, order_id) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "approved"),
        ({"approved": "perhaps"}, "approved"),
        ({"approved": True, "note": "x" * 1001}, "note"),
        ({"approved": True, "unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_input_is_422_naming_the_field(system: System, body, field):
    order_id = await order_under_review(system)
    before = await snapshot(system, order_id)
    response = await system.post("sales", f"/api/v1/orders/{order_id}/review", body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert field in response.json()["detail"]
    assert await snapshot(system, order_id) == before


async def test_a_bad_order_body_is_422_and_starts_nothing(system: System):
    body = order_body()
    body["items"][0]["quantity"] = 0
    response = await system.post("platform", "/api/v1/orders", body)
    assert response.status_code == 422
    assert response.json()["field"] == "items.0.quantity"
    missing = await system.get("sales", f"/api/v1/orders/{body['order_id']}")
    assert missing.status_code == 404


async def test_a_risky_order_cannot_be_approved_without_phone_verification(system: System):
    """P3.1: a new customer's order needs a phone call-back before approval."""
    order_id = await order_under_review(system, new_customer=True)
    before = await snapshot(system, order_id)
    refused = await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert refused.status_code == 409
    assert "phone verification" in refused.json()["detail"]
    assert refused.json()["status"] == "under_review"
    assert await snapshot(system, order_id) == before
    approved = await system.post(
        "sales", f"/api/v1/orders/{order_id}/review", {"approved": True, "phone_verified": True}
    )
    assert approved.status_code == 200
    order = await system.order(order_id)
    assert order["risk_reasons"] == ["new customer"] and order["phone_verified"] is True


async def test_packing_without_the_accessories_is_refused(system: System):
    """P3.3: the package carries the manual and the warranty card."""
    order_id = await order_under_review(system)
    await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    before = await snapshot(system, order_id)
    refused = await system.post(
        "warehouse", f"/api/v1/orders/{order_id}/pack", {"packages": 1, "accessories": ["manual"]}
    )
    assert refused.status_code == 409
    assert "warranty_card" in refused.json()["detail"]
    assert await snapshot(system, order_id) == before


async def test_unknown_orders_tasks_and_skus_are_404(system: System):
    assert (
        await system.post("sales", "/api/v1/orders/NOPE-1/review", {"approved": True})
    ).status_code == 404
    assert (await system.get("sales", "/api/v1/orders/NOPE-1")).status_code == 404
    assert (await system.get("sales", "/api/v1/tasks/NOPE-1-T1")).status_code == 404
    assert (await system.get("sales", "/api/v1/inventory/NO-SUCH-SKU")).status_code == 404


async def test_no_token_or_an_unknown_token_is_401(system: System):
    order_id = await order_under_review(system)
    path = f"/api/v1/orders/{order_id}"
    assert (await system.http.get(path)).status_code == 401
    assert (
        await system.http.get(path, headers={"Authorization": "Bearer nope"})
    ).status_code == 401
    assert (await system.http.get(path, headers={"Authorization": "Basic abc"})).status_code == 401
    unauthenticated = await system.http.post(f"{path}/review", json={"approved": True})
    assert unauthenticated.status_code == 401
    assert (await snapshot(system, order_id))[0] == "under_review"


async def test_an_action_on_a_closed_order_is_409(system: System):
    order_id = await order_under_review(system)
    rejected = await system.post(
        "sales", f"/api/v1/orders/{order_id}/review", {"approved": False, "note": "price error"}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    await system.wait_for(order_id, "rejected")
    again = await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert again.status_code == 409
    assert again.json()["status"] == "rejected"


async def test_health_reports_temporal_and_database(system: System):
    response = await system.http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["temporal"] == "ok" and response.json()["database"] == "ok"


async def test_a_cursor_the_api_did_not_hand_out_is_422(system: System):
    for path in ("/api/v1/orders", "/api/v1/tasks", "/api/v1/feedback"):
        response = await system.get("supervision", path, cursor="not-a-cursor")
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == "cursor"


async def test_a_time_in_a_query_that_utc_cannot_hold_is_422_and_a_time_without_zone_is_utc(
    system: System,
):
    # Found by the schema fuzzer: the first minute of year 1 at +00:01 is before year 1 in UTC.
    early = await system.get("sales", "/api/v1/orders", created_to="0001-01-01T00:00:00+00:01")
    assert early.status_code == 422, early.text
    assert early.json()["field"].endswith("created_to")
    naive = await system.get("sales", "/api/v1/orders", created_from="2026-01-01T00:00:00")
    assert naive.status_code == 200, naive.text


async def test_a_request_is_read_as_the_openapi_document_declares_it(system: System):
    """Issue 17: what the document does not allow is refused, naming the field."""
    order_id = await order_under_review(system)
    before = await snapshot(system, order_id)
    # A query parameter the operation does not declare (a misspelt filter lists nothing).
    misspelt = await system.get("sales", "/api/v1/orders", statuss="under_review")
    assert misspelt.status_code == 422 and misspelt.json()["field"] == "statuss"
    # A time in a query is written out: a number is not read as a Unix time.
    unix = await system.get("sales", "/api/v1/orders", created_from="0.5")
    assert unix.status_code == 422 and unix.json()["field"] == "created_from"
    # A body has JSON's own types: 0 is not false, true is not an integer...
    review = f"/api/v1/orders/{order_id}/review"
    zero = await system.post("sales", review, {"approved": 0})
    assert zero.status_code == 422 and zero.json()["field"] == "approved", zero.text
    count = await system.post("warehouse", "/api/v1/inventory/SKU-R-X/receipts", {"quantity": True})
    assert count.status_code == 422 and count.json()["field"] == "quantity", count.text
    assert await snapshot(system, order_id) == before
    # ... and a number without a fraction is the integer JSON Schema says it is.
    whole = await system.post("warehouse", f"/api/v1/orders/{order_id}/pack", {"packages": 1.0})
    assert whole.status_code == 409, whole.text  # read, then refused: not packable yet


async def test_a_method_a_path_does_not_take_is_405_naming_every_method_it_takes(system: System):
    response = await system.http.patch("/api/v1/orders", headers=system.auth("sales"))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_a_page_cursor_has_the_documented_form_and_pages_on(system: System):
    for _ in range(3):
        await order_under_review(system)
    first = await system.get("supervision", "/api/v1/orders", limit=2)
    cursor = first.json()["next_cursor"]
    microseconds, _, key = cursor.partition(".")
    assert microseconds.isdigit() and key, cursor
    second = await system.get("supervision", "/api/v1/orders", limit=2, cursor=cursor)
    assert second.status_code == 200
    seen = {o["order_id"] for o in first.json()["items"]}
    assert not seen & {o["order_id"] for o in second.json()["items"]}
