"""P1.2 over HTTP: a service order (SVC-INSTALL) never asks for stock or a carrier. Approved,
logistics agrees a visit with the customer (`/appointment`), records the work on site
(`/service-work`); the customer's confirmation (`/service-confirmation`, or by itself after
`service_confirmation_window`) opens the after-sales window of delivered goods, where a
complaint (`/service-complaint`) brings a rework visit or a refund (P5.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.flows import act, create, ledger, open_tasks
from tests.support.orders import order_body
from tests.support.system import System

ADDRESS = "3 Wangfujing St, Beijing"
GOODS_STEPS = (
    ("warehouse", "pack", {"packages": 1, "accessories": ["manual", "warranty_card"]}),
    ("logistics", "dispatch", {"carrier": "SF", "method": "standard", "tracking_number": "SF1"}),
    ("warehouse", "backorder", {"reason": "none", "restock_eta": "2030-01-01T00:00:00Z"}),
    ("platform", "tracking", {"event_id": "E1", "event": "delivered"}),
)


def service_body(price: str = "80.00") -> dict[str, Any]:
    return order_body(kind="service", lines=[("SVC-INSTALL", 1, price)])


def visit(**changes: Any) -> dict[str, Any]:
    """A visit agreed with the customer: a two-hour window that has begun."""
    start = datetime.now(UTC) - timedelta(minutes=10)
    body = {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
        "technician": "Technician Zhou",
    }
    return body | changes


def kinds(order: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in order["events"]]


async def approved(system: System, order_id: str) -> None:
    answer = await act(system, "sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert answer["status"] == "awaiting_appointment"


async def visited_and_worked(system: System, order_id: str, **visit_changes: Any) -> None:
    base = f"/api/v1/orders/{order_id}"
    agreed = await act(system, "logistics", f"{base}/appointment", visit(**visit_changes))
    assert agreed["status"] == "service_scheduled" and agreed["task_id"]
    work = {"technician": "Technician Zhou", "work": "air conditioner installed"}
    done = await act(system, "logistics", f"{base}/service-work", work)
    assert done["status"] == "awaiting_confirmation"


async def test_p1_2_a_service_order_goes_from_intake_to_completed_without_stock_or_carrier(
    system: System,
):
    order_id = await create(system, service_body())
    base = f"/api/v1/orders/{order_id}"
    await approved(system, order_id)
    order = await system.order(order_id)
    assert open_tasks(order) == {"schedule_service": "logistics"}
    listed = await system.get("logistics", "/api/v1/orders", status="awaiting_appointment")
    assert order_id in [o["order_id"] for o in listed.json()["items"]]

    # No stock, no carrier, no tracking (P1.2): 409 naming the clause, nothing changes.
    for who, step, body in GOODS_STEPS:
        refused = await system.post(who, f"{base}/{step}", body)
        assert refused.status_code == 409, (step, refused.text)
        assert refused.json()["refusal"] == "not_for_service_orders"
        assert "P1.2" in refused.json()["detail"]

    await visited_and_worked(system, order_id, address=ADDRESS)
    order = await system.order(order_id, "logistics")
    [seen] = order["service_visits"]
    assert (seen["technician"], seen["address"], seen["work"]) == (
        "Technician Zhou",
        ADDRESS,
        "air conditioner installed",
    )
    # The visit's address is masked as the shipping address is (domain/personal_data.py).
    masked = await system.order(order_id, "warehouse")
    assert masked["service_visits"][0]["address"] == "***"

    confirmed = await act(system, "customer_service", f"{base}/service-confirmation", {})
    assert confirmed["status"] == "delivered"
    order = await system.wait_for(order_id, "completed")  # the windows are seconds in tests
    line = ["appointment_scheduled", "service_performed", "service_confirmed", "completed"]
    assert [kind for kind in kinds(order) if kind in line] == line
    assert not {"stock_reserved", "dispatched", "tracking", "packed"} & set(kinds(order))
    assert order["shipments"] == [] and order["shipment"] is None
    assert order["open_tasks"] == []
    listed = await system.get("supervision", "/api/v1/orders", status="completed", limit=500)
    assert order_id in [o["order_id"] for o in listed.json()["items"]]


async def test_p1_2_without_a_word_from_the_customer_the_service_is_confirmed_by_itself(
    system: System,
):
    order_id = await system.start_directly(
        service_body(), service_confirmation_window=timedelta(seconds=2)
    )
    await system.wait_for(order_id, "under_review")
    await approved(system, order_id)
    await visited_and_worked(system, order_id)
    order = await system.wait_for(order_id, "delivered", "completed", timeout=20)
    confirmed = next(e for e in order["events"] if e["kind"] == "service_confirmed")
    assert confirmed["actor_id"] == "system" and confirmed["data"]["automatic"] is True
    assert "P1.2" in confirmed["note"]
    await system.wait_for(order_id, "completed")


async def test_p5_3_a_complaint_about_the_service_brings_a_rework_visit(system: System):
    order_id = await create(system, service_body())
    base = f"/api/v1/orders/{order_id}"
    await approved(system, order_id)
    await visited_and_worked(system, order_id)
    complaint = {"resolution": "rework", "reason": "the unit still leaks"}
    # Only customer service decides a complaint.
    not_theirs = await system.post("logistics", f"{base}/service-complaint", complaint)
    assert not_theirs.status_code == 403
    answer = await act(system, "customer_service", f"{base}/service-complaint", complaint)
    assert answer["status"] == "awaiting_appointment" and answer["case_id"]
    order = await system.order(order_id)
    assert open_tasks(order) == {"schedule_service": "logistics"}
    [case] = order["cases"]
    assert (case["kind"], case["outcome"]) == ("service_complaint", "rework")
    # Once performed, the service is no longer cancelled: the complaint decided (P4.2).
    cancel = await system.post("customer_service", f"{base}/cancel", {"reason": "asked"})
    assert cancel.status_code == 409 and cancel.json()["refusal"] == "service_already_performed"

    await visited_and_worked(system, order_id)
    order = await system.order(order_id)
    assert [v["rework"] for v in order["service_visits"]] == [False, True]
    await act(system, "platform", f"{base}/service-confirmation", {"note": "fixed"})
    order = await system.wait_for(order_id, "completed")
    assert ledger(order) == [("payment", "80.00")]


async def test_p5_3_a_complaint_may_be_refunded_instead_of_a_return_of_goods(system: System):
    order_id = await create(system, service_body("120.00"))
    base = f"/api/v1/orders/{order_id}"
    await approved(system, order_id)
    await visited_and_worked(system, order_id)
    returned = await system.post(
        "customer_service", f"{base}/returns", {"kind": "return", "reason": "bad work"}
    )
    assert returned.status_code == 409 and returned.json()["refusal"] == "not_for_service_orders"
    complaint = {"resolution": "refund", "reason": "the technician broke the wall"}
    answer = await act(system, "customer_service", f"{base}/service-complaint", complaint)
    assert answer["status"] == "refunded"
    order = await system.wait_until(
        order_id, lambda o: o["refunded_amount"] == "120.00", what="the refund"
    )
    assert [r["amount"] for r in order["refunds"]] == ["120.00"]
