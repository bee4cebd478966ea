"""A flood of feed events cannot push an order past Temporal's limits (issue 16, abuse limits).

Temporal ends a workflow run whose history passes 51,200 events. Every signal is an
event, and a carrier (or anyone with its token) can send tracking events at will.
The order records at most `feed_event_limit` of them that change nothing, and its
workflow continues as new whenever a run's history reaches `history_event_budget`
(or Temporal suggests it): here 20,000 tracking events are sent straight to the
frontend, and the order still answers, still takes the real delivery, and no run
came near the limit.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client, WorkflowHandle

from domain.actors import Actor, Department
from domain.commands import TrackingCommand, TrackingEventKind
from domain.ids import order_workflow_id
from tests.support.flows import drive_to, track
from tests.support.orders import new_order_id, order_body
from tests.support.system import System
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.load

FLOOD = 20_000
BUDGET = 2_000
FEED_LIMIT = 100
#: Temporal's hard limit on one run's history.
TEMPORAL_LIMIT = 51_200


async def runs_of(client: Client, workflow_id: str) -> list[int]:
    """The history length of each run of the workflow, the latest first (following the
    chain of continue-as-new back from the current run)."""
    lengths = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        lengths.append(len(history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return lengths


async def flood(handle: WorkflowHandle, carrier: Actor, n: int, concurrency: int = 4) -> None:
    queue = iter(range(n))

    async def sender() -> None:
        for i in queue:
            command = TrackingCommand(
                actor=carrier, event_id=f"flood-{i}", event=TrackingEventKind.IN_TRANSIT
            )
            await handle.signal(OrderWorkflow.tracking, command)

    await asyncio.gather(*(sender() for _ in range(concurrency)))


async def test_an_order_fed_20000_tracking_events_stays_under_the_limits_and_keeps_answering(
    system: System,
):
    sku = f"SKU-FLOOD-{uuid.uuid4().hex[:6]}"
    system.set_stock(sku, 5)
    body = order_body(new_order_id("FLOOD"), lines=[(sku, 1, "10.00")])
    order_id = await system.start_directly(
        body, history_event_budget=BUDGET, feed_event_limit=FEED_LIMIT
    )
    await drive_to(system, order_id, "in_transit")
    workflow_id = order_workflow_id(order_id)
    carrier = Actor(staff_id=system.staff_ids[Department.PLATFORM], department=Department.PLATFORM)
    handle = system.client.get_workflow_handle(workflow_id)

    await flood(handle, carrier, FLOOD)

    # Every flood event is a signal in some run's history: the order carried on in new runs,
    # none of which came near Temporal's limit.
    async def settled() -> list[int]:
        for _ in range(200):
            view = await handle.query(OrderWorkflow.view)
            if view.status == "in_transit" and not view.unwritten_events:
                return await runs_of(system.client, workflow_id)
            await asyncio.sleep(0.1)
        raise AssertionError("the order did not settle")

    lengths = await settled()
    assert sum(lengths) > FLOOD
    assert len(lengths) >= FLOOD // BUDGET
    assert max(lengths) < BUDGET + 1_000 < TEMPORAL_LIMIT

    # The order answers, and takes the real delivery at once.
    await track(system, order_id, "delivered")
    order = await system.wait_for(order_id, "delivered")
    kinds = [event["kind"] for event in order["events"]]
    # What it recorded of the flood: the limit's worth, and once that the limit was reached.
    assert kinds.count("tracking") == FEED_LIMIT + 1  # the flood's first, and the delivery
    assert kinds.count("feed_limit_reached") == 1
