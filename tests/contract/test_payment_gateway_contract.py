"""The payment gateway's contract (activities/payment_gateway.py, docs/integrations.md):
what every implementation must do, run against each one as the worker builds it, from
settings alone (`OMS_PAYMENT_GATEWAY`, `OMS_PAYMENT_GATEWAY_OPTIONS`).

Each implementation comes with a "world": the gateway, the provider's own way to charge
a card (a sandbox endpoint), and the provider's books, which say what was really paid.
The failure modes are provoked with magic transaction ids, as providers' sandboxes do:
`FAIL-` declined, `BUSY-` unavailable, `LOST-` paid but the answer lost (a timeout).
To run the suite against your own gateway, add a world to WORLDS (docs/integrations.md).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from activities.adapters import Declined, Temporary, Unknown
from activities.payment_gateway import GatewayDeclined, PaymentGateway
from activities.payments import PaymentActivities
from config.settings import Settings
from db import ledger
from db.engine import Database
from db.tables import simulated_gateway_refunds
from domain.ledger import LedgerKind, RefundRequest
from tests.support.provider_stubs import PaymentProviderStub
from tests.support.read_model import sqlite_read_model
from workers.worker import payment_gateway

HTTP_GATEWAY = "tests.support.http_adapters:HttpPaymentGateway"


@dataclass
class GatewayWorld:
    gateway: PaymentGateway
    #: The provider's sandbox: a customer's card is charged.
    record_capture: Callable[[str, str, Decimal], None]
    #: The provider's books: every payout made under a refund id.
    payouts: Callable[[str], list[Decimal]]


@contextmanager
def simulated(db: Database) -> Iterator[GatewayWorld]:
    gateway: Any = payment_gateway(Settings(payment_gateway="simulated"), db)

    def payouts(refund_id: str) -> list[Decimal]:
        table = simulated_gateway_refunds
        with db.read() as conn:
            found = conn.execute(select(table.c.amount).where(table.c.refund_id == refund_id))
            return [Decimal(amount) for amount in found.scalars()]

    yield GatewayWorld(gateway, gateway.record_capture, payouts)


@contextmanager
def over_http(db: Database) -> Iterator[GatewayWorld]:
    with PaymentProviderStub() as stub:
        settings = Settings(
            payment_gateway=HTTP_GATEWAY,
            payment_gateway_options={"base_url": stub.base_url, "timeout": 0.5},
        )
        gateway: Any = payment_gateway(settings, db)
        yield GatewayWorld(gateway, gateway.record_capture, stub.payouts)


WORLDS: dict[str, Callable[[Database], Any]] = {"simulated": simulated, "http": over_http}


@pytest.fixture(params=sorted(WORLDS))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GatewayWorld]:
    db = sqlite_read_model(tmp_path)
    try:
        with WORLDS[request.param](db) as found:
            yield found
    finally:
        db.dispose()


def test_a_refund_pays_the_amount_and_answers_the_providers_reference(world: GatewayWorld):
    reference = world.gateway.refund("R-1", "O-1", Decimal("12.50"), "T-1")

    assert isinstance(reference, str) and reference
    assert world.payouts("R-1") == [Decimal("12.50")]


def test_a_refund_asked_again_with_its_id_is_paid_once_with_the_same_reference(
    world: GatewayWorld,
):
    first = world.gateway.refund("R-1", "O-1", Decimal("12.50"), "T-1")
    again = world.gateway.refund("R-1", "O-1", Decimal("12.50"), "T-1")

    assert again == first
    assert world.payouts("R-1") == [Decimal("12.50")]


def test_two_refund_ids_are_two_refunds_with_their_own_references(world: GatewayWorld):
    one = world.gateway.refund("R-1", "O-1", Decimal("5.00"), "T-1")
    two = world.gateway.refund("R-2", "O-1", Decimal("7.00"), "T-1")

    assert one != two
    assert world.payouts("R-1") == [Decimal("5.00")]
    assert world.payouts("R-2") == [Decimal("7.00")]


def test_captured_answers_what_the_provider_captured_and_none_for_a_transaction_it_never_saw(
    world: GatewayWorld,
):
    world.record_capture("T-CAPTURED", "O-1", Decimal("258.00"))

    assert world.gateway.captured("T-CAPTURED", "O-1") == Decimal("258.00")
    assert world.gateway.captured("T-NEVER-SEEN", "O-1") is None


def test_captured_knows_a_transaction_only_for_the_order_it_charged(world: GatewayWorld):
    """P5.1: a duplicate refunded on the word of another order's capture would pay that
    capture out once per order that names it."""
    world.record_capture("T-OF-O-1", "O-1", Decimal("258.00"))

    assert world.gateway.captured("T-OF-O-1", "O-2") is None
    assert world.gateway.captured("T-OF-O-1", "O-1") == Decimal("258.00")


def test_a_declined_refund_raises_declined_and_pays_nothing(world: GatewayWorld):
    with pytest.raises(GatewayDeclined) as refused:
        world.gateway.refund("R-1", "O-1", Decimal("12.50"), "FAIL-T-1")

    assert isinstance(refused.value, Declined)
    assert world.payouts("R-1") == []


def test_an_unavailable_provider_raises_temporary_and_pays_nothing(world: GatewayWorld):
    with pytest.raises(Temporary):
        world.gateway.refund("R-1", "O-1", Decimal("12.50"), "BUSY-T-1")

    assert world.payouts("R-1") == []


def test_a_lost_answer_raises_unknown_and_the_retry_with_the_same_id_takes_effect_once(
    world: GatewayWorld,
):
    with pytest.raises(Unknown):
        world.gateway.refund("R-1", "O-1", Decimal("12.50"), "LOST-T-1")
    assert world.payouts("R-1") == [Decimal("12.50")]  # it did happen

    reference = world.gateway.refund("R-1", "O-1", Decimal("12.50"), "LOST-T-1")
    again = world.gateway.refund("R-1", "O-1", Decimal("12.50"), "LOST-T-1")

    assert isinstance(reference, str) and reference
    assert again == reference
    assert world.payouts("R-1") == [Decimal("12.50")]


# --- What the refund activity does with each failure mode, whichever gateway it is.


def request(transaction_id: str) -> RefundRequest:
    # Compensation: no payment need be booked first for the ledger to take it (P5.2).
    return RefundRequest(
        refund_id="R-1",
        order_id="O-1",
        amount=Decimal("12.50"),
        kind=LedgerKind.COMPENSATION,
        transaction_id=transaction_id,
        reason="contract test",
    )


def booked(world_db: Database) -> list[str | None]:
    with world_db.read() as conn:
        return [entry.reference for entry in ledger.entries_of(conn, "O-1")]


@pytest.fixture
def activity_world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    db = sqlite_read_model(tmp_path)
    try:
        with WORLDS[request.param](db) as found:
            yield found, db, PaymentActivities(db, found.gateway)
    finally:
        db.dispose()


@pytest.mark.parametrize("activity_world", sorted(WORLDS), indirect=True)
def test_a_declined_refund_is_answered_not_issued_and_books_nothing(activity_world: Any):
    _, db, activities = activity_world

    outcome = activities.issue_refund(request("FAIL-T-1"))

    assert not outcome.issued and outcome.failure
    assert booked(db) == []


@pytest.mark.parametrize("activity_world", sorted(WORLDS), indirect=True)
def test_a_temporary_failure_fails_the_activity_so_that_temporal_retries_it(
    activity_world: Any,
):
    _, db, activities = activity_world

    with pytest.raises(Temporary):
        activities.issue_refund(request("BUSY-T-1"))
    assert booked(db) == []


@pytest.mark.parametrize("activity_world", sorted(WORLDS), indirect=True)
def test_an_unknown_outcome_is_retried_and_then_paid_and_booked_once(activity_world: Any):
    found, db, activities = activity_world

    with pytest.raises(Unknown):
        activities.issue_refund(request("LOST-T-1"))
    assert booked(db) == []
    outcome = activities.issue_refund(request("LOST-T-1"))

    assert outcome.issued and outcome.reference
    assert booked(db) == [outcome.reference]
    assert found.payouts("R-1") == [Decimal("12.50")]


@pytest.mark.parametrize("activity_world", sorted(WORLDS), indirect=True)
def test_a_refund_past_what_was_paid_is_refused_before_the_gateway_pays(activity_world: Any):
    """The cap is checked before the money leaves, not only before it is booked."""
    found, db, activities = activity_world
    over = RefundRequest(
        refund_id="R-1",
        order_id="O-1",
        amount=Decimal("12.50"),
        kind=LedgerKind.REFUND,
        transaction_id="T-1",
        reason="contract test",
    )

    with pytest.raises(ApplicationError) as refused:
        activities.issue_refund(over)  # nothing was paid on O-1

    assert refused.value.type == "RefundExceedsPaid" and refused.value.non_retryable
    assert found.payouts("R-1") == []
    assert booked(db) == []


# --- Choosing the gateway by settings.


def test_the_simulated_gateway_declines_with_the_prefix_in_the_settings(tmp_path: Path):
    db = sqlite_read_model(tmp_path)
    gateway = payment_gateway(
        Settings(payment_gateway="simulated", simulated_gateway_decline_prefix="NOPE-"), db
    )
    with pytest.raises(GatewayDeclined):
        gateway.refund("R-1", "O-1", Decimal("1.00"), "NOPE-1")
    assert gateway.refund("R-2", "O-1", Decimal("1.00"), "FAIL-1")  # not declined now

    overridden = payment_gateway(
        Settings(
            payment_gateway="simulated",
            simulated_gateway_decline_prefix="NOPE-",
            payment_gateway_options={"decline_prefix": "X-"},
        ),
        db,
    )
    with pytest.raises(GatewayDeclined):
        overridden.refund("R-3", "O-1", Decimal("1.00"), "X-1")
    db.dispose()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("no_such_module:Gateway", "cannot be imported"),
        ("activities.payment_gateway:NoSuchGateway", "has no class 'NoSuchGateway'"),
        ("stripe", "names no class"),
        # A class that is no gateway.
        ("activities.payment_gateway:Decimal", "cannot be built"),
    ],
)
def test_a_setting_naming_no_usable_class_stops_with_a_message_naming_the_setting(
    tmp_path: Path, spec: str, says: str
):
    db = sqlite_read_model(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        payment_gateway(Settings(payment_gateway=spec), db)

    message = str(stopped.value)
    assert "OMS_PAYMENT_GATEWAY" in message and spec in message and says in message
    db.dispose()


def test_options_that_do_not_fit_the_class_are_named_by_key_never_by_value(tmp_path: Path):
    db = sqlite_read_model(tmp_path)
    settings = Settings(
        payment_gateway=HTTP_GATEWAY,
        payment_gateway_options={"base_url": "http://127.0.0.1:1", "api_key": "sk_live_SECRET"},
    )
    with pytest.raises(SystemExit) as stopped:
        payment_gateway(settings, db)

    message = str(stopped.value)
    assert "OMS_PAYMENT_GATEWAY_OPTIONS" in message and "api_key" in message
    assert "SECRET" not in message
    db.dispose()


def test_a_class_without_the_gateways_methods_is_refused(tmp_path: Path):
    db = sqlite_read_model(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        payment_gateway(Settings(payment_gateway="activities.channels:SimulatedChannel"), db)

    assert "lacks captured, refund" in str(stopped.value)
    db.dispose()


def test_a_provider_that_cannot_be_reached_is_temporary(tmp_path: Path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = sqlite_read_model(tmp_path)
    gateway = payment_gateway(
        Settings(
            payment_gateway=HTTP_GATEWAY,
            payment_gateway_options={"base_url": f"http://127.0.0.1:{port}"},
        ),
        db,
    )
    with pytest.raises(Temporary):
        gateway.refund("R-1", "O-1", Decimal("1.00"), "T-1")
    with pytest.raises(Temporary):
        gateway.captured("T-1", "O-1")
    db.dispose()
