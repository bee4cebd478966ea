"""Money leaves only on verified facts (P5.1): a reported duplicate payment is refunded only
once the payment gateway confirms that second capture, only to that transaction, and never
for more than it captured. Anything else moves no money and becomes work for finance.

Whatever the ledger was told was paid, a refund leaves through the gateway only within what
the gateway confirms it captured for the order, and cash on delivery only once delivered
(activities/payments.py): a platform token reporting a payment nobody made pays nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from db.tables import simulated_gateway_refunds
from tests.api.test_exceptions import payment_event, stocked
from tests.api.test_payment_before_shipment import online_unpaid
from tests.support.flows import act, create, ledger, open_tasks
from tests.support.orders import order_body
from tests.support.system import System


async def nothing_refunded_and_finance_asked(system: System, order_id: str) -> dict[str, Any]:
    """The order once finance is asked to verify a reported duplicate: nothing refunded,
    nothing booked beyond the order's own payment of 88.00."""
    order = await system.wait_until(
        order_id,
        lambda o: any(t["kind"] == "account_payment" for t in o["open_tasks"]),
        what="finance asked to verify",
    )
    assert order["refunds"] == [] and order["refunded_amount"] == "0.00"
    assert [(e["kind"], e["amount"]) for e in order["ledger"]] == [("payment", "88.00")]
    return order


@pytest.mark.parametrize(
    ("captured", "reported"),
    [(None, "88.00"), ("20.00", "88.00"), (None, "9999.00")],
    ids=["unknown-capture", "more-than-captured", "the-review's-exploit"],
)
async def test_an_unconfirmed_duplicate_refunds_nothing_and_opens_a_finance_task(
    system: System, captured: str | None, reported: str
):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "88.00")]))
    txn = f"TX-{uuid.uuid4().hex[:6]}"
    if captured is not None:
        system.gateway_captured(txn, order_id, captured)
    await payment_event(system, order_id, "duplicate", reported, transaction_id=txn)
    order = await nothing_refunded_and_finance_asked(system, order_id)
    verify = next(t for t in order["open_tasks"] if t["kind"] == "account_payment")
    assert (verify["department"], verify["summary_code"]) == ("finance", "verify_duplicate")
    assert "capture_unconfirmed" in [e["kind"] for e in order["events"]]


async def test_another_orders_capture_is_no_duplicate_of_this_one(system: System):
    """The security review's exploit: a platform token names order B's real capture as a
    duplicate on order A (and on A2, A3...): each would refund B's payment once more."""
    sku = stocked(system)
    other = await create(system, order_body(lines=[(sku, 1, "88.00")]))
    order_id = await create(system, order_body(lines=[(sku, 1, "88.00")]))
    txn = f"TX-{uuid.uuid4().hex[:6]}"
    system.gateway_captured(txn, other, "88.00")  # a real capture, of the other order
    await payment_event(system, order_id, "duplicate", "88.00", transaction_id=txn)
    await nothing_refunded_and_finance_asked(system, order_id)


async def test_a_confirmed_duplicate_is_refunded_to_the_second_transaction_only(system: System):
    sku = stocked(system)
    order_id = await create(system, order_body(lines=[(sku, 1, "88.00")]))
    txn = f"TX-{uuid.uuid4().hex[:6]}"
    system.gateway_captured(txn, order_id, "88.00")
    await payment_event(system, order_id, "duplicate", "88.00", transaction_id=txn)
    order = await system.wait_until(order_id, lambda o: o["refunds"], what="the refund")
    [refund] = order["refunds"]
    assert refund["amount"] == "88.00"
    assert txn in [paid_to for paid_to, _ in paid_out(system, order_id)]


def paid_out(system: System, order_id: str) -> list[tuple[str | None, str]]:
    """What the (simulated) gateway paid out for the order: (transaction, amount)."""
    refunds = simulated_gateway_refunds.c
    with system.db.read() as conn:
        rows = conn.execute(
            select(refunds.transaction_id, refunds.amount).where(refunds.order_id == order_id)
        ).all()
    return [(row.transaction_id, str(row.amount)) for row in rows]


async def cancelled_and_refund_settled(system: System, order_id: str) -> dict[str, Any]:
    """Customer service cancels the order (P4.2); the order once its refund is answered."""
    await act(system, "customer_service", f"/api/v1/orders/{order_id}/cancel", {"reason": "asked"})
    return await system.wait_until(
        order_id,
        lambda o: bool(o["refunds"]) and o["refunds"][0]["state"] != "requested",
        what="the refund answered",
    )


@pytest.mark.parametrize(
    ("captured", "reported", "issued"),
    [("50.00", "50.00", True), (None, "99999.00", False), ("50.00", "99999.00", False)],
    ids=["captured", "the-review's-exploit", "more-than-captured"],
)
async def test_a_reported_payment_is_paid_back_only_within_what_the_gateway_captured(
    system: System, captured: str | None, reported: str, issued: bool
):
    """The second review's exploit: a platform token reports an order of 50.00 paid
    99,999.00 under a transaction of its choice; a routine cancellation refunded it all."""
    sku = stocked(system)
    order_id = await create(system, online_unpaid(sku))  # 50.00, not paid yet (P2.1)
    await system.wait_for(order_id, "awaiting_payment")
    txn = f"TX-{uuid.uuid4().hex[:6]}"
    if captured is not None:
        system.gateway_captured(txn, order_id, captured)
    await payment_event(system, order_id, "succeeded", reported, transaction_id=txn)
    # The ledger books what the platform reports (P2.1): the order goes on to review.
    await system.wait_for(order_id, "under_review")
    order = await cancelled_and_refund_settled(system, order_id)
    [refund] = order["refunds"]
    assert refund["amount"] == reported
    if issued:
        assert refund["state"] == "issued"
        assert [amount for _, amount in paid_out(system, order_id)] == [reported]
        return
    assert refund["state"] == "failed"
    assert f"the gateway confirms {captured or '0'}" in refund["failure"]
    assert paid_out(system, order_id) == []
    assert ledger(order) == [("payment", reported)]
    # Finance checks with the provider and pays by hand only what was paid.
    assert open_tasks(order) == {"manual_refund": "finance"}


async def test_cash_on_delivery_reported_remitted_before_delivery_is_not_paid_back(
    system: System,
):
    sku = stocked(system)
    body = order_body(lines=[(sku, 1, "50.00")], paid=False)
    body["payment"]["method"] = "cash_on_delivery"
    order_id = await create(system, body)
    await system.wait_for(order_id, "under_review")
    await payment_event(system, order_id, "remitted", "99999.00")
    await system.wait_until(order_id, lambda o: bool(o["ledger"]), what="the remittance booked")
    order = await cancelled_and_refund_settled(system, order_id)
    [refund] = order["refunds"]
    assert refund["state"] == "failed" and "never collected" in refund["failure"]
    assert paid_out(system, order_id) == []
    # A remittance other than the order's total was finance's to reconcile already (P2.1).
    assert open_tasks(order) == {"manual_refund": "finance", "reconcile_remittance": "finance"}
