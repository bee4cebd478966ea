"""P7.2, P7.3 over HTTP: feedback from every channel opens a reply task; replies and the
result are recorded; a breached first-reply deadline escalates; ratings after delivery."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio.client import Client

from domain.actors import Actor, Department
from domain.feedback import FeedbackRequest, feedback_workflow_id
from domain.ids import fingerprint
from tests.conftest import TEST_POLICY
from tests.support.journeys import colleague, delivered_order, order_under_review
from tests.support.system import System
from workflows.feedback import FeedbackWorkflow, FeedbackWorkflowInput


def feedback_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "feedback_id": f"FB{uuid.uuid4().hex[:12]}",
        "kind": "complaint",
        "channel": "hotline",
        "customer_id": "C1001",
        "subject": "late parcel",
        "message": "My parcel has not arrived.",
    }
    return body | changes


async def overdue_in_ui(
    client: Client, workflow_id: str, overdue: bool, timeout: float = 15
) -> bool:
    """The Temporal UI's view: is the workflow listed under `Overdue = <overdue>`?"""
    query = f'WorkflowId = "{workflow_id}" AND Overdue = {str(overdue).lower()}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async for _ in client.list_workflows(query):
            return True
        await asyncio.sleep(0.3)
    return False


async def feedback(system: System, feedback_id: str) -> dict[str, Any]:
    response = await system.get("customer_service", f"/api/v1/feedback/{feedback_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_complaint_on_an_order_is_answered_claimed_by_one_and_replied_by_a_colleague(
    system: System,
):
    order_id = await order_under_review(system)
    body = feedback_body(order_id=order_id)
    created = await system.post("platform", "/api/v1/feedback", body)
    assert created.status_code == 201, created.text
    task_id = created.json()["task_id"]
    assert created.json()["state"] == "open" and task_id

    # The task sits in customer service's inbox with the order's summary and the P7.2 deadline.
    inbox = await system.get(
        "customer_service", "/api/v1/tasks", department="customer_service", order_id=order_id
    )
    [task] = inbox.json()["items"]
    assert (task["task_id"], task["kind"], task["order_status"]) == (
        task_id,
        "reply_feedback",
        "under_review",
    )
    assert task["case_id"] == body["feedback_id"]
    first = await feedback(system, body["feedback_id"])
    assert first["first_reply_due_at"] == task["due_at"]

    # One member claims it; a colleague answers: allowed for the department, and recorded.
    claimed = await system.post("customer_service", f"/api/v1/tasks/{task_id}/claim")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["feedback_id"] == body["feedback_id"]
    other_id, other = colleague(system, "customer_service")
    replied = await system.http.post(
        f"/api/v1/feedback/{body['feedback_id']}/replies",
        json={"message": "The carrier reports a delay; it arrives tomorrow."},
        headers=other,
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["state"] == "replied"
    done = (await system.get("customer_service", f"/api/v1/tasks/{task_id}")).json()
    assert (done["state"], done["closed_by"]) == ("done", other_id)
    assert done["closed_at"] <= done["due_at"]

    # Later replies are recorded too; the result closes the feedback (P7.3).
    await system.post(
        "customer_service",
        f"/api/v1/feedback/{body['feedback_id']}/replies",
        {"message": "Delivered now?"},
    )
    resolved = await system.post(
        "customer_service",
        f"/api/v1/feedback/{body['feedback_id']}/resolve",
        {"outcome": "referred", "result": "Delay explained", "referred_to": ["logistics"]},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "resolved"

    record = await feedback(system, body["feedback_id"])
    assert [r["actor"]["staff_id"] for r in record["replies"]] == [
        other_id,
        system.staff_ids["customer_service"],
    ]
    assert (record["outcome"], record["result"], record["referred_to"]) == (
        "referred",
        "Delay explained",
        ["logistics"],
    )
    kinds = [e["kind"] for e in record["events"]]
    assert kinds == ["received", "task_claimed", "replied", "replied", "resolved"]
    first_reply = next(e for e in record["events"] if e["kind"] == "replied")
    assert first_reply["data"]["acted_by_other"] is True
    assert first_reply["data"]["assignee"] == system.staff_ids["customer_service"]

    late = await system.post(
        "customer_service",
        f"/api/v1/feedback/{body['feedback_id']}/replies",
        {"message": "one more"},
    )
    assert late.status_code == 409 and late.json()["status"] == "resolved"


async def test_feedback_of_no_order_has_a_task_of_no_order_and_intake_is_idempotent(
    system: System,
):
    body = feedback_body(kind="inquiry", channel="email")
    created = await system.post("customer_service", "/api/v1/feedback", body)
    assert created.status_code == 201, created.text
    task_path = f"/api/v1/tasks/{created.json()['task_id']}"
    task = (await system.get("customer_service", task_path)).json()
    assert task["order_id"] is None and task["department"] == "customer_service"

    again = await system.post("platform", "/api/v1/feedback", body)
    assert again.status_code == 200 and again.json() == created.json()
    changed = await system.post("platform", "/api/v1/feedback", body | {"message": "other"})
    assert changed.status_code == 409

    # Resolving without a reply answers the customer: the task closes with it.
    resolved = await system.post(
        "customer_service",
        f"/api/v1/feedback/{body['feedback_id']}/resolve",
        {"outcome": "answered", "result": "Opening hours sent by email"},
    )
    assert resolved.status_code == 200, resolved.text
    record = await feedback(system, body["feedback_id"])
    assert record["first_reply_at"] is not None and record["task_id"] == task["task_id"]
    task = (await system.get("customer_service", task_path)).json()
    assert (task["state"], task["outcome"]) == ("done", "resolved")
    listed = await system.get("supervision", "/api/v1/feedback", state="resolved", kind="inquiry")
    assert body["feedback_id"] in [f["feedback_id"] for f in listed.json()["items"]]


async def test_feedback_refusals_change_nothing(system: System):
    body = feedback_body()
    assert (await system.post("sales", "/api/v1/feedback", body)).status_code == 403
    unknown = await system.post("platform", "/api/v1/feedback", body | {"order_id": "NOSUCH1"})
    assert unknown.status_code == 404
    order_id = await order_under_review(system, customer_id="C-OTHER")
    wrong = await system.post("platform", "/api/v1/feedback", body | {"order_id": order_id})
    assert wrong.status_code == 422 and wrong.json()["field"] == "customer_id"
    bad = await system.post("platform", "/api/v1/feedback", body | {"channel": "fax"})
    assert bad.status_code == 422 and bad.json()["field"] == "channel"
    missing = await system.get("customer_service", f"/api/v1/feedback/{body['feedback_id']}")
    assert missing.status_code == 404

    created = await system.post("platform", "/api/v1/feedback", body)
    task_id = created.json()["task_id"]
    path = f"/api/v1/feedback/{body['feedback_id']}/replies"
    assert (await system.post("warehouse", path, {"message": "hi"})).status_code == 403
    assert (await system.post("sales", f"/api/v1/tasks/{task_id}/claim")).status_code == 403
    note = await system.post("customer_service", f"/api/v1/tasks/{task_id}/complete", {"note": "x"})
    assert note.status_code == 409
    record = await feedback(system, body["feedback_id"])
    assert (record["state"], [e["kind"] for e in record["events"]]) == ("open", ["received"])


async def test_an_unanswered_complaint_is_reminded_then_overdue_and_escalated(system: System):
    """P7.2 with the first-reply deadline shortened to seconds."""
    request = FeedbackRequest.model_validate(feedback_body())
    feedback_id = str(request.feedback_id)
    await system.client.start_workflow(
        FeedbackWorkflow.run,
        FeedbackWorkflowInput(
            feedback_id=feedback_id,
            request=request,
            policy=TEST_POLICY.model_copy(update={"first_reply_deadline": timedelta(seconds=2)}),
            submitted_by=Actor(staff_id="test", department=Department.PLATFORM),
            fingerprint=fingerprint(request.model_dump(mode="json")),
        ),
        id=feedback_workflow_id(feedback_id),
        task_queue=system.settings.task_queue,
    )
    record: dict[str, Any] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = await system.get("customer_service", f"/api/v1/feedback/{feedback_id}")
        record = response.json() if response.status_code == 200 else {}
        if "task_escalated" in [e["kind"] for e in record.get("events", [])]:
            break
        await asyncio.sleep(0.2)
    kinds = [e["kind"] for e in record["events"]]
    assert kinds == ["received", "task_reminded", "task_overdue", "task_escalated"]
    escalation = record["events"][-1]
    assert escalation["data"] == {
        "to": "customer_service leads",
        "department": "customer_service",
        "role": "lead",
        "kind": "reply_feedback",
    }
    assert record["overdue"] and record["escalated"]

    overdue = await system.get(
        "customer_service", "/api/v1/tasks", department="customer_service", overdue="true"
    )
    assert record["task_id"] in [t["task_id"] for t in overdue.json()["items"]]
    lead = await system.get("customer_service", "/api/v1/escalations")
    [mine] = [e for e in lead.json()["items"] if e["task_id"] == record["task_id"]]
    assert mine["to"] == "customer_service leads" and mine["escalated_at"]
    lead_id, _ = system.leads[Department.CUSTOMER_SERVICE]
    assert lead_id in [lead["staff_id"] for lead in mine["leads"]]  # P8.1: named
    assert await overdue_in_ui(system.client, feedback_workflow_id(feedback_id), True)

    # Late, but answered: the task closes after its deadline and the flag clears.
    replied = await system.post(
        "customer_service", f"/api/v1/feedback/{feedback_id}/replies", {"message": "Sorry!"}
    )
    assert replied.status_code == 200
    task = (await system.get("customer_service", f"/api/v1/tasks/{record['task_id']}")).json()
    assert task["state"] == "done" and task["closed_at"] > task["due_at"]
    assert await overdue_in_ui(system.client, feedback_workflow_id(feedback_id), False)


async def test_a_delivered_order_is_rated_once(system: System):
    waiting = await order_under_review(system)
    early = await system.post("platform", f"/api/v1/orders/{waiting}/rating", {"score": 5})
    assert early.status_code == 409 and early.json()["status"] == "under_review"
    missing = await system.post("platform", "/api/v1/orders/NOSUCH2/rating", {"score": 5})
    assert missing.status_code == 404

    order_id = await delivered_order(system)
    path = f"/api/v1/orders/{order_id}/rating"
    assert (await system.get("sales", path)).status_code == 404
    assert (await system.post("sales", path, {"score": 4})).status_code == 403
    assert (await system.post("platform", path, {"score": 6})).status_code == 422
    rated = await system.post("platform", path, {"score": 4, "comment": "quick"})
    assert rated.status_code == 201, rated.text
    again = await system.post("platform", path, {"score": 4, "comment": "quick"})
    assert again.status_code == 200 and again.json() == rated.json()
    other = await system.post("customer_service", path, {"score": 1, "channel": "hotline"})
    assert other.status_code == 409
    stored = (await system.get("sales", path)).json()
    assert (stored["score"], stored["channel"], stored["rated_by"]) == (
        4,
        "online",
        system.staff_ids["platform"],
    )
