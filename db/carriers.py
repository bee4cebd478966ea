"""Carrier bookings and the callbacks already taken (db/carrier_tables.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from db.carrier_tables import carrier_bookings, carrier_callbacks
from db.tables import orders
from db.upsert import insert_ignore
from domain.carriers import Handover


def record_booking(
    conn: Connection,
    *,
    booking_id: str,
    order_id: str,
    carrier: str,
    tracking_number: str,
    handover: Handover | str,
    booked_at: datetime,
) -> str:
    """Record a booking (idempotent on its id); returns the tracking number on record.

    A booking retried after the carrier answered is recorded once, and the number first
    recorded stands: the carrier is idempotent on the booking id, so it is the same one.
    """
    insert_ignore(
        conn,
        carrier_bookings,
        [
            {
                "booking_id": booking_id,
                "order_id": order_id,
                "carrier": carrier,
                "tracking_number": tracking_number,
                "handover": Handover(handover).value,
                "booked_at": booked_at,
                "cancelled_at": None,
            }
        ],
    )
    found = conn.execute(
        select(carrier_bookings.c.tracking_number).where(
            carrier_bookings.c.booking_id == booking_id
        )
    ).scalar_one()
    return str(found)


def booking_of(conn: Connection, booking_id: str) -> dict[str, object] | None:
    row = (
        conn.execute(select(carrier_bookings).where(carrier_bookings.c.booking_id == booking_id))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def record_cancellation(conn: Connection, carrier: str, tracking_number: str, at: datetime) -> None:
    """Mark the booking cancelled (the first time only)."""
    conn.execute(
        update(carrier_bookings)
        .where(
            carrier_bookings.c.carrier == carrier,
            carrier_bookings.c.tracking_number == tracking_number,
            carrier_bookings.c.cancelled_at.is_(None),
        )
        .values(cancelled_at=at)
    )


def order_for_tracking(conn: Connection, carrier: str, tracking_number: str) -> str | None:
    """The order a carrier's tracking number belongs to: a booking the system made, or else
    a number logistics typed when it dispatched with that carrier (the orders table)."""
    booked = conn.execute(
        select(carrier_bookings.c.order_id).where(
            carrier_bookings.c.carrier == carrier,
            carrier_bookings.c.tracking_number == tracking_number,
        )
    ).scalar_one_or_none()
    if booked is not None:
        return str(booked)
    typed = conn.execute(
        select(orders.c.order_id)
        .where(orders.c.carrier == carrier, orders.c.tracking_number == tracking_number)
        .order_by(orders.c.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if typed is None else str(typed)


def remember_callback(conn: Connection, carrier: str, signature: str, at: datetime) -> bool:
    """Note a callback's signature; False when it was seen before (a replay)."""
    new = insert_ignore(
        conn,
        carrier_callbacks,
        [{"carrier": carrier, "signature": signature, "received_at": at}],
    )
    return new > 0


def forget_callback(conn: Connection, carrier: str, signature: str) -> None:
    """Let a callback that could not be applied (the order service was down) come again."""
    conn.execute(
        delete(carrier_callbacks).where(
            carrier_callbacks.c.carrier == carrier, carrier_callbacks.c.signature == signature
        )
    )


def prune_callbacks(conn: Connection, before: datetime) -> int:
    """Forget signatures older than `before`: their timestamps are refused as stale anyway."""
    return conn.execute(
        delete(carrier_callbacks).where(carrier_callbacks.c.received_at < before)
    ).rowcount


def parcels_on_the_way(conn: Connection, carrier: str) -> list[str]:
    """Tracking numbers the system booked with `carrier` whose orders are in transit: what a
    carrier without callbacks is asked about (activities/carrier_poller.py)."""
    rows = conn.execute(
        select(carrier_bookings.c.tracking_number)
        .join(orders, orders.c.order_id == carrier_bookings.c.order_id)
        .where(
            carrier_bookings.c.carrier == carrier,
            carrier_bookings.c.cancelled_at.is_(None),
            orders.c.status == "in_transit",
            orders.c.tracking_number == carrier_bookings.c.tracking_number,
        )
        .order_by(carrier_bookings.c.booked_at)
    )
    return [str(row[0]) for row in rows]
