"""Task inboxes: a colleague may act on a claimed task (recorded), and each lead sees the
escalations of their own department only."""

from __future__ import annotations

from tests.support.journeys import colleague, order_under_review
from tests.support.system import System


async def test_a_colleague_may_review_an_order_claimed_by_another_and_it_is_recorded(
    system: System,
):
    order_id = await order_under_review(system)
    [task] = (await system.order(order_id))["open_tasks"]
    claimed = await system.post("sales", f"/api/v1/tasks/{task['task_id']}/claim")
    assert claimed.status_code == 200

    other_id, other = colleague(system, "sales")
    reviewed = await system.http.post(
        f"/api/v1/orders/{order_id}/review", json={"approved": True}, headers=other
    )
    assert reviewed.status_code == 200, reviewed.text
    done = (await system.get("sales", f"/api/v1/tasks/{task['task_id']}")).json()
    assert (done["state"], done["closed_by"], done["assignee"]) == (
        "done",
        other_id,
        system.staff_ids["sales"],
    )
    order = await system.wait_until(
        order_id,
        lambda o: any(e["kind"] == "reviewed" for e in o["events"]),
        what="the review recorded",
    )
    [review] = [e for e in order["events"] if e["kind"] == "reviewed"]
    assert review["actor_id"] == other_id
    assert review["data"]["acted_by_other"] is True
    assert review["data"]["assignee"] == system.staff_ids["sales"]


async def test_each_department_sees_its_own_escalations_and_supervision_sees_all(system: System):
    mine = await system.get("logistics", "/api/v1/escalations")
    assert mine.status_code == 200
    assert {e["department"] for e in mine.json()["items"]} <= {"logistics"}
    other = await system.get("logistics", "/api/v1/escalations", department="sales")
    assert other.status_code == 403
    assert (await system.get("platform", "/api/v1/escalations")).status_code == 403
    overseer = await system.get("supervision", "/api/v1/escalations", department="sales")
    assert overseer.status_code == 200
    assert all(e["to"] == "sales leads" for e in overseer.json()["items"])
