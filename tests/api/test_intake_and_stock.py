"""P2.2 corrections and P3.2 backorders, driven over HTTP."""

from __future__ import annotations

from tests.support.orders import new_order_id, order_body
from tests.support.system import System


async def test_inconsistent_data_goes_to_sales_and_a_correction_resumes_the_order(system: System):
    """P2.2: a wrong amount alerts sales; sales puts the lines right (the amount paid is the
    payment system's: a correction may not raise it), and the order moves on to review."""
    body = order_body(lines=[("SKU-1", 2, "129.00")], amount="250.00")
    order_id = body["order_id"]
    assert (await system.post("platform", "/api/v1/orders", body)).status_code == 201
    order = await system.wait_for(order_id, "needs_correction")
    [task] = order["open_tasks"]
    assert (task["kind"], task["department"]) == ("correct_order", "sales")
    assert [p["field"] for p in order["intake_problems"]] == ["payment.amount"]
    inbox = await system.get(
        "sales", "/api/v1/tasks", department="sales", kind="correct_order", order_id=order_id
    )
    assert [t["task_id"] for t in inbox.json()["items"]] == [task["task_id"]]

    # The data belongs to sales: customer service may not correct it.
    path = f"/api/v1/orders/{order_id}/corrections"
    items = [dict(body["items"][0], unit_price="125.00")]
    refused = await system.post("customer_service", path, {"items": items})
    assert refused.status_code == 403

    # Nor may sales say more was paid than the payment system reported.
    raised = await system.post("sales", path, {"payment": dict(body["payment"], amount="258.00")})
    assert raised.status_code == 409, raised.text
    assert raised.json()["refusal"] == "payment_not_raised_by_correction"

    corrected = await system.post("sales", path, {"items": items, "note": "the price paid"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "under_review"
    order = await system.order(order_id)
    assert (order["total"], order["paid_amount"]) == ("250.00", "250.00")
    assert order["intake_problems"] == []
    assert [t["kind"] for t in order["open_tasks"]] == ["review"]
    corrected_event = next(e for e in order["events"] if e["kind"] == "corrected")
    assert corrected_event["actor_department"] == "sales"
    assert corrected_event["data"]["fields"] == ["items"]


async def test_a_correction_that_leaves_problems_opens_the_next_task(system: System):
    body = order_body(amount="300.00", address=None)  # an overstated payment, no address
    order_id = body["order_id"]
    await system.post("platform", "/api/v1/orders", body)
    await system.wait_for(order_id, "needs_correction")
    fixed_amount = dict(body["payment"], amount="258.00")
    response = await system.post(
        "sales", f"/api/v1/orders/{order_id}/corrections", {"payment": fixed_amount}
    )
    assert response.json()["status"] == "needs_correction"
    order = await system.order(order_id)
    [task] = order["open_tasks"]
    assert (task["kind"], task["department"]) == ("correct_order", "customer_service")
    shipping = dict(body["shipping"], address="8 Haidian St, Beijing")
    response = await system.post(
        "customer_service", f"/api/v1/orders/{order_id}/corrections", {"shipping": shipping}
    )
    assert response.json()["status"] == "under_review"


async def test_a_short_order_waits_with_a_reason_and_a_restock_resumes_every_waiting_order(
    system: System,
):
    """P3.2: out of stock, the warehouse records why and when; sales is told; restock resumes."""
    sku = f"SKU-BO-{new_order_id()}"
    system.set_stock(sku, 1)
    orders = [order_body(lines=[(sku, 2, "10.00")]) for _ in range(2)]
    for body in orders:
        await system.post("platform", "/api/v1/orders", body)
        await system.wait_for(body["order_id"], "under_review")
        approved = await system.post(
            "sales", f"/api/v1/orders/{body['order_id']}/review", {"approved": True}
        )
        assert approved.json()["status"] == "out_of_stock"
    first = orders[0]["order_id"]
    order = await system.order(first)
    assert order["backorder"]["short"] == {sku: 1}
    [task] = order["open_tasks"]
    assert (task["kind"], task["department"]) == ("record_backorder", "warehouse")
    assert system.stock(sku) == (1, 0)  # nothing half-reserved

    recorded = await system.post(
        "warehouse",
        f"/api/v1/orders/{first}/backorder",
        {"reason": "supplier delay", "restock_eta": "2026-12-01T10:00:00Z"},
    )
    assert recorded.status_code == 200, recorded.text
    order = await system.order(first)
    assert order["backorder"]["reason"] == "supplier delay"
    [inform] = order["open_tasks"]
    assert (inform["kind"], inform["department"]) == ("inform_backorder", "sales")
    told = await system.post(
        "sales",
        f"/api/v1/tasks/{inform['task_id']}/complete",
        {"note": "called the customer: ETA 1 Dec"},
    )
    assert told.status_code == 200

    receipt = await system.post(
        "warehouse",
        f"/api/v1/inventory/{sku}/receipts",
        {"quantity": 3, "note": "pallet 12"},
        key="rcpt-1",
    )
    assert receipt.status_code == 200, receipt.text
    assert sorted(receipt.json()["resumed_orders"]) == sorted(b["order_id"] for b in orders)
    for body in orders:
        order = await system.wait_for(body["order_id"], "ready_to_pack")
        assert [t["kind"] for t in order["open_tasks"]] == ["pack"]
    assert system.stock(sku) == (4, 4)

    # The same receipt again is booked once.
    again = await system.post(
        "warehouse",
        f"/api/v1/inventory/{sku}/receipts",
        {"quantity": 3, "note": "pallet 12"},
        key="rcpt-1",
    )
    assert again.status_code == 200 and again.json()["on_hand"] == 4
    assert system.stock(sku) == (4, 4)


async def test_only_the_warehouse_books_receipts(system: System):
    response = await system.post("sales", "/api/v1/inventory/SKU-1/receipts", {"quantity": 1})
    assert response.status_code == 403


async def test_p1_2_a_service_order_has_nothing_to_pack_and_awaits_an_appointment(system: System):
    body = order_body(kind="service", lines=[("SVC-INSTALL", 1, "80.00")])
    order_id = body["order_id"]
    await system.post("platform", "/api/v1/orders", body)
    await system.wait_for(order_id, "under_review")
    approved = await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert approved.json()["status"] == "awaiting_appointment"
    order = await system.order(order_id)
    assert [(t["kind"], t["department"]) for t in order["open_tasks"]] == [
        ("schedule_service", "logistics")
    ]
    assert "stock_reserved" not in [e["kind"] for e in order["events"]]
    packed = await system.post(
        "warehouse",
        f"/api/v1/orders/{order_id}/pack",
        {"packages": 1, "accessories": ["manual", "warranty_card"]},
    )
    assert packed.status_code == 409 and packed.json()["refusal"] == "not_for_service_orders"


async def test_claiming_unclaiming_and_reassigning_a_task(system: System):
    body = order_body()
    order_id = body["order_id"]
    await system.post("platform", "/api/v1/orders", body)
    order = await system.wait_for(order_id, "under_review")
    task_id = order["open_tasks"][0]["task_id"]

    claimed = await system.post("sales", f"/api/v1/tasks/{task_id}/claim")
    assert claimed.status_code == 200
    task = (await system.get("sales", f"/api/v1/tasks/{task_id}")).json()
    assert task["assignee"] == system.staff_ids["sales"]
    mine = await system.get(
        "sales", "/api/v1/tasks", assignee=system.staff_ids["sales"], order_id=order_id
    )
    assert [t["task_id"] for t in mine.json()["items"]] == [task_id]

    assert (await system.post("warehouse", f"/api/v1/tasks/{task_id}/claim")).status_code == 403
    wrong = await system.post(
        "sales", f"/api/v1/tasks/{task_id}/reassign", {"assignee": system.staff_ids["warehouse"]}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "assignee"

    assert (await system.post("sales", f"/api/v1/tasks/{task_id}/unclaim")).status_code == 200
    task = (await system.get("sales", f"/api/v1/tasks/{task_id}")).json()
    assert task["assignee"] is None
    events = (await system.order(order_id))["events"]
    claims = [e["data"]["assignee"] for e in events if e["kind"] == "task_claimed"]
    assert claims == [system.staff_ids["sales"], None]
