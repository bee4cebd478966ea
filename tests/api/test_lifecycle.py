"""The main line of the policy (P2.2, P3.1-P3.4, P5.3 window) driven over HTTP, step by step."""

from __future__ import annotations

from typing import Any

from tests.support.orders import new_order_id, order_body
from tests.support.system import System


def open_task(order: dict[str, Any], kind: str) -> dict[str, Any]:
    tasks = [t for t in order["open_tasks"] if t["kind"] == kind]
    assert len(tasks) == 1, f"expected one open {kind} task, got {order['open_tasks']}"
    return tasks[0]


def events(order: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in order["events"] if e["kind"] == kind]


async def test_an_order_goes_from_intake_to_completion_with_every_step_recorded(system: System):
    sku = f"SKU-LIFE-{new_order_id()}"
    system.set_stock(sku, 10)
    body = order_body(lines=[(sku, 3, "129.00")])
    order_id = body["order_id"]

    # P2.2 intake: the platform hands the order over; valid data goes to review.
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    # The answer comes once intake validated and recorded the order (P2.2).
    assert created.json() == {"order_id": order_id, "status": "under_review"}
    order = await system.wait_for(order_id, "under_review")
    review_task = open_task(order, "review")
    assert review_task["department"] == "sales"
    assert order["pending_departments"] == ["sales"]
    inbox = (
        await system.get("sales", "/api/v1/tasks", department="sales", order_id=order_id)
    ).json()
    assert [t["task_id"] for t in inbox["items"]] == [review_task["task_id"]]
    # The inbox line, as text and by code and values (for other languages).
    [line] = inbox["items"]
    assert line["summary"].startswith("1 line(s), 3 unit(s), total ")
    assert line["summary_code"] == "lines"
    assert line["summary_params"]["units"] == "3"

    # P3.1 review by sales, then P3.2 stock is reserved at once.
    reviewed = await system.post(
        "sales", f"/api/v1/orders/{order_id}/review", {"approved": True, "note": "price checked"}
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "ready_to_pack"
    assert system.stock(sku) == (10, 3)
    order = await system.order(order_id)
    pack_task = open_task(order, "pack")
    assert pack_task["department"] == "warehouse"

    # P3.3 pick and pack with the accessories checklist.
    packed = await system.post(
        "warehouse",
        f"/api/v1/orders/{order_id}/pack",
        {"packages": 1, "accessories": ["manual", "warranty_card"]},
    )
    assert packed.status_code == 200, packed.text
    assert packed.json()["status"] == "awaiting_dispatch"
    order = await system.order(order_id)
    dispatch_task = open_task(order, "dispatch")
    assert dispatch_task["department"] == "logistics"

    # P3.4 dispatch: stock leaves the warehouse.
    dispatched = await system.post(
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "SF Express", "method": "express", "tracking_number": "SF100200300"},
    )
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["status"] == "in_transit"
    assert system.stock(sku) == (7, 0)
    order = await system.order(order_id)
    deliver_task = open_task(order, "deliver")
    assert order["shipment"]["tracking_number"] == "SF100200300"

    # Tracking events from the carrier, then delivery.
    for event_id, event in (("E1", "in_transit"), ("E2", "out_for_delivery"), ("E3", "delivered")):
        sent = await system.post(
            "platform",
            f"/api/v1/orders/{order_id}/tracking",
            {"event_id": event_id, "event": event, "location": "Beijing"},
        )
        assert sent.status_code == 202, sent.text
    await system.wait_for(order_id, "delivered", "completed")

    # The after-sales window (seconds in tests) closes and the order completes.
    # The live status can be ahead of the recorded events for a moment: wait for both.
    order = await system.wait_until(
        order_id,
        lambda o: o["status"] == "completed" and o["events"][-1]["kind"] == "completed",
        what="the completion recorded",
    )
    assert order["open_tasks"] == []
    assert order["closed_at"] is not None

    # Every human task was opened and closed by the right person.
    tasks = (
        await system.get("supervision", "/api/v1/tasks", order_id=order_id, state="done")
    ).json()
    closed = {t["kind"]: t for t in tasks["items"]}
    assert set(closed) == {"review", "pack", "dispatch", "deliver"}
    assert closed["review"]["closed_by"] == system.staff_ids["sales"]
    assert closed["pack"]["closed_by"] == system.staff_ids["warehouse"]
    assert closed["dispatch"]["closed_by"] == system.staff_ids["logistics"]
    assert closed["deliver"]["closed_by"] == system.staff_ids["platform"]
    assert all(t["closed_at"] <= t["due_at"] for t in closed.values())
    assert {t["task_id"] for t in closed.values()} == {
        review_task["task_id"],
        pack_task["task_id"],
        dispatch_task["task_id"],
        deliver_task["task_id"],
    }

    # The record (P6.1): each step with its actor and department.
    actors = {e["kind"]: (e["actor_id"], e["actor_department"]) for e in order["events"]}
    assert actors["received"] == (system.staff_ids["platform"], "platform")
    assert actors["reviewed"] == (system.staff_ids["sales"], "sales")
    assert actors["packed"] == (system.staff_ids["warehouse"], "warehouse")
    assert actors["dispatched"] == (system.staff_ids["logistics"], "logistics")
    assert actors["delivered"] == (system.staff_ids["platform"], "platform")
    assert [e["data"]["event"] for e in events(order, "tracking")] == [
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    statuses = [e["status"] for e in order["events"]]
    assert statuses[0] == "received" and statuses[-1] == "completed"
    assert [e["seq"] for e in order["events"]] == list(range(1, len(order["events"]) + 1))

    # Final inventory: 3 shipped, nothing left reserved.
    stock = (await system.get("warehouse", f"/api/v1/inventory/{sku}")).json()
    assert stock == {"sku": sku, "name": sku.lower(), "on_hand": 7, "reserved": 0, "available": 7}
