"""P8.1: a task breached past its deadline is escalated to its department's leads, by name.

The workflow names the department and the role; the API and the console read who leads
from the staff table when they show the escalation (api.md, Staff roles). Members of the
department see its escalations too (the work is the department's); other departments do
not.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from db import staff as staff_store
from domain.actors import Department, StaffRole
from tests.support.console import ConsoleBrowser
from tests.support.orders import order_body
from tests.support.system import System


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def escalated_review(system: System) -> tuple[str, str]:
    """An order whose review (sales, P3.1) is left past a deadline of two seconds."""
    order_id = await system.start_directly(order_body(), review_deadline=timedelta(seconds=2))
    order = await system.wait_until(
        order_id,
        lambda o: "task_escalated" in [e["kind"] for e in o["events"]],
        timeout=30,
        what="an escalated review",
    )
    [task] = order["open_tasks"]
    return order_id, str(task["task_id"])


def leads_named(item: dict[str, Any]) -> list[str]:
    return [lead["name"] for lead in item["leads"]]


async def test_p8_1_a_breached_review_lands_with_the_sales_leads_by_name_and_not_elsewhere(
    system: System,
):
    with system.db.write() as conn:
        chen, chen_token = staff_store.add_staff(
            conn, "Chen Jing", Department.SALES, datetime.now(UTC), role=StaffRole.LEAD
        )
        _, packer_token = staff_store.add_staff(
            conn, "Packer Wu", Department.WAREHOUSE, datetime.now(UTC)
        )
    order_id, task_id = await escalated_review(system)

    # The event names the department and the role, not people (the workflow cannot know).
    order = await system.order(order_id)
    [event] = [e for e in order["events"] if e["kind"] == "task_escalated"]
    assert event["data"] == {
        "to": "sales leads",
        "department": "sales",
        "role": "lead",
        "kind": "review",
    }

    # The lead's list of escalations names every active lead of sales, by name.
    mine = await system.http.get("/api/v1/escalations", headers=bearer(chen_token))
    assert mine.status_code == 200, mine.text
    [item] = [e for e in mine.json()["items"] if e["task_id"] == task_id]
    assert (item["to"], item["department"], item["escalated"]) == ("sales leads", "sales", True)
    assert {"Chen Jing", "Lead sales"} <= set(leads_named(item))
    assert chen.staff_id in [lead["staff_id"] for lead in item["leads"]]

    # The inbox filtered to escalations, and the task itself, say the same.
    inbox = await system.http.get(
        "/api/v1/tasks", params={"escalated": "true"}, headers=bearer(chen_token)
    )
    [row] = [t for t in inbox.json()["items"] if t["task_id"] == task_id]
    assert set(leads_named(row)) == set(leads_named(item))
    one = await system.http.get(f"/api/v1/tasks/{task_id}", headers=bearer(chen_token))
    assert set(leads_named(one.json())) == set(leads_named(item))

    # A member of sales sees it too (the department's work is everyone's in it).
    member = await system.get("sales", "/api/v1/escalations")
    assert task_id in [e["task_id"] for e in member.json()["items"]]

    # A member of another department does not: their own list lacks it, sales' is 403.
    packer = bearer(packer_token)
    theirs = await system.http.get("/api/v1/escalations", headers=packer)
    assert theirs.status_code == 200
    assert task_id not in [e["task_id"] for e in theirs.json()["items"]]
    assert all(e["department"] == "warehouse" for e in theirs.json()["items"])
    for path, params in (
        ("/api/v1/escalations", {"department": "sales"}),
        ("/api/v1/tasks", {"department": "sales", "escalated": "true"}),
    ):
        asked = await system.http.get(path, params=params, headers=packer)
        assert asked.status_code == 403, path
    # Nor by the plain task list (no `escalated`), nor the task itself: the task shows,
    # the sales leads' names do not (the security review's finding).
    plain = await system.http.get(
        "/api/v1/tasks", params={"department": "sales", "overdue": "true"}, headers=packer
    )
    [row] = [t for t in plain.json()["items"] if t["task_id"] == task_id]
    assert row["escalated"] and row["leads"] is None
    task = await system.http.get(f"/api/v1/tasks/{task_id}", headers=packer)
    assert task.status_code == 200 and task.json()["leads"] is None

    # A lead made a member again is no longer named (read when shown, not when escalated).
    with system.db.write() as conn:
        staff_store.set_role(conn, chen.staff_id, StaffRole.MEMBER, datetime.now(UTC))
    again = await system.get("sales", "/api/v1/escalations")
    [item] = [e for e in again.json()["items"] if e["task_id"] == task_id]
    assert "Chen Jing" not in leads_named(item) and "Lead sales" in leads_named(item)
    # Not escalated, not named: a task in time has no leads field filled.
    fresh = await system.get("sales", "/api/v1/tasks", department="sales", overdue="false")
    assert all(t["leads"] is None for t in fresh.json()["items"])


async def test_p8_1_a_lead_s_console_inbox_shows_the_escalations_with_the_leads_in_both_languages(
    system: System,
):
    _, task_id = await escalated_review(system)
    _, lead_token = system.leads[Department.SALES]
    async with ConsoleBrowser(system) as browser:
        await browser.sign_in(token=lead_token)
        page = await browser.get("/console/inbox")
        assert page.status_code == 200
        text = html.unescape(page.text)
        assert "上报给主管的超时任务" in text and f'data-escalated-task-id="{task_id}"' in text
        assert "本部门超过截止时间的任务上报给本部门主管：" in text and "Lead sales" in text
        assert "已上报给" in text  # the row's badge names the leads too

        chosen = await browser.post(
            "/console/language", {"language": "en", "next": "/console/inbox"}
        )
        page = await browser.follow(chosen)
        text = html.unescape(page.text)
        assert "Escalated to the leads" in text and f'data-escalated-task-id="{task_id}"' in text
        assert "Its tasks past their deadline are escalated to its leads:" in text
        assert "Escalated to " in text and "Lead sales" in text

    # A member's inbox has the badge with the leads' names, not the leads' section.
    async with ConsoleBrowser(system) as browser:
        await browser.sign_in("sales")
        page = await browser.get("/console/inbox", overdue="yes")
        text = html.unescape(page.text)
        assert "上报给主管的超时任务" not in text
        assert f'data-task-id="{task_id}"' in text and "已上报给" in text
