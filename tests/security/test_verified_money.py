"""Money leaves only on verified facts (P5.1): a reported duplicate payment is refunded only
once the payment gateway confirms that second capture, only to that transaction, and never
for more than it captured. Anything else moves no money and becomes work for finance."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.test_exceptions import payment_event, stocked
from tests.support.flows import create
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
    with system.db.read() as conn:
        from sqlalchemy import select

        from db.tables import simulated_gateway_refunds

        paid_to = conn.execute(select(simulated_gateway_refunds.c.transaction_id)).scalars()
        assert txn in list(paid_to)
