"""P3.1 over HTTP: the review as a checklist (customer qualification with the blocked list and
the unpaid history, legality, price accuracy), the reviewer's answers and the phone call."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.test_exceptions import stocked
from tests.support.orders import order_body
from tests.support.system import System


def new_customer_id() -> str:
    return f"C-{uuid.uuid4().hex[:10].upper()}"


async def under_review(system: System, body: dict[str, Any]) -> dict[str, Any]:
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    return await system.wait_for(body["order_id"], "under_review")


def findings(order: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(f["point"], f["code"], f["needs_answer"]) for f in order["review_findings"]]


async def test_p3_1_a_blocked_customers_order_is_refused_approval(system: System):
    customer = new_customer_id()
    path = f"/api/v1/customers/{customer}/block"
    refused = await system.http.put(
        path, json={"reason": "chargebacks"}, headers=system.auth("logistics")
    )
    assert refused.status_code == 403
    blocked = await system.http.put(
        path, json={"reason": "chargebacks"}, headers=system.auth("sales")
    )
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["blocked"] is True

    body = order_body(lines=[(stocked(system), 1, "99.00")], customer_id=customer)
    order = await under_review(system, body)
    assert ("customer_qualification", "blocked_customer", False) in findings(order)
    review = f"/api/v1/orders/{body['order_id']}/review"
    answer = await system.post("sales", review, {"approved": True})
    assert answer.status_code == 409, answer.text
    assert answer.json()["refusal"] == "customer_blocked"
    assert "P3.1" in answer.json()["detail"]
    rejected = await system.post(
        "sales", review, {"approved": False, "reason_code": "customer_not_eligible"}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    # Off the list: the customer's next order may be approved.
    gone = await system.http.delete(path, headers=system.auth("sales"))
    assert gone.status_code == 204
    assert (await system.http.delete(path, headers=system.auth("sales"))).status_code == 404
    standing = await system.get("sales", f"/api/v1/customers/{customer}/standing")
    assert standing.json() == {
        "blocked": False,
        "blocked_reason": None,
        "earlier_orders": 1,
        "unpaid_orders": 0,
    }


async def test_p3_1_an_unpaid_history_must_be_answered_before_approval(system: System):
    customer = new_customer_id()
    sku = stocked(system)
    unpaid = order_body(lines=[(sku, 1, "50.00")], paid=False, customer_id=customer)
    unpaid["payment"]["method"] = "online"
    order_id = await system.start_directly(unpaid, payment_deadline=timedelta(seconds=1))
    await system.wait_for(order_id, "cancelled")

    body = order_body(lines=[(sku, 1, "50.00")], customer_id=customer)
    order = await under_review(system, body)
    assert ("customer_qualification", "unpaid_history", True) in findings(order)
    review = f"/api/v1/orders/{body['order_id']}/review"
    unanswered = await system.post("sales", review, {"approved": True})
    assert unanswered.status_code == 409, unanswered.text
    assert unanswered.json()["refusal"] == "checklist_unanswered"
    assert unanswered.json()["refusal_params"] == {"points": ["customer_qualification"]}
    checklist = [
        {"point": "customer_qualification", "ok": True, "note": "paid at once this time"},
        {"point": "legality", "ok": True},
        {"point": "price_accuracy", "ok": True},
    ]
    approved = await system.post("sales", review, {"approved": True, "checklist": checklist})
    assert approved.status_code == 200, approved.text
    order = await system.order(body["order_id"])
    reviewed = next(e for e in order["events"] if e["kind"] == "reviewed")
    assert reviewed["data"]["checklist"][0]["note"] == "paid at once this time"


async def test_p3_1_a_phone_verification_records_who_called_when_and_the_outcome(system: System):
    body = order_body(lines=[(stocked(system), 1, "99.00")], new_customer=True)
    await under_review(system, body)
    review = f"/api/v1/orders/{body['order_id']}/review"
    called_at = datetime.now(UTC).replace(microsecond=0)
    no_answer = {"called_at": called_at.isoformat(), "outcome": "no_answer"}
    refused = await system.post("sales", review, {"approved": True, "phone_call": no_answer})
    assert refused.status_code == 409
    assert refused.json()["refusal"] == "phone_verification_required"
    confirmed = {"called_at": called_at.isoformat(), "outcome": "confirmed", "note": "it is her"}
    approved = await system.post("sales", review, {"approved": True, "phone_call": confirmed})
    assert approved.status_code == 200, approved.text
    order = await system.order(body["order_id"])
    assert order["phone_verified"] is True
    reviewed = next(e for e in order["events"] if e["kind"] == "reviewed")
    assert reviewed["actor_id"] == system.staff_ids["sales"]
    assert reviewed["data"]["phone_call"]["outcome"] == "confirmed"
