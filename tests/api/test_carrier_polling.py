"""A carrier without callbacks is polled (P3.4): its parcels' scans are asked for and handed
to its callback, signed, so the order moves on as with a carrier that calls back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client

from activities.carrier_poller import poll_once
from activities.shipping import carriers_from
from tests.conftest import TEST_POLICY
from tests.support.flows import act, create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system


@pytest_asyncio.fixture(scope="module")
async def polling(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    path: Path = tmp_path_factory.mktemp("polling") / "oms.db"
    async with running_system(
        client,
        f"sqlite:///{path}",
        TEST_POLICY,
        # `quiet` stands for a carrier that never calls back (the simulated carrier, its
        # driver not running): a scan every 50 ms, nothing lost on the way.
        carriers={"sim": "simulated", "quiet": "simulated"},
        carrier_options={
            "quiet": {"step_seconds": 0.05, "delay_share": 0, "damage_share": 0, "loss_share": 0}
        },
        polled_carriers=["quiet"],
    ) as system:
        yield system


def poll(system: System, posted: set[str]) -> int:
    carriers = carriers_from(system.settings, system.db)
    with httpx.Client(timeout=10) as http:
        return poll_once(
            system.settings, system.db, carriers, http, posted, base_url=str(system.http.base_url)
        )


async def test_p3_4_a_polled_carriers_scans_deliver_the_order_each_applied_once(polling: System):
    sku = f"SKU-P-{new_order_id()}"
    polling.set_stock(sku, 2)
    order_id = await create(polling, order_body(lines=[(sku, 1, "40.00")]))
    await drive_to(polling, order_id, "awaiting_dispatch")
    await act(
        polling,
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "quiet", "method": "standard"},
    )
    await asyncio.sleep(0.5)  # every scan of the parcel is due
    posted: set[str] = set()
    taken = await asyncio.to_thread(poll, polling, posted)
    assert taken == 4  # collected, in transit, out for delivery, delivered
    order = await polling.wait_for(order_id, "delivered")
    scans = [e["data"]["event"] for e in order["events"] if e["kind"] == "tracking"]
    assert scans == ["in_transit", "in_transit", "out_for_delivery", "delivered"]
    # Delivered, the parcel is no longer asked about, even by a poller started afresh.
    assert await asyncio.to_thread(poll, polling, set()) == 0
    order = await polling.order(order_id)
    assert len([e for e in order["events"] if e["kind"] == "tracking"]) == 4
