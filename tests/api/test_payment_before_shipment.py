"""P2.1 over HTTP: an order paid before it ships waits for its payment (`awaiting_payment`);
review, pack and dispatch are 409 naming P2.1 until it is paid; the payment moves it on;
the payment deadline cancels it and releases what it held."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.api.test_exceptions import payment_event, stocked
from tests.support.flows import drive_to, ledger, open_tasks
from tests.support.orders import new_order_id, order_body
from tests.support.system import System

PACK = {"packages": 1, "accessories": ["manual", "warranty_card"]}
DISPATCH = {"carrier": "SF Express", "method": "standard", "tracking_number": "SF-1"}


def online_unpaid(sku: str, price: str = "50.00") -> dict[str, Any]:
    """An online order not yet paid, of a customer of its own: one cancelled unpaid gives its
    customer an unpaid history, which later reviews must answer (P3.1)."""
    body = order_body(lines=[(sku, 1, price)], paid=False, customer_id=f"C-{new_order_id()}")
    body["payment"]["method"] = "online"
    return body


async def test_p2_1_an_unpaid_online_order_waits_and_staff_work_on_it_is_409_naming_p2_1(
    system: System,
):
    sku = stocked(system)
    body = online_unpaid(sku)
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    order_id = body["order_id"]
    order = await system.wait_for(order_id, "awaiting_payment")
    assert open_tasks(order) == {} and ledger(order) == []
    assert system.stock(sku) == (10, 0)  # nothing is held for an order not yet placed
    for who, action, action_body in (
        ("sales", "review", {"approved": True, "note": "ok"}),
        ("warehouse", "pack", PACK),
        ("logistics", "dispatch", DISPATCH),
    ):
        response = await system.post(who, f"/api/v1/orders/{order_id}/{action}", action_body)
        assert response.status_code == 409, response.text
        refused = response.json()
        assert "P2.1" in refused["detail"]
        assert refused["status"] == "awaiting_payment"
        assert refused["refusal"] == "awaiting_payment"
    # Paid: it goes on to review and along the main line.
    await payment_event(system, order_id, "succeeded", "50.00")
    order = await system.wait_for(order_id, "under_review")
    assert open_tasks(order) == {"review": "sales"}
    assert ledger(order) == [("payment", "50.00")]
    order = await drive_to(system, order_id, "awaiting_dispatch")
    assert order["status"] == "awaiting_dispatch"


async def test_p2_1_an_order_unpaid_at_its_payment_deadline_is_cancelled(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(
        online_unpaid(sku), payment_deadline=timedelta(seconds=2)
    )
    order = await system.wait_for(order_id, "cancelled", timeout=20)
    cancelled = next(e for e in order["events"] if e["kind"] == "cancelled")
    assert cancelled["actor_id"] == "system" and "P2.1" in cancelled["note"]
    assert ledger(order) == [] and order["refunds"] == []
    assert system.stock(sku) == (10, 0)


async def test_p2_1_a_cash_on_delivery_order_completes_only_after_its_remittance(system: System):
    sku = stocked(system)
    window = timedelta(seconds=1)
    order_id = await system.start_directly(
        order_body(lines=[(sku, 1, "70.00")], paid=False),  # cash on delivery
        return_window=window,
        exchange_window=window,
        remittance_deadline=timedelta(hours=1),
    )
    order = await drive_to(system, order_id, "delivered")
    assert ledger(order) == []
    # The windows close (a second); the order stays open for the carrier's remittance.
    await asyncio.sleep(3)
    order = await system.order(order_id)
    assert order["status"] == "delivered" and open_tasks(order) == {}
    await payment_event(system, order_id, "remitted", "70.00", transaction_id="COD-1")
    order = await system.wait_for(order_id, "completed", timeout=20)
    assert ledger(order) == [("payment", "70.00")]


async def test_p2_1_a_late_remittance_is_a_task_for_finance(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(
        order_body(lines=[(sku, 1, "70.00")], paid=False),
        remittance_deadline=timedelta(seconds=1),
    )
    await drive_to(system, order_id, "delivered")
    order = await system.wait_until(
        order_id, lambda o: "reconcile_remittance" in open_tasks(o), what="a finance task"
    )
    assert open_tasks(order)["reconcile_remittance"] == "finance"
    assert any(e["kind"] == "remittance_overdue" for e in order["events"])
