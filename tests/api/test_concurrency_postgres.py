"""P3.2 on PostgreSQL: 50 orders race for 10 units; exactly 10 get them, nobody oversells."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from temporalio.client import Client

from tests.conftest import TEST_POLICY
from tests.support.orders import order_body
from tests.support.postgres import temporary_database
from tests.support.system import running_system

pytestmark = [pytest.mark.postgres, pytest.mark.load]


async def test_fifty_concurrent_orders_for_ten_units_reserve_exactly_ten(client: Client):
    with temporary_database() as url:
        async with running_system(client, url, TEST_POLICY) as system:
            system.set_stock("SKU-HOT", 10)
            bodies = [order_body(lines=[("SKU-HOT", 1, "59.00")]) for _ in range(50)]
            created = await asyncio.gather(
                *[system.post("platform", "/api/v1/orders", b) for b in bodies]
            )
            assert {r.status_code for r in created} == {201}
            for body in bodies:
                await system.wait_for(body["order_id"], "under_review")

            reviews = await asyncio.gather(
                *[
                    system.post(
                        "sales", f"/api/v1/orders/{b['order_id']}/review", {"approved": True}
                    )
                    for b in bodies
                ]
            )
            assert {r.status_code for r in reviews} == {200}, [r.text for r in reviews][:3]
            outcomes = Counter(r.json()["status"] for r in reviews)
            assert outcomes == {"ready_to_pack": 10, "out_of_stock": 40}

            listed = await system.get(
                "supervision", "/api/v1/orders", status="ready_to_pack", limit=100
            )
            assert len(listed.json()["items"]) == 10
            stock = (await system.get("warehouse", "/api/v1/inventory/SKU-HOT")).json()
            assert (stock["on_hand"], stock["reserved"], stock["available"]) == (10, 10, 0)
