"""P2.2 intake and its corrections, P3.1 review: the order's way to the warehouse."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain import summaries
from domain.actions import Action, check_action
from domain.actors import Actor
from domain.commands import CorrectionCommand, RejectionReason, ReviewCommand
from domain.errors import NotPermitted, PolicyViolation
from domain.events import EventKind
from domain.intake import validate_intake
from domain.ledger import LedgerKind
from domain.money import ZERO
from domain.order.base import decides
from domain.order.details import Payment, PaymentStatus
from domain.order.fulfilment import Fulfilment
from domain.review_checklist import CallOutcome, unanswered
from domain.states import OrderStatus
from domain.tasks import TaskKind

S = OrderStatus
CORRECTED_PARTS = ("customer", "items", "shipping", "payment")


def phone_verified(command: ReviewCommand) -> bool:
    """P3.1: the call recorded with its outcome, or (the earlier contract) the tick box."""
    if command.phone_call is not None:
        return command.phone_call.outcome is CallOutcome.CONFIRMED
    return bool(command.phone_verified)


def review_answers(command: ReviewCommand) -> dict[str, Any]:
    """What the reviewer answered beyond approval, for the record (only what was given)."""
    answers: dict[str, Any] = {}
    if command.checks_done:
        answers["checks_done"] = sorted(command.checks_done)
    if command.checklist:
        answers["checklist"] = [a.model_dump(mode="json") for a in command.checklist]
    if command.phone_call is not None:
        answers["phone_call"] = command.phone_call.model_dump(mode="json")
    return answers


def _reported_paid(payment: Payment) -> Decimal:
    """What a payment says was paid: its amount when paid, nothing otherwise."""
    return payment.amount if payment.status is PaymentStatus.PAID else ZERO


class Intake(Fulfilment):
    # --- P2.2 intake -------------------------------------------------------------------

    def _receive(self) -> None:
        """The platform handed the order over: on record, paid money booked, data checked."""
        order = self.state.order
        self._record(
            EventKind.RECEIVED,
            actor=self.state.submitted_by,
            data={
                "lines": len(order.items),
                "total": str(order.total),
                "payment": order.payment.status.value,
            },
        )
        self._book_intake_payment(self.state.submitted_by)
        self._validate()

    def _validate(self) -> None:
        """P2.2: valid data goes to review; faulty data to the department that owns it."""
        state = self.state
        problems = validate_intake(state.order, state.products)
        state.problems = problems
        if problems:
            self._set_status(S.NEEDS_CORRECTION)
            task = self._open_task(
                TaskKind.CORRECT_ORDER,
                department=problems[0].department,
                summary=summaries.fix([p.field for p in problems]),
            )
            self._record(
                EventKind.INTAKE_PROBLEMS,
                task=task,
                data={"problems": [p.model_dump(mode="json") for p in problems]},
            )
            return
        if self._waits_for_payment():
            self._set_status(S.AWAITING_PAYMENT)
            state.unpaid_deadline = self.now + state.policy.payment_deadline
            self._record(
                EventKind.AWAITING_PAYMENT,
                data={"due": str(state.order.total), "until": state.unpaid_deadline.isoformat()},
            )
            return
        self._to_review()

    def _waits_for_payment(self) -> bool:
        """P2.1: an order exists once paid; only cash on delivery ships before it is."""
        return not self._cash_on_delivery() and not self._is_paid()

    def _to_review(self) -> None:
        """P3.1: a valid order (paid, or cash on delivery) goes to sales for review."""
        state = self.state
        self._assess_for_review()
        self._set_status(S.UNDER_REVIEW)
        order = state.order
        units = sum(line.quantity for line in order.items)
        summary = summaries.review(len(order.items), units, order.total, state.risk_reasons)
        self._open_task(TaskKind.REVIEW, summary=summary)

    def _book_intake_payment(self, actor: Actor) -> None:
        """P2.2: what the payment system says was paid is booked; a correction adjusts it."""
        state = self.state
        payment = state.order.payment
        reported = _reported_paid(payment)
        difference = reported - state.intake_paid
        if difference == ZERO:
            return
        number = sum(1 for e in state.ledger if ":payment:intake" in e.entry_id) + 1
        self._add_entry(
            LedgerKind.PAYMENT,
            difference,
            f"{self.order_id}:payment:intake-{number}",
            actor,
            reference=payment.transaction_id,
            announce=True,
        )
        state.intake_paid = reported

    def check_correct(self, command: CorrectionCommand, now: datetime) -> None:
        check_action(Action.CORRECT, self.state.status, command.actor.department)
        task = self.state.tasks.find_open(TaskKind.CORRECT_ORDER)
        if task is not None and task.department is not command.actor.department:
            raise NotPermitted(
                f"the faulty data belongs to {task.department} (P2.2)",
                status=self.state.status,
                code="correction_by_owner",
                params={"department": task.department.value},
            )

    def admit_correct(self, command: CorrectionCommand, now: datetime) -> None:
        """The check a correction passes when it arrives (the update's validator):
        `check_correct`, and the payment rule below.

        The payment rule came within release r3, so the handler does not run it again: a
        correction a worker accepted before it replays as it ran (validators do not run on
        replay). Fold it into `check_correct` when the next release is cut."""
        self.check_correct(command, now)
        self._check_payment_correction(command)

    def _check_payment_correction(self, command: CorrectionCommand) -> None:
        """P2.2: the payment is what the payment system reported. A correction may lower
        what the order records as paid (a report that overstated it), never raise it, nor
        change how or under which transaction it was paid: money received is booked on the
        payment system's word (`payment_event`), and refunds go back to the transaction it
        named, so a correction never books money nobody verified, nor picks where a refund
        is paid."""
        corrected = command.payment
        if corrected is None:
            return
        state = self.state
        current = state.order.payment
        if (corrected.method, corrected.transaction_id) != (
            current.method,
            current.transaction_id,
        ):
            raise PolicyViolation(
                "the payment's method and transaction are the payment system's to report, "
                "not a correction's (P2.2)",
                status=state.status,
                code="payment_facts_not_corrected",
            )
        reported = _reported_paid(corrected)
        if reported > state.intake_paid:
            raise PolicyViolation(
                f"a correction cannot raise what was paid ({state.intake_paid}) to "
                f"{reported}: a payment is booked on the payment system's word (P2.2)",
                status=state.status,
                code="payment_not_raised_by_correction",
                params={"paid": str(state.intake_paid), "corrected": str(reported)},
            )

    @decides
    def correct(self, command: CorrectionCommand) -> None:
        """P2.2: the faulty data is replaced, and checked again."""
        self.check_correct(command, self.now)
        state = self.state
        parts = [name for name in CORRECTED_PARTS if getattr(command, name) is not None]
        state.order = state.order.model_copy(
            update={name: getattr(command, name) for name in parts}
        )
        if "items" in parts:
            self._writes.lines_changed = True
        self._learn_products(command.products)
        task = state.tasks.find_open(TaskKind.CORRECT_ORDER)
        assert task is not None  # the status says so
        closed = self._close_task(task, command.actor, "corrected")
        self._record(
            EventKind.CORRECTED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={"fields": parts, **closed},
        )
        self._book_intake_payment(command.actor)
        self._validate()

    # --- P3.1 review -------------------------------------------------------------------

    def check_review(self, command: ReviewCommand, now: datetime) -> None:
        state = self.state
        check_action(Action.REVIEW, state.status, command.actor.department)
        if not command.approved:
            return  # a rejection needs no more than its reason
        if state.risk_reasons and not phone_verified(command):
            raise PolicyViolation(
                "a risky order needs phone verification before approval (P3.1): "
                + ", ".join(state.risk_reasons),
                status=state.status,
                code="phone_verification_required",
                params={"reasons": list(state.risk_reasons)},
            )
        missing = {
            sku: check
            for sku, check in self._checks_due().items()
            if check not in (command.checks_done or [])
        }
        if missing:
            raise PolicyViolation(
                "restricted goods need their check before approval (P3.1): "
                + ", ".join(f"{sku} ({check})" for sku, check in sorted(missing.items())),
                status=state.status,
                code="restricted_check_required",
                params={"skus": sorted(missing), "checks": sorted(set(missing.values()))},
            )
        self._check_checklist(command)

    def _check_checklist(self, command: ReviewCommand) -> None:
        """P3.1: an approval answers each point that needs a judgement, and none 'not in
        order'; a customer on the blocked list is not approved at all."""
        state = self.state
        if state.customer_standing.blocked:
            raise PolicyViolation(
                "the customer is on the blocked list (P3.1 customer qualification)",
                status=state.status,
                code="customer_blocked",
            )
        answers = command.checklist or []
        not_ok = [answer.point.value for answer in answers if not answer.ok]
        if not_ok:
            raise PolicyViolation(
                f"an approval cannot find {', '.join(not_ok)} not in order: reject (P3.1)",
                status=state.status,
                code="checklist_point_not_ok",
                params={"points": not_ok},
            )
        missing = [point.value for point in unanswered(state.review_findings, answers)]
        if missing:
            raise PolicyViolation(
                f"the review must answer {', '.join(missing)} before approval (P3.1)",
                status=state.status,
                code="checklist_unanswered",
                params={"points": missing},
            )

    @decides
    def review(self, command: ReviewCommand) -> None:
        """P3.1: approved goes to the warehouse; rejected is refunded what was paid."""
        self.check_review(command, self.now)
        state = self.state
        state.phone_verified = phone_verified(command)
        task = state.tasks.find_open(TaskKind.REVIEW)
        assert task is not None  # the status says so
        closed = self._close_task(
            task, command.actor, "approved" if command.approved else "rejected"
        )
        self._record(
            EventKind.REVIEWED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={
                "approved": command.approved,
                "phone_verified": state.phone_verified,
                "risk_reasons": list(state.risk_reasons),
                **review_answers(command),
                **closed,
            },
        )
        if command.approved:
            self._fulfil()
            return
        self._set_status(S.REJECTED)
        reason = command.reason_code or RejectionReason.OTHER
        self._record(
            EventKind.REJECTED,
            actor=command.actor,
            note=command.note,
            data={"reason_code": reason.value},
        )
        # P3.1: sales contacts the customer, explains the reason and resolves it.
        self._open_task(TaskKind.EXPLAIN_REJECTION, summary=summaries.explain_rejection(reason))
        self._refund(self._refundable(), "order rejected at review (P3.1)")
