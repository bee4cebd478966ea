"""Money that moves, over HTTP: P5.2 compensation is paid out through the gateway (finance
pays it by hand when the gateway refuses), and P4.1 a dearer change of goods is paid for
before the warehouse packs it (undone when the payment deadline passes without it)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from db.tables import simulated_gateway_refunds
from tests.api.test_exceptions import payment_event, stocked
from tests.support.flows import act, case, create, drive_to, ledger, open_tasks, track
from tests.support.orders import order_body
from tests.support.system import System

PACK = {"packages": 1, "accessories": ["manual", "warranty_card"]}


async def delayed_parcel(system: System, body: dict[str, Any]) -> tuple[str, str]:
    """An order in transit whose parcel is delayed: its id and the exception case's."""
    order_id = await create(system, body)
    await drive_to(system, order_id, "in_transit")
    await track(system, order_id, "delayed", note="snow")
    order = await system.wait_until(order_id, lambda o: o["cases"], what="an exception case")
    return order_id, case(order, "logistics_exception")["case_id"]


async def compensate(system: System, order_id: str, case_id: str, amount: str) -> dict[str, Any]:
    return await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/exceptions/{case_id}/decision",
        {"resolution": "none", "compensation": amount, "note": "apology"},
    )


# --- P5.2 compensation ---------------------------------------------------------------------------


async def test_p5_2_compensation_is_paid_out_through_the_gateway_and_booked_as_compensation(
    system: System,
):
    sku = stocked(system)
    order_id, case_id = await delayed_parcel(system, order_body(lines=[(sku, 1, "60.00")]))
    await compensate(system, order_id, case_id, "15.00")
    order = await system.order(order_id)
    payout_id = f"{order_id}:compensation:{case_id}"
    [payout] = order["refunds"]
    assert (payout["refund_id"], payout["kind"], payout["amount"], payout["state"]) == (
        payout_id,
        "compensation",
        "15.00",
        "issued",
    )
    assert payout["reference"].startswith("SIM-")
    assert ledger(order) == [("payment", "60.00"), ("compensation", "-15.00")]
    # Compensation is no refund: nothing refunded, nothing owed.
    assert (order["refunded_amount"], order["balance_due"]) == ("0.00", "0.00")
    assert [e["data"]["amount"] for e in order["events"] if e["kind"] == "compensation_paid"] == [
        "15.00"
    ]
    with system.db.read() as conn:
        paid_out = conn.execute(
            select(simulated_gateway_refunds.c.amount).where(
                simulated_gateway_refunds.c.refund_id == payout_id
            )
        ).all()
    assert [str(row[0]) for row in paid_out] == ["15.00"]


async def test_p5_2_compensation_the_gateway_refuses_goes_to_finance_who_pays_it_by_hand(
    system: System,
):
    sku = stocked(system)
    body = order_body(lines=[(sku, 1, "60.00")])
    body["payment"]["transaction_id"] = f"FAIL-CARD-CLOSED-{uuid.uuid4().hex[:8]}"
    order_id, case_id = await delayed_parcel(system, body)
    await compensate(system, order_id, case_id, "15.00")
    order = await system.order(order_id)
    [payout] = order["refunds"]
    assert (payout["kind"], payout["state"]) == ("compensation", "failed")
    assert "declines" in payout["failure"]
    assert open_tasks(order)["manual_refund"] == "finance"
    [task] = [t for t in order["open_tasks"] if t["kind"] == "manual_refund"]
    assert task["summary"].startswith("pay compensation 15.00 by hand")
    assert ledger(order) == [("payment", "60.00")]

    path = f"/api/v1/orders/{order_id}/refunds/{payout['refund_id']}/complete"
    assert (await system.post("customer_service", path, {"reference": "x"})).status_code == 403
    await act(system, "finance", path, {"reference": "BANK-77", "note": "by transfer"})
    order = await system.order(order_id)
    assert order["refunds"][0]["state"] == "completed_by_finance"
    assert ledger(order) == [("payment", "60.00"), ("compensation", "-15.00")]
    [entry] = [e for e in order["ledger"] if e["kind"] == "compensation"]
    assert (entry["actor_department"], entry["reference"]) == ("finance", "BANK-77")
    assert "manual_refund" not in open_tasks(order)
    assert order["refunded_amount"] == "0.00"
    assert (await system.post("finance", path, {"reference": "BANK-77"})).status_code == 409


# --- P4.1 a dearer change -----------------------------------------------------------------------


async def dearer_change(system: System, order_id: str, sku: str, quantity: int) -> dict[str, Any]:
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes",
        {
            "items": [{"sku": sku, "name": "kettle", "quantity": quantity, "unit_price": "50.00"}],
            "reason": "wants more",
        },
    )
    return await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes/{requested['case_id']}/decision",
        {"approved": True},
    )


async def test_p4_1_a_dearer_change_waits_for_the_payment_which_moves_it_on_to_packing(
    system: System,
):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "50.00")]))
    await drive_to(system, order_id, "ready_to_pack")
    decided = await dearer_change(system, order_id, sku, 3)
    assert decided["status"] == "ready_to_pack"
    order = await system.order(order_id)
    assert system.stock(sku) == (10, 3)  # the new goods confirmed in stock (P3.2)
    assert open_tasks(order) == {"send_payment_request": "customer_service"}
    assert (order["total"], order["balance_due"]) == ("150.00", "100.00")
    [asked] = [e for e in order["events"] if e["kind"] == "payment_requested"]
    assert asked["data"]["amount"] == "100.00"
    assert case(order, "change")["state"] == "open"

    # The warehouse does not pack until the difference is paid.
    refused = await system.post("warehouse", f"/api/v1/orders/{order_id}/pack", PACK)
    assert refused.status_code == 409, refused.text
    assert refused.json()["refusal"] == "change_payment_due"
    assert "P4.1" in refused.json()["detail"]

    await payment_event(system, order_id, "succeeded", "100.00")
    order = await system.wait_until(
        order_id, lambda o: "pack" in open_tasks(o), what="the pack task"
    )
    assert open_tasks(order) == {"pack": "warehouse"}
    assert ledger(order) == [("payment", "50.00"), ("payment", "100.00")]
    assert order["balance_due"] == "0.00"
    assert case(order, "change")["state"] == "closed"
    packed = await act(system, "warehouse", f"/api/v1/orders/{order_id}/pack", PACK)
    assert packed["status"] == "awaiting_dispatch"


async def test_p4_1_a_dearer_change_unpaid_at_the_payment_deadline_is_undone(system: System):
    sku = stocked(system)
    order_id = await system.start_directly(
        order_body(lines=[(sku, 1, "50.00")]), payment_deadline=timedelta(seconds=3)
    )
    await drive_to(system, order_id, "ready_to_pack")
    await dearer_change(system, order_id, sku, 3)
    order = await system.wait_until(
        order_id,
        lambda o: any(e["kind"] == "change_reverted" for e in o["events"]),
        what="the change undone",
    )
    assert [(i["sku"], i["quantity"]) for i in order["items"]] == [(sku, 1)]
    assert (order["total"], order["balance_due"]) == ("50.00", "0.00")
    order = await system.wait_until(
        order_id, lambda o: "pack" in open_tasks(o), what="the paid goods to pack"
    )
    assert open_tasks(order) == {"pack": "warehouse"}
    assert system.stock(sku) == (10, 1)
    assert ledger(order) == [("payment", "50.00")] and order["refunds"] == []
    assert case(order, "change")["state"] == "closed"
    packed = await act(system, "warehouse", f"/api/v1/orders/{order_id}/pack", PACK)
    assert packed["status"] == "awaiting_dispatch"


async def test_p4_1_cash_on_delivery_has_nothing_to_wait_for(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "50.00")], paid=False))
    await drive_to(system, order_id, "ready_to_pack")
    await dearer_change(system, order_id, sku, 2)
    order = await system.order(order_id)
    assert open_tasks(order) == {"pack": "warehouse"}
    assert (order["total"], order["balance_due"]) == ("100.00", "0.00")
