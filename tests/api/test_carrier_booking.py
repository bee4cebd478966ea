"""Dispatch with a carrier the system books, over HTTP (P3.4): the shipment is booked with
the carrier and its tracking number used; the handover (courier pick-up or distribution
centre) follows the rule unless logistics gives a reason; a carrier that declines leaves
the order packed, with the failure on record."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.client import Client

from activities.adapters import Declined
from db.carrier_tables import carrier_bookings
from db.engine import Database
from domain.carriers import CarrierScan, ShipmentBooking
from domain.ids import order_workflow_id
from tests.conftest import TEST_POLICY
from tests.support.catalogue import any_price
from tests.support.flows import create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system


class RefusingCarrier:
    """A test-only stand-in for a carrier that will not carry anything (outside our
    boundary, named as such): chosen only by settings, like any carrier."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def book(self, booking: ShipmentBooking) -> str:
        raise Declined("no service to that address")

    def cancel(self, tracking_number: str) -> None:
        raise Declined("nothing booked")

    def scans(self, tracking_number: str) -> list[CarrierScan]:
        return []


@pytest_asyncio.fixture(scope="module")
async def shipping(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    path: Path = tmp_path_factory.mktemp("shipping") / "oms.db"
    carriers = {"sim": "simulated", "nope": "tests.api.test_carrier_booking:RefusingCarrier"}
    async with running_system(client, f"sqlite:///{path}", TEST_POLICY, carriers=carriers) as sys:
        yield sys


async def packed(system: System, size_class: str = "small", **options: Any) -> str:
    sku = f"SKU-B-{new_order_id()}"
    system.put_product(sku, **(any_price(sku).model_dump() | {"size_class": size_class}))
    system.set_stock(sku, 5)
    order_id = await create(system, order_body(lines=[(sku, 1, "99.00")], **options))
    await drive_to(system, order_id, "awaiting_dispatch")
    return order_id


async def dispatch(system: System, order_id: str, body: dict[str, Any], expect: int) -> Any:
    response = await system.post("logistics", f"/api/v1/orders/{order_id}/dispatch", body)
    assert response.status_code == expect, response.text
    return response.json()


async def test_p3_4_a_carrier_the_system_books_gives_its_own_tracking_number(shipping: System):
    order_id = await packed(shipping)
    answer = await dispatch(shipping, order_id, {"carrier": "sim", "method": "standard"}, 200)
    assert answer["status"] == "in_transit"
    number = answer["tracking_number"]
    assert number and number.startswith("SIM")
    order = await shipping.order(order_id)
    shipment = order["shipments"][-1]
    assert (shipment["tracking_number"], shipment["booked"], shipment["handover"]) == (
        number,
        True,
        "courier_pickup",
    )
    assert shipment["handover_reason"] == "the default: the courier collects"
    with shipping.db.read() as conn:
        booked = conn.execute(
            select(carrier_bookings.c.order_id).where(carrier_bookings.c.tracking_number == number)
        ).scalar_one()
    assert booked == order_id
    # The Temporal UI's details name the carrier and its number.
    metadata = await shipping.client.get_workflow_handle(order_workflow_id(order_id)).query(
        "__temporal_workflow_metadata"
    )
    assert f"sim {number}" in metadata.current_details


async def test_p3_4_bulky_goods_go_to_the_distribution_centre_by_the_rule(shipping: System):
    order_id = await packed(shipping, size_class="bulky")
    await dispatch(shipping, order_id, {"carrier": "sim", "method": "standard"}, 200)
    shipment = (await shipping.order(order_id))["shipments"][-1]
    assert (shipment["handover"], shipment["handover_reason"]) == (
        "distribution_centre",
        "bulky goods travel as freight",
    )


async def test_p3_4_another_handover_than_the_rule_needs_a_reason(shipping: System):
    order_id = await packed(shipping)
    body = {"carrier": "sim", "method": "express", "handover": "distribution_centre"}
    refused = await dispatch(shipping, order_id, body, 409)
    assert refused["refusal"] == "handover_reason_required"
    assert (await shipping.order(order_id))["status"] == "awaiting_dispatch"
    body["handover_reason"] = "the courier's van is full today"
    await dispatch(shipping, order_id, body, 200)
    shipment = (await shipping.order(order_id))["shipments"][-1]
    assert (shipment["handover"], shipment["handover_reason"]) == (
        "distribution_centre",
        "the courier's van is full today",
    )


async def test_p3_4_a_carrier_the_system_does_not_book_needs_the_number_logistics_was_given(
    shipping: System,
):
    order_id = await packed(shipping)
    body: dict[str, Any] = {"carrier": "SF Express", "method": "standard"}
    refused = await dispatch(shipping, order_id, body, 409)
    assert refused["refusal"] == "tracking_number_required"
    body["tracking_number"] = "SF-77"
    answer = await dispatch(shipping, order_id, body, 200)
    assert answer["tracking_number"] is None  # nothing was booked
    shipment = (await shipping.order(order_id))["shipments"][-1]
    assert (shipment["tracking_number"], shipment["booked"]) == ("SF-77", False)


async def test_p3_4_a_carrier_that_declines_leaves_the_order_packed_with_the_failure_recorded(
    shipping: System,
):
    order_id = await packed(shipping)
    refused = await dispatch(shipping, order_id, {"carrier": "nope", "method": "standard"}, 409)
    assert refused["refusal"] == "carrier_booking_failed"
    order = await shipping.order(order_id)
    assert order["status"] == "awaiting_dispatch"
    [failed] = [e for e in order["events"] if e["kind"] == "carrier_booking_failed"]
    assert failed["data"]["carrier"] == "nope"
    assert "no service to that address" in failed["data"]["failure"]
    # Logistics dispatches again, with a carrier that books.
    await dispatch(shipping, order_id, {"carrier": "sim", "method": "standard"}, 200)
    assert (await shipping.order(order_id))["status"] == "in_transit"
