"""Short ways through the policy for tests that need an order in a later state, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

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
    """A service order (nothing to pack) taken through review and dispatch to delivery."""
    order_id = await order_under_review(
        system, kind="service", lines=[("SVC-VISIT", 1, "50.00")], customer_id=customer_id
    )
    reviewed = await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    assert reviewed.json()["status"] == "awaiting_dispatch", reviewed.text
    dispatched = await system.post(
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "SF", "method": "standard", "tracking_number": "SF1"},
    )
    assert dispatched.json()["status"] == "in_transit", dispatched.text
    await system.post(
        "platform",
        f"/api/v1/orders/{order_id}/tracking",
        {"event_id": f"{order_id}-D", "event": "delivered"},
    )
    await system.wait_for(order_id, "delivered", "completed")
    return order_id


def colleague(system: System, department: Department | str) -> tuple[str, dict[str, str]]:
    """A second member of the department: their staff id and auth header."""
    with system.db.write() as conn:
        member, token = staff_store.add_staff(
            conn, "Colleague", Department(department), datetime.now(UTC)
        )
    return member.staff_id, {"Authorization": f"Bearer {token}"}
