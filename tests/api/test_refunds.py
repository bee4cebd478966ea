"""Refunds and the ledger: a refused refund goes to finance; a refund is never paid twice."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select
from temporalio.client import Client

from activities.faults import FaultPlan
from db.tables import ledger_entries, simulated_gateway_refunds
from tests.conftest import TEST_POLICY
from tests.support.flows import act, case, create, drive_to, ledger, open_tasks
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system


async def test_a_refund_the_gateway_refuses_is_completed_by_finance(system: System):
    """The simulated gateway declines payments marked FAIL-: finance refunds by hand."""
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "45.00")])
    body["payment"]["transaction_id"] = f"FAIL-CARD-CLOSED-{uuid.uuid4().hex[:8]}"
    order_id = await create(system, body)
    await drive_to(system, order_id, "ready_to_pack")
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/cancel",
        {"reason": "customer cancelled"},
    )
    order = await system.wait_for(order_id, "cancelled")
    [refund] = order["refunds"]
    assert refund["state"] == "failed" and "declines" in refund["failure"]
    assert open_tasks(order) == {"manual_refund": "finance"}
    assert ledger(order) == [("payment", "45.00")]
    assert case(order, "cancellation")["state"] == "open"

    # Nobody but finance may complete it; finance does, with the bank's reference.
    path = f"/api/v1/orders/{order_id}/refunds/{refund['refund_id']}/complete"
    assert (await system.post("customer_service", path, {"reference": "x"})).status_code == 403
    await act(system, "finance", path, {"reference": "BANK-TRANSFER-77", "note": "by transfer"})
    order = await system.wait_until(
        order_id, lambda o: o["closed_at"] is not None, what="the order closed"
    )
    assert ledger(order) == [("payment", "45.00"), ("refund", "-45.00")]
    assert order["refunds"][0]["state"] == "completed_by_finance"
    assert case(order, "cancellation")["state"] == "closed"
    again = await system.post("finance", path, {"reference": "BANK-TRANSFER-77"})
    assert again.status_code == 409


async def test_a_refund_whose_first_attempt_dies_after_its_commit_is_paid_once(
    client: Client, tmp_path: Path
):
    faults = FaultPlan({"issue_refund.after_commit": 1})
    async with running_system(
        client, f"sqlite:///{tmp_path / 'oms.db'}", TEST_POLICY, faults=faults
    ) as system:
        system.set_stock("SKU-F", 5)
        order_id = await create(system, order_body(lines=[("SKU-F", 2, "64.00")]))
        await act(
            system,
            "sales",
            f"/api/v1/orders/{order_id}/review",
            {"approved": False, "note": "fraud suspicion"},
        )
        # The order stays open until sales has told the customer why (P3.1): wait for the refund.
        order = await system.wait_until(
            order_id,
            lambda o: [r["state"] for r in o["refunds"]] == ["issued"],
            what="the refund issued",
        )
        assert order["status"] == "rejected"
        assert ledger(order) == [("payment", "128.00"), ("refund", "-128.00")]
        with system.db.read() as conn:
            refunds = conn.execute(
                select(func.count())
                .select_from(ledger_entries)
                .where(ledger_entries.c.order_id == order_id, ledger_entries.c.kind == "refund")
            ).scalar()
            paid_out = conn.execute(
                select(func.count())
                .select_from(simulated_gateway_refunds)
                .where(simulated_gateway_refunds.c.order_id == order_id)
            ).scalar()
        assert (refunds, paid_out) == (1, 1)
        # The first attempt did fail after its commit: the history shows a retried activity.
        handle = client.get_workflow_handle(f"order-{order_id}")
        events = [e async for e in handle.fetch_history_events()]
        refund_activities = {
            e.event_id
            for e in events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == "issue_refund"
        }
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in events
            if e.HasField("activity_task_started_event_attributes")
            and e.activity_task_started_event_attributes.scheduled_event_id in refund_activities
        ]
        assert attempts == [2]
