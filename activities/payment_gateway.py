"""The payment gateway adapter: how refunds leave the company (P4.2, P5).

The gateway is outside our boundary. Production plugs in the provider's client; the
embedded default and the tests use `SimulatedPaymentGateway`, a stand-in that keeps its
own books in a table of its own, honours idempotency keys like a real provider, and
declines on purpose for payments whose transaction id starts with a configured prefix
(`FAIL-` by default), so the "refund needs a human" path can be exercised.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select

from db.engine import Database
from db.tables import simulated_gateway_captures, simulated_gateway_refunds
from db.upsert import insert_ignore


class GatewayDeclined(Exception):
    """The provider refused the refund for good (card closed, account frozen...)."""


class PaymentGateway(Protocol):
    def captured(self, transaction_id: str) -> Decimal | None:
        """What the provider captured under this transaction; None when it knows none.

        A transient failure raises (worth retrying); the answer is a fact the provider
        vouches for, never what a caller claims.
        """
        ...

    def refund(
        self, refund_id: str, order_id: str, amount: Decimal, transaction_id: str | None
    ) -> str:
        """Pay `amount` back; returns the provider's reference. Idempotent on `refund_id`.

        Raises GatewayDeclined when the provider refuses; any other exception is a
        transient failure worth retrying.
        """
        ...


class SimulatedPaymentGateway:
    """A stand-in for the payment provider (named as such: it moves no real money)."""

    def __init__(self, db: Database, decline_prefix: str = "FAIL-") -> None:
        self.db = db
        self.decline_prefix = decline_prefix

    def captured(self, transaction_id: str) -> Decimal | None:
        with self.db.read() as conn:
            found = conn.execute(
                select(simulated_gateway_captures.c.amount).where(
                    simulated_gateway_captures.c.transaction_id == transaction_id
                )
            ).scalar_one_or_none()
        return None if found is None else Decimal(found)

    def record_capture(self, transaction_id: str, order_id: str, amount: Decimal) -> None:
        """The stand-in's own books: a customer's card was charged (tests, the demo)."""
        with self.db.write() as conn:
            insert_ignore(
                conn,
                simulated_gateway_captures,
                [
                    {
                        "transaction_id": transaction_id,
                        "order_id": order_id,
                        "amount": amount,
                        "at": datetime.now(UTC),
                    }
                ],
            )

    def refund(
        self, refund_id: str, order_id: str, amount: Decimal, transaction_id: str | None
    ) -> str:
        if self.decline_prefix and (transaction_id or "").startswith(self.decline_prefix):
            raise GatewayDeclined(
                f"the simulated gateway declines payments marked {self.decline_prefix!r}"
            )
        reference = "SIM-" + hashlib.sha256(refund_id.encode()).hexdigest()[:16]
        with self.db.write() as conn:
            insert_ignore(
                conn,
                simulated_gateway_refunds,
                [
                    {
                        "refund_id": refund_id,
                        "order_id": order_id,
                        "amount": amount,
                        "transaction_id": transaction_id,
                        "reference": reference,
                        "at": datetime.now(UTC),
                    }
                ],
            )
            row = conn.execute(
                select(simulated_gateway_refunds.c.reference).where(
                    simulated_gateway_refunds.c.refund_id == refund_id
                )
            ).first()
        assert row is not None
        return str(row[0])
