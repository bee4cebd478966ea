"""Short ways through the policy for tests that need an order in a later state, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import staff as staff_store
from domain.actors import Department
from tests.support.orders import order_body
from tests.support.system import System


async def order_under_review(system: System, **changes: object) -> str:
    body = order_body(**changes)  # type: ignore[arg-type]
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    await system.wait_for(body["order_id"], "under_review")
    return str(body["order_id"])


async def delivered_order(system: System, customer_id: str = "C1001") -> str:
    """A service order (nothing to pack) taken through review, the visit, the work and the
    customer's confirmation (P1.2) to delivery."""
    order_id = await order_under_review(
        system, kind="service", lines=[("SVC-VISIT", 1, "50.00")], customer_id=customer_id
    )
    base = f"/api/v1/orders/{order_id}"
    reviewed = await system.post("sales", f"{base}/review", {"approved": True})
    assert reviewed.json()["status"] == "awaiting_appointment", reviewed.text
    start = datetime.now(UTC) - timedelta(minutes=10)
    window = {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
        "technician": "Technician Zhou",
    }
    agreed = await system.post("logistics", f"{base}/appointment", window)
    assert agreed.json()["status"] == "service_scheduled", agreed.text
    work = {"technician": "Technician Zhou", "work": "visited"}
    done = await system.post("logistics", f"{base}/service-work", work)
    assert done.json()["status"] == "awaiting_confirmation", done.text
    confirmed = await system.post("customer_service", f"{base}/service-confirmation", {})
    assert confirmed.json()["status"] == "delivered", confirmed.text
    await system.wait_for(order_id, "delivered", "completed")
    return order_id


def colleague(system: System, department: Department | str) -> tuple[str, dict[str, str]]:
    """A second member of the department: their staff id and auth header."""
    with system.db.write() as conn:
        member, token = staff_store.add_staff(
            conn, "Colleague", Department(department), datetime.now(UTC)
        )
    return member.staff_id, {"Authorization": f"Bearer {token}"}
