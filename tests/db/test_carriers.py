"""Carrier bookings and the callbacks' replay guard (db/carriers.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import carriers
from domain.carriers import Handover

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_booking_is_recorded_once_and_finds_its_order_by_tracking_number(database):
    with database.write() as conn:
        for number in ("SIM1", "SIM-retry"):
            recorded = carriers.record_booking(
                conn,
                booking_id="B1",
                order_id="T1",
                carrier="sim",
                tracking_number=number,
                handover=Handover.COURIER_PICKUP,
                booked_at=NOW,
            )
            assert recorded == "SIM1"
    with database.read() as conn:
        assert carriers.order_for_tracking(conn, "sim", "SIM1") == "T1"
        # Another carrier's number that reads alike is not this one.
        assert carriers.order_for_tracking(conn, "other", "SIM1") is None
        assert carriers.order_for_tracking(conn, "sim", "SIM2") is None


def test_a_callback_signature_is_taken_once_until_it_is_pruned_or_forgotten(database):
    with database.write() as conn:
        assert carriers.remember_callback(conn, "sim", "ab" * 32, NOW)
        assert not carriers.remember_callback(conn, "sim", "ab" * 32, NOW)
        # The same signature from another carrier is another request.
        assert carriers.remember_callback(conn, "other", "ab" * 32, NOW)
        carriers.forget_callback(conn, "other", "ab" * 32)
        assert carriers.remember_callback(conn, "other", "ab" * 32, NOW)
        assert carriers.prune_callbacks(conn, NOW + timedelta(seconds=1)) == 2
        assert carriers.remember_callback(conn, "sim", "ab" * 32, NOW)
