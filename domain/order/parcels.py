"""P5.2 logistics exceptions: a lost, damaged or delayed parcel, compensated, reshipped or
refunded, and its cause investigated."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.actions import Action, check_action
from domain.cases import CaseKind
from domain.commands import CauseCommand, ExceptionDecisionCommand, Resolution
from domain.errors import PolicyViolation
from domain.events import EventKind
from domain.ledger import LedgerKind, Refund, RefundRequest, committed
from domain.money import ZERO, quantize
from domain.order.base import decides
from domain.order.decision import Reply
from domain.order.fulfilment import SHIPMENT_TASKS, Fulfilment
from domain.states import OrderStatus
from domain.tasks import TaskKind

S = OrderStatus
#: A parcel that no longer reaches the customer: it is reshipped or refunded (P5.2).
GONE = frozenset({"lost", "damaged"})


class Parcels(Fulfilment):
    def check_decide_exception(self, command: ExceptionDecisionCommand, now: datetime) -> None:
        state = self.state
        check_action(Action.DECIDE_LOGISTICS_EXCEPTION, state.status, command.actor.department)
        case = self._case_for(command.case_id, CaseKind.LOGISTICS_EXCEPTION)
        self._open_task_of_case(
            TaskKind.HANDLE_LOGISTICS_EXCEPTION,
            case,
            code="case_already_decided",
            message=f"{case.case_id} is already decided",
        )
        if command.compensation > state.order.total:
            raise PolicyViolation(
                "compensation above the order's total",
                status=state.status,
                code="compensation_above_total",
            )
        event = case.data.get("event")
        if event in GONE and state.status is S.IN_TRANSIT:
            if command.resolution is Resolution.NONE:
                raise PolicyViolation(
                    "lost or damaged goods are reshipped or refunded (P5.2)",
                    status=state.status,
                    code="lost_goods_need_a_resolution",
                )
            self._check_not_closing()
        elif command.resolution is not Resolution.NONE:
            raise PolicyViolation(
                f"nothing to {command.resolution}: the parcel is {event} "
                f"and the order {state.status}",
                status=state.status,
                code="nothing_to_resolve",
                params={"resolution": command.resolution.value, "status": state.status.value},
            )

    def admit_decide_exception(self, command: ExceptionDecisionCommand, now: datetime) -> None:
        """The check a decision passes when it arrives (the update's validator):
        `check_decide_exception`, and the order's compensation cap below.

        The cap came within release r3, so the handler does not run it again: a decision a
        worker accepted before it replays as it ran (validators do not run on replay).
        Fold it into `check_decide_exception` when the next release is cut."""
        self.check_decide_exception(command, now)
        self._check_compensation_cap(command.compensation)

    def _check_compensation_cap(self, compensation: Decimal) -> None:
        """P5.2: compensation for the order's parcel troubles, all cases together, stays
        within the order's total: each delay scan opens a case of its own, and a cap per
        case alone would pay the order's value once per scan."""
        state = self.state
        promised = committed(state.refunds.values(), LedgerKind.COMPENSATION)
        if compensation > ZERO and promised + compensation > state.order.total:
            raise PolicyViolation(
                f"compensation of {compensation} on top of the {promised} already paid or "
                f"due would exceed the order's total {state.order.total} (P5.2)",
                status=state.status,
                code="compensation_above_total",
                params={"promised": str(promised), "total": str(state.order.total)},
            )

    @decides
    def decide_exception(self, command: ExceptionDecisionCommand) -> Reply:
        """P5.2: customer service informed the customer; compensation, reship or refund."""
        self.check_decide_exception(command, self.now)
        state = self.state
        case = state.cases[command.case_id]
        task = state.tasks.find_open(TaskKind.HANDLE_LOGISTICS_EXCEPTION, case.case_id)
        assert task is not None  # checked
        closed = self._close_task(task, command.actor, command.resolution.value)
        case.outcome = command.resolution.value
        self._record(
            EventKind.CASE_DECIDED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={
                "kind": case.kind.value,
                "resolution": command.resolution.value,
                "compensation": str(command.compensation),
                **closed,
            },
        )
        if command.compensation > ZERO:
            self._compensate(command.compensation, case.case_id, case.data.get("event"))
        self._settle_case(case)
        reason = f"parcel {case.data.get('event')} (P5.2)"
        if command.resolution is Resolution.RESHIP:
            self._refulfil(f"reship: {reason}")
        elif command.resolution is Resolution.REFUND:
            self._refund_shipment(f"refund: {reason}", case.case_id)
        return Reply(case_id=case.case_id)

    def _compensate(self, amount: Decimal, case_id: str, event: object) -> None:
        """P5.2: compensation is paid out through the gateway like a refund (finance pays it
        by hand if the gateway refuses), once per case (its id is the case's), and booked as
        compensation: no refund of what was paid, so the refund cap does not count it."""
        payout = Refund(
            refund_id=f"{self.order_id}:compensation:{case_id}",
            amount=quantize(amount),
            reason=f"compensation: parcel {event} (P5.2)",
            kind=LedgerKind.COMPENSATION,
            case_id=case_id,
            requested_at=self.now,
        )
        self.state.refunds[payout.refund_id] = payout
        self._decision.requests.append(
            RefundRequest(
                refund_id=payout.refund_id,
                order_id=self.order_id,
                amount=payout.amount,
                kind=LedgerKind.COMPENSATION,
                transaction_id=self.state.order.payment.transaction_id,
                case_id=case_id,
                reason=payout.reason,
            )
        )

    def _refund_shipment(self, reason: str, case_id: str) -> None:
        """P5.2: the lost or damaged goods are refunded; the order ends."""
        self._cancel_tasks(SHIPMENT_TASKS, reason)
        self._set_status(S.REFUNDED)
        self._record(EventKind.ORDER_REFUNDED, case_id=case_id, note=reason)
        self._refund(self._refundable(), reason, case_id)
        self._settle_case(self.state.cases[case_id])

    def check_record_cause(self, command: CauseCommand, now: datetime) -> None:
        check_action(Action.RECORD_LOGISTICS_CAUSE, self.state.status, command.actor.department)
        case = self._case_for(command.case_id, CaseKind.LOGISTICS_EXCEPTION)
        self._open_task_of_case(
            TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION,
            case,
            code="cause_already_recorded",
            message=f"the cause of {case.case_id} is already recorded",
        )

    @decides
    def record_cause(self, command: CauseCommand) -> Reply:
        """P5.2: logistics records the cause of an exception and the corrective action."""
        self.check_record_cause(command, self.now)
        case = self.state.cases[command.case_id]
        task = self.state.tasks.find_open(TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION, case.case_id)
        assert task is not None  # checked
        closed = self._close_task(task, command.actor, "cause recorded")
        self._record(
            EventKind.LOGISTICS_CAUSE_RECORDED,
            actor=command.actor,
            task=task,
            data={"cause": command.cause, "corrective_action": command.corrective_action, **closed},
        )
        self._settle_case(case)
        return Reply(case_id=case.case_id)
