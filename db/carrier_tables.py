"""Carriers (P3.4): the bookings made with them, the callbacks already taken, and the
simulated carrier's own books (it stands in for an outside system, so its state lives in
tables of its own, as the simulated payment gateway's does)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from db.tables import metadata
from db.types import UTCDateTime

#: One row per shipment booked with a carrier (activities/shipping.py `book_shipment`),
#: keyed by the workflow's booking id: a retried booking is recorded once.
carrier_bookings = Table(
    "carrier_bookings",
    metadata,
    Column("booking_id", String(150), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("carrier", String(100), nullable=False),
    Column("tracking_number", String(100), nullable=False),
    Column("handover", String(32), nullable=False),
    Column("booked_at", UTCDateTime, nullable=False),
    Column("cancelled_at", UTCDateTime),
    UniqueConstraint("carrier", "tracking_number", name="uq_carrier_bookings_tracking"),
    Index("ix_carrier_bookings_order", "order_id"),
)

#: The replay guard of carrier callbacks (api/routes/carriers.py): every signature taken
#: within the tolerance window. A request seen before is refused; older rows are pruned.
carrier_callbacks = Table(
    "carrier_callbacks",
    metadata,
    Column("carrier", String(100), nullable=False),
    Column("signature", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("carrier", "signature", name="uq_carrier_callbacks_signature"),
    Index("ix_carrier_callbacks_received", "received_at"),
)

#: The simulated carrier's parcels (activities/carrier_sim.py): each one's fate, drawn
#: once from its booking id, and its plan of scans with how far the carrier has got.
simulated_carrier_parcels = Table(
    "simulated_carrier_parcels",
    metadata,
    Column("tracking_number", String(100), primary_key=True),
    Column("booking_id", String(150), nullable=False, unique=True),
    Column("carrier", String(100), nullable=False),
    Column("order_id", String(64), nullable=False),
    #: normal | delayed | damaged | lost
    Column("fate", String(16), nullable=False),
    Column("booked_at", UTCDateTime, nullable=False),
    #: [{"event", "location", "offset_seconds"}], oldest first.
    Column("plan", JSON, nullable=False),
    #: The first scan of the plan not yet posted to the carrier's callback.
    Column("next_index", Integer, nullable=False, default=0),
    #: When the driver should post it (None: nothing more to post).
    Column("next_due", UTCDateTime),
    Column("collected", Boolean, nullable=False, default=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Index("ix_simulated_carrier_parcels_due", "next_due"),
)
