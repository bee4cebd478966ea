"""Money movements of an order (P4.2, P5) and the refunds that produce some of them.

The invariant the policy's money rules come down to: what is refunded for an order
never exceeds what was paid for it. `refundable` is the only amount a new refund may
take, and counts refunds still in progress (pending at the gateway, or waiting for
finance to complete by hand) as already given.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from domain.money import CENT, ZERO, Money

#: A signed amount (payments in are positive, money out negative), serialised as "-12.00".
SignedMoney = Annotated[
    Decimal,
    Field(max_digits=12, decimal_places=2),
    PlainSerializer(lambda d: f"{d.quantize(CENT)}", return_type=str),
]


class LedgerKind(StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    COMPENSATION = "compensation"
    ADJUSTMENT = "adjustment"


class LedgerEntry(BaseModel):
    """One movement. `entry_id` is deterministic, so a retried write books it once."""

    model_config = ConfigDict(extra="forbid")

    entry_id: str
    order_id: str
    kind: LedgerKind
    amount: SignedMoney
    at: datetime
    actor_id: str | None = None
    actor_department: str | None = None
    case_id: str | None = None
    reference: str | None = None
    note: str = ""


class RefundState(StrEnum):
    PENDING = "pending"  # asked of the gateway
    ISSUED = "issued"  # the gateway paid it out
    FAILED = "failed"  # the gateway refused: finance completes it by hand
    COMPLETED_BY_FINANCE = "completed_by_finance"


class Refund(BaseModel):
    """Money paid back to the customer through the gateway: a refund, or a compensation
    payout (P5.2), which is no refund of what was paid and books as its own ledger kind."""

    model_config = ConfigDict(extra="forbid")

    refund_id: str
    amount: Money
    reason: str
    #: What it books when paid out: `refund` (capped by what was paid) or `compensation`.
    kind: LedgerKind = LedgerKind.REFUND
    case_id: str | None = None
    state: RefundState = RefundState.PENDING
    requested_at: datetime
    settled_at: datetime | None = None
    reference: str | None = None
    failure: str | None = None


def paid_total(entries: list[LedgerEntry]) -> Decimal:
    return sum((e.amount for e in entries if e.kind is LedgerKind.PAYMENT), ZERO)


def refunded_total(entries: list[LedgerEntry]) -> Decimal:
    return -sum((e.amount for e in entries if e.kind is LedgerKind.REFUND), ZERO)


def compensated_total(entries: list[LedgerEntry]) -> Decimal:
    """Compensation paid out (P5.2), as a positive sum like `refunded_total`."""
    return -sum((e.amount for e in entries if e.kind is LedgerKind.COMPENSATION), ZERO)


def committed(refunds: Iterable[Refund], kind: LedgerKind) -> Decimal:
    """Every payout of `kind` (refund or compensation) issued or in progress."""
    return sum((r.amount for r in refunds if r.kind is kind), ZERO)


def refundable(entries: list[LedgerEntry], refunds: list[Refund]) -> Decimal:
    """What a new refund may still take: paid, less every refund issued or in progress
    (compensation payouts are not refunds: they do not count)."""
    return max(paid_total(entries) - committed(refunds, LedgerKind.REFUND), ZERO)


class RefundRequest(BaseModel):
    """A refund (or a compensation payout, P5.2) asked of the payment gateway (the activity
    `issue_refund`)."""

    refund_id: str
    order_id: str
    amount: Decimal
    #: The ledger kind the payout books. Only this release's code sets it, and its activity
    #: inputs reach only its own workers (workflows/releases.py).
    kind: LedgerKind = LedgerKind.REFUND
    #: The payment being refunded, for the gateway.
    transaction_id: str | None = None
    case_id: str | None = None
    reason: str = ""


class RefundOutcome(BaseModel):
    refund_id: str
    issued: bool
    reference: str | None = None
    #: Why the gateway refused, when it did (a finance task follows).
    failure: str | None = None


class CaptureQuery(BaseModel):
    """P5.1: does the gateway know this capture? Asked before a duplicate is refunded."""

    order_id: str
    transaction_id: str
    #: The payment event that reported it, and the amount it claims.
    event_id: str
    claimed: Decimal


class CaptureAnswer(BaseModel):
    transaction_id: str
    event_id: str
    #: What the gateway captured under that transaction; None when it knows no such capture.
    captured: Decimal | None = None
    #: Why the gateway could not be asked (unreachable): then finance verifies by hand.
    failure: str | None = None
