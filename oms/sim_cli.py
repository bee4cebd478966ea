"""`oms sim paid`: the demo's customer pays at the simulated payment provider.

The simulated gateway (activities/payment_gateway.py) keeps a provider's books, and a
refund leaves only within the captures they hold (activities/payments.py): an order the
platform reports paid, but whose money nobody took, is refunded by finance by hand after
checking, never by the gateway. Under `make run` nobody plays the provider, so this
command does: it records the capture a customer's payment made. With a real gateway
configured it refuses: a real provider's books are its own.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from activities.payment_gateway import SimulatedPaymentGateway
from config.settings import Settings
from domain.money import Money
from oms.cli import read_model

MONEY = TypeAdapter(Money)


def amount(text: str) -> Decimal:
    """A positive amount of money, as the API takes one (domain.money.Money)."""
    try:
        value = MONEY.validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"not an amount of money: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not an amount of money: {text!r}")
    return value


def cmd_paid(args: argparse.Namespace, settings: Settings) -> int:
    if settings.payment_gateway != "simulated":
        print(
            f"the payment gateway is {settings.payment_gateway}, not the simulated one: "
            "its captures are the provider's to record"
        )
        return 2
    db = read_model(settings)
    try:
        gateway = SimulatedPaymentGateway(db)
        gateway.record_capture(args.transaction_id, args.order_id, args.amount)
        held = gateway.captured(args.transaction_id, args.order_id)
    finally:
        db.dispose()
    if held != args.amount:
        # One transaction is one capture: it was recorded before, for another order or sum.
        print(f"transaction {args.transaction_id} is already captured otherwise; nothing changed")
        return 1
    print(
        f"the simulated provider captured {args.amount} for {args.order_id} ({args.transaction_id})"
    )
    return 0


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser(
        "sim", help="play the outside world in the demo (the simulated payment provider)"
    ).add_subparsers(dest="sim", required=True)
    paid = sim.add_parser(
        "paid", help="record a customer's payment at the simulated provider (a capture)"
    )
    paid.add_argument("order_id")
    paid.add_argument("transaction_id")
    paid.add_argument("amount", type=amount)
    paid.set_defaults(fn=cmd_paid)
