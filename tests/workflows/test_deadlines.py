"""Every human task has a deadline (SLA table); a reminder, then overdue and escalated."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from temporalio.client import Client

from domain.ids import order_workflow_id
from tests.support.orders import order_body
from tests.support.system import System


async def start_order(system: System, **policy_changes) -> str:
    return await system.start_directly(order_body(), **policy_changes)


async def visible_overdue(client: Client, order_id: str, timeout: float = 15) -> bool:
    """The Temporal UI's view: is the order listed by `Overdue = true`?"""
    deadline = time.monotonic() + timeout
    query = f'WorkflowId = "{order_workflow_id(order_id)}" AND Overdue = true'
    while time.monotonic() < deadline:
        async for _ in client.list_workflows(query):
            return True
        await asyncio.sleep(0.3)
    return False


async def test_a_review_left_past_its_deadline_is_reminded_then_overdue_and_escalated(
    system: System,
):
    order_id = await start_order(system, review_deadline=timedelta(seconds=2))
    await system.wait_for(order_id, "under_review")
    # The live view can be ahead of the recorded events for a moment: wait for both.
    order = await system.wait_until(
        order_id,
        lambda o: o["overdue"] and "task_escalated" in [e["kind"] for e in o["events"]],
        timeout=20,
        what="an overdue, escalated review",
    )
    [task] = order["open_tasks"]
    assert (task["kind"], task["overdue"], task["escalated"]) == ("review", True, True)
    kinds = [e["kind"] for e in order["events"]]
    assert (
        kinds.index("task_reminded") < kinds.index("task_overdue") < kinds.index("task_escalated")
    )
    escalation = next(e for e in order["events"] if e["kind"] == "task_escalated")
    assert escalation["data"]["to"] == "sales leads"
    assert (escalation["data"]["department"], escalation["data"]["role"]) == ("sales", "lead")

    inbox = await system.get(
        "sales", "/api/v1/tasks", department="sales", overdue="true", order_id=order_id
    )
    assert [t["task_id"] for t in inbox.json()["items"]] == [task["task_id"]]
    assert await visible_overdue(system.client, order_id)
    # The lead's list of escalations (P8.1) shows it too.
    lead = await system.get("sales", "/api/v1/escalations", department="sales")
    [escalated] = [e for e in lead.json()["items"] if e["task_id"] == task["task_id"]]
    assert escalated["to"] == "sales leads" and escalated["escalated"] is True
    assert "Lead sales" in [lead["name"] for lead in escalated["leads"]]  # P8.1: by name

    # Late, but still done: the task closes after its deadline (the on-time KPI counts it late).
    approved = await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert approved.status_code == 200
    done = await system.get("sales", f"/api/v1/tasks/{task['task_id']}")
    assert done.json()["state"] == "done" and done.json()["closed_at"] > done.json()["due_at"]
    order = await system.order(order_id)
    assert order["overdue"] is False


async def test_a_task_closed_in_time_is_neither_reminded_nor_overdue(system: System):
    order_id = await start_order(system, review_deadline=timedelta(seconds=3))
    await system.wait_for(order_id, "under_review")
    await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    await asyncio.sleep(3.5)
    order = await system.order(order_id)
    assert not {"task_reminded", "task_overdue"} & {e["kind"] for e in order["events"]}
