"""What the order aggregate decides a command means: the `Decision` the workflow carries out.

A decision lists what happened to the order (events, tasks opened and closed,
money booked, stock moved) and what must now be asked of the world outside
(a stock reservation, a refund through the gateway), in the order it must be
asked. The workflow performs the requests one by one and hands each answer back
to the aggregate (`Order.stock_answer`, `Order.refund_answer`), which decides
again. `reply` is what the member of staff who sent the command is told, once
every request is answered and the order's record is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.carriers import ShipmentBooking
from domain.errors import OrderError
from domain.events import EventKind, OrderEvent
from domain.inventory import ReceiveStock, ReserveStock
from domain.ledger import CaptureQuery, LedgerEntry, RefundRequest
from domain.order.writes import StockStep
from domain.tasks import Task, TaskKind

#: What the workflow must ask outside before the command's answer: in this order.
Request = ReserveStock | RefundRequest | CaptureQuery | ShipmentBooking


@dataclass
class Reply:
    """The ids the caller is told besides the order's status (the `ActionResult`)."""

    task_id: str | None = None
    case_id: str | None = None
    refund_id: str | None = None
    tracking_number: str | None = None
    message: str = ""
    #: Found only once the world outside answered (a carrier declined the booking): the
    #: command is refused after all, with what it recorded left on the record.
    refusal: OrderError | None = None


@dataclass
class Decision:
    events: list[OrderEvent] = field(default_factory=list)
    opened: list[Task] = field(default_factory=list)
    closed: list[Task] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    stock: list[StockStep] = field(default_factory=list)
    receipts: list[ReceiveStock] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    reply: Reply = field(default_factory=Reply)

    @property
    def kinds(self) -> list[EventKind]:
        """The kinds of the events recorded, in order: the readable summary of a decision."""
        return [event.kind for event in self.events]

    @property
    def refunds(self) -> list[RefundRequest]:
        return [r for r in self.requests if isinstance(r, RefundRequest)]

    @property
    def reservations(self) -> list[ReserveStock]:
        return [r for r in self.requests if isinstance(r, ReserveStock)]

    def opened_kinds(self) -> list[TaskKind]:
        return [task.kind for task in self.opened]

    def closed_kinds(self) -> list[TaskKind]:
        return [task.kind for task in self.closed]
