"""P4.1: a dearer change of goods is paid for before the warehouse packs it.

An approved change of goods that makes a paid order dearer leaves the customer owing
the difference. The order asks for it (a `payment_requested` event, and a task for
customer service to send the customer the payment request) and the warehouse does
not pack until it is paid: the goods are confirmed in stock (P3.2) as for any change,
but the `pack` task opens, and packing is allowed, only once a `succeeded` payment
event brings what was paid up to the new total (`balance_settled`). Unpaid when the
policy's `payment_deadline` has passed since the approval, the change is undone
(`change_reverted`): the goods last paid for stand again, stock is confirmed for them
anew, and any part of the difference paid is refunded.

Cash on delivery owes nothing beforehand: the carrier collects the new total. An
order not yet paid in full waits for its payment anyway (P2.1), of the new total.
"""

from __future__ import annotations

from domain import summaries
from domain.actors import SYSTEM_ACTOR
from domain.cases import Case
from domain.events import EventKind
from domain.money import ZERO
from domain.order.amendments import IN_FULFILMENT, NOT_YET_REVIEWED
from domain.order.details import OrderItem, OrderKind
from domain.order.fulfilment import Fulfilment
from domain.order.state import ChangePayment
from domain.states import OrderStatus
from domain.tasks import TaskKind

S = OrderStatus


class ChangePayments(Fulfilment):
    def _ask_for_balance(self, case: Case, paid_items: list[OrderItem], was_paid: bool) -> None:
        """P4.1: after an approved change of goods, what a paid order now owes is asked of
        the customer; a later change that leaves nothing owed settles the request."""
        state = self.state
        owed = self._balance_due()
        pending = state.change_payment
        if owed <= ZERO:
            if pending is not None:
                self._balance_settled("nothing owed after the change", resume=False)
            return
        goods = state.order.kind is OrderKind.GOODS
        if not goods or self._cash_on_delivery() or not (was_paid or pending is not None):
            return
        due_at = self.now + state.policy.payment_deadline
        if pending is None:
            state.change_payment = ChangePayment(
                case_id=case.case_id,
                amount=owed,
                requested_at=self.now,
                due_at=due_at,
                paid_items=list(paid_items),
            )
        else:
            # A second dearer change before the first was paid: one request, for the whole.
            previous = state.cases.get(pending.case_id)
            pending.case_id, pending.amount, pending.due_at = case.case_id, owed, due_at
            if previous is not None and previous.case_id != case.case_id:
                self._settle_case(previous)
        self._record(
            EventKind.PAYMENT_REQUESTED,
            case_id=case.case_id,
            data={"amount": str(owed), "until": due_at.isoformat(), "clause": "P4.1"},
        )
        self._cancel_tasks({TaskKind.SEND_PAYMENT_REQUEST}, "superseded by a new request")
        self._open_task(
            TaskKind.SEND_PAYMENT_REQUEST,
            summary=summaries.payment_request(owed, due_at),
            case_id=case.case_id,
        )

    def _payment_toward_balance(self) -> None:
        """P4.1: the payment brought what was paid up to the new total: the order moves on."""
        if self.state.change_payment is None or self._balance_due() > ZERO:
            return
        self._balance_settled("paid")
        # Paid more than owed: the rest goes back (never more than was paid).
        excess = self._refundable() - self.state.order.total
        if excess > ZERO:
            self._refund(excess, "paid more than the changed goods cost (P4.1)")

    def _balance_settled(self, outcome: str, *, resume: bool = True) -> None:
        """The difference is no longer owed: its task closes, its case may close, and goods
        confirmed in stock meanwhile go to the warehouse to pack (unless `resume` is False:
        the caller confirms stock again itself)."""
        state = self.state
        pending = state.change_payment
        assert pending is not None
        state.change_payment = None
        self._record(
            EventKind.BALANCE_SETTLED,
            case_id=pending.case_id,
            data={"amount": str(pending.amount), "outcome": outcome},
        )
        task = state.tasks.find_open(TaskKind.SEND_PAYMENT_REQUEST)
        if task is not None:
            self._close_task(task, SYSTEM_ACTOR, outcome)
        case = state.cases.get(pending.case_id)
        if case is not None:
            self._settle_case(case)
        waiting = state.status is S.READY_TO_PACK and state.reserving is None
        if resume and waiting and state.tasks.find_open(TaskKind.PACK) is None:
            self._open_task(TaskKind.PACK, summary=self._lines_summary())

    def _balance_overdue(self) -> None:
        """P4.1: the difference unpaid by the deadline, the change is undone: the goods last
        paid for stand again (confirmed in stock anew), what was paid of it goes back."""
        state = self.state
        pending = state.change_payment
        assert pending is not None
        state.change_payment = None
        before, unpaid = state.order.total, self._balance_due()
        state.order = state.order.model_copy(update={"items": pending.paid_items})
        self._writes.lines_changed = True
        if state.status in NOT_YET_REVIEWED:
            self._assess_for_review()
        case = state.cases.get(pending.case_id)
        if case is not None:
            case.outcome = "approved; undone: the difference was not paid (P4.1)"
            self._case_changed(case)
        self._record(
            EventKind.CHANGE_REVERTED,
            case_id=pending.case_id,
            data={
                "unpaid": str(unpaid),
                "total_before": str(before),
                "total_after": str(state.order.total),
                "clause": "P4.1",
            },
        )
        self._cancel_tasks({TaskKind.SEND_PAYMENT_REQUEST}, "the change was undone")
        excess = self._refundable() - state.order.total
        if excess > ZERO:
            reason = "change undone: what was paid of the difference (P4.1)"
            self._refund(excess, reason, pending.case_id)
        if case is not None:
            self._settle_case(case)
        if state.status in IN_FULFILMENT:
            self._refulfil("the change was undone: unpaid (P4.1)")

    def _forget_balance(self, outcome: str) -> None:
        """The order ended before the difference was paid: nothing more is asked."""
        pending = self.state.change_payment
        if pending is None:
            return
        self.state.change_payment = None
        case = self.state.cases.get(pending.case_id)
        if case is not None:
            self._settle_case(case)
