"""Booking and cancelling shipments with the carriers the system books (P3.4).

`OMS_CARRIERS` names each carrier's class (activities/carriers.py, docs/integrations.md);
the worker builds them once (`carriers_from`) and these activities talk to them. The
workflow's booking id is the idempotency key all the way: the carrier is asked again with
it on a retry, and the booking is recorded under it once.

Failure modes (activities/adapters.py): `Declined` is an answer (`BookedShipment.failure`,
logistics picks another carrier); `Temporary` and `Unknown` raise, so Temporal retries the
activity with the same booking id; an unknown carrier is a non-retryable failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.adapters import Declined, Temporary, Unknown, build_adapter
from activities.carrier_sim import simulated_options
from activities.carriers import Carrier
from config.settings import Settings
from db import carriers as carrier_store
from db.engine import Database
from domain.carriers import (
    BookedShipment,
    CancelledShipment,
    ShipmentBooking,
    ShipmentCancellation,
)

SIMULATED = "activities.carrier_sim:SimulatedCarrier"
#: Short names a setting may use instead of `package.module:ClassName`.
CARRIER_ALIASES = {"simulated": SIMULATED}


def is_simulated(spec: str) -> bool:
    return CARRIER_ALIASES.get(spec, spec) == SIMULATED


def carriers_from(settings: Settings, db: Database) -> dict[str, Carrier]:
    """Each carrier the settings name, built as `ClassName(db, **options)`.

    The simulated one takes its clock and shares from `OMS_SIM_CARRIER__*`, and
    `OMS_CARRIER_OPTIONS[name]` over them; any other class only its options.
    """
    built: dict[str, Carrier] = {}
    for name, spec in settings.carriers.items():
        options = dict(settings.carrier_options.get(name, {}))
        if is_simulated(spec):
            options = {**simulated_options(settings), **options}
        try:
            carrier = build_adapter(spec, db, options, CARRIER_ALIASES)
        except ValueError as error:
            cause = error.__context__
            # Name the options' keys only: their values may be credentials.
            detail = (
                f"it cannot be built with OMS_CARRIER_OPTIONS[{name!r}] "
                f"(keys {sorted(options)}): {cause}"
                if isinstance(cause, TypeError)
                else str(error)
            )
            raise SystemExit(
                f"OMS_CARRIERS[{name!r}]={spec!r} cannot be used: {detail} (docs/integrations.md)"
            ) from None
        lacking = [
            m for m in ("book", "cancel", "scans") if not callable(getattr(carrier, m, None))
        ]
        if lacking:
            raise SystemExit(
                f"OMS_CARRIERS[{name!r}]={spec!r} cannot be used: {type(carrier).__name__} "
                f"lacks {', '.join(lacking)} (docs/integrations.md)"
            )
        built[name] = carrier
    return built


def _reason(failure: Exception) -> str:
    # The carrier's own words, bounded: a failure is shown to staff and kept in history.
    return (str(failure) or type(failure).__name__)[:300]


class ShippingActivities:
    def __init__(self, db: Database, carriers: Mapping[str, Carrier]) -> None:
        self.db = db
        self.carriers = dict(carriers)

    def _carrier(self, name: str) -> Carrier:
        carrier = self.carriers.get(name)
        if carrier is None:
            raise ApplicationError(
                f"the system books no carrier named {name!r} (OMS_CARRIERS)",
                type="UnknownCarrier",
                non_retryable=True,
            )
        return carrier

    @activity.defn
    def book_shipment(self, booking: ShipmentBooking) -> BookedShipment:
        """Book the shipment with its carrier, once per booking id, and record it (P3.4)."""
        carrier = self._carrier(booking.carrier)
        with self.db.read() as conn:
            recorded = carrier_store.booking_of(conn, booking.booking_id)
        if recorded is not None:
            return BookedShipment(
                booking_id=booking.booking_id,
                carrier=booking.carrier,
                tracking_number=str(recorded["tracking_number"]),
            )
        try:
            tracking_number = carrier.book(booking)
        except Declined as declined:
            return BookedShipment(
                booking_id=booking.booking_id, carrier=booking.carrier, failure=_reason(declined)
            )
        except (Temporary, Unknown) as failure:
            # Retried by Temporal with the same booking id, which the carrier honours.
            raise ApplicationError(
                f"carrier {booking.carrier}: {_reason(failure)}", type=type(failure).__name__
            ) from failure
        with self.db.write() as conn:
            tracking_number = carrier_store.record_booking(
                conn,
                booking_id=booking.booking_id,
                order_id=booking.order_id,
                carrier=booking.carrier,
                tracking_number=tracking_number,
                handover=booking.handover,
                booked_at=datetime.now(UTC),
            )
        return BookedShipment(
            booking_id=booking.booking_id,
            carrier=booking.carrier,
            tracking_number=tracking_number,
        )

    @activity.defn
    def cancel_shipment(self, request: ShipmentCancellation) -> CancelledShipment:
        """Cancel a booking not yet collected; a carrier's refusal is an answer, not a retry."""
        carrier = self._carrier(request.carrier)
        try:
            carrier.cancel(request.tracking_number)
        except Declined as declined:
            return CancelledShipment(
                booking_id=request.booking_id, cancelled=False, failure=_reason(declined)
            )
        except (Temporary, Unknown) as failure:
            raise ApplicationError(
                f"carrier {request.carrier}: {_reason(failure)}", type=type(failure).__name__
            ) from failure
        with self.db.write() as conn:
            carrier_store.record_cancellation(
                conn, request.carrier, request.tracking_number, datetime.now(UTC)
            )
        return CancelledShipment(booking_id=request.booking_id, cancelled=True)
