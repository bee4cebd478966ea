"""P5.3 quality problems after delivery: returns and exchanges within their windows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain import summaries
from domain.actions import Action
from domain.cases import Case, CaseKind
from domain.commands import (
    DecideReturnCommand,
    InspectionCommand,
    ReturnCommand,
    ReturnKind,
)
from domain.errors import ActionNotAllowed, PolicyViolation
from domain.events import EventKind
from domain.inventory import ReceiveStock
from domain.money import ZERO, quantize
from domain.order.base import decides
from domain.order.decision import Reply
from domain.order.supplier_claims import SupplierClaims
from domain.states import OrderStatus
from domain.tasks import TaskKind

S = OrderStatus
AFTER_SALES = (CaseKind.RETURN, CaseKind.EXCHANGE)


class Returns(SupplierClaims):
    def check_request_return(self, command: ReturnCommand, now: datetime) -> None:
        state = self.state
        # P1.2: a service has no goods to send back (a complaint about it: services.py).
        self._check_step(Action.REQUEST_RETURN, command.actor)
        self._check_not_closing()
        shipment = state.shipment
        assert shipment is not None and shipment.delivered_at is not None  # delivered
        policy = state.policy
        window = (
            policy.return_window if command.kind is ReturnKind.RETURN else policy.exchange_window
        )
        if now > shipment.delivered_at + window:
            raise PolicyViolation(
                f"the {command.kind.value} window of {window} after delivery has closed (P5.3)",
                status=state.status,
                code="return_window_closed",
                params={"return_kind": command.kind.value, "window": str(window)},
            )
        if self._open_cases(*AFTER_SALES):
            raise ActionNotAllowed(
                "a return or exchange is already open",
                status=state.status,
                code="return_already_open",
            )
        self._check_return_lines(command)

    def _check_return_lines(self, command: ReturnCommand) -> None:
        """P5.3: what comes back was delivered and is not back yet; an exchange is whole."""
        state = self.state
        returnable = self._returnable()
        if command.lines is None:
            return
        if command.kind is ReturnKind.EXCHANGE:
            raise PolicyViolation(
                "an exchange is of the whole order; return some lines instead (P5.3)",
                status=state.status,
                code="exchange_is_whole",
            )
        for line in command.lines:
            left = returnable.get(line.sku, 0)
            if line.quantity > left:
                raise PolicyViolation(
                    f"{line.quantity} of {line.sku} cannot come back: {left} can (P5.3)",
                    status=state.status,
                    code="return_more_than_delivered",
                    params={"sku": line.sku, "returnable": str(left)},
                )

    def _returnable(self) -> dict[str, int]:
        """Units delivered and not yet returned, by sku."""
        returned = self.state.returned
        return {
            sku: quantity - returned.get(sku, 0)
            for sku, quantity in self.state.order.quantities().items()
            if quantity > returned.get(sku, 0)
        }

    def _case_lines(self, case: Case) -> dict[str, int]:
        """The units a return case is about (every unit not yet back, when it named none)."""
        lines = case.data.get("lines")
        if isinstance(lines, dict):
            return {sku: int(str(quantity)) for sku, quantity in lines.items()}
        return self._returnable()

    @decides
    def request_return(self, command: ReturnCommand) -> Reply:
        """P5.3: a customer asks to return or exchange goods with a quality problem."""
        self.check_request_return(command, self.now)
        kind = CaseKind.RETURN if command.kind is ReturnKind.RETURN else CaseKind.EXCHANGE
        data: dict[str, Any] = {"reason_code": command.reason_code.value}
        if command.lines is not None:
            data["lines"] = {line.sku: line.quantity for line in command.lines}
        case = self._open_case(kind, command.actor, reason=command.reason, data=data)
        task = self._open_task(
            TaskKind.REVIEW_RETURN,
            summary=summaries.return_request(kind.value, command.reason_code.value),
            case_id=case.case_id,
        )
        return Reply(task_id=task.task_id, case_id=case.case_id)

    def check_decide_return(self, command: DecideReturnCommand, now: datetime) -> None:
        self._check_step(Action.DECIDE_RETURN, command.actor)
        case = self._case_for(command.case_id, *AFTER_SALES)
        self._open_task_of_case(
            TaskKind.REVIEW_RETURN,
            case,
            code="case_already_decided",
            message=f"{case.case_id} is already decided",
        )

    @decides
    def decide_return(self, command: DecideReturnCommand) -> Reply:
        """P5.3: customer service reviews the request; approved goods go to inspection."""
        self.check_decide_return(command, self.now)
        case = self._decide_request(
            self.state.cases[command.case_id], TaskKind.REVIEW_RETURN, command
        )
        if command.approved:
            inspect = self._open_task(
                TaskKind.INSPECT_RETURN,
                summary=summaries.inspect_return(case.kind.value),
                case_id=case.case_id,
            )
            return Reply(task_id=inspect.task_id, case_id=case.case_id)
        case.outcome = "rejected"
        self._settle_case(case)
        return Reply(case_id=case.case_id)

    def check_inspect_return(self, command: InspectionCommand, now: datetime) -> None:
        self._check_step(Action.INSPECT_RETURN, command.actor)
        case = self._case_for(command.case_id, *AFTER_SALES)
        self._open_task_of_case(
            TaskKind.INSPECT_RETURN,
            case,
            code="not_waiting_for_inspection",
            message=f"{case.case_id} is not waiting for inspection",
        )
        if command.quality_confirmed:
            self._check_not_closing()

    @decides
    def inspect_return(self, command: InspectionCommand) -> Reply:
        """P5.3: the warehouse inspects; a confirmed problem is refunded or exchanged."""
        self.check_inspect_return(command, self.now)
        case = self.state.cases[command.case_id]
        task = self.state.tasks.find_open(TaskKind.INSPECT_RETURN, case.case_id)
        assert task is not None  # checked
        confirmed = command.quality_confirmed
        closed = self._close_task(
            task, command.actor, "quality problem" if confirmed else "no problem"
        )
        self._record(
            EventKind.RETURN_INSPECTED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={"quality_confirmed": confirmed, "restock": command.restock, **closed},
        )
        if not confirmed:
            case.outcome = "no quality problem found"
            self._settle_case(case)
            return Reply(case_id=case.case_id)
        lines = self._case_lines(case) if case.kind is CaseKind.RETURN else None
        back = lines or self.state.order.quantities()
        self._take_back_goods(case, command, back)
        # P5.3: "sales and finance are told": sales claims the goods from the supplier.
        self._claim_from_supplier(case, self._value_of(back))
        self._open_task(
            TaskKind.ADJUST_ACCOUNTS,
            summary=summaries.adjust_accounts(case.kind.value),
            case_id=case.case_id,
        )
        if lines is not None:
            self._returned(case, lines)
        else:
            case.outcome = "exchanged"
            self._refulfil("exchange: quality problem (P5.3)")
        self._settle_case(case)
        return Reply(case_id=case.case_id)

    def _returned(self, case: Case, lines: dict[str, int]) -> None:
        """P5.3: the goods that came back are refunded; all of them, and the order is returned."""
        state = self.state
        for sku, quantity in lines.items():
            state.returned[sku] = state.returned.get(sku, 0) + quantity
        if not self._returnable():
            case.outcome = "returned and refunded"
            self._set_status(S.RETURNED)
            self._record(EventKind.RETURNED, case_id=case.case_id)
            self._refund(self._refundable(), "goods returned: quality problem (P5.3)", case.case_id)
            return
        value = self._value_of(lines)
        case.outcome = "partly returned and refunded"
        self._record(
            EventKind.PARTLY_RETURNED,
            case_id=case.case_id,
            data={"lines": dict(sorted(lines.items())), "value": str(value)},
        )
        self._refund(value, "some goods returned: quality problem (P5.3)", case.case_id)

    def _value_of(self, units: dict[str, int]) -> Decimal:
        """What these units of the order's lines were sold for."""
        prices = {line.sku: line.unit_price for line in self.state.order.items}
        return quantize(sum((prices[sku] * q for sku, q in units.items()), ZERO))

    def _take_back_goods(
        self, case: Case, command: InspectionCommand, quantities: dict[str, int]
    ) -> None:
        """Returned units are booked back into stock or written off, as the warehouse says."""
        if command.restock:
            for sku, quantity in sorted(quantities.items()):
                self._book_back(
                    ReceiveStock(
                        receipt_id=f"{case.case_id}:{sku}",
                        sku=sku,
                        quantity=quantity,
                        note=f"returned goods of {case.case_id}",
                        actor_id=command.actor.staff_id,
                    )
                )
        self._record(
            EventKind.STOCK_RETURNED if command.restock else EventKind.STOCK_WRITTEN_OFF,
            actor=command.actor,
            case_id=case.case_id,
            data={"quantities": quantities},
        )
