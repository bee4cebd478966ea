"""P5.3 the supplier's part of a quality problem: sales claims the goods' value from the
supplier and follows the claim to its end; the credit is an `adjustment` on the ledger.
Pure decisions of the order aggregate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.cases import CaseKind, CaseState
from domain.commands import ClaimStep, CompleteTaskCommand, SupplierClaimCommand
from domain.errors import ActionNotAllowed, NotPermitted, PolicyViolation
from domain.events import EventKind as E
from domain.ledger import LedgerKind
from domain.states import OrderStatus as S
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, actor

LINES = [("SKU-KETTLE", 2, "129.00"), ("SKU-TOASTER", 1, "80.00")]


def claimed(lines: dict[str, int] | None = None) -> tuple[Story, str]:
    """A delivered order whose goods came back with a confirmed quality problem."""
    story = Story.at(S.DELIVERED, lines=LINES)
    story.request_return(lines=lines)
    story.decide_return()
    story.inspect(restock=False)
    claim = next(c for c in story.state.cases.values() if c.kind is CaseKind.SUPPLIER_CLAIM)
    return story, claim.case_id


def step(story: Story, claim: str, name: str, **fields: object) -> object:
    command = SupplierClaimCommand(
        actor=actor(str(fields.pop("by", "sales"))), case_id=claim, step=ClaimStep(name), **fields
    )
    return story.act(story.order.supplier_claim, command)


@pytest.mark.parametrize(
    ("lines", "value"), [(None, "338.00"), ({"SKU-KETTLE": 1}, "129.00")], ids=["all", "one"]
)
def test_p5_3_the_claim_is_for_the_value_of_what_came_back(lines, value):
    story, claim = claimed(lines)
    assert story.state.cases[claim].data["value"] == value
    task = story.open_task(TaskKind.SUPPLIER_FOLLOW_UP)
    assert (task.department.value, task.case_id) == ("sales", claim)


def test_p5_3_a_credited_claim_is_booked_as_an_adjustment_and_ends_the_follow_up():
    story, claim = claimed()
    step(story, claim, "agreed", amount=Decimal("300.00"), note="supplier accepts 300")
    assert story.state.cases[claim].data["step"] == "agreed"
    assert TaskKind.SUPPLIER_FOLLOW_UP in story.open_kinds()  # followed to its end
    decision = step(story, claim, "credited", reference="CN-2026-001")
    [entry] = [e for e in story.state.ledger if e.kind is LedgerKind.ADJUSTMENT]
    assert (entry.amount, entry.reference, entry.case_id) == (
        Decimal("300.00"),
        "CN-2026-001",
        claim,
    )
    assert entry.entry_id == f"JD1:supplier-credit:{claim}"
    assert E.SUPPLIER_CLAIM_UPDATED in decision.kinds  # type: ignore[attr-defined]
    case = story.state.cases[claim]
    assert (case.state, case.outcome) == (CaseState.CLOSED, "credited")
    assert TaskKind.SUPPLIER_FOLLOW_UP not in story.open_kinds()


@pytest.mark.parametrize("after_agreeing", [False, True])
def test_p5_3_a_declined_claim_ends_with_no_money(after_agreeing):
    story, claim = claimed()
    if after_agreeing:
        step(story, claim, "agreed", amount=Decimal("10.00"))
    step(story, claim, "declined", note="the supplier blames the carrier")
    assert [e for e in story.state.ledger if e.kind is LedgerKind.ADJUSTMENT] == []
    assert story.state.cases[claim].state is CaseState.CLOSED


@pytest.mark.parametrize(
    ("steps", "error", "code"),
    [
        ([("credited", {"reference": "CN-1"})], ActionNotAllowed, "claim_step_not_now"),
        ([("agreed", {"amount": Decimal("338.01")})], PolicyViolation, "claim_above_value"),
        (
            [("declined", {}), ("agreed", {"amount": Decimal("1.00")})],
            ActionNotAllowed,
            "case_closed",
        ),
    ],
    ids=["credited before agreed", "more than the goods' value", "after its end"],
)
def test_p5_3_a_claim_moves_only_along_its_steps(steps, error, code):
    story, claim = claimed()
    *before, (last, fields) = steps
    for name, earlier in before:
        step(story, claim, name, **earlier)
    seq = story.state.seq
    with pytest.raises(error) as refused:
        step(story, claim, last, **fields)
    assert refused.value.code == code
    assert story.state.seq == seq


def test_p5_3_only_sales_follows_the_claim_and_not_by_a_note():
    story, claim = claimed()
    with pytest.raises(NotPermitted):
        step(story, claim, "declined", by="finance")
    task = story.open_task(TaskKind.SUPPLIER_FOLLOW_UP)
    note = CompleteTaskCommand(actor=actor("sales"), task_id=task.task_id, note="done")
    with pytest.raises(ActionNotAllowed) as refused:
        story.act(story.order.complete_task, note)
    assert refused.value.code == "task_closed_by_its_action"


def test_p5_3_the_order_closes_once_the_claim_and_the_accounts_are_settled():
    story, _ = claimed()
    story.complete_task(TaskKind.ADJUST_ACCOUNTS)
    assert not story.state.closed
    story.settle_claim()
    assert story.state.closed and story.status is S.RETURNED
