"""An order's timeline from its workflow history (P6.1, P8.1): it survives the read model's loss."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete

from db.tables import order_events, order_lines, orders, tasks
from oms.cli import parser
from tests.support.orders import new_order_id, order_body
from tests.support.system import System


async def test_the_history_endpoint_returns_every_step_after_the_read_model_rows_are_deleted(
    system: System, capsys
):
    sku = f"SKU-TL-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "99.00")])
    order_id = body["order_id"]
    assert (await system.post("platform", "/api/v1/orders", body)).status_code == 201
    await system.wait_for(order_id, "under_review")
    reviewed = await system.post(
        "sales", f"/api/v1/orders/{order_id}/review", {"approved": True, "note": "price checked"}
    )
    assert reviewed.json()["status"] == "ready_to_pack"
    packed = await system.post(
        "warehouse",
        f"/api/v1/orders/{order_id}/pack",
        {"packages": 2, "accessories": ["manual", "warranty_card"]},
    )
    assert packed.status_code == 200

    with system.db.write() as conn:  # the read model loses the order entirely
        for table in (order_events, order_lines, tasks, orders):
            conn.execute(delete(table).where(table.c.order_id == order_id))

    response = await system.get("supervision", f"/api/v1/orders/{order_id}/history")
    assert response.status_code == 200, response.text
    timeline = response.json()
    assert (timeline["order_id"], timeline["status"], timeline["closed"]) == (
        order_id,
        "awaiting_dispatch",
        False,
    )
    steps = [(s["seq"], s["kind"], s["actor_id"], s["department"]) for s in timeline["steps"]]
    assert steps == [
        (1, "received", system.staff_ids["platform"], "platform"),
        # The payment the platform reported is booked in the ledger at once (P2.2, P5).
        (2, "ledger", system.staff_ids["platform"], "platform"),
        (3, "reviewed", system.staff_ids["sales"], "sales"),
        (4, "stock_reserved", "system", "admin"),
        (5, "packed", system.staff_ids["warehouse"], "warehouse"),
    ]
    by_kind = {s["kind"]: s for s in timeline["steps"]}
    assert by_kind["reviewed"]["outcome"] == "approved"
    assert by_kind["reviewed"]["note"] == "price checked"
    assert by_kind["packed"]["outcome"] == "2 package(s) with manual, warranty_card"
    assert all(s["at"] for s in timeline["steps"])

    # The auditors' command tells the same story.
    args = parser().parse_args(["audit", "timeline", order_id])
    assert await asyncio.to_thread(args.fn, args, system.settings) == 0
    printed = capsys.readouterr().out
    assert "packed" in printed and system.staff_ids["warehouse"] in printed


async def test_the_history_is_for_supervision_and_an_unknown_order_is_a_404(system: System):
    body = order_body()
    assert (await system.post("platform", "/api/v1/orders", body)).status_code == 201
    path = f"/api/v1/orders/{body['order_id']}/history"
    assert (await system.get("sales", path)).status_code == 403
    assert (await system.get("admin", path)).status_code == 200
    unknown = await system.get("supervision", f"/api/v1/orders/{new_order_id()}/history")
    assert unknown.status_code == 404
    assert unknown.json()["detail"].endswith("not found")
