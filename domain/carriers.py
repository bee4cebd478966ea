"""Carriers (P3.4): how a parcel is handed over, booked and tracked, as plain data.

The carrier itself is outside our boundary (activities/carriers.py adapts one);
this module holds what the order's policy and the adapters exchange: the booking
the workflow asks for, the carrier's answer, a scan the carrier reports, and the
rule that chooses how the parcel reaches the carrier (P3.4: "choose the delivery
method from the address and the customer's wishes; courier pick-up or dispatch to
a distribution centre").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Handover(StrEnum):
    """P3.4: the courier collects at the warehouse, or the goods go to the carrier's
    distribution centre."""

    COURIER_PICKUP = "courier_pickup"
    DISTRIBUTION_CENTRE = "distribution_centre"


#: Goods a courier's van does not take: they go by the distribution centre's freight.
FREIGHT_SIZES = frozenset({"bulky"})  # domain.catalogue.SizeClass.BULKY
#: Places couriers do not collect for: their parcels start at the distribution centre.
REMOTE_MARKERS = ("新疆", "西藏", "青海", "Xinjiang", "Tibet", "Xizang", "Qinghai", "island", "岛")


def choose_handover(
    address: str | None, wish: Handover | None, size_classes: Iterable[str]
) -> tuple[Handover, str]:
    """P3.4: how the parcel reaches the carrier, and why (logistics may override it with a
    reason of its own).

    Bulky goods go to the distribution centre whatever is wished (a courier's van cannot
    take them); so do parcels for remote addresses couriers do not serve. Otherwise the
    customer's wish stands, and without one the courier collects (the quicker way).
    """
    if any(size in FREIGHT_SIZES for size in size_classes):
        return Handover.DISTRIBUTION_CENTRE, "bulky goods travel as freight"
    if address and any(marker.lower() in address.lower() for marker in REMOTE_MARKERS):
        return Handover.DISTRIBUTION_CENTRE, "remote address: couriers do not collect for it"
    if wish is not None:
        return wish, "the customer's choice"
    return Handover.COURIER_PICKUP, "the default: the courier collects"


class ShipmentBooking(BaseModel):
    """What the workflow asks a carrier to book (the activity `book_shipment`)."""

    model_config = ConfigDict(extra="forbid")

    #: The idempotency key: a booking retried is booked once.
    booking_id: str
    order_id: str
    carrier: str
    #: `standard` or `express` (domain.commands.DeliveryMethod).
    method: str
    handover: Handover
    packages: int = Field(ge=1)
    #: Where to: personal data, for the carrier only (payloads are encrypted).
    destination: str = ""
    contact_name: str = ""
    contact_phone: str = ""


class BookedShipment(BaseModel):
    """The carrier's answer to a booking: its tracking number, or why there is none."""

    model_config = ConfigDict(extra="forbid")

    booking_id: str
    carrier: str
    tracking_number: str | None = None
    #: Why it was not booked (declined, or the carrier stayed unreachable).
    failure: str | None = None

    @property
    def booked(self) -> bool:
        return self.tracking_number is not None


class CarrierScan(BaseModel):
    """One event a carrier reports about a parcel (by callback or when polled).

    `event` is one of `/tracking`'s: in_transit, out_for_delivery, delivered, lost,
    damaged, delayed (domain.commands.TrackingEventKind)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=100)
    tracking_number: str = Field(min_length=1, max_length=100)
    event: str
    location: str | None = Field(default=None, max_length=200)
    occurred_at: datetime


class ShipmentCancellation(BaseModel):
    """What the workflow asks a carrier to cancel (the activity `cancel_shipment`)."""

    model_config = ConfigDict(extra="forbid")

    booking_id: str
    order_id: str
    carrier: str
    tracking_number: str


class CancelledShipment(BaseModel):
    """The carrier's answer to a cancellation: cancelled, or why not (collected already)."""

    model_config = ConfigDict(extra="forbid")

    booking_id: str
    cancelled: bool
    failure: str | None = None
