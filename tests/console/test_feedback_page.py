"""Customer feedback in the console (P7.2 replies, P7.3 results), over real HTTP against a
real dev server: customer service finds the reply task in its inbox, opens the feedback,
answers the customer and records the result; the model's refusals come back beside the
form, other departments read it without forms, and resolved feedback takes no more."""

from __future__ import annotations

import re
import uuid
from typing import Any

from domain.actors import Department
from tests.support.console import ConsoleBrowser
from tests.support.system import System


def feedback_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "feedback_id": f"FB{uuid.uuid4().hex[:12]}",
        "kind": "complaint",
        "channel": "hotline",
        "customer_id": f"C-{uuid.uuid4().hex[:8]}",
        "subject": "parcel left at the wrong door",
        "message": "The courier left my parcel at number 12, I live at 21.",
    }
    return body | changes


def forms_on(html: str) -> list[str]:
    return re.findall(r'<form [^>]*data-action="([a-z_]+)"', html)


async def feedback(system: System, feedback_id: str) -> dict[str, Any]:
    response = await system.get("customer_service", f"/api/v1/feedback/{feedback_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_customer_service_answers_and_closes_feedback_from_the_console(system: System):
    body = feedback_body()
    created = await system.post("platform", "/api/v1/feedback", body)
    assert created.status_code == 201, created.text
    feedback_id = body["feedback_id"]
    page = f"/console/feedback/{feedback_id}"

    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.CUSTOMER_SERVICE)
        # The reply task in the inbox leads to the feedback (P7.2: first reply within 24 h).
        inbox = await console.get("/console/inbox", kind="reply_feedback")
        assert f'href="{page}"' in inbox.text
        listed = await console.get("/console/feedback", state="open", kind="complaint")
        assert f'href="{page}"' in listed.text and "投诉" in listed.text

        shown = await console.get(page)
        assert shown.status_code == 200
        assert body["message"] in shown.text and "待答复" in shown.text
        assert forms_on(shown.text) == ["reply_feedback", "resolve_feedback"]

        # An empty reply is the model's 422, shown beside the field; nothing is recorded.
        empty = await console.post(f"{page}/actions/reply_feedback", {"message": ""})
        assert empty.status_code == 422
        assert 'class="field-error"' in empty.text
        assert (await feedback(system, feedback_id))["replies"] == []

        replied = await console.post(
            f"{page}/actions/reply_feedback",
            {"message": "Sorry! The courier will fetch it today.", "idempotency_key": "r-1"},
        )
        shown = await console.follow(replied)
        assert "已完成：答复客户" in shown.text
        assert "Sorry! The courier will fetch it today." in shown.text

        # Passed to logistics (P3.5), ticked as boxes; the departments come back as chosen.
        resolved = await console.post(
            f"{page}/actions/resolve_feedback",
            [
                ("outcome", "referred"),
                ("result", "Courier retrained; parcel delivered to number 21."),
                ("referred_to", "logistics"),
                ("referred_to", "warehouse"),
            ],
        )
        shown = await console.follow(resolved)
        assert "已结案" in shown.text and "已转交相关部门" in shown.text
        assert forms_on(shown.text) == []

        # A second result on resolved feedback: the form is gone, a stale post is a 409.
        again = await console.post(
            f"{page}/actions/resolve_feedback", {"outcome": "fixed", "result": "again"}
        )
        assert again.status_code == 409
        assert "这条反馈已结案（P7.3）" in again.text  # the refusal, in the reader's words

    recorded = await feedback(system, feedback_id)
    assert recorded["state"] == "resolved"
    replies = [r["message"] for r in recorded["replies"]]
    assert replies == ["Sorry! The courier will fetch it today."]
    assert recorded["outcome"] == "referred"
    assert sorted(recorded["referred_to"]) == ["logistics", "warehouse"]
    assert recorded["resolved_by"] == system.staff_ids[Department.CUSTOMER_SERVICE]


async def test_other_departments_read_feedback_but_may_not_answer_it(system: System):
    body = feedback_body(kind="inquiry", channel="email")
    assert (await system.post("platform", "/api/v1/feedback", body)).status_code == 201
    page = f"/console/feedback/{body['feedback_id']}"
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.WAREHOUSE)
        shown = await console.get(page)
        assert shown.status_code == 200 and body["message"] in shown.text
        assert forms_on(shown.text) == []
        refused = await console.post(f"{page}/actions/reply_feedback", {"message": "hello"})
        assert refused.status_code == 403
        assert (await console.get("/console/feedback", kind="nonsense")).status_code == 422
    assert (await feedback(system, body["feedback_id"]))["replies"] == []
