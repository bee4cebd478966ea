"""What one step of an order writes to the read model, in one transaction (architecture rule 3).

The workflow hands an `OrderChanges` to the activity `apply_order_changes`; the
activity answers with the events it wrote (`RecordedChanges`), so that they stand
in the workflow history too and auditors can rebuild an order's record from the
history alone (P6.1, P8.1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from domain.cases import Case
from domain.events import OrderEvent
from domain.inventory import ReceiveStock
from domain.ledger import LedgerEntry
from domain.notices import Notice
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
    #: Returned goods booked back into stock (P5.3), once per receipt id.
    receipts: list[ReceiveStock] = []
    #: Messages to the customer caused by these events: the outbox's rows, written in the
    #: same transaction (domain/notices.py).
    notices: list[Notice] = []


class RecordedChanges(BaseModel):
    """The events a step wrote. Returned so that they stand in the workflow history too:
    auditors rebuild an order's timeline from its history alone (P6.1, P8.1)."""

    order_id: str
    revision: int
    events: list[OrderEvent] = []
