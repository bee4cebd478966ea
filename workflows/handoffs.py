"""How staff actions travel inside an order's workflow.

A `Handoff` carries a validated command from its update handler to `run` and the answer
back; the `Outbox` holds what a step changed until it is written, with the handoffs to
answer then; an `Interrupt` is raised out of a wait of `run` when an action changed the
order's course (P4, P5). Plain data, kept out of the workflow module so that the
sandbox does not rebuild it for every order (imported as pass-through).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from activities.contracts import StockStep
from domain.actors import Actor
from domain.cases import Case
from domain.commands import ActionResult
from domain.errors import OrderError
from domain.events import OrderEvent
from domain.ledger import LedgerEntry
from domain.tasks import Task

C = TypeVar("C")


@dataclass
class Handoff(Generic[C]):
    """A staff command handed from its update handler to `run`, and the answer back."""

    command: C
    done: bool = False
    result: ActionResult | None = None
    error: OrderError | None = None
    case_id: str | None = None


@dataclass
class Outbox:
    """Changes not yet written to the read model, and the handoffs to answer once they are."""

    events: list[OrderEvent] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    lines_changed: bool = False
    stock: list[StockStep] = field(default_factory=list)
    answers: list[tuple[Handoff[Any], str]] = field(default_factory=list)


class Interrupt(Exception):
    """Raised out of a wait of `run` when an action changed the order's course."""

    def __init__(self, handoff: Handoff[Any] | None, reason: str) -> None:
        super().__init__(reason)
        self.handoff = handoff
        self.reason = reason


class Cancel(Interrupt):
    """P4.2: cancel before shipment (customer service, or the unpaid deadline of P5.1)."""

    def __init__(self, handoff: Handoff[Any] | None, reason: str, actor: Actor) -> None:
        super().__init__(handoff, reason)
        self.actor = actor


class Refulfil(Interrupt):
    """Ship again from stock confirmation: new goods (P4.1), a reshipment (P5.2), an exchange
    (P5.3)."""

    def __init__(self, handoff: Handoff[Any] | None, reason: str, case_id: str | None) -> None:
        super().__init__(handoff, reason)
        self.case_id = case_id


class RefundShipment(Interrupt):
    """P5.2: a lost or damaged parcel is refunded instead of reshipped; the order ends."""

    def __init__(self, handoff: Handoff[Any] | None, reason: str, case_id: str) -> None:
        super().__init__(handoff, reason)
        self.case_id = case_id


class AcceptReturn(Interrupt):
    """P5.3: the quality problem is confirmed and the goods are returned for a refund."""

    def __init__(self, handoff: Handoff[Any] | None, reason: str, case_id: str) -> None:
        super().__init__(handoff, reason)
        self.case_id = case_id
