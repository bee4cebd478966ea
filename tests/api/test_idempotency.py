"""api.md Idempotency: orders by order_id, actions by Idempotency-Key, feeds by event_id."""

from __future__ import annotations

import asyncio

from tests.support.orders import new_order_id, order_body
from tests.support.system import System


async def test_posting_the_same_order_twice_returns_the_existing_order(system: System):
    body = order_body()
    first = await system.post("platform", "/api/v1/orders", body)
    assert first.status_code == 201
    await system.wait_for(body["order_id"], "under_review")
    second = await system.post("platform", "/api/v1/orders", body)
    assert second.status_code == 200
    assert second.json() == {"order_id": body["order_id"], "status": "under_review"}


async def test_posting_another_body_under_an_existing_order_id_is_409(system: System):
    body = order_body()
    assert (await system.post("platform", "/api/v1/orders", body)).status_code == 201
    changed = dict(body, customer=dict(body["customer"], id="C9999"))
    response = await system.post("platform", "/api/v1/orders", changed)
    assert response.status_code == 409
    assert "different body" in response.json()["detail"]
    assert (await system.order(body["order_id"]))["customer"]["id"] == "C1001"


async def test_the_same_idempotency_key_twice_acts_once(system: System):
    sku = f"SKU-I-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 2, "10.00")])
    order_id = body["order_id"]
    await system.post("platform", "/api/v1/orders", body)
    await system.wait_for(order_id, "under_review")

    path = f"/api/v1/orders/{order_id}/review"
    first, second = await asyncio.gather(
        system.post("sales", path, {"approved": True}, key="review-1"),
        system.post("sales", path, {"approved": True}, key="review-1"),
    )
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json() == second.json()
    again = await system.post("sales", path, {"approved": True}, key="review-1")
    assert again.status_code == 200 and again.json() == first.json()

    order = await system.order(order_id)
    assert [e["kind"] for e in order["events"]].count("reviewed") == 1
    assert [e["kind"] for e in order["events"]].count("stock_reserved") == 1
    assert system.stock(sku) == (5, 2)
    # A new key is a new action: refused now, since the order is no longer under review.
    other = await system.post("sales", path, {"approved": True}, key="review-2")
    assert other.status_code == 409


async def test_the_same_tracking_event_twice_is_recorded_once(system: System):
    sku = f"SKU-E-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "10.00")])
    order_id = body["order_id"]
    await system.post("platform", "/api/v1/orders", body)
    await system.wait_for(order_id, "under_review")
    await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    await system.post(
        "warehouse",
        f"/api/v1/orders/{order_id}/pack",
        {"packages": 1, "accessories": ["manual", "warranty_card"]},
    )
    await system.post(
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "SF", "method": "standard", "tracking_number": "SF1"},
    )
    event = {"event_id": "EV-1", "event": "in_transit", "location": "Tianjin hub"}
    responses = await asyncio.gather(
        *[system.post("platform", f"/api/v1/orders/{order_id}/tracking", event) for _ in range(3)]
    )
    assert [r.status_code for r in responses] == [202, 202, 202]
    await system.post(
        "logistics",
        f"/api/v1/orders/{order_id}/tracking",
        {"event_id": "EV-2", "event": "out_for_delivery"},
    )

    def tracked(order):
        return [e["data"]["event_id"] for e in order["events"] if e["kind"] == "tracking"]

    order = await system.wait_until(order_id, lambda o: "EV-2" in tracked(o), what="EV-2")
    assert tracked(order) == ["EV-1", "EV-2"]


async def test_tracking_before_dispatch_is_409(system: System):
    body = order_body()
    await system.post("platform", "/api/v1/orders", body)
    await system.wait_for(body["order_id"], "under_review")
    response = await system.post(
        "platform",
        f"/api/v1/orders/{body['order_id']}/tracking",
        {"event_id": "E1", "event": "delivered"},
    )
    assert response.status_code == 409
    assert response.json()["status"] == "under_review"
