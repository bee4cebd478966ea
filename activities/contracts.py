"""Inputs and results of the activities: one model in, one model out (style rule 2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from domain.cases import Case
from domain.events import OrderEvent
from domain.ledger import LedgerEntry
from domain.tasks import Task
from domain.view import OrderView


class StockStep(BaseModel):
    """Units an order holds leave the shelf (`ship`, P3.4) or go back to it (`release`, P4)."""

    action: Literal["ship", "release"]
    reservation_key: str


class OrderChanges(BaseModel):
    """What changed in one step of an order, written to the read model in one transaction.

    The step's stock movements go in the same transaction: the stock and the order's
    record can never disagree, and a step costs one local activity, not two.
    """

    view: OrderView
    #: Grows with every write from the workflow; the read model keeps the highest.
    revision: int
    events: list[OrderEvent] = []
    tasks: list[Task] = []
    cases: list[Case] = []
    #: Movements the workflow books itself (payments, compensation, manual refunds).
    ledger: list[LedgerEntry] = []
    lines_changed: bool = False
    stock: list[StockStep] = []


class RecordedChanges(BaseModel):
    """The events a step wrote. Returned so that they stand in the workflow history too:
    auditors rebuild an order's timeline from its history alone (P6.1, P8.1)."""

    order_id: str
    revision: int
    events: list[OrderEvent] = []


class ReserveStock(BaseModel):
    order_id: str
    #: Deterministic per attempt (`<order>:R<n>`), so a retried activity reserves once.
    reservation_key: str
    quantities: dict[str, int]


class Reservation(BaseModel):
    reservation_key: str
    reserved: bool
    #: Units missing per sku when not reserved (P3.2 "out of stock").
    short: dict[str, int] = {}


class StockMovement(BaseModel):
    """Release or ship what a reservation holds."""

    order_id: str
    reservation_key: str


class StockMoved(BaseModel):
    reservation_key: str
    quantities: dict[str, int] = {}


class ReceiveStock(BaseModel):
    receipt_id: str
    sku: str
    quantity: int = Field(ge=1)
    note: str = ""
    actor_id: str


class SkuQuery(BaseModel):
    sku: str


class BackorderedOrders(BaseModel):
    sku: str
    order_ids: list[str]


class RefundRequest(BaseModel):
    refund_id: str
    order_id: str
    amount: Decimal
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
