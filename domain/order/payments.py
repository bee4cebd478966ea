"""P2.1 payment and cash on delivery's remittance, P5.1 payment exceptions, and refunds:
the gateway's answers and finance's hand."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain import summaries
from domain.actions import Action, check_action
from domain.actors import SYSTEM_ACTOR
from domain.cases import CaseKind
from domain.commands import CompleteRefundCommand, PaymentEventCommand, PaymentEventKind
from domain.errors import ActionNotAllowed, NotFound
from domain.events import EventKind
from domain.ledger import (
    CaptureAnswer,
    CaptureQuery,
    LedgerKind,
    RefundOutcome,
    RefundState,
    paid_total,
)
from domain.order.base import OrderBase, RefusedFeed, decides
from domain.order.decision import Reply
from domain.order.state import AwaitingCapture
from domain.states import BEFORE_SHIPMENT, OrderStatus
from domain.tasks import TaskKind


class Payments(OrderBase):
    @decides
    def payment_event(self, command: PaymentEventCommand) -> None:
        """P5.1: the payment system reports a failed, duplicate or late successful payment."""
        state = self.state
        if not self._feed_allowed(Action.PAYMENT_EVENT, "payment_event", command.actor):
            return
        if command.event_id in state.payment_events_seen:
            return
        # Payment events come from the platform alone and each is about money: past the
        # limit none is taken (a platform does not send hundreds for one order); finance
        # learns it from the record and the alert.
        seen = len(state.payment_events_seen)
        if not self._within_feed_limit("payment_event", seen, changes_the_order=False):
            return
        if command.kind is PaymentEventKind.REMITTED and not self._cash_on_delivery():
            refusal = ActionNotAllowed(
                "a remittance settles cash on delivery only (P2.1)",
                status=state.status,
                code="remittance_not_cash_on_delivery",
            )
            self._record_refused_feed(RefusedFeed("payment_event", command.actor, refusal))
            return
        state.payment_events_seen.add(command.event_id)
        self._record(
            EventKind.PAYMENT_EVENT,
            actor=command.actor,
            data={
                "event_id": command.event_id,
                "kind": command.kind.value,
                "amount": str(command.amount),
                "transaction_id": command.transaction_id,
            },
        )
        entry_id = f"{self.order_id}:payment:{command.event_id}"
        if command.kind is PaymentEventKind.REMITTED:
            self._remitted(command, entry_id)
            return
        # Cancelled or rejected, the order is no sale any more: what it is paid goes back.
        no_sale = state.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED)
        if command.kind is PaymentEventKind.SUCCEEDED and not self._is_paid() and not no_sale:
            self._book_payment(command, entry_id)
            if state.status is OrderStatus.AWAITING_PAYMENT and self._is_paid():
                # P2.1: paid, the order exists and goes on to review.
                state.unpaid_deadline = None
                self._to_review()
            # P4.1: or it pays for a dearer change of goods.
            self._payment_toward_balance()
            return
        # A payment taken twice (or taken again once paid, or for an order that ended without
        # it: cancelled, rejected) is a duplicate (P5.1): refunded once the gateway confirms it.
        duplicate = command.kind is not PaymentEventKind.FAILED
        case = self._open_case(
            CaseKind.PAYMENT_EXCEPTION,
            command.actor,
            reason=f"payment {command.kind.value}",
            data={"event": "duplicate" if duplicate else "failed", "amount": str(command.amount)},
        )
        self._open_task(
            TaskKind.CONTACT_CUSTOMER,
            summary=summaries.payment_contact(duplicate),
            case_id=case.case_id,
        )
        if not duplicate:
            case.outcome = "payment failure handled"
            # A dearer change unpaid (P4.1) has a deadline of its own: its change is undone.
            owes_change = state.change_payment is not None
            unpaid = not self._is_paid() and state.status in BEFORE_SHIPMENT and not owes_change
            if unpaid and state.unpaid_deadline is None:
                # P5.1: an order still unpaid when the deadline passes is cancelled.
                state.unpaid_deadline = self.now + state.policy.unpaid_payment_deadline
            return
        # Money moves only on verified facts: the gateway must confirm the second capture.
        state.awaiting_capture[command.event_id] = AwaitingCapture(
            case_id=case.case_id, command=command
        )
        self._decision.requests.append(
            CaptureQuery(
                order_id=self.order_id,
                transaction_id=command.transaction_id,
                event_id=command.event_id,
                claimed=command.amount,
            )
        )

    def _book_payment(
        self, command: PaymentEventCommand, entry_id: str, *, remittance: bool = False
    ) -> None:
        """Money the platform reports received: into the ledger, and on the record."""
        self._add_entry(
            LedgerKind.PAYMENT,
            command.amount,
            entry_id,
            command.actor,
            reference=command.transaction_id,
            announce=True,
        )
        data: dict[str, object] = {"amount": str(command.amount), "entry_id": entry_id}
        if remittance:
            data["remittance"] = True
        self._record(EventKind.PAYMENT_RECEIVED, actor=command.actor, data=data)

    def _remitted(self, command: PaymentEventCommand, entry_id: str) -> None:
        """P2.1: the carrier hands over the cash it collected on delivery. Booked as the
        order's payment; a sum other than the order's goes to finance to reconcile."""
        state = self.state
        self._book_payment(command, entry_id, remittance=True)
        self._remittance_settled()
        remitted = paid_total(state.ledger)
        if remitted != state.order.total:
            self._open_task(
                TaskKind.RECONCILE_REMITTANCE,
                summary=summaries.remittance_differs(remitted, state.order.total),
            )

    def _remittance_overdue(self) -> None:
        """P2.1: the remittance is late: finance reconciles it with the carrier."""
        state = self.state
        state.remittance_due = None
        self._record(EventKind.REMITTANCE_OVERDUE, data={"due": str(state.order.total)})
        self._open_task(
            TaskKind.RECONCILE_REMITTANCE, summary=summaries.remittance_late(state.order.total)
        )

    @decides
    def capture_answer(self, answer: CaptureAnswer) -> None:
        """P5.1: what the gateway says of a reported duplicate. A confirmed second capture of
        at least the amount reported is booked and refunded to that very transaction;
        anything else moves no money and goes to finance to verify."""
        state = self.state
        pending = state.awaiting_capture.pop(answer.event_id, None)
        if pending is None:
            return
        command, case = pending.command, state.cases[pending.case_id]
        txn = command.transaction_id
        booked = any(e.kind is LedgerKind.PAYMENT and e.reference == txn for e in state.ledger)
        doubt = self._capture_doubt(answer, command.amount, booked)
        if doubt is not None:
            case.outcome = "duplicate not confirmed: verified by finance"
            self._record(
                EventKind.CAPTURE_UNCONFIRMED,
                case_id=case.case_id,
                data={
                    "transaction_id": txn,
                    "reported": str(command.amount),
                    "captured": None if answer.captured is None else str(answer.captured),
                    "reason": doubt,
                },
            )
            self._open_task(
                TaskKind.ACCOUNT_PAYMENT,
                summary=summaries.verify_duplicate(txn, command.amount, answer.captured),
                case_id=case.case_id,
            )
            return
        case.outcome = "duplicate payment refunded"
        self._add_entry(
            LedgerKind.PAYMENT,
            command.amount,
            f"{self.order_id}:payment:{command.event_id}",
            command.actor,
            case_id=case.case_id,
            reference=txn,
            announce=True,
        )
        self._open_task(
            TaskKind.ACCOUNT_PAYMENT,
            summary=summaries.duplicate_payment(command.amount),
            case_id=case.case_id,
        )
        self._refund(command.amount, "duplicate payment (P5.1)", case.case_id, transaction_id=txn)

    @staticmethod
    def _capture_doubt(answer: CaptureAnswer, reported: Decimal, booked: bool) -> str | None:
        """Why the reported duplicate cannot be refunded as it stands; None when it can."""
        if answer.failure is not None:
            return f"the gateway could not be asked: {answer.failure}"
        if answer.captured is None:
            return "the gateway knows no such capture"
        if booked:
            return "the transaction is already booked for this order: not a second capture"
        if reported > answer.captured:
            return f"reported {reported}, the gateway captured {answer.captured}"
        return None

    @decides
    def refund_answer(self, outcome: RefundOutcome) -> None:
        """The gateway paid the refund (or compensation) out, or refused: then finance pays
        it by hand."""
        refund = self.state.refunds[outcome.refund_id]
        refund.settled_at = self.now
        if outcome.issued:
            refund.state = RefundState.ISSUED
            refund.reference = outcome.reference
            # Booked by the activity already; the read model's copy is then a no-op.
            self._add_entry(
                refund.kind,
                -refund.amount,
                refund.refund_id,
                SYSTEM_ACTOR,
                case_id=refund.case_id,
                reference=outcome.reference,
                note=refund.reason,
            )
            self._record_refund_issued(refund, SYSTEM_ACTOR, None, {})
        else:
            refund.state = RefundState.FAILED
            refund.failure = (outcome.failure or "refused")[:300]
            compensation = refund.kind is LedgerKind.COMPENSATION
            self._record(
                EventKind.COMPENSATION_FAILED if compensation else EventKind.REFUND_FAILED,
                case_id=refund.case_id,
                data={
                    "refund_id": refund.refund_id,
                    "amount": str(refund.amount),
                    "reason": refund.failure,
                },
            )
            by_hand = summaries.compensation_by_hand if compensation else summaries.refund_by_hand
            task = self._open_task(
                TaskKind.MANUAL_REFUND,
                summary=by_hand(refund.amount, refund.refund_id, refund.failure),
                case_id=refund.case_id,
            )
            self.state.refund_tasks[refund.refund_id] = task.task_id
        if refund.case_id is not None:
            self._settle_case(self.state.cases[refund.case_id])

    def check_complete_refund(self, command: CompleteRefundCommand, now: datetime) -> None:
        state = self.state
        check_action(Action.COMPLETE_REFUND, state.status, command.actor.department)
        refund = state.refunds.get(command.refund_id)
        if refund is None:
            raise NotFound(
                f"no refund {command.refund_id} on this order",
                status=state.status,
                code="no_such_refund",
                params={"refund_id": command.refund_id},
            )
        if refund.state is not RefundState.FAILED:
            raise ActionNotAllowed(
                f"refund {command.refund_id} is {refund.state}",
                status=state.status,
                code="refund_not_failed",
                params={"refund_id": command.refund_id, "refund_state": refund.state.value},
            )

    @decides
    def complete_refund(self, command: CompleteRefundCommand) -> Reply:
        """Finance paid out by hand a refund (or compensation) the gateway refused."""
        self.check_complete_refund(command, self.now)
        state = self.state
        refund = state.refunds[command.refund_id]
        refund.state = RefundState.COMPLETED_BY_FINANCE
        refund.reference = command.reference
        refund.settled_at = self.now
        self._add_entry(
            refund.kind,
            -refund.amount,
            refund.refund_id,
            command.actor,
            case_id=refund.case_id,
            reference=command.reference,
            note=command.note,
        )
        task = state.tasks.get(state.refund_tasks[refund.refund_id])
        outcome = "refunded by hand" if refund.kind is LedgerKind.REFUND else "paid by hand"
        closed = self._close_task(task, command.actor, outcome) if task else {}
        self._record_refund_issued(refund, command.actor, task, closed)
        if refund.case_id is not None:
            self._settle_case(state.cases[refund.case_id])
        return Reply(refund_id=refund.refund_id)
