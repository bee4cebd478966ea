"""The carrier contract (activities/carriers.py): what every carrier implementation must do,
run against the simulated carrier and a test-only carrier that talks HTTP to a stub server,
each chosen by settings alone (`carriers_from(Settings(carriers=..., carrier_options=...))`).

Every implementation books idempotently on the booking id, cancels until the parcel is
collected and refuses (`Declined`) after, and reports the parcel's scans oldest first. The
failure modes (`Declined`, `Temporary`, `Unknown`) reach the workflow the same way whatever
the carrier: a refusal is an answer, the others raise so the booking is retried with its id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.adapters import Declined, Temporary, Unknown
from activities.carrier_sim import SimulatedCarrier
from activities.carriers import Carrier
from activities.shipping import ShippingActivities, carriers_from
from config.settings import Settings
from db import carriers as carrier_store
from db.engine import Database
from domain.carriers import Handover, ShipmentBooking, ShipmentCancellation
from domain.commands import TrackingEventKind
from tests.support.http_carrier import StubCarrierServer
from tests.support.read_model import sqlite_read_model


@dataclass
class Kit:
    name: str
    carrier: Carrier
    db: Database
    #: The courier collects the parcel (its first scan), however this carrier learns it.
    collect: Callable[[str], None]
    stub: StubCarrierServer | None = None

    def activities(self) -> ShippingActivities:
        return ShippingActivities(self.db, {self.name: self.carrier})


def settings_for(name: str, spec: str, options: dict[str, object], var: Path) -> Settings:
    return Settings(carriers={name: spec}, carrier_options={name: options}, var_dir=var)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = sqlite_read_model(tmp_path)
    yield database
    database.dispose()


@pytest.fixture(params=["simulated", "http"])
def kit(request: pytest.FixtureRequest, db: Database, tmp_path: Path) -> Iterator[Kit]:
    """Each implementation, chosen by settings alone."""
    if request.param == "simulated":
        settings = settings_for("sim", "simulated", {"step_seconds": 600}, tmp_path)
        [(name, carrier)] = carriers_from(settings, db).items()
        assert isinstance(carrier, SimulatedCarrier)

        def collect(number: str) -> None:
            later = datetime.now(UTC) + timedelta(days=1)
            [due] = [d for d in carrier.due_scans(later) if d.scan.tracking_number == number]
            carrier.mark_posted(due.scan)

        yield Kit(name, carrier, db, collect)
    else:
        yield request.getfixturevalue("http_kit")


def booking(
    kit: Kit, booking_id: str | None = None, destination: str = "Beijing"
) -> ShipmentBooking:
    return ShipmentBooking(
        booking_id=booking_id or f"B-{uuid.uuid4().hex}",
        order_id=f"T{uuid.uuid4().hex[:8]}",
        carrier=kit.name,
        method="standard",
        handover=Handover.COURIER_PICKUP,
        packages=1,
        destination=destination,
    )


# --- every carrier -----------------------------------------------------------------------


def test_a_booking_made_again_with_its_id_gets_the_same_tracking_number(kit: Kit):
    first = booking(kit)
    number = kit.carrier.book(first)
    assert number
    assert kit.carrier.book(first) == number
    assert kit.carrier.book(booking(kit)) != number


def test_a_booking_not_yet_collected_can_be_cancelled_and_cancelling_again_is_harmless(kit: Kit):
    number = kit.carrier.book(booking(kit))
    kit.carrier.cancel(number)
    kit.carrier.cancel(number)
    assert kit.carrier.scans(number) == []


def test_a_collected_parcel_cannot_be_cancelled(kit: Kit):
    number = kit.carrier.book(booking(kit))
    kit.collect(number)
    with pytest.raises(Declined):
        kit.carrier.cancel(number)


def test_a_parcel_the_carrier_does_not_know_cannot_be_cancelled(kit: Kit):
    with pytest.raises(Declined):
        kit.carrier.cancel("NO-SUCH-PARCEL")


def test_scans_report_the_parcel_once_collected_oldest_first(kit: Kit):
    number = kit.carrier.book(booking(kit))
    assert kit.carrier.scans(number) == []
    kit.collect(number)
    scans = kit.carrier.scans(number)
    assert scans and scans[0].event == TrackingEventKind.IN_TRANSIT.value
    assert all(s.tracking_number == number for s in scans)
    assert all(s.event in set(TrackingEventKind) for s in scans)
    assert [s.occurred_at for s in scans] == sorted(s.occurred_at for s in scans)
    assert len({s.event_id for s in scans}) == len(scans)


def test_book_shipment_books_once_and_records_the_booking_for_callbacks(kit: Kit):
    request = booking(kit)
    first = kit.activities().book_shipment(request)
    again = kit.activities().book_shipment(request)
    assert first.booked and first.failure is None
    assert again == first
    with kit.db.read() as conn:
        assert first.tracking_number is not None
        found = carrier_store.order_for_tracking(conn, kit.name, first.tracking_number)
    assert found == request.order_id


def test_cancel_shipment_cancels_until_collected_and_then_answers_why_not(kit: Kit):
    activities = kit.activities()
    early, late = booking(kit), booking(kit)
    for request in (early, late):
        booked = activities.book_shipment(request)
        assert booked.tracking_number is not None
        if request is late:
            kit.collect(booked.tracking_number)
        answer = activities.cancel_shipment(
            ShipmentCancellation(
                booking_id=request.booking_id,
                order_id=request.order_id,
                carrier=kit.name,
                tracking_number=booked.tracking_number,
            )
        )
        assert answer.cancelled is (request is early)
        assert (answer.failure is None) is (request is early)
    with kit.db.read() as conn:
        record = carrier_store.booking_of(conn, early.booking_id)
    assert record is not None and record["cancelled_at"] is not None


def test_a_carrier_the_system_does_not_book_fails_for_good(kit: Kit):
    request = booking(kit).model_copy(update={"carrier": "nobody"})
    with pytest.raises(ApplicationError) as raised:
        kit.activities().book_shipment(request)
    assert raised.value.non_retryable
    assert raised.value.type == "UnknownCarrier"


# --- the failure modes, through the carrier that can be made to fail ------------------------


@pytest.fixture
def http_kit(db: Database, tmp_path: Path) -> Iterator[Kit]:
    """The HTTP carrier alone: the simulated one does not fail on demand."""
    with StubCarrierServer() as server:
        spec = "tests.support.http_carrier:HttpCarrier"
        options = {"base_url": server.url, "timeout": 0.5}
        [(name, carrier)] = carriers_from(settings_for("stub", spec, options, tmp_path), db).items()
        yield Kit(name, carrier, db, server.collect, server)


def test_a_4xx_is_declined_and_book_shipment_answers_it_without_retrying(http_kit: Kit):
    request = booking(http_kit, destination="NOWHERE 1")
    with pytest.raises(Declined):
        http_kit.carrier.book(request)
    answer = http_kit.activities().book_shipment(request)
    assert not answer.booked
    assert answer.failure and "422" in answer.failure
    with http_kit.db.read() as conn:
        assert carrier_store.booking_of(conn, request.booking_id) is None


def test_a_5xx_is_temporary_and_book_shipment_raises_so_temporal_retries(http_kit: Kit):
    assert http_kit.stub is not None
    http_kit.stub.fail_next(503)
    with pytest.raises(Temporary):
        http_kit.carrier.book(booking(http_kit))
    http_kit.stub.fail_next(500)
    with pytest.raises(ApplicationError) as raised:
        http_kit.activities().book_shipment(booking(http_kit))
    assert not raised.value.non_retryable
    assert raised.value.type == "Temporary"


def test_a_timeout_is_unknown_and_the_retry_with_the_same_id_books_once(http_kit: Kit):
    assert http_kit.stub is not None
    http_kit.stub.hang_next()
    with pytest.raises(Unknown):
        http_kit.carrier.book(booking(http_kit))
    request = booking(http_kit)
    http_kit.stub.hang_next()  # the carrier books, and answers too late
    with pytest.raises(ApplicationError) as raised:
        http_kit.activities().book_shipment(request)
    assert raised.value.type == "Unknown" and not raised.value.non_retryable
    retried = http_kit.activities().book_shipment(request)
    assert retried.booked
    assert list(http_kit.stub.bookings).count(request.booking_id) == 1
    assert len(http_kit.stub.bookings) == 2


def test_an_unreachable_carrier_is_temporary(db: Database, tmp_path: Path):
    with StubCarrierServer() as server:
        url = server.url
    settings = settings_for(
        "stub", "tests.support.http_carrier:HttpCarrier", {"base_url": url}, tmp_path
    )
    carrier = carriers_from(settings, db)["stub"]
    with pytest.raises(Temporary):
        carrier.book(
            ShipmentBooking(
                booking_id="B1",
                order_id="T1",
                carrier="stub",
                method="standard",
                handover=Handover.DISTRIBUTION_CENTRE,
                packages=1,
            )
        )


def test_a_setting_naming_no_usable_class_stops_the_worker_and_shows_no_option_values(
    db: Database, tmp_path: Path
):
    for spec, options in [
        ("tests.support.http_carrier:Missing", {}),
        ("nonsense", {}),
        ("tests.support.http_carrier:HttpCarrier", {"api_key": "s3cret-value"}),
    ]:
        with pytest.raises(SystemExit) as stopped:
            carriers_from(settings_for("stub", spec, options, tmp_path), db)
        assert "s3cret-value" not in str(stopped.value)
        assert "stub" in str(stopped.value)


def test_the_simulated_carrier_takes_its_clock_from_settings_and_options_over_them(
    db: Database, tmp_path: Path
):
    settings = Settings(
        carriers={"sim": "simulated"},
        carrier_options={"sim": {"loss_share": 0.5}},
        sim_carrier={"step_seconds": 3, "delay_share": 0.25},
        var_dir=tmp_path,
    )
    carrier = carriers_from(settings, db)["sim"]
    assert isinstance(carrier, SimulatedCarrier)
    assert (carrier.step_seconds, carrier.delay_share, carrier.loss_share) == (3, 0.25, 0.5)
