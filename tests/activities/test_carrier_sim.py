"""The simulated carrier as plain functions over its own books: fates drawn from the shares,
plans of scans on its clock, idempotent bookings, cancellation until collected (P3.4)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from activities.adapters import Declined
from activities.carrier_sim import Fate, SimulatedCarrier
from db.engine import Database
from domain.carriers import Handover, ShipmentBooking
from tests.support.read_model import sqlite_read_model

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = sqlite_read_model(tmp_path)
    yield database
    database.dispose()


def booking(booking_id: str | None = None) -> ShipmentBooking:
    return ShipmentBooking(
        booking_id=booking_id or f"B-{uuid.uuid4().hex}",
        order_id="T1",
        carrier="sim",
        method="standard",
        handover=Handover.COURIER_PICKUP,
        packages=1,
        destination="1 Chaoyang Rd, Beijing",
    )


def carrier(db: Database, clock: Clock, **shares: float) -> SimulatedCarrier:
    options = {"delay_share": 0.0, "damage_share": 0.0, "loss_share": 0.0} | shares
    return SimulatedCarrier(db, step_seconds=10, clock=clock, **options)


def test_fates_follow_the_shares_and_depend_only_on_the_booking_id(db):
    sim = carrier(db, Clock(), delay_share=0.2, damage_share=0.1, loss_share=0.05)
    ids = [f"B-{n}" for n in range(4000)]
    fates = Counter(sim.fate_of(i) for i in ids)
    assert fates[Fate.DELAYED] / 4000 == pytest.approx(0.2, abs=0.03)
    assert fates[Fate.DAMAGED] / 4000 == pytest.approx(0.1, abs=0.02)
    assert fates[Fate.LOST] / 4000 == pytest.approx(0.05, abs=0.015)
    assert [sim.fate_of(i) for i in ids[:50]] == [sim.fate_of(i) for i in ids[:50]]
    assert {carrier(db, Clock()).fate_of(i) for i in ids[:200]} == {Fate.NORMAL}


def test_shares_that_add_up_to_more_than_everything_are_refused(db):
    with pytest.raises(ValueError):
        SimulatedCarrier(db, delay_share=0.6, damage_share=0.3, loss_share=0.2)


def test_a_booking_made_twice_gets_the_same_tracking_number(db):
    sim = carrier(db, Clock())
    first = sim.book(booking("B-same"))
    assert first.startswith("SIM") and first[3:].isdigit()
    assert sim.book(booking("B-same")) == first
    assert sim.book(booking("B-other")) != first


def test_a_normal_parcel_moves_one_scan_a_step_until_delivered(db):
    clock = Clock()
    sim = carrier(db, clock)
    number = sim.book(booking())
    assert sim.scans(number) == []
    clock.advance(10)
    assert [s.event for s in sim.scans(number)] == ["in_transit"]
    clock.advance(30)
    scans = sim.scans(number)
    assert [s.event for s in scans] == ["in_transit", "in_transit", "out_for_delivery", "delivered"]
    assert [s.occurred_at - START for s in scans] == [
        timedelta(seconds=10 * n) for n in (1, 2, 3, 4)
    ]
    assert len({s.event_id for s in scans}) == 4
    assert all(s.tracking_number == number for s in scans)


@pytest.mark.parametrize(
    ("fate", "shares", "events"),
    [
        (
            Fate.DELAYED,
            {"delay_share": 1.0},
            ["in_transit", "in_transit", "delayed", "out_for_delivery", "delivered"],
        ),
        (Fate.DAMAGED, {"damage_share": 1.0}, ["in_transit", "in_transit", "damaged", "delivered"]),
        (Fate.LOST, {"loss_share": 1.0}, ["in_transit", "lost"]),
    ],
)
def test_trouble_on_the_way_follows_the_parcels_fate(db, fate, shares, events):
    clock = Clock()
    sim = carrier(db, clock, **shares)
    number = sim.book(booking())
    assert sim.fate(number) is fate
    clock.advance(3600)
    assert [s.event for s in sim.scans(number)] == events


def test_a_delayed_parcel_arrives_later_than_a_normal_one(db):
    clock = Clock()
    normal = carrier(db, clock).book(booking())
    delayed = carrier(db, clock, delay_share=1.0).book(booking())
    clock.advance(3600)
    sim = carrier(db, clock)
    assert sim.scans(delayed)[-1].occurred_at > sim.scans(normal)[-1].occurred_at


def test_a_booking_can_be_cancelled_before_the_first_scan_and_not_after(db):
    clock = Clock()
    sim = carrier(db, clock)
    early = sim.book(booking())
    late = sim.book(booking())
    sim.cancel(early)
    sim.cancel(early)  # idempotent
    assert sim.scans(early) == []
    clock.advance(10)
    with pytest.raises(Declined):
        sim.cancel(late)
    assert sim.due_scans(clock.now)[0].scan.tracking_number == late


def test_an_unknown_parcel_cannot_be_cancelled(db):
    with pytest.raises(Declined):
        carrier(db, Clock()).cancel("SIM000")


def test_the_driver_gets_each_scan_once_it_is_due_and_moves_on_when_it_was_posted(db):
    clock = Clock()
    sim = carrier(db, clock)
    number = sim.book(booking())
    assert sim.due_scans(clock.now) == []
    clock.advance(25)  # two scans are due: the driver posts them one round at a time
    [due] = sim.due_scans(clock.now)
    assert (due.carrier, due.order_id, due.scan.event) == ("sim", "T1", "in_transit")
    sim.mark_posted(due.scan)
    sim.mark_posted(due.scan)  # a second report changes nothing
    [second] = sim.due_scans(clock.now)
    assert second.scan.event_id != due.scan.event_id
    sim.postpone(second.scan, clock.now + timedelta(seconds=5))
    assert sim.due_scans(clock.now) == []
    clock.advance(100)
    for _ in range(3):
        [next_due] = sim.due_scans(clock.now)
        sim.mark_posted(next_due.scan)
    assert sim.due_scans(clock.now) == []
    assert [s.event for s in sim.scans(number)][-1] == "delivered"
