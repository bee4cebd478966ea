"""The order aggregate's recording kit: how every rule writes down what it decided.

Each command of the aggregate (`domain.order.aggregate.Order`) runs inside one
decision (`@decides`): it checks the command against the policy first, then
changes the state through the helpers here, which record the matching events,
tasks, cases, money and stock movements into the decision and into the writes
the workflow sends to the read model at its next flush. After every command the
order is given the chance to end (`_advance`). No clock of its own, no I/O:
`now` comes with every command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any, Literal, TypeVar

from domain import summaries
from domain.actions import Action, check_action, check_department, check_kind
from domain.actors import SYSTEM_ACTOR, Actor
from domain.cases import Case, CaseKind, CaseState
from domain.commands import DecideChangeCommand, DecideReturnCommand
from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError
from domain.events import EventKind, OrderEvent
from domain.inventory import ReceiveStock, ReserveStock
from domain.ledger import (
    LedgerEntry,
    LedgerKind,
    Refund,
    RefundRequest,
    RefundState,
    compensated_total,
    paid_total,
    refundable,
    refunded_total,
)
from domain.money import ZERO, quantize
from domain.notices import Notice, notice_for
from domain.order.decision import Decision, Reply
from domain.order.details import OrderItem, PaymentMethod
from domain.order.state import OrderState
from domain.order.writes import OrderChanges, StockStep
from domain.states import OrderStatus, can_transition
from domain.task_book import ClosedBy
from domain.tasks import Task, TaskKind, TaskState
from domain.view import OrderView

AnyOrder = TypeVar("AnyOrder", bound="OrderBase")
C = TypeVar("C")


def decides(
    method: Callable[[AnyOrder, C], Reply | None],
) -> Callable[[AnyOrder, C, datetime], Decision]:
    """Run a command as one decision at `now`; the method checks, then changes the state."""

    @wraps(method)
    def decide(self: AnyOrder, command: C, now: datetime) -> Decision:
        self._begin(now)
        return self._finish(method(self, command))

    return decide


#: Refused feeds recorded as events, per order; beyond that they are only counted.
RECORDED_REFUSALS = 20


@dataclass(frozen=True)
class RefusedFeed:
    """A signal the order dropped: its name, the actor it claimed, and why."""

    feed: str
    actor: Actor | None
    refusal: OrderError


@dataclass
class PendingWrites:
    """What changed since the read model was last written (the next flush's content)."""

    events: list[OrderEvent] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    stock: list[StockStep] = field(default_factory=list)
    receipts: list[ReceiveStock] = field(default_factory=list)
    #: Messages to the customer, written to the outbox with the events that cause them.
    notices: list[Notice] = field(default_factory=list)
    lines_changed: bool = False

    def __bool__(self) -> bool:
        changed = self.events or self.tasks or self.cases or self.ledger or self.lines_changed
        return bool(changed or self.stock or self.receipts or self.notices)


class OrderBase:
    def __init__(self, state: OrderState, *, first_write: bool = True) -> None:
        self.state = state
        self.now = state.updated_at
        self._decision = Decision()
        #: A new order writes its lines with its first record; a continued one has them.
        self._writes = PendingWrites(lines_changed=first_write)
        #: Events recorded and not yet confirmed in the read model (the live view shows them).
        self.unwritten: list[OrderEvent] = []
        #: Notices written to the outbox and not yet handed to the channel (`follow_ups`).
        self._to_send: list[str] = []
        #: The reply of a dispatch waiting for the carrier's booking (one decision long).
        self._booking_reply: Reply | None = None

    # --- decisions ---------------------------------------------------------------------

    def _begin(self, now: datetime) -> Decision:
        self.now = now
        self._decision = Decision()
        return self._decision

    def _finish(self, reply: Reply | None) -> Decision:
        self._advance()
        if reply is not None:
            self._decision.reply = reply
        return self._decision

    def _advance(self) -> None:
        """Let the order move on by itself after a command (closing, completion)."""

    # --- the record --------------------------------------------------------------------

    @property
    def status(self) -> OrderStatus:
        return self.state.status

    @property
    def order_id(self) -> str:
        return self.state.order.order_id

    def _set_status(self, new: OrderStatus) -> None:
        if not can_transition(self.state.status, new):
            # A bug, not a refusal: the workflow task fails so ops see it and a fix can resume.
            raise RuntimeError(f"illegal transition {self.state.status} -> {new}")
        self.state.status = new

    def _record(
        self,
        kind: EventKind,
        *,
        actor: Actor | None = None,
        note: str = "",
        task: Task | None = None,
        case_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> OrderEvent:
        state = self.state
        state.seq += 1
        state.updated_at = self.now
        event = OrderEvent(
            seq=state.seq,
            at=self.now,
            kind=kind,
            status=state.status,
            actor=actor or SYSTEM_ACTOR,
            note=note[:1000],
            task_id=task.task_id if task else None,
            case_id=case_id or (task.case_id if task else None),
            data=data or {},
        )
        self._decision.events.append(event)
        self._writes.events.append(event)
        notice = notice_for(event, state.order)
        if notice is not None:
            self._writes.notices.append(notice)
        self.unwritten.append(event)
        return event

    # --- checks (refusals come before any change) ---------------------------------------

    def _check_course_change(self, action: Action, actor: Actor) -> None:
        """A change of the order's course (P4, P5) needs the action allowed now, and an
        order whose main line has not ended."""
        check_action(action, self.state.status, actor.department)
        self._check_not_closing()

    def _check_step(self, action: Action, actor: Actor) -> None:
        """A step of the main line: the department's, one an order of this kind has (P1.2: a
        service has no goods, goods no visit), and its turn now."""
        check_department(action, actor.department)
        check_kind(action, self.state.order.kind, self.state.status)
        check_action(action, self.state.status, actor.department)

    def _check_service_not_done(self, action: Action) -> None:
        """P4.1, P4.2: like goods once shipped, a service once its work was done is neither
        changed nor cancelled (a rework visit included): a complaint decides (P5.3)."""
        if any(visit.done_at is not None for visit in self.state.visits):
            status = self.state.status
            raise ActionNotAllowed(
                f"{action} is not possible once the service was performed (P4)",
                status=status,
                code="service_already_performed",
                params={"action": action.value, "clause": "P4"},
            )

    def _check_not_closing(self) -> None:
        if self.state.closing:
            status = self.state.status
            raise ActionNotAllowed(
                f"the order is closing ({status})",
                status=status,
                code="order_closing",
                params={"status": status.value},
            )

    def _case_for(self, case_id: str, *kinds: CaseKind) -> Case:
        case = self.state.cases.get(case_id)
        status = self.state.status
        if case is None or case.kind not in kinds:
            raise NotFound(
                f"no {' or '.join(kinds)} case {case_id} on this order",
                status=status,
                code="no_such_case",
                params={"case_id": case_id},
            )
        if not case.is_open:
            raise ActionNotAllowed(
                f"case {case_id} is closed",
                status=status,
                code="case_closed",
                params={"case_id": case_id},
            )
        return case

    def _open_task_of_case(self, kind: TaskKind, case: Case, *, code: str, message: str) -> Task:
        """The case's task of this kind; refused (`code`, `message`) when it is not open."""
        task = self.state.tasks.find_open(kind, case.case_id)
        if task is None:
            raise ActionNotAllowed(
                message,
                status=self.state.status,
                code=code,
                params={"case_id": case.case_id},
            )
        return task

    def _task_for(self, task_id: str, actor: Actor) -> Task:
        return self.state.tasks.open_for(
            task_id, actor, status=self.state.status.value, owner="order"
        )

    # --- feeds the order cannot take (domain/trust.py) -----------------------------------

    def _feed_allowed(self, action: Action, feed: str, actor: Actor) -> bool:
        """A feed (tracking, a payment event) from a department that may not send it is
        dropped and recorded: a signal cannot be refused, like an update can."""
        try:
            check_department(action, actor.department)
        except NotPermitted as refusal:
            self._record_refused_feed(RefusedFeed(feed, actor, refusal))
            return False
        return True

    def _within_feed_limit(self, feed: str, recorded: int, *, changes_the_order: bool) -> bool:
        """Past `feed_event_limit` events of a feed, an event that would change nothing is
        dropped: a flood cannot grow the order's record (or its state) without bound. The
        first drop of each feed is recorded, and alerts (workflows/metrics.py)."""
        state = self.state
        if changes_the_order or recorded < state.policy.feed_event_limit:
            return True
        dropped = state.feeds_over_limit.get(feed, 0) + 1
        state.feeds_over_limit[feed] = dropped
        if dropped == 1:
            self._record(
                EventKind.FEED_LIMIT_REACHED,
                data={"feed": feed, "limit": state.policy.feed_event_limit},
            )
        return False

    def _record_refused_feed(self, refused: RefusedFeed) -> None:
        """Count it; record the first few (a flood must not fill the order's record)."""
        state = self.state
        state.feeds_refused += 1
        if state.feeds_refused > RECORDED_REFUSALS:
            return
        claimed = refused.actor
        self._record(
            EventKind.FEED_REFUSED,
            note=refused.refusal.message,
            data={
                "feed": refused.feed,
                "code": refused.refusal.code,
                "claimed_staff_id": claimed.staff_id if claimed else None,
                "claimed_department": claimed.department.value if claimed else None,
                "refused_so_far": state.feeds_refused,
            },
        )

    # --- tasks -------------------------------------------------------------------------

    def _open_task(
        self,
        kind: TaskKind,
        *,
        summary: summaries.Summary,
        case_id: str | None = None,
        **options: Any,
    ) -> Task:
        task = self.state.tasks.open(
            kind, self.now, self.state.policy, summary=summary, case_id=case_id, **options
        )
        self._task_changed(task)
        self._decision.opened.append(task)
        return task

    def _close_task(
        self, task: Task, actor: Actor, outcome: str, state: TaskState = TaskState.DONE
    ) -> ClosedBy:
        closed = self.state.tasks.close(task, actor, outcome, self.now, state)
        self._task_changed(task)
        self._decision.closed.append(task)
        if task.case_id is not None:
            self._settle_case(self.state.cases[task.case_id])
        return closed

    def _cancel_tasks(self, kinds: Iterable[TaskKind], outcome: str) -> None:
        wanted = frozenset(kinds)
        for task in self.state.tasks.open_tasks():
            if task.kind in wanted:
                self._close_task(task, SYSTEM_ACTOR, outcome, TaskState.CANCELLED)

    def _task_changed(self, task: Task) -> None:
        self.state.revision += 1
        task.revision = self.state.revision
        self._writes.tasks[task.task_id] = task

    # --- cases -------------------------------------------------------------------------

    def _open_case(
        self, kind: CaseKind, actor: Actor, *, reason: str = "", data: dict[str, Any] | None = None
    ) -> Case:
        case = Case(
            case_id=f"{self.order_id}-C{len(self.state.cases) + 1}",
            order_id=self.order_id,
            kind=kind,
            opened_at=self.now,
            reason=reason[:500],
            data=data or {},
        )
        self.state.cases[case.case_id] = case
        self._case_changed(case)
        self._record(
            EventKind.CASE_OPENED,
            actor=actor,
            note=reason,
            case_id=case.case_id,
            data={"kind": kind.value, **(data or {})},
        )
        return case

    def _open_cases(self, *kinds: CaseKind) -> list[Case]:
        return [c for c in self.state.cases.values() if c.is_open and c.kind in kinds]

    def _case_changed(self, case: Case) -> None:
        self.state.revision += 1
        case.revision = self.state.revision
        self._writes.cases[case.case_id] = case

    def _settle_case(self, case: Case) -> None:
        """Close the case once it is decided, its tasks are done and its refunds settled."""
        if not case.is_open or case.outcome is None:
            return
        if self.state.tasks.of_case(case.case_id):
            return
        unsettled = (RefundState.PENDING, RefundState.FAILED)
        if any(
            r.case_id == case.case_id and r.state in unsettled for r in self.state.refunds.values()
        ):
            return
        owed = self.state.change_payment
        if owed is not None and owed.case_id == case.case_id:
            return  # P4.1: a dearer change stays open until it is paid for, or undone
        case.state = CaseState.CLOSED
        case.closed_at = self.now
        self._case_changed(case)
        self._record(
            EventKind.CASE_CLOSED,
            case_id=case.case_id,
            data={"kind": case.kind.value, "outcome": case.outcome},
        )

    def _decide_request(
        self, case: Case, kind: TaskKind, command: DecideChangeCommand | DecideReturnCommand
    ) -> Case:
        """A customer's request (P4.1 change, P5.3 return or exchange) approved or rejected:
        its review task closes and the decision is recorded."""
        task = self.state.tasks.find_open(kind, case.case_id)
        assert task is not None  # checked
        closed = self._close_task(
            task, command.actor, "approved" if command.approved else "rejected"
        )
        self._record(
            EventKind.CASE_DECIDED,
            actor=command.actor,
            note=command.reason,
            task=task,
            data={"kind": case.kind.value, "approved": command.approved, **closed},
        )
        return case

    def _end_pending_requests(self, outcome: str) -> None:
        """Requests still awaiting a decision lose their point when the order ends."""
        for case in self._open_cases(CaseKind.CHANGE, CaseKind.RETURN, CaseKind.EXCHANGE):
            if case.outcome is None:
                case.outcome = outcome
                self.state.proposals.pop(case.case_id, None)

    # --- money -------------------------------------------------------------------------

    def _add_entry(
        self,
        kind: LedgerKind,
        amount: Decimal,
        entry_id: str,
        actor: Actor,
        *,
        case_id: str | None = None,
        reference: str | None = None,
        note: str = "",
        announce: bool = False,
    ) -> LedgerEntry:
        """Book a money movement. `announce` records it as a `ledger` event too: the moves
        the order books itself (payments, compensation); a refund has its own events."""
        entry = LedgerEntry(
            entry_id=entry_id,
            order_id=self.order_id,
            kind=kind,
            amount=quantize(amount),
            at=self.now,
            actor_id=actor.staff_id,
            actor_department=actor.department.value,
            case_id=case_id,
            reference=reference,
            note=note[:500],
        )
        self.state.ledger.append(entry)
        self._writes.ledger.append(entry)
        self._decision.ledger.append(entry)
        if announce:
            self._record(
                EventKind.LEDGER,
                actor=actor,
                case_id=case_id,
                data={"entry_id": entry_id, "kind": kind.value, "amount": str(entry.amount)},
            )
        return entry

    def _refundable(self) -> Decimal:
        return refundable(self.state.ledger, list(self.state.refunds.values()))

    def _is_paid(self) -> bool:
        ledger = self.state.ledger
        return paid_total(ledger) - refunded_total(ledger) >= self.state.order.total > ZERO

    def _cash_on_delivery(self) -> bool:
        return self.state.order.payment.method is PaymentMethod.CASH_ON_DELIVERY

    def _expect_remittance(self) -> None:
        """P2.1: delivered and not yet paid, cash on delivery waits for the carrier's
        remittance (asked on delivery)."""
        state = self.state
        if self._cash_on_delivery() and not self._is_paid() and not state.awaiting_remittance:
            state.awaiting_remittance = True
            state.remittance_due = self.now + state.policy.remittance_deadline

    def _remittance_settled(self) -> None:
        """P2.1: the cash on delivery is settled: remitted, or reconciled by finance."""
        self.state.awaiting_remittance = False
        self.state.remittance_due = None

    def _to_review(self) -> None:
        """P3.1: a valid order that may go on (paid, or cash on delivery) goes to review.
        Decided by intake (`Intake._to_review`); a payment that arrives late asks for it."""
        raise NotImplementedError

    def _balance_due(self) -> Decimal:
        """What the customer still owes for a paid order whose total went up (P4.1)."""
        paid = paid_total(self.state.ledger)
        if paid == ZERO:
            return ZERO
        refunds = self.state.refunds.values()
        net = paid - sum((r.amount for r in refunds if r.kind is LedgerKind.REFUND), ZERO)
        return max(self.state.order.total - net, ZERO)

    def _ask_for_balance(self, case: Case, paid_items: list[OrderItem], was_paid: bool) -> None:
        """P4.1: after an approved change of goods, ask the customer for what it costs more
        (`domain.order.change_payment.ChangePayments`)."""
        raise NotImplementedError

    def _payment_toward_balance(self) -> None:
        """P4.1: a payment was booked: it may settle the difference a change costs."""
        raise NotImplementedError

    def _refund(
        self,
        amount: Decimal,
        reason: str,
        case_id: str | None = None,
        *,
        transaction_id: str | None = None,
    ) -> Refund | None:
        """Ask the gateway to pay money back; never more than may still be refunded.

        The refund counts as given from now on (`refundable`), so that nothing can be
        refunded twice while the gateway answers (`refund_answer`).
        """
        amount = min(quantize(amount), self._refundable())
        if amount <= ZERO:
            return None
        refund = Refund(
            refund_id=f"{self.order_id}:refund:{len(self.state.refunds) + 1}",
            amount=amount,
            reason=reason[:500],
            case_id=case_id,
            requested_at=self.now,
        )
        self.state.refunds[refund.refund_id] = refund
        self._decision.requests.append(
            RefundRequest(
                refund_id=refund.refund_id,
                order_id=self.order_id,
                amount=amount,
                transaction_id=transaction_id or self.state.order.payment.transaction_id,
                case_id=case_id,
                reason=reason,
            )
        )
        return refund

    def _record_refund_issued(
        self, refund: Refund, actor: Actor, task: Task | None, closed: ClosedBy
    ) -> None:
        """A refund (or compensation, P5.2) paid out: on the record, and its ledger line."""
        ledger = self.state.ledger
        if refund.kind is LedgerKind.REFUND:
            kind = EventKind.REFUND_ISSUED
            totals = {
                "paid_total": str(paid_total(ledger)),
                "refunded_total": str(refunded_total(ledger)),
            }
        else:
            kind = EventKind.COMPENSATION_PAID
            totals = {"compensated_total": str(compensated_total(ledger))}
        self._record(
            kind,
            actor=actor,
            task=task,
            case_id=refund.case_id,
            data={
                "refund_id": refund.refund_id,
                "amount": str(refund.amount),
                **totals,
                "reference": refund.reference,
                **closed,
            },
        )
        self._record(
            EventKind.LEDGER,
            actor=actor,
            case_id=refund.case_id,
            data={
                "entry_id": refund.refund_id,
                "kind": refund.kind.value,
                "amount": str(-refund.amount),
            },
        )

    # --- stock -------------------------------------------------------------------------

    def _reserve(self) -> None:
        """P3.2: ask the inventory to hold the order's goods (answered by `stock_answer`)."""
        state = self.state
        state.reservations += 1
        key = f"{self.order_id}:R{state.reservations}"
        state.reserving = key
        self._decision.requests.append(
            ReserveStock(
                order_id=self.order_id, reservation_key=key, quantities=state.order.quantities()
            )
        )

    def _move_stock(self, action: Literal["ship", "release"]) -> None:
        """Ship or release what the order holds, with the step's next write (one transaction)."""
        key = self.state.reservation_key
        if key is None:
            return
        step = StockStep(action=action, reservation_key=key)
        self._writes.stock.append(step)
        self._decision.stock.append(step)
        kind = EventKind.STOCK_SHIPPED if action == "ship" else EventKind.STOCK_RELEASED
        self._record(kind, data={"reservation": key, "quantities": self.state.reserved})
        self.state.reservation_key = None

    def _book_back(self, receipt: ReceiveStock) -> None:
        """Returned goods go back on the shelf with the step's next write (P5.3)."""
        self._writes.receipts.append(receipt)
        self._decision.receipts.append(receipt)

    # --- the read model ----------------------------------------------------------------

    def view(self) -> OrderView:
        """The order as people see it: what the read model mirrors and the query returns."""
        state = self.state
        tasks = state.tasks
        return OrderView(
            order=state.order,
            status=state.status,
            created_at=state.created_at,
            updated_at=state.updated_at,
            closed_at=state.closed_at,
            risk_reasons=state.risk_reasons,
            review_findings=state.review_findings,
            phone_verified=state.phone_verified,
            intake_problems=state.problems,
            backorder=state.backorder,
            shipment=state.shipment,
            shipments=state.shipments,
            service_visits=state.visits,
            total=state.order.total,
            paid_amount=paid_total(state.ledger),
            refunded_amount=refunded_total(state.ledger),
            balance_due=self._balance_due(),
            cases=list(state.cases.values()),
            refunds=list(state.refunds.values()),
            ledger=state.ledger,
            open_tasks=tasks.open_tasks(),
            pending_departments=tasks.pending_departments(),
            overdue=tasks.any_overdue(),
            intake_fingerprint=state.fingerprint,
            last_seq=state.seq,
        )

    @property
    def has_writes(self) -> bool:
        return bool(self._writes)

    @property
    def holds_unwritten_money_or_stock(self) -> bool:
        """A refund or a reservation reads the ledger and stock in the database: what the
        order booked or moved must be written first."""
        writes = self._writes
        return bool(writes.ledger or writes.stock or writes.receipts)

    def take_writes(self) -> OrderChanges | None:
        """Everything to write since the last flush, or None when nothing changed."""
        writes = self._writes
        if not writes:
            return None
        self._writes = PendingWrites()
        self.state.revision += 1
        return OrderChanges(
            view=self.view(),
            revision=self.state.revision,
            events=writes.events,
            # The write is encoded as soon as it is handed to the activity, before anything
            # changes again: no copies needed.
            tasks=list(writes.tasks.values()),
            cases=list(writes.cases.values()),
            ledger=writes.ledger,
            lines_changed=writes.lines_changed,
            stock=writes.stock,
            receipts=writes.receipts,
            notices=writes.notices,
        )

    def written(self, changes: OrderChanges) -> None:
        """The read model confirmed these changes: the live view no longer adds them."""
        done = {event.seq for event in changes.events}
        sent = [notice.notification_id for notice in changes.notices]
        self.state.sending += sent
        self._to_send += sent
        self.unwritten = [event for event in self.unwritten if event.seq not in done]
