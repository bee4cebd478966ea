"""Drive an order over HTTP to a given point of the main line, as the departments would."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.system import System

#: The main line in order; `drive_to` stops once the order reached the named status.
STEPS = ("under_review", "ready_to_pack", "awaiting_dispatch", "in_transit", "delivered")


async def create(system: System, body: dict[str, Any]) -> str:
    response = await system.post("platform", "/api/v1/orders", body)
    assert response.status_code == 201, response.text
    await system.wait_for(body["order_id"], "under_review", "needs_correction", "awaiting_payment")
    return str(body["order_id"])


async def act(system: System, who: str, path: str, body: Any, expect: int = 200) -> dict[str, Any]:
    response = await system.post(who, path, body)
    assert response.status_code == expect, f"{path}: {response.status_code} {response.text}"
    return dict(response.json())


async def drive_to(
    system: System, order_id: str, status: str, *, phone_verified: bool = False
) -> dict[str, Any]:
    """Take an order under review through the main line until it is `status`."""
    base = f"/api/v1/orders/{order_id}"
    target = STEPS.index(status)
    if target >= 1:
        review = {"approved": True, "note": "ok"}
        if phone_verified:
            review["phone_verified"] = True
        await act(system, "sales", f"{base}/review", review)
    if target >= 2:
        await act(
            system,
            "warehouse",
            f"{base}/pack",
            {"packages": 1, "accessories": ["manual", "warranty_card"]},
        )
    if target >= 3:
        await act(
            system,
            "logistics",
            f"{base}/dispatch",
            {"carrier": "SF Express", "method": "standard", "tracking_number": "SF-1"},
        )
    if target >= 4:
        await track(system, order_id, "delivered")
        return await system.wait_for(order_id, "delivered")
    return await system.order(order_id)


async def track(system: System, order_id: str, event: str, note: str | None = None) -> None:
    response = await system.post(
        "platform",
        f"/api/v1/orders/{order_id}/tracking",
        {"event_id": f"E-{uuid.uuid4().hex[:8]}", "event": event, "note": note},
    )
    assert response.status_code == 202, response.text


def ledger(order: dict[str, Any]) -> list[tuple[str, str]]:
    """The order's money movements as (kind, signed amount), in booking order."""
    return [(e["kind"], e["amount"]) for e in order["ledger"]]


def open_tasks(order: dict[str, Any]) -> dict[str, str]:
    """Open tasks as {kind: department}."""
    return {t["kind"]: t["department"] for t in order["open_tasks"]}


def task_id(order: dict[str, Any], kind: str) -> str:
    [task] = [t for t in order["open_tasks"] if t["kind"] == kind]
    return str(task["task_id"])


def case(order: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in order["cases"] if c["kind"] == kind]
    assert len(found) == 1, order["cases"]
    return dict(found[0])
