"""The carrier adapter (P3.4): book a shipment, cancel a booking, report a parcel's scans.

A carrier is outside our boundary. `OMS_CARRIERS` maps each carrier the system books
to the class that talks to it (`{"sim": "simulated"}` by default), built as
`ClassName(db, **options)` with `OMS_CARRIER_OPTIONS[carrier]` (activities/adapters.py).
Tracking comes back by the carrier's signed callback
(`POST /api/v1/carriers/{carrier}/events`, api/routes/carriers.py) or, for a carrier
without callbacks, by polling `scans`.

Failure modes (activities/adapters.py): `Declined` (the carrier will not carry it:
logistics picks another), `Temporary` and `Unknown` (retried with the same booking id).
"""

from __future__ import annotations

from typing import Protocol

from domain.carriers import CarrierScan, ShipmentBooking


class Carrier(Protocol):
    def book(self, booking: ShipmentBooking) -> str:
        """Book the shipment; returns the carrier's tracking number.

        Idempotent on `booking.booking_id`: booked again, the same number comes back.
        """
        ...

    def cancel(self, tracking_number: str) -> None:
        """Cancel a booking not yet collected. Idempotent; `Declined` once collected."""
        ...

    def scans(self, tracking_number: str) -> list[CarrierScan]:
        """Every scan of the parcel so far, oldest first (for carriers polled, not calling)."""
        ...
