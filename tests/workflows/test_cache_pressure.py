"""Far more open orders than the worker caches: staff actions are still answered at once.

Orders live for weeks, so a worker keeps only some of them in memory
(`OMS_MAX_CACHED_WORKFLOWS`); an action on an order that was evicted replays its
history first. That must cost a replay, not a stall: no workflow task may time out
(a local activity cancelled by an eviction would leave its task to time out after 10 s).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain.ids import order_workflow_id
from tests.conftest import TEST_POLICY
from tests.support.flows import create
from tests.support.orders import new_order_id, order_body
from tests.support.system import running_system

pytestmark = pytest.mark.load

OPEN_ORDERS = 40
CACHED = 4


async def test_actions_on_evicted_orders_answer_without_a_stall(client: Client, tmp_path):
    async with running_system(
        client, f"sqlite:///{tmp_path / 'oms.db'}", TEST_POLICY, max_cached_workflows=CACHED
    ) as system:
        sku = f"SKU-CACHE-{new_order_id()}"
        system.set_stock(sku, OPEN_ORDERS)
        orders = [
            await create(system, order_body(lines=[(sku, 1, "10.00")])) for _ in range(OPEN_ORDERS)
        ]

        async def review(order_id: str) -> float:
            started = time.monotonic()
            answer = await system.post(
                "sales", f"/api/v1/orders/{order_id}/review", {"approved": True}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "ready_to_pack"
            return time.monotonic() - started

        # Ten at a time: most of them were evicted long ago and replay first.
        seconds: list[float] = []
        for batch in range(0, OPEN_ORDERS, 10):
            seconds += await asyncio.gather(*(review(o) for o in orders[batch : batch + 10]))
        assert max(seconds) < 5, sorted(seconds)[-5:]

        for order_id in orders:
            history = await client.get_workflow_handle(order_workflow_id(order_id)).fetch_history()
            timed_out = [
                e.event_id
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
            ]
            assert timed_out == [], f"{order_id}: workflow task timed out at {timed_out}"
