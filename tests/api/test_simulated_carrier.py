"""The simulated carrier's driver against a live API: it posts each parcel's scans to the
signed callback as they fall due, and the order reaches `delivered` by itself (P3.4)."""

from __future__ import annotations

import asyncio
import threading
import uuid

from activities.carrier_sim import SimulatedCarrier, run_simulated_carrier
from config.settings import SimCarrierSettings
from domain.carriers import Handover, ShipmentBooking
from tests.support.flows import act, create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import System


async def test_the_driver_moves_a_dispatched_order_to_delivered_without_anyone_posting(
    system: System,
):
    sku = f"SKU-SIM-{new_order_id()}"
    system.set_stock(sku, 5)
    order_id = await create(system, order_body(lines=[(sku, 1, "59.00")]))
    await drive_to(system, order_id, "awaiting_dispatch")
    sim = SimCarrierSettings(
        step_seconds=0.2,
        poll_seconds=0.1,
        delay_share=0,
        damage_share=0,
        loss_share=0,
        callback_url=str(system.http.base_url),
    )
    options = {"step_seconds": 0.2, "delay_share": 0, "damage_share": 0, "loss_share": 0}
    number = SimulatedCarrier(system.db, **options).book(
        ShipmentBooking(
            booking_id=f"B-{uuid.uuid4().hex}",
            order_id=order_id,
            carrier="sim",
            method="standard",
            handover=Handover.COURIER_PICKUP,
            packages=1,
        )
    )
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "sim", "method": "standard", "tracking_number": number},
    )
    settings = system.settings.model_copy(update={"sim_carrier": sim})
    stop = threading.Event()
    driver = threading.Thread(target=run_simulated_carrier, args=(settings, system.db, stop))
    driver.start()
    try:
        order = await system.wait_for(order_id, "delivered", "completed", timeout=30)
    finally:
        stop.set()
        await asyncio.to_thread(driver.join, 10)
    tracking = [e for e in order["events"] if e["kind"] == "tracking"]
    assert [e["data"]["event"] for e in tracking] == [
        "in_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert {e["actor_id"] for e in tracking} == {"carrier:sim"}
    # Every scan was posted once: nothing is left due.
    left = SimulatedCarrier(system.db, **options).due_scans()
    assert [d for d in left if d.scan.tracking_number == number] == []
