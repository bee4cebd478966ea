"""Rectification as tracked work over HTTP (P8.1.3): a supervision finding becomes an item
owned by its department's lead, answered by the department and verified by supervision;
an item left past its deadline escalates. Deadlines are seconds here (settings)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from domain.actors import Department
from tests.conftest import TEST_POLICY
from tests.support.flows import act
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system

ITEMS = "/api/v1/rectifications"
ANSWER = {"cause": "review queue unattended", "corrective_action": "rota", "evidence": "ROTA-1"}


@pytest_asyncio.fixture(scope="module")
async def rectifying(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    path: Path = tmp_path_factory.mktemp("rectification") / "oms.db"
    async with running_system(
        client, f"sqlite:///{path}", TEST_POLICY, rectification_deadline=timedelta(seconds=6)
    ) as running:
        yield running


async def late_review(system: System) -> str:
    """An order whose review went past its (1 s) deadline, escalated, then done late."""
    sku = f"SKU-RECT-{new_order_id()}"
    system.set_stock(sku, 5)
    order_id = await system.start_directly(
        order_body(lines=[(sku, 1, "20.00")]), review_deadline=timedelta(seconds=1)
    )
    await system.wait_until(
        order_id,
        lambda o: "task_escalated" in [e["kind"] for e in o["events"]],
        what="the review escalated",
    )
    await act(system, "sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    return order_id


async def tracked_items(system: System, order_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The items of these orders once their workflows have recorded them."""
    deadline = time.monotonic() + 30
    while True:
        response = await system.get("supervision", ITEMS, department="sales")
        assert response.status_code == 200, response.text
        found = {i["order_id"]: i for i in response.json()["items"] if i["order_id"] in order_ids}
        if set(found) == order_ids and all(i["tracked"] for i in found.values()):
            return found
        assert time.monotonic() < deadline, f"items not tracked: {found}"
        await asyncio.sleep(0.2)


async def item_of(system: System, item_id: str, who: str = "supervision") -> dict[str, Any]:
    response = await system.get(who, f"{ITEMS}/{item_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_finding_is_owned_by_the_lead_answered_rejected_reopened_accepted_and_closed(
    rectifying: System,
):
    system = rectifying
    walked, left = await late_review(system), await late_review(system)
    run = await act(system, "supervision", "/api/v1/supervision/runs", None, expect=201)
    assert {(i["order_id"], i["rule"]) for i in run["items"]} >= {
        (walked, "late_task"),
        (left, "late_task"),
    }
    items = await tracked_items(system, {walked, left})
    item = items[walked]
    lead = system.leads[Department.SALES][0]
    assert (item["department"], item["owner"], item["state"]) == ("sales", lead, "open")
    item_id = item["item_id"]

    # In sales' inbox as a rectify task, given to the lead.
    inbox = await system.get("sales", "/api/v1/tasks", department="sales", kind="rectify")
    task = next(t for t in inbox.json()["items"] if t["task_id"] == item["task_id"])
    assert task["assignee"] == lead and task["order_id"] == walked

    # Other departments neither see nor answer it; supervision does not answer for sales.
    assert (await system.get("warehouse", ITEMS, department="sales")).status_code == 403
    assert (await system.get("warehouse", f"{ITEMS}/{item_id}")).status_code == 404
    # ... nor its task, through the task list or by id (the security review's finding).
    theirs = await system.get("warehouse", "/api/v1/tasks", department="sales", kind="rectify")
    assert item["task_id"] not in [t["task_id"] for t in theirs.json()["items"]]
    assert (await system.get("warehouse", f"/api/v1/tasks/{item['task_id']}")).status_code == 404
    overseen = await system.get("supervision", "/api/v1/tasks", department="sales", kind="rectify")
    assert item["task_id"] in [t["task_id"] for t in overseen.json()["items"]]
    refused = await system.post("warehouse", f"{ITEMS}/{item_id}/answer", ANSWER)
    assert refused.status_code == 403
    assert refused.json()["refusal"] == "rectification_not_for_department"
    refused = await system.post("supervision", f"{ITEMS}/{item_id}/verify", {"accepted": True})
    assert refused.status_code == 409 and refused.json()["refusal"] == "rectification_not_now"
    assert (
        await system.post("sales", f"{ITEMS}/RI-0000000000000000/answer", ANSWER)
    ).status_code == 404
    refused = await system.post("sales", f"/api/v1/tasks/{item['task_id']}/complete", {"note": "x"})
    assert refused.json().get("refusal") == "rectify_task_closed_by_answer"

    answered = await act(system, "sales", f"{ITEMS}/{item_id}/answer", ANSWER)
    assert answered["state"] == "answered" and answered["cause"] == ANSWER["cause"]
    assert (
        await system.post("sales", f"{ITEMS}/{item_id}/verify", {"accepted": True})
    ).status_code == 403

    rejected = await act(
        system, "supervision", f"{ITEMS}/{item_id}/verify", {"accepted": False, "note": "no proof"}
    )
    assert (rejected["state"], rejected["round"]) == ("open", 2)
    assert rejected["due_at"] > answered["due_at"]
    assert rejected["task_id"] != answered["task_id"]

    await act(system, "sales", f"{ITEMS}/{item_id}/answer", dict(ANSWER, evidence="ROTA-2"))
    closed = await act(
        system, "supervision", f"{ITEMS}/{item_id}/verify", {"accepted": True, "note": "ok"}
    )
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    kinds = [(e["kind"], e["actor_department"]) for e in closed["events"]]
    assert [k for k in kinds if not k[0].startswith("task_")] == [
        ("opened", "admin"),
        ("answered", "sales"),
        ("rejected", "supervision"),
        ("answered", "sales"),
        ("accepted", "supervision"),
    ]
    listed = await system.get("sales", ITEMS, state="closed")
    assert item_id in [i["item_id"] for i in listed.json()["items"]]
    refused = await system.post("sales", f"{ITEMS}/{item_id}/answer", ANSWER)
    assert refused.status_code == 409

    # The other item, left alone, is reminded and then escalated at its (6 s) deadline.
    other = items[left]["item_id"]
    deadline = time.monotonic() + 30
    while not (current := await item_of(system, other))["escalated"]:
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.3)
    assert current["overdue"] and current["state"] == "open"
    assert [e["kind"] for e in current["events"]] == [
        "opened",
        "task_reminded",
        "task_overdue",
        "task_escalated",
    ]
    escalations = await system.get("sales", "/api/v1/tasks", escalated="true", kind="rectify")
    assert current["task_id"] in [t["task_id"] for t in escalations.json()["items"]]
