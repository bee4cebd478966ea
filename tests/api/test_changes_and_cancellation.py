"""P3.1 rejection refunds, P4.1 changes and P4.2 cancellation, over HTTP: status, tasks per
department, stock and ledger after each."""

from __future__ import annotations

from tests.support.flows import act, case, create, drive_to, ledger, open_tasks, task_id
from tests.support.orders import new_order_id, order_body
from tests.support.system import System


def stocked(system: System, on_hand: int = 10) -> str:
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, on_hand)
    return sku


async def test_p3_1_rejecting_a_paid_order_refunds_it(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 2, "129.00")]))
    result = await act(
        system,
        "sales",
        f"/api/v1/orders/{order_id}/review",
        {"approved": False, "note": "price list error", "reason_code": "price_inaccurate"},
    )
    assert result["status"] == "rejected"
    order = await system.wait_for(order_id, "rejected")
    assert ledger(order) == [("payment", "258.00"), ("refund", "-258.00")]
    assert [r["state"] for r in order["refunds"]] == ["issued"]
    # P3.1: sales tells the customer why and resolves it.
    assert open_tasks(order) == {"explain_rejection": "sales"}
    [task] = order["open_tasks"]
    assert task["summary_params"] == {"rejection_reason": "price_inaccurate"}
    assert system.stock(sku) == (10, 0)
    kinds = [e["kind"] for e in order["events"]]
    assert kinds.index("rejected") < kinds.index("refund_issued")


async def test_p4_1_an_approved_address_change_is_applied_and_logistics_replans(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "99.00")]))
    await drive_to(system, order_id, "awaiting_dispatch")
    new_shipping = {
        "address": "9 Xidan St, Beijing",
        "contact_name": "Han Meimei",
        "contact_phone": "13900139000",
    }
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes",
        {"shipping": new_shipping, "reason": "customer moved"},
    )
    case_id = requested["case_id"]
    order = await system.order(order_id)
    assert open_tasks(order) == {"dispatch": "logistics", "review_change": "customer_service"}

    decided = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes/{case_id}/decision",
        {"approved": True, "reason": "confirmed by phone"},
    )
    assert decided["status"] == "awaiting_dispatch"
    order = await system.order(order_id)
    assert order["shipping"] == {**new_shipping, "handover": None}  # no wish said (P3.4)
    assert open_tasks(order) == {"dispatch": "logistics", "replan_delivery": "logistics"}
    await act(
        system,
        "logistics",
        f"/api/v1/tasks/{task_id(order, 'replan_delivery')}/complete",
        {"note": "route via Xidan depot"},
    )
    order = await system.order(order_id)
    assert case(order, "change")["state"] == "closed"
    assert ledger(order) == [("payment", "99.00")]
    assert system.stock(sku) == (10, 1)


async def test_p4_1_fewer_goods_reconfirm_stock_and_refund_the_difference(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 2, "129.00")]))
    await drive_to(system, order_id, "awaiting_dispatch")
    assert system.stock(sku) == (10, 2)
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes",
        {
            "items": [{"sku": sku, "name": "kettle", "quantity": 1, "unit_price": "129.00"}],
            "reason": "wants one only",
        },
    )
    decided = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes/{requested['case_id']}/decision",
        {"approved": True},
    )
    # P3.2 again: the new goods are reserved and must be packed again.
    assert decided["status"] == "ready_to_pack"
    order = await system.order(order_id)
    assert system.stock(sku) == (10, 1)
    assert open_tasks(order) == {"pack": "warehouse"}
    assert ledger(order) == [("payment", "258.00"), ("refund", "-129.00")]
    assert order["total"] == "129.00" and order["balance_due"] == "0.00"
    assert case(order, "change")["state"] == "closed"


async def test_p4_1_more_goods_than_in_stock_go_out_of_stock_and_leave_a_balance_due(
    system: System,
):
    sku = stocked(system, on_hand=2)
    order_id = await create(system, order_body(lines=[(sku, 1, "50.00")]))
    await drive_to(system, order_id, "ready_to_pack")
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes",
        {
            "items": [{"sku": sku, "name": "x", "quantity": 3, "unit_price": "50.00"}],
            "reason": "two more",
        },
    )
    decided = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes/{requested['case_id']}/decision",
        {"approved": True},
    )
    assert decided["status"] == "out_of_stock"
    order = await system.order(order_id)
    assert system.stock(sku) == (2, 0)  # the old reservation was released, the new one failed
    # The customer is asked for the difference (tests/api/test_money_moves.py).
    assert open_tasks(order) == {
        "record_backorder": "warehouse",
        "send_payment_request": "customer_service",
    }
    assert order["balance_due"] == "100.00"
    assert ledger(order) == [("payment", "50.00")]


async def test_p4_1_a_rejected_change_changes_nothing(system: System):
    sku = stocked(system)
    body = order_body(lines=[(sku, 1, "10.00")])
    order_id = await create(system, body)
    requested = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes",
        {
            "shipping": {
                "address": "elsewhere",
                "contact_name": "x",
                "contact_phone": "13900139000",
            },
            "reason": "?",
        },
    )
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes/{requested['case_id']}/decision",
        {"approved": False, "reason": "customer withdrew"},
    )
    order = await system.order(order_id)
    assert order["shipping"] == {**body["shipping"], "handover": None}
    assert case(order, "change")["outcome"] == "rejected"
    assert open_tasks(order) == {"review": "sales"}


async def test_p4_a_change_after_shipment_is_409(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "10.00")]))
    await drive_to(system, order_id, "in_transit")
    refused = await system.post(
        "customer_service",
        f"/api/v1/orders/{order_id}/changes",
        {
            "shipping": {"address": "x", "contact_name": "y", "contact_phone": "13900139000"},
            "reason": "late",
        },
    )
    assert refused.status_code == 409 and refused.json()["status"] == "in_transit"
    cancel = await system.post(
        "customer_service", f"/api/v1/orders/{order_id}/cancel", {"reason": "changed mind"}
    )
    assert cancel.status_code == 409 and cancel.json()["status"] == "in_transit"
    order = await system.order(order_id)
    assert order["cases"] == [] and ledger(order) == [("payment", "10.00")]


async def test_p4_2_cancelling_a_paid_order_releases_stock_stops_work_and_refunds(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 2, "129.00")]))
    await drive_to(system, order_id, "awaiting_dispatch")
    assert system.stock(sku) == (10, 2)
    result = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/cancel",
        {"reason": "customer found it cheaper"},
    )
    assert result["status"] == "cancelled"
    order = await system.wait_for(order_id, "cancelled")
    assert system.stock(sku) == (10, 0)
    assert ledger(order) == [("payment", "258.00"), ("refund", "-258.00")]
    # Packed, the parcel is real: the warehouse unpacks it and shelves the goods (P4.2).
    assert open_tasks(order) == {"put_back": "warehouse"}
    assert case(order, "cancellation")["state"] == "open"
    await act(
        system,
        "warehouse",
        f"/api/v1/tasks/{task_id(order, 'put_back')}/complete",
        {"note": "unpacked, back on shelf B3"},
    )
    order = await system.order(order_id)
    assert order["open_tasks"] == []
    cancellation = case(order, "cancellation")
    assert cancellation["state"] == "closed"
    tasks = (
        await system.get("supervision", "/api/v1/tasks", order_id=order_id, state="cancelled")
    ).json()["items"]
    assert [(t["kind"], t["department"], t["outcome"]) for t in tasks] == [
        ("dispatch", "logistics", "order cancelled")
    ]
    event = next(e for e in order["events"] if e["kind"] == "cancelled")
    assert (event["actor_department"], event["note"]) == (
        "customer_service",
        "customer found it cheaper",
    )


async def test_p4_2_an_unpaid_order_is_cancelled_at_once_without_a_refund(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 3, "20.00")], paid=False))
    await drive_to(system, order_id, "ready_to_pack")
    assert system.stock(sku) == (10, 3)
    result = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/cancel",
        {"reason": "no longer needed"},
    )
    assert result["status"] == "cancelled"
    order = await system.wait_for(order_id, "cancelled")
    assert system.stock(sku) == (10, 0)
    assert ledger(order) == [] and order["refunds"] == []
    assert order["open_tasks"] == []


async def test_p4_2_cancelling_while_waiting_for_review_stops_the_review_task(system: System):
    order_id = await create(system, order_body())
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/cancel",
        {"reason": "duplicate order"},
    )
    order = await system.wait_for(order_id, "cancelled")
    assert order["open_tasks"] == []
    late = await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert late.status_code == 409 and late.json()["status"] == "cancelled", late.text
