"""The order under the policy, as one pure aggregate: `Order`.

The order's state is one model (`OrderState`); each command is one method that
takes the command and `now` and returns a `Decision` (what happened, what must be
asked outside, what to answer), or raises the policy's refusal (`domain.errors`)
before anything changes. Each check is also a method of its own (`check_review`),
which the workflow's update validators call. The rules live in one module per part
of the policy, combined here:

    Intake        P2.2 intake and corrections, P3.1 review          intake.py
    Fulfilment    P3.2 stock, P3.3 pack, P3.4 dispatch, delivery   fulfilment.py
    Amendments    P4.1 changes, P4.2 cancellation                  amendments.py
    ChangePayments  P4.1 a dearer change paid for before packing   change_payment.py
    Payments      P5.1 payment events, refunds                     payments.py
    Parcels       P5.2 logistics exceptions                        parcels.py
    Returns       P5.3 returns and exchanges                       returns.py
    Services      P1.2 service orders: visit, work, confirmation   services.py
    Work          tasks done outside, claims                       work.py
    Notifying     the customer told (P3-P5), what the channel said  notifying.py

and here: how an order ends (the after-sales window, follow-ups, completion) and
what falls due with time (task deadlines, the unpaid deadline of P5.1).

No Temporal, no I/O, no clock, no randomness: the workflow (`workflows/order.py`)
asks, and carries out what the decision says.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.actors import SYSTEM_ACTOR, Actor, Department
from domain.cases import CaseKind
from domain.catalogue import Product
from domain.commands import ActionResult, ReceiveCommand, Received
from domain.contracts import OrderWorkflowInput
from domain.errors import ActionNotAllowed, NotPermitted
from domain.events import EventKind
from domain.ledger import RefundState, paid_total, refunded_total
from domain.order.amendments import MAIN_LINE_TASKS, Amendments
from domain.order.base import RefusedFeed, decides
from domain.order.change_payment import ChangePayments
from domain.order.decision import Decision, Reply
from domain.order.details import NewOrder
from domain.order.intake import Intake
from domain.order.notifying import Notifying
from domain.order.parcels import Parcels
from domain.order.payments import Payments
from domain.order.returns import AFTER_SALES, Returns
from domain.order.services import Services
from domain.order.state import OrderState
from domain.order.work import Work
from domain.policy import PolicySettings
from domain.review_checklist import CustomerStanding
from domain.states import BEFORE_SHIPMENT, TERMINAL, OrderStatus
from domain.task_book import TaskBook, deadline_events

S = OrderStatus


class Order(
    Intake, Amendments, ChangePayments, Payments, Parcels, Returns, Services, Work, Notifying
):
    @classmethod
    def new(
        cls,
        order: NewOrder,
        policy: PolicySettings,
        submitted_by: Actor,
        fingerprint: str,
        now: datetime,
        products: Sequence[Product] = (),
        customer: CustomerStanding | None = None,
    ) -> Order:
        """An order just handed over by the platform, not yet looked at (`start`)."""
        state = OrderState(
            order=order,
            products={product.sku: product for product in products},
            customer_standing=customer or CustomerStanding(),
            policy=policy,
            submitted_by=submitted_by,
            fingerprint=fingerprint,
            created_at=now,
            updated_at=now,
            tasks=TaskBook(prefix=order.order_id, order_id=order.order_id),
        )
        return cls(state)

    @classmethod
    def handed_over(cls, input: OrderWorkflowInput, now: datetime) -> Order:
        """The order of a workflow's first run, with what the API read for it (P2.2, P3.1)."""
        return cls.new(
            input.order,
            input.policy,
            input.submitted_by,
            input.fingerprint,
            now,
            input.products,
            input.customer,
        )

    def start(self, now: datetime) -> Decision:
        """P2.2: on record, what was paid booked, the data checked; then review or correction."""
        self._begin(now)
        self._receive()
        return self._finish(None)

    # --- the platform's hand-over (answered once the order is on record) -----------------

    def check_receive(self, command: ReceiveCommand, now: datetime) -> None:
        status = self.state.status
        if command.actor.department is not Department.PLATFORM:
            raise NotPermitted(
                "orders are handed over by the platform (P2.2)",
                status=status,
                code="orders_come_from_the_platform",
            )
        if command.fingerprint != self.state.fingerprint:
            raise ActionNotAllowed(
                "order_id already exists with a different body",
                status=status,
                code="order_id_reused",
            )

    @decides
    def refuse_feed(self, refused: RefusedFeed) -> None:
        """A feed whose signature could not be trusted (domain/trust.py): recorded, dropped."""
        self._record_refused_feed(refused)

    def receipt(self, first: bool) -> Received:
        return Received(order_id=self.order_id, status=self.state.status, first=first)

    def result(self, reply: Reply) -> ActionResult:
        """What the caller of a command is told: the order's status now, and the ids; or the
        refusal found once the world outside answered."""
        if reply.refusal is not None:
            raise reply.refusal
        return ActionResult(
            order_id=self.order_id,
            status=self.state.status,
            message=reply.message,
            task_id=reply.task_id,
            case_id=reply.case_id,
            refund_id=reply.refund_id,
            tracking_number=reply.tracking_number,
        )

    # --- how an order ends ---------------------------------------------------------------

    def _advance(self) -> None:
        """Once the main line is over, the order ends when every follow-up is done."""
        state = self.state
        if state.closed:
            return
        if not state.closing and self._main_line_over():
            state.closing = True
            outcome = f"order {state.status}"
            self._end_pending_requests(outcome)
            self._forget_balance(outcome)
            self._cancel_tasks(MAIN_LINE_TASKS, outcome)
        if state.closing and self._follow_ups_done():
            state.closed = True
            state.closed_at = self.now
            if state.status is S.DELIVERED:
                self._set_status(S.COMPLETED)
                self._record(EventKind.COMPLETED)
            else:
                self._record(EventKind.CLOSED, data={"status": state.status.value})

    def _main_line_over(self) -> bool:
        """A final status; or delivered, the windows of P5.3 over and no return open."""
        state = self.state
        if state.status in TERMINAL:
            return True
        return (
            state.status is S.DELIVERED
            and state.window_closed
            and not self._open_cases(*AFTER_SALES)
        )

    def _follow_ups_done(self) -> bool:
        state = self.state
        return (
            not state.tasks.open_tasks()
            and not state.awaiting_remittance
            and not any(c.is_open for c in state.cases.values())
            and not any(r.state is RefundState.PENDING for r in state.refunds.values())
            # Messages out, or made and not yet written: their answer may need a task.
            and not state.sending
            and not self._writes.notices
        )

    # --- what falls due with time --------------------------------------------------------

    def next_alarm(self) -> datetime | None:
        """The next moment something falls due: a task's reminder or deadline, the end of
        the after-sales window, the payment deadline (P2.1, P5.1), the remittance of cash on
        delivery (P2.1), a service's automatic confirmation (P1.2). None while nothing will."""
        state = self.state
        if state.closed:
            return None
        times = [
            state.tasks.next_alarm(),
            state.unpaid_deadline,
            state.change_payment.due_at if state.change_payment else None,
            state.remittance_due,
            state.confirmation_due,
            self._window_ends(),
        ]
        return min((t for t in times if t is not None), default=None)

    def _window_ends(self) -> datetime | None:
        if self.state.status is not S.DELIVERED or self.state.window_closed:
            return None
        delivered_at = self._delivered_at()  # the goods delivered, or the service confirmed
        assert delivered_at is not None
        return delivered_at + self.state.policy.after_sales_window

    def ring(self, now: datetime) -> Decision:
        """Everything that has fallen due by `now` (P8.1 deadlines, P5.1, P5.3)."""
        self._begin(now)
        state = self.state
        for task, stage in state.tasks.ring(now):
            for kind, data in deadline_events(task, stage):
                self._record(EventKind(kind), task=task, data=data)
            self._task_changed(task)
        if state.unpaid_deadline is not None and state.unpaid_deadline <= now:
            state.unpaid_deadline = None
            still_unpaid = not self._is_paid() and state.status in BEFORE_SHIPMENT
            if still_unpaid and not state.closing:
                never_paid = state.status is S.AWAITING_PAYMENT
                clause = "P2.1" if never_paid else "P5.1"
                reason = f"unpaid when the payment deadline passed ({clause})"
                self._cancel_order(SYSTEM_ACTOR, reason)
        owed = state.change_payment
        if owed is not None and owed.due_at <= now and state.status in BEFORE_SHIPMENT:
            self._balance_overdue()
        if state.remittance_due is not None and state.remittance_due <= now:
            self._remittance_overdue()
        self._confirm_when_due(now)
        ends = self._window_ends()
        if ends is not None and ends <= now:
            state.window_closed = True
        return self._finish(None)

    # --- what ops see in the Temporal UI -------------------------------------------------

    def pending_department(self) -> Department | None:
        """The department whose task is due soonest (the `PendingDepartment` attribute)."""
        pending = self.state.tasks.pending_departments()
        return pending[0] if pending else None

    def overdue(self) -> bool:
        return self.state.tasks.any_overdue()

    def details(self) -> str:
        """The Temporal UI's "current details": status, money, and who the order waits for.
        No personal data (architecture rule 7)."""
        state = self.state
        lines = [
            f"**Status:** {state.status.value}",
            f"**Total:** {state.order.total} · paid {paid_total(state.ledger)} · "
            f"refunded {refunded_total(state.ledger)}",
        ]
        shipment = state.shipment
        if shipment is not None:
            lines.append(
                f"**Carrier:** {shipment.carrier} {shipment.tracking_number} · "
                f"last scan: {shipment.last_scan or 'none yet'}"
            )
        for case in self._open_cases(*CaseKind):
            lines.append(f"- case {case.case_id}: {case.kind.value}")
        for task in state.tasks.open_tasks():
            flag = " **OVERDUE**" if task.overdue else ""
            lines.append(
                f"- {task.department.value}: {task.kind.value} "
                f"due {task.due_at:%Y-%m-%d %H:%M} UTC{flag}"
            )
        return "\n".join(lines)
