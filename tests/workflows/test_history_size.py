"""A happy-path order stays small in history: 70 events at most (the server's cost per
order follows the events). 52 are the order's own steps (the budget of issue 12); each
message to the customer costs 6 more (its activity's three events and the workflow task
that takes the channel's answer), and the happy path sends three: the order confirmed,
dispatched, delivered (issue 14, domain/notices.py)."""

from __future__ import annotations

from domain.ids import order_workflow_id
from tests.support.flows import create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import System

ORDER_STEPS_EVENT_BUDGET = 52
EVENTS_PER_MESSAGE = 6
HAPPY_PATH_MESSAGES = 3
HAPPY_PATH_EVENT_BUDGET = ORDER_STEPS_EVENT_BUDGET + EVENTS_PER_MESSAGE * HAPPY_PATH_MESSAGES


async def test_a_happy_path_order_completes_within_its_event_budget(system: System):
    sku = f"SKU-H-{new_order_id()}"
    system.set_stock(sku, 5)
    order_id = await create(system, order_body(lines=[(sku, 1, "10.00")]))
    await drive_to(system, order_id, "delivered")
    await system.wait_for(order_id, "completed")
    handle = system.client.get_workflow_handle(order_workflow_id(order_id))
    history = await handle.fetch_history()
    assert len(history.events) <= HAPPY_PATH_EVENT_BUDGET
