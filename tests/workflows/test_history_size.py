"""A happy-path order stays small in history: 70 events at most (the server's cost per
order follows the events). 52 are the order's own steps (the budget of issue 12); each
message to the customer costs 6 more (its activity's three events and the workflow task
that takes the channel's answer), and the happy path sends three: the order confirmed,
dispatched, delivered (issue 14, domain/notices.py).

One workflow task (3 events) is timing's, not the order's: a local activity (the read-model
write) that has not answered when its workflow task is ready to complete is finished in a
task of its own. Under load, or with the worker's cache off, that happens now and then, so
the budget allows one such task, and the events that are the order's own (everything but
workflow-task bookkeeping) are held to their exact count apart."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from domain.ids import order_workflow_id
from tests.support.flows import create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import System

ORDER_STEPS_EVENT_BUDGET = 52
EVENTS_PER_MESSAGE = 6
HAPPY_PATH_MESSAGES = 3
TIMING_WORKFLOW_TASK = 3
HAPPY_PATH_EVENT_BUDGET = (
    ORDER_STEPS_EVENT_BUDGET + EVENTS_PER_MESSAGE * HAPPY_PATH_MESSAGES + TIMING_WORKFLOW_TASK
)
# The order's own events: its inputs (start, updates, signals), commands (timers, markers,
# search attributes, activities) and their results; workflow-task events excluded.
HAPPY_PATH_OWN_EVENTS = 43
WORKFLOW_TASK_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}


async def test_a_happy_path_order_completes_within_its_event_budget(system: System):
    sku = f"SKU-H-{new_order_id()}"
    system.set_stock(sku, 5)
    order_id = await create(system, order_body(lines=[(sku, 1, "10.00")]))
    await drive_to(system, order_id, "delivered")
    await system.wait_for(order_id, "completed")
    handle = system.client.get_workflow_handle(order_workflow_id(order_id))
    history = await handle.fetch_history()
    assert len(history.events) <= HAPPY_PATH_EVENT_BUDGET
    own = [event for event in history.events if event.event_type not in WORKFLOW_TASK_EVENTS]
    assert len(own) <= HAPPY_PATH_OWN_EVENTS
