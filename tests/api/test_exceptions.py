"""P5.1 payment, P5.2 logistics and P5.3 quality exceptions, over HTTP: status, tasks per
department, stock and ledger."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from tests.support.flows import act, case, create, drive_to, ledger, open_tasks, task_id, track
from tests.support.orders import new_order_id, order_body
from tests.support.system import System


def stocked(system: System, on_hand: int = 10) -> str:
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, on_hand)
    return sku


async def payment_event(
    system: System, order_id: str, kind: str, amount: str, transaction_id: str | None = None
) -> None:
    response = await system.post(
        "platform",
        f"/api/v1/orders/{order_id}/payment-events",
        {
            "event_id": f"PE-{uuid.uuid4().hex[:8]}",
            "kind": kind,
            "amount": amount,
            "transaction_id": transaction_id or f"TX-{uuid.uuid4().hex[:6]}",
        },
    )
    assert response.status_code == 202, response.text


# --- P5.1 ---------------------------------------------------------------------------------


async def test_p5_1_a_duplicate_payment_is_refunded_and_finance_accounts_for_it(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "88.00")]))
    # The customer was charged a second time: the gateway confirms that capture (P5.1).
    second = f"TX-{uuid.uuid4().hex[:6]}"
    system.gateway_captured(second, order_id, "88.00")
    await payment_event(system, order_id, "duplicate", "88.00", transaction_id=second)
    order = await system.wait_until(
        order_id, lambda o: len(o["ledger"]) == 3, what="the duplicate booked and refunded"
    )
    assert ledger(order) == [("payment", "88.00"), ("payment", "88.00"), ("refund", "-88.00")]
    assert open_tasks(order) == {
        "review": "sales",
        "contact_customer": "customer_service",
        "account_payment": "finance",
    }
    exception = case(order, "payment_exception")
    assert exception["data"]["event"] == "duplicate" and exception["state"] == "open"
    for kind, who in (("contact_customer", "customer_service"), ("account_payment", "finance")):
        await act(system, who, f"/api/v1/tasks/{task_id(order, kind)}/complete", {"note": "done"})
    order = await system.order(order_id)
    assert case(order, "payment_exception")["state"] == "closed"
    assert order["status"] == "under_review"  # the order itself goes on


async def test_p5_1_a_failed_payment_leaves_an_unpaid_order_unpaid_then_cancels_it(
    system: System,
):
    sku = stocked(system)
    order_id = await system.start_directly(
        order_body(lines=[(sku, 2, "30.00")], paid=False),
        unpaid_payment_deadline=timedelta(seconds=2),
    )
    await drive_to(system, order_id, "ready_to_pack")
    await payment_event(system, order_id, "failed", "60.00")
    order = await system.wait_until(order_id, lambda o: o["cases"], what="a payment case")
    assert open_tasks(order) == {"pack": "warehouse", "contact_customer": "customer_service"}
    assert order["status"] == "ready_to_pack" and ledger(order) == []
    # Still unpaid when the deadline passes: cancelled, stock released, nothing to refund.
    order = await system.wait_for(order_id, "cancelled", timeout=20)
    assert system.stock(sku) == (10, 0)
    assert ledger(order) == [] and order["refunds"] == []
    cancelled = next(e for e in order["events"] if e["kind"] == "cancelled")
    assert cancelled["actor_id"] == "system" and "P5.1" in cancelled["note"]


async def test_p5_1_a_late_successful_payment_keeps_the_order(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(
        order_body(lines=[(sku, 1, "40.00")], paid=False),
        unpaid_payment_deadline=timedelta(seconds=3),
    )
    await payment_event(system, order_id, "failed", "40.00")
    await payment_event(system, order_id, "succeeded", "40.00")
    order = await system.wait_until(order_id, lambda o: o["ledger"], what="the payment")
    assert ledger(order) == [("payment", "40.00")]
    await drive_to(system, order_id, "ready_to_pack")
    order = await system.order(order_id)
    assert order["status"] == "ready_to_pack"


# --- P5.2 ---------------------------------------------------------------------------------


async def test_p5_2_a_lost_parcel_is_compensated_reshipped_and_investigated(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 2, "100.00")]))
    await drive_to(system, order_id, "in_transit")
    assert system.stock(sku) == (8, 0)
    await track(system, order_id, "lost", note="not scanned at the hub")
    order = await system.wait_until(order_id, lambda o: o["cases"], what="an exception case")
    exception = case(order, "logistics_exception")
    assert exception["data"]["event"] == "lost"
    assert open_tasks(order) == {
        "deliver": "logistics",
        "handle_logistics_exception": "customer_service",
        "investigate_logistics_exception": "logistics",
    }
    decided = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/exceptions/{exception['case_id']}/decision",
        {"resolution": "reship", "compensation": "20.00", "note": "apologised; coupon"},
    )
    assert decided["status"] == "ready_to_pack"  # a new shipment: stock again, pack again
    assert system.stock(sku) == (8, 2)
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/exceptions/{exception['case_id']}/cause",
        {"cause": "mis-sorted at Tianjin hub", "corrective_action": "rescan rule added"},
    )
    await act(
        system,
        "warehouse",
        f"/api/v1/orders/{order_id}/pack",
        {"packages": 1, "accessories": ["manual", "warranty_card"]},
    )
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "JD Logistics", "method": "express", "tracking_number": "JD-2"},
    )
    assert system.stock(sku) == (6, 0)  # shipped twice
    await track(system, order_id, "delivered")
    order = await system.wait_for(order_id, "delivered")
    assert [s["tracking_number"] for s in order["shipments"]] == ["SF-1", "JD-2"]
    assert ledger(order) == [("payment", "200.00"), ("compensation", "-20.00")]
    assert case(order, "logistics_exception")["state"] == "closed"


async def test_p5_2_a_damaged_parcel_can_be_refunded_instead(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "300.00")]))
    await drive_to(system, order_id, "in_transit")
    await track(system, order_id, "damaged")
    order = await system.wait_until(order_id, lambda o: o["cases"], what="an exception case")
    case_id = case(order, "logistics_exception")["case_id"]
    refused = await system.post(
        "customer_service",
        f"/api/v1/orders/{order_id}/exceptions/{case_id}/decision",
        {"resolution": "none"},
    )
    assert refused.status_code == 409 and "reshipped or refunded" in refused.json()["detail"]
    decided = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/exceptions/{case_id}/decision",
        {"resolution": "refund", "note": "customer prefers the money"},
    )
    assert decided["status"] == "refunded"
    order = await system.order(order_id)
    assert ledger(order) == [("payment", "300.00"), ("refund", "-300.00")]
    assert open_tasks(order) == {"investigate_logistics_exception": "logistics"}
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/exceptions/{case_id}/cause",
        {"cause": "crushed in the van", "corrective_action": "padding for kettles"},
    )
    order = await system.wait_until(
        order_id, lambda o: o["closed_at"] is not None, what="the order closed"
    )
    assert order["status"] == "refunded" and case(order, "logistics_exception")["state"] == "closed"
    assert system.stock(sku) == (9, 0)  # damaged goods are not booked back


async def test_p5_2_a_delayed_parcel_is_compensated_and_the_order_goes_on(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "60.00")]))
    await drive_to(system, order_id, "in_transit")
    await track(system, order_id, "delayed", note="weather")
    order = await system.wait_until(order_id, lambda o: o["cases"], what="an exception case")
    case_id = case(order, "logistics_exception")["case_id"]
    refused = await system.post(
        "customer_service",
        f"/api/v1/orders/{order_id}/exceptions/{case_id}/decision",
        {"resolution": "reship"},
    )
    assert refused.status_code == 409
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/exceptions/{case_id}/decision",
        {"resolution": "none", "compensation": "5.00", "note": "apology voucher"},
    )
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/exceptions/{case_id}/cause",
        {"cause": "snow on the G1", "corrective_action": "winter routing"},
    )
    await track(system, order_id, "delivered")
    order = await system.wait_for(order_id, "delivered", "completed")
    assert ledger(order) == [("payment", "60.00"), ("compensation", "-5.00")]
    assert case(order, "logistics_exception")["state"] == "closed"
    await system.wait_for(order_id, "completed")


# --- P5.3 ---------------------------------------------------------------------------------

WINDOWS = {"return_window": timedelta(seconds=60), "exchange_window": timedelta(seconds=60)}


async def test_p5_3_a_confirmed_quality_problem_is_returned_and_refunded(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(order_body(lines=[(sku, 2, "75.00")]), **WINDOWS)
    await drive_to(system, order_id, "delivered")
    assert system.stock(sku) == (8, 0)
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/returns",
        {"kind": "return", "reason": "kettle leaks", "reason_code": "quality"},
    )
    case_id = requested["case_id"]
    order = await system.order(order_id)
    assert open_tasks(order) == {"review_return": "customer_service"}
    decided = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/returns/{case_id}/decision",
        {"approved": True},
    )
    order = await system.order(order_id)
    assert decided["status"] == "delivered"
    assert open_tasks(order) == {"inspect_return": "warehouse"}
    inspected = await act(
        system,
        "warehouse",
        f"/api/v1/orders/{order_id}/returns/{case_id}/inspection",
        {"quality_confirmed": True, "restock": True, "note": "seal defect"},
    )
    assert inspected["status"] == "returned"
    order = await system.order(order_id)
    assert ledger(order) == [("payment", "150.00"), ("refund", "-150.00")]
    assert system.stock(sku) == (10, 0)  # booked back
    assert open_tasks(order) == {"supplier_follow_up": "sales", "adjust_accounts": "finance"}
    await act(
        system,
        "finance",
        f"/api/v1/tasks/{task_id(order, 'adjust_accounts')}/complete",
        {"note": "booked"},
    )
    # Sales claims the goods from the supplier and follows the claim to its end (P5.3).
    claim = case(order, "supplier_claim")
    assert claim["data"]["value"] == "150.00"
    claims = f"/api/v1/orders/{order_id}/supplier-claims/{claim['case_id']}"
    by_note = await system.post(
        "sales", f"/api/v1/tasks/{task_id(order, 'supplier_follow_up')}/complete", {"note": "x"}
    )
    assert by_note.status_code == 409 and by_note.json()["refusal"] == "task_closed_by_its_action"
    early = await system.post("sales", claims, {"step": "credited", "reference": "CN-9"})
    assert early.status_code == 409 and early.json()["refusal"] == "claim_step_not_now"
    await act(system, "sales", claims, {"step": "agreed", "amount": "120.00"})
    await act(system, "sales", claims, {"step": "credited", "reference": "CN-9"})
    order = await system.wait_until(
        order_id, lambda o: o["closed_at"] is not None, what="the order closed"
    )
    assert order["status"] == "returned" and case(order, "return")["state"] == "closed"
    assert ledger(order) == [
        ("payment", "150.00"),
        ("refund", "-150.00"),
        ("adjustment", "120.00"),
    ]


async def test_p5_3_an_exchange_ships_new_goods_and_writes_the_old_ones_off(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(order_body(lines=[(sku, 1, "199.00")]), **WINDOWS)
    await drive_to(system, order_id, "delivered")
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/returns",
        {"kind": "exchange", "reason": "screen flickers"},
    )
    case_id = requested["case_id"]
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/returns/{case_id}/decision",
        {"approved": True},
    )
    inspected = await act(
        system,
        "warehouse",
        f"/api/v1/orders/{order_id}/returns/{case_id}/inspection",
        {"quality_confirmed": True, "restock": False},
    )
    assert inspected["status"] == "ready_to_pack"
    assert system.stock(sku) == (9, 1)  # the old unit is written off; a new one is reserved
    order = await system.order(order_id)
    assert open_tasks(order) == {
        "pack": "warehouse",
        "supplier_follow_up": "sales",
        "adjust_accounts": "finance",
    }
    await act(
        system,
        "warehouse",
        f"/api/v1/orders/{order_id}/pack",
        {"packages": 1, "accessories": ["manual", "warranty_card"]},
    )
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "SF Express", "method": "express", "tracking_number": "SF-EX"},
    )
    await track(system, order_id, "delivered")
    order = await system.wait_for(order_id, "delivered")
    assert system.stock(sku) == (8, 0)
    assert len(order["shipments"]) == 2
    assert ledger(order) == [("payment", "199.00")]  # no money moves in an exchange
    assert "stock_written_off" in [e["kind"] for e in order["events"]]


async def test_p5_3_an_unconfirmed_problem_closes_the_case_without_money(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(order_body(lines=[(sku, 1, "20.00")]), **WINDOWS)
    await drive_to(system, order_id, "delivered")
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/returns",
        {"kind": "return", "reason": "does not like the colour", "reason_code": "other"},
    )
    case_id = requested["case_id"]
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/returns/{case_id}/decision",
        {"approved": True},
    )
    inspected = await act(
        system,
        "warehouse",
        f"/api/v1/orders/{order_id}/returns/{case_id}/inspection",
        {"quality_confirmed": False, "note": "works as specified"},
    )
    assert inspected["status"] == "delivered"
    order = await system.order(order_id)
    assert case(order, "return")["outcome"] == "no quality problem found"
    assert ledger(order) == [("payment", "20.00")]


async def test_p5_3_a_return_outside_its_window_is_409(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(
        order_body(lines=[(sku, 1, "20.00")]),
        return_window=timedelta(seconds=1),
        exchange_window=timedelta(seconds=60),
    )
    await drive_to(system, order_id, "delivered")
    await asyncio.sleep(1.5)  # past the one-second return window
    late = await system.post(
        "customer_service",
        f"/api/v1/orders/{order_id}/returns",
        {"kind": "return", "reason": "broken"},
    )
    assert late.status_code == 409
    assert "return window" in late.json()["detail"] and late.json()["status"] == "delivered"
    # The exchange window (longer) is still open.
    exchange = await system.post(
        "customer_service",
        f"/api/v1/orders/{order_id}/returns",
        {"kind": "exchange", "reason": "broken"},
    )
    assert exchange.status_code == 200
    order = await system.order(order_id)
    assert [c["kind"] for c in order["cases"]] == ["exchange"]


async def test_p5_3_a_return_of_some_units_refunds_them_and_the_order_stays_delivered(
    system: System,
):
    sku = stocked(system)
    order_id = await system.start_directly(order_body(lines=[(sku, 3, "40.00")]), **WINDOWS)
    await drive_to(system, order_id, "delivered")
    base = f"/api/v1/orders/{order_id}/returns"
    too_many = await system.post(
        "customer_service",
        base,
        {"kind": "return", "reason": "leaks", "lines": [{"sku": sku, "quantity": 4}]},
    )
    assert (
        too_many.status_code == 409 and too_many.json()["refusal"] == "return_more_than_delivered"
    )
    body = {"kind": "return", "reason": "one leaks", "lines": [{"sku": sku, "quantity": 1}]}
    case_id = (await act(system, "customer_service", base, body))["case_id"]
    await act(system, "customer_service", f"{base}/{case_id}/decision", {"approved": True})
    inspected = await act(
        system,
        "warehouse",
        f"{base}/{case_id}/inspection",
        {"quality_confirmed": True, "restock": True, "note": "seal defect"},
    )
    assert inspected["status"] == "delivered"
    order = await system.wait_until(order_id, lambda o: len(o["ledger"]) == 2, what="the refund")
    assert ledger(order) == [("payment", "120.00"), ("refund", "-40.00")]
    assert system.stock(sku) == (8, 0)  # one of the three back on the shelf
    assert "partly_returned" in [e["kind"] for e in order["events"]]
