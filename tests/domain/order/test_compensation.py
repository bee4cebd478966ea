"""P5.2 compensation is paid out, as plain functions of the order aggregate.

Customer service's decision on a logistics exception may grant the customer
compensation. It is paid out through the payment gateway like a refund (the
workflow asks, the gateway answers), once per case, and booked as compensation:
its own ledger kind, no refund of what was paid, so it does not count against the
cap on refunds (it is capped at the order's total instead). When the gateway
refuses, finance pays it by hand and completes it like a refund.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.cases import CaseState
from domain.commands import Resolution, TrackingEventKind
from domain.errors import ActionNotAllowed, PolicyViolation
from domain.events import EventKind
from domain.ledger import LedgerKind, Refund, RefundRequest, RefundState
from domain.states import OrderStatus
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, refunds_declined, refunds_paid

S = OrderStatus
T = TrackingEventKind
R = Resolution
E = EventKind
TOTAL = Decimal("258.00")


def parcel(event: TrackingEventKind, **options: object) -> Story:
    """An order whose parcel had `event` in transit (the gateway as `options` say)."""
    story = Story.at(S.IN_TRANSIT)
    for name, value in options.items():
        setattr(story, name, value)
    story.track(event)
    return story


def payouts(story: Story) -> list[RefundRequest]:
    return [
        r
        for r in story.requests
        if isinstance(r, RefundRequest) and r.kind is LedgerKind.COMPENSATION
    ]


def the_payout(story: Story) -> Refund:
    [payout] = [r for r in story.state.refunds.values() if r.kind is LedgerKind.COMPENSATION]
    return payout


# --- paid out through the gateway ----------------------------------------------------------------


def test_p5_2_compensation_is_asked_of_the_gateway_with_an_id_of_its_case():
    story = parcel(T.DELAYED)
    case_id = story.case_id()
    story.decide_exception(R.NONE, compensation="30.00")
    [request] = payouts(story)
    assert request.refund_id == f"JD1:compensation:{case_id}"
    assert (request.amount, request.case_id) == (Decimal("30.00"), case_id)
    # Paid to the customer's own payment, like a refund.
    assert request.transaction_id == story.state.order.payment.transaction_id


def test_p5_2_compensation_the_gateway_paid_is_booked_as_compensation_and_shown():
    story = parcel(T.DELAYED)
    decision = story.decide_exception(R.NONE, compensation="30.00")
    payout = the_payout(story)
    assert payout.state is RefundState.ISSUED and payout.reference is not None
    [entry] = decision.ledger
    assert (entry.kind, entry.amount, entry.entry_id) == (
        LedgerKind.COMPENSATION,
        Decimal("-30.00"),
        payout.refund_id,
    )
    [paid] = [e for e in decision.events if e.kind is E.COMPENSATION_PAID]
    assert paid.data["amount"] == "30.00" and paid.data["compensated_total"] == "30.00"
    assert E.REFUND_ISSUED not in decision.kinds
    view = story.order.view()
    assert [(r.kind, r.state) for r in view.refunds] == [
        (LedgerKind.COMPENSATION, RefundState.ISSUED)
    ]
    assert (view.refunded_amount, view.balance_due) == (Decimal("0.00"), Decimal("0.00"))


def test_p5_2_no_compensation_asks_the_gateway_nothing():
    story = parcel(T.DELAYED)
    story.decide_exception(R.NONE)
    assert payouts(story) == [] and story.state.refunds == {}


def test_p5_2_compensation_does_not_count_against_the_refund_cap():
    """The whole order refunded and compensated up to its total besides: both paid out."""
    story = parcel(T.LOST)
    story.decide_exception(R.REFUND, compensation="258.00")
    kinds = sorted((r.kind, r.amount, r.state) for r in story.state.refunds.values())
    assert kinds == [
        (LedgerKind.COMPENSATION, TOTAL, RefundState.ISSUED),
        (LedgerKind.REFUND, TOTAL, RefundState.ISSUED),
    ]
    assert story.refundable() == Decimal("0.00")
    assert story.order.view().refunded_amount == TOTAL


def test_p5_2_compensation_stays_capped_at_the_order_total():
    story = parcel(T.DELAYED)
    with pytest.raises(PolicyViolation) as refused:
        story.decide_exception(R.NONE, compensation="258.01")
    assert refused.value.code == "compensation_above_total"
    assert payouts(story) == []


def test_p5_2_compensation_over_all_the_orders_cases_stays_within_its_total():
    """The security review's exploit: each delay scan opens a case of its own, and a cap
    per case alone paid the order's value once per scan."""
    story = parcel(T.DELAYED)
    story.decide_exception(R.NONE, compensation="200.00")
    story.track(T.DELAYED)  # a second delay: a second case
    with pytest.raises(PolicyViolation) as refused:
        story.decide_exception(R.NONE, compensation="58.01")
    assert refused.value.code == "compensation_above_total"
    assert refused.value.params == {"promised": "200.00", "total": "258.00"}
    assert [p.amount for p in payouts(story)] == [Decimal("200.00")]
    story.decide_exception(R.NONE, compensation="58.00")  # up to the total in all
    assert [p.amount for p in payouts(story)] == [Decimal("200.00"), Decimal("58.00")]


def test_p5_2_a_second_case_without_compensation_is_decided_whatever_was_paid_before():
    story = parcel(T.DELAYED)
    story.decide_exception(R.NONE, compensation="258.00")
    story.track(T.DELAYED)
    story.decide_exception(R.NONE)  # informed, nothing more to pay
    assert [p.amount for p in payouts(story)] == [Decimal("258.00")]


def test_p5_2_the_case_waits_for_the_gateway_s_answer_on_the_compensation():
    story = parcel(T.DELAYED)
    story.auto = False
    story.decide_exception(R.NONE, compensation="30.00")
    story.record_cause()
    case = story.state.cases[story.case_id()]
    assert case.state is CaseState.OPEN  # the payout is pending
    [request] = payouts(story)
    story.order.refund_answer(refunds_paid(request), story.tick())
    assert case.state is CaseState.CLOSED


# --- refused by the gateway: finance pays it by hand ---------------------------------------------


def test_p5_2_compensation_the_gateway_refuses_goes_to_finance_to_pay_by_hand():
    story = parcel(T.DELAYED, gateway=refunds_declined)
    decision = story.decide_exception(R.NONE, compensation="30.00")
    payout = the_payout(story)
    assert payout.state is RefundState.FAILED and payout.failure == "card closed"
    assert decision.ledger == []
    [failed] = [e for e in decision.events if e.kind is E.COMPENSATION_FAILED]
    assert failed.data == {
        "refund_id": payout.refund_id,
        "amount": "30.00",
        "reason": "card closed",
    }
    task = story.open_task(TaskKind.MANUAL_REFUND)
    assert task.department.value == "finance"
    assert task.summary_code == "compensation_by_hand"
    assert task.summary_params["refund_id"] == payout.refund_id
    story.record_cause()
    assert story.state.cases[story.case_id()].state is CaseState.OPEN


def test_p5_2_finance_completes_refused_compensation_and_it_is_booked_as_compensation():
    story = parcel(T.DELAYED, gateway=refunds_declined)
    story.decide_exception(R.NONE, compensation="30.00")
    story.record_cause()
    payout = the_payout(story)
    decision = story.complete_refund(payout.refund_id)
    assert payout.state is RefundState.COMPLETED_BY_FINANCE and payout.reference == "BANK-1"
    [entry] = decision.ledger
    assert (entry.kind, entry.amount, entry.actor_department) == (
        LedgerKind.COMPENSATION,
        Decimal("-30.00"),
        "finance",
    )
    assert decision.closed_kinds() == [TaskKind.MANUAL_REFUND]
    assert decision.closed[0].outcome == "paid by hand"
    assert E.COMPENSATION_PAID in decision.kinds and E.REFUND_ISSUED not in decision.kinds
    assert story.state.cases[story.case_id()].state is CaseState.CLOSED
    assert story.order.view().refunded_amount == Decimal("0.00")
    with pytest.raises(ActionNotAllowed):
        story.complete_refund(payout.refund_id)


def test_p5_2_a_refused_refund_and_a_refused_compensation_are_completed_apart():
    """A lost parcel refunded and compensated, both refused: two tasks, two ledger kinds."""
    story = parcel(T.LOST, gateway=refunds_declined)
    story.decide_exception(R.REFUND, compensation="10.00")
    tasks = [t for t in story.state.tasks.open_tasks() if t.kind is TaskKind.MANUAL_REFUND]
    assert sorted(t.summary_code or "" for t in tasks) == ["compensation_by_hand", "refund_by_hand"]
    for refund in list(story.state.refunds.values()):
        story.complete_refund(refund.refund_id)
    booked = sorted((e.kind, e.amount) for e in story.state.ledger if e.amount < 0)
    assert booked == [
        (LedgerKind.COMPENSATION, Decimal("-10.00")),
        (LedgerKind.REFUND, -TOTAL),
    ]
