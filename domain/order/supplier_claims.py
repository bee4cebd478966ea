"""P5.3 the supplier's part of a quality problem: sales claims the goods' value from the
supplier and follows the claim to its end (claimed → agreed → credited, or declined); the
credit is booked on the order's ledger as an `adjustment`, which the revenue report shows
apart from payments and refunds (db/reports.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain import summaries
from domain.actions import Action, check_department
from domain.cases import Case, CaseKind
from domain.commands import ClaimStep, SupplierClaimCommand
from domain.errors import ActionNotAllowed, PolicyViolation
from domain.events import EventKind
from domain.ledger import LedgerKind
from domain.order.base import decides
from domain.order.decision import Reply
from domain.order.fulfilment import Fulfilment
from domain.tasks import TaskKind

CLAIMED = "claimed"
#: Where a claim may go from where it stands.
NEXT_STEPS: dict[str, frozenset[ClaimStep]] = {
    CLAIMED: frozenset({ClaimStep.AGREED, ClaimStep.DECLINED}),
    ClaimStep.AGREED.value: frozenset({ClaimStep.CREDITED, ClaimStep.DECLINED}),
}


class SupplierClaims(Fulfilment):
    def _claim_from_supplier(self, returned: Case, value: Decimal) -> None:
        """P5.3: goods with a confirmed quality problem are claimed from the supplier."""
        claim = self._open_case(
            CaseKind.SUPPLIER_CLAIM,
            self.state.submitted_by,
            reason=f"quality problem confirmed in {returned.case_id}",
            data={"return_case": returned.case_id, "value": str(value), "step": CLAIMED},
        )
        self._open_task(
            TaskKind.SUPPLIER_FOLLOW_UP,
            summary=summaries.supplier_follow_up(returned.kind.value),
            case_id=claim.case_id,
        )

    def check_supplier_claim(self, command: SupplierClaimCommand, now: datetime) -> None:
        state = self.state
        check_department(Action.SUPPLIER_CLAIM, command.actor.department)
        claim = self._case_for(command.case_id, CaseKind.SUPPLIER_CLAIM)
        step = str(claim.data.get("step", CLAIMED))
        if command.step not in NEXT_STEPS.get(step, frozenset()):
            raise ActionNotAllowed(
                f"the claim {claim.case_id} is {step}: it cannot be {command.step} now (P5.3)",
                status=state.status,
                code="claim_step_not_now",
                params={"case_id": claim.case_id, "claim_step": step, "step": command.step.value},
            )
        value = Decimal(str(claim.data["value"]))
        if command.step is ClaimStep.AGREED and command.amount and command.amount > value:
            raise PolicyViolation(
                f"the supplier cannot credit more than the goods' value {value} (P5.3)",
                status=state.status,
                code="claim_above_value",
                params={"value": str(value)},
            )

    @decides
    def supplier_claim(self, command: SupplierClaimCommand) -> Reply:
        """P5.3: the supplier's answer: agreed (an amount), credited (booked), or declined."""
        self.check_supplier_claim(command, self.now)
        claim = self.state.cases[command.case_id]
        claim.data["step"] = command.step.value
        data: dict[str, str] = {"step": command.step.value}
        if command.step is ClaimStep.AGREED:
            assert command.amount is not None  # the request's own check
            claim.data["agreed"] = data["amount"] = str(command.amount)
        self._case_changed(claim)
        self._record(
            EventKind.SUPPLIER_CLAIM_UPDATED,
            actor=command.actor,
            note=command.note,
            case_id=claim.case_id,
            data={**data, **({"reference": command.reference} if command.reference else {})},
        )
        if command.step is ClaimStep.AGREED:
            return Reply(case_id=claim.case_id)
        if command.step is ClaimStep.CREDITED:
            self._add_entry(
                LedgerKind.ADJUSTMENT,
                Decimal(str(claim.data["agreed"])),
                f"{self.order_id}:supplier-credit:{claim.case_id}",
                command.actor,
                case_id=claim.case_id,
                reference=command.reference,
                note="supplier credit for goods with a quality problem (P5.3)",
                announce=True,
            )
        claim.outcome = command.step.value
        task = self.state.tasks.find_open(TaskKind.SUPPLIER_FOLLOW_UP, claim.case_id)
        if task is not None:
            self._close_task(task, command.actor, command.step.value)
        self._settle_case(claim)
        return Reply(case_id=claim.case_id)
