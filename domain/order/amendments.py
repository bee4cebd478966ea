"""P4 before shipment: the customer's changes (P4.1) and cancellation (P4.2)."""

from __future__ import annotations

from datetime import datetime

from domain import summaries
from domain.actions import Action
from domain.actors import Actor
from domain.cases import Case, CaseKind
from domain.commands import CancelCommand, ChangeCommand, DecideChangeCommand
from domain.events import EventKind
from domain.money import ZERO
from domain.order.base import decides
from domain.order.decision import Reply
from domain.order.fulfilment import Fulfilment
from domain.states import OrderStatus
from domain.tasks import TaskKind

S = OrderStatus

#: Tasks of the main line: pointless once the order ends, so they are cancelled then.
#: Follow-ups (refunds by hand, accounting, supplier, investigations) stay until done.
MAIN_LINE_TASKS = frozenset(
    {
        TaskKind.CORRECT_ORDER,
        TaskKind.REVIEW,
        TaskKind.RECORD_BACKORDER,
        TaskKind.INFORM_BACKORDER,
        TaskKind.PACK,
        TaskKind.DISPATCH,
        TaskKind.DELIVER,
        TaskKind.REVIEW_CHANGE,
        TaskKind.REPLAN_DELIVERY,
        TaskKind.SEND_PAYMENT_REQUEST,
        TaskKind.REVIEW_RETURN,
        TaskKind.SCHEDULE_SERVICE,
        TaskKind.PERFORM_SERVICE,
    }
)
#: Before review the goods decide whether the order is risky (P3.1); after, it is reviewed.
NOT_YET_REVIEWED = frozenset({S.RECEIVED, S.NEEDS_CORRECTION, S.UNDER_REVIEW})
#: Shipping is under way from stock: new goods must be confirmed and packed again.
IN_FULFILMENT = frozenset({S.OUT_OF_STOCK, S.READY_TO_PACK, S.AWAITING_DISPATCH})


class Amendments(Fulfilment):
    # --- P4.1 changes ------------------------------------------------------------------

    def check_request_change(self, command: ChangeCommand, now: datetime) -> None:
        self._check_course_change(Action.REQUEST_CHANGE, command.actor)
        self._check_service_not_done(Action.REQUEST_CHANGE)
        if command.items is not None:
            # P3.1 price accuracy holds for new goods as it did at intake.
            self._check_lines(command.items, command.products)

    @decides
    def request_change(self, command: ChangeCommand) -> Reply:
        """P4.1: the customer's request, for customer service to review."""
        self.check_request_change(command, self.now)
        fields = [name for name in ("shipping", "items") if getattr(command, name) is not None]
        case = self._open_case(
            CaseKind.CHANGE,
            command.actor,
            reason=command.reason,
            data={"fields": fields, "caused_by_error": command.caused_by_error},
        )
        self.state.proposals[case.case_id] = command
        task = self._open_task(
            TaskKind.REVIEW_CHANGE, summary=summaries.change_of(fields), case_id=case.case_id
        )
        return Reply(task_id=task.task_id, case_id=case.case_id)

    def check_decide_change(self, command: DecideChangeCommand, now: datetime) -> None:
        self._check_course_change(Action.DECIDE_CHANGE, command.actor)
        case = self._case_for(command.case_id, CaseKind.CHANGE)
        self._open_task_of_case(
            TaskKind.REVIEW_CHANGE,
            case,
            code="case_already_decided",
            message=f"{case.case_id} is already decided",
        )

    @decides
    def decide_change(self, command: DecideChangeCommand) -> Reply:
        """P4.1: approved changes are applied; new goods are confirmed and paid for again."""
        self.check_decide_change(command, self.now)
        state = self.state
        case = self._decide_request(state.cases[command.case_id], TaskKind.REVIEW_CHANGE, command)
        proposal = state.proposals.pop(case.case_id)
        case.outcome = "approved" if command.approved else "rejected"
        paid_items, was_paid = state.order.items, self._is_paid()
        goods_changed = command.approved and self._apply_change(proposal, command.actor, case)
        if goods_changed:
            # A dearer change of a paid order is paid for before it is packed.
            self._ask_for_balance(case, paid_items, was_paid)
        self._settle_case(case)
        if goods_changed and state.status in IN_FULFILMENT:
            # New goods: stock is confirmed again (P3.2) before the answer.
            self._refulfil("the goods changed (P4.1)")
        return Reply(case_id=case.case_id)

    def _apply_change(self, proposal: ChangeCommand, actor: Actor, case: Case) -> bool:
        """Apply an approved change (P4.1). True when the goods changed."""
        state = self.state
        fields: list[str] = []
        before = state.order.total
        if proposal.shipping is not None:
            state.order = state.order.model_copy(update={"shipping": proposal.shipping})
            fields.append("shipping")
            # P4.1: "a change of address makes logistics re-plan the route".
            self._open_task(
                TaskKind.REPLAN_DELIVERY, summary=summaries.replan_route(), case_id=case.case_id
            )
        if proposal.items is not None:
            state.order = state.order.model_copy(update={"items": proposal.items})
            self._learn_products(proposal.products)
            self._writes.lines_changed = True
            fields.append("items")
        after = state.order.total
        if state.status in NOT_YET_REVIEWED:
            self._assess_for_review()
        self._record(
            EventKind.CHANGE_APPLIED,
            actor=actor,
            case_id=case.case_id,
            data={"fields": fields, "total_before": str(before), "total_after": str(after)},
        )
        if proposal.items is None:
            return False
        # Money follows the goods: a cheaper order is refunded the difference; a dearer
        # one owes the rest (balance_due), asked of the customer (`_ask_for_balance`).
        overpaid = self._refundable() - after
        if after < before and overpaid > ZERO:
            self._refund(overpaid, "cheaper goods after a change (P4.1)", case.case_id)
        return True

    # --- P4.2 cancellation -------------------------------------------------------------

    def check_cancel(self, command: CancelCommand, now: datetime) -> None:
        self._check_course_change(Action.CANCEL, command.actor)
        self._check_service_not_done(Action.CANCEL)

    @decides
    def cancel(self, command: CancelCommand) -> Reply:
        """P4.2: before shipment; a paid order is refunded."""
        self.check_cancel(command, self.now)
        return Reply(case_id=self._cancel_order(command.actor, command.reason))

    def _cancel_order(self, actor: Actor, reason: str) -> str:
        """P4.2: release the stock, stop the warehouse and logistics, refund what was paid."""
        case = self._open_case(CaseKind.CANCELLATION, actor, reason=reason)
        case.outcome = "cancelled"
        packed = self.state.status is S.AWAITING_DISPATCH and self.state.packages > 0
        self._move_stock("release")
        self._end_pending_requests("order cancelled")
        self._cancel_tasks(MAIN_LINE_TASKS, "order cancelled")
        paid = self._refundable() > ZERO
        self._set_status(S.CANCELLED)
        self._record(
            EventKind.CANCELLED,
            actor=actor,
            note=reason,
            case_id=case.case_id,
            data={"paid": paid},
        )
        if paid:
            self._refund(self._refundable(), "order cancelled (P4.2)", case.case_id)
        if packed:
            # The stock is released in the books; the parcel on the dispatch shelf is real.
            self._open_task(
                TaskKind.PUT_BACK,
                summary=summaries.put_back(self.state.packages),
                case_id=case.case_id,
            )
        self._settle_case(case)
        return case.case_id
