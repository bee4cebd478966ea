"""The payment gateway adapter: how refunds leave the company (P4.2, P5).

The gateway is outside our boundary. `OMS_PAYMENT_GATEWAY` names the class
(`package.module:ClassName`, or `simulated`), built as
`ClassName(db, **OMS_PAYMENT_GATEWAY_OPTIONS)` by `workers.worker.payment_gateway`
(activities/adapters.py; docs/integrations.md is the guide). The embedded default and
the tests use `SimulatedPaymentGateway`, a stand-in that keeps its own books in a table
of its own, honours idempotency keys like a real provider, and acts out each failure
mode for transaction ids that start with a configured prefix, so the paths they lead to
can be tried:

- `FAIL-` (`decline_prefix`, `OMS_SIMULATED_GATEWAY_DECLINE_PREFIX`): the refund is
  declined (`GatewayDeclined`, a `Declined`); finance refunds by hand.
- `BUSY-` (`fail_prefix`): the gateway is unavailable (`Temporary`); nothing is paid.
- `LOST-` (`unknown_prefix`): the first attempt pays but its answer is lost
  (`Unknown`); a retry with the same refund id returns the reference, paid once.

Like a provider's, its books hold only the captures someone made: whatever plays the
platform and its customers (tests, scenarios, benchmarks, the demo's `oms sim paid`)
records them. A refund is paid only within what it confirms (activities/payments.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select

from activities.adapters import Declined, Temporary, Unknown
from db.engine import Database
from db.tables import simulated_gateway_captures, simulated_gateway_refunds
from db.upsert import insert_ignore
from domain.order.details import NewOrder, PaymentMethod, PaymentStatus


class GatewayDeclined(Declined):
    """The provider refused the refund for good (card closed, account frozen...)."""


class PaymentGateway(Protocol):
    def captured(self, transaction_id: str, order_id: str) -> Decimal | None:
        """What the provider captured under this transaction for this order (the merchant
        reference the charge was made under); None when it knows no such capture, or knows
        it for another order: a transaction of one order never pays out on another's.

        Raises `Temporary` or `Unknown` when the provider cannot answer now (worth
        retrying); the answer is a fact the provider vouches for, never what a caller
        claims.
        """
        ...

    def refund(
        self, refund_id: str, order_id: str, amount: Decimal, transaction_id: str | None
    ) -> str:
        """Pay `amount` back; returns the provider's reference. Idempotent on `refund_id`.

        Raises `GatewayDeclined` (a `Declined`) when the provider refuses for good,
        `Temporary` when nothing was paid and a retry may work, `Unknown` when it may have
        been paid (a timeout after sending): the retry with the same `refund_id` pays
        once. Any other exception is treated like `Temporary`.
        """
        ...


class SimulatedPaymentGateway:
    """A stand-in for the payment provider (named as such: it moves no real money)."""

    def __init__(
        self,
        db: Database,
        decline_prefix: str = "FAIL-",
        fail_prefix: str = "BUSY-",
        unknown_prefix: str = "LOST-",
    ) -> None:
        self.db = db
        self.decline_prefix = decline_prefix
        self.fail_prefix = fail_prefix
        self.unknown_prefix = unknown_prefix

    def captured(self, transaction_id: str, order_id: str) -> Decimal | None:
        with self.db.read() as conn:
            found = conn.execute(
                select(simulated_gateway_captures.c.amount).where(
                    simulated_gateway_captures.c.transaction_id == transaction_id,
                    simulated_gateway_captures.c.order_id == order_id,
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

    def record_paid_order(self, order: NewOrder) -> bool:
        """The customer paid for `order` before the platform handed it over: the capture
        its payment names goes into the stand-in's books, as the provider's would hold it
        (tests and scenarios that play the platform). False when its transaction is
        another order's capture already (nothing recorded)."""
        payment = order.payment
        if payment.status is not PaymentStatus.PAID or payment.transaction_id is None:
            return True
        if payment.method is PaymentMethod.CASH_ON_DELIVERY:
            return True
        self.record_capture(payment.transaction_id, order.order_id, payment.amount)
        return self.captured(payment.transaction_id, order.order_id) is not None

    def refund(
        self, refund_id: str, order_id: str, amount: Decimal, transaction_id: str | None
    ) -> str:
        marked = transaction_id or ""
        if self.decline_prefix and marked.startswith(self.decline_prefix):
            raise GatewayDeclined(
                f"the simulated gateway declines payments marked {self.decline_prefix!r}"
            )
        if self.fail_prefix and marked.startswith(self.fail_prefix):
            raise Temporary(
                f"the simulated gateway is unavailable for payments marked {self.fail_prefix!r}"
            )
        reference = "SIM-" + hashlib.sha256(refund_id.encode()).hexdigest()[:16]
        with self.db.write() as conn:
            paid_now = insert_ignore(
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
        if paid_now and self.unknown_prefix and marked.startswith(self.unknown_prefix):
            # Paid, but the answer is lost on the way back, as a timeout would lose it.
            raise Unknown(
                f"the simulated gateway lost its answer for payments marked {self.unknown_prefix!r}"
            )
        return str(row[0])
