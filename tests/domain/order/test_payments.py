"""P5.1 payment exceptions and the refunds they lead to, as plain functions of the order aggregate.

The payment system reports failed, duplicate and late successful payments (P5.1);
customer service contacts the customer, finance does the accounting and refunds
the duplicate. Refunds go through the gateway; one it declines is paid out by
finance by hand. Whatever happens, an order never refunds more than was paid.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.actors import SYSTEM_ACTOR, Department
from domain.cases import CaseKind
from domain.commands import (
    CompleteRefundCommand,
    PaymentEventKind,
    Resolution,
    ReturnKind,
    TrackingEventKind,
)
from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError
from domain.events import EventKind
from domain.ledger import (
    CaptureAnswer,
    CaptureQuery,
    LedgerKind,
    Refund,
    RefundOutcome,
    RefundRequest,
    RefundState,
    paid_total,
    refunded_total,
)
from domain.order.decision import Decision
from domain.order.details import OrderItem
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, actor, captured, refunds_declined, refunds_paid

S = OrderStatus
P = PaymentEventKind
E = EventKind
TOTAL = Decimal("258.00")
BEFORE_SHIPMENT = [S.UNDER_REVIEW, S.READY_TO_PACK, S.AWAITING_DISPATCH]
Gateway = Callable[[RefundRequest], RefundOutcome]


def refund_requests(story: Story) -> list[RefundRequest]:
    """Every refund the order asked of the gateway, answered or not."""
    return [r for r in story.requests if isinstance(r, RefundRequest)]


def only_refund(story: Story) -> Refund:
    [refund] = story.state.refunds.values()
    return refund


def answer_refund(story: Story, gateway: Gateway) -> Decision:
    """The gateway answers the order's one pending refund (a story with `auto=False`)."""
    pending = RefundState.PENDING
    [request] = [
        r for r in refund_requests(story) if story.state.refunds[r.refund_id].state is pending
    ]
    return story.order.refund_answer(gateway(request), story.tick())


def deliver(story: Story) -> None:
    """Carry the current shipment on from wherever it is to the customer (P3.3, P3.4)."""
    if story.status is S.READY_TO_PACK:
        story.pack()
    if story.status is S.AWAITING_DISPATCH:
        story.dispatch()
    story.track(TrackingEventKind.DELIVERED)
    assert story.status is S.DELIVERED


def duplicated(gateway: Gateway = refunds_paid) -> Story:
    """A paid order ready to pack, paid a second time; the duplicate's refund answered."""
    story = Story.at(S.READY_TO_PACK)
    story.gateway = gateway
    story.payment_event(P.DUPLICATE)
    return story


# --- feeds are deduplicated -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(P))
def test_p5_1_a_repeated_payment_event_id_is_ignored(kind: PaymentEventKind):
    story = Story.at(S.UNDER_REVIEW, paid=False)
    story.payment_event(kind, event_id="PAY-1")
    seq, ledger, cases = story.state.seq, list(story.state.ledger), dict(story.state.cases)
    again = story.payment_event(kind, event_id="PAY-1")
    assert again.events == [] and again.opened == [] and again.requests == []
    assert story.state.seq == seq
    assert story.state.ledger == ledger
    assert story.state.cases == cases


# --- a late successful payment --------------------------------------------------------------------


@pytest.mark.parametrize("status", [*BEFORE_SHIPMENT, S.IN_TRANSIT, S.DELIVERED])
def test_p5_1_a_successful_payment_of_an_unpaid_order_is_booked_and_opens_nothing(
    status: OrderStatus,
):
    story = Story.at(status, paid=False)
    decision = story.payment_event(P.SUCCEEDED, event_id="PAY-1")
    assert decision.kinds == [E.PAYMENT_EVENT, E.LEDGER, E.PAYMENT_RECEIVED]
    [entry] = decision.ledger
    assert (entry.entry_id, entry.kind, entry.amount) == (
        "JD1:payment:PAY-1",
        LedgerKind.PAYMENT,
        TOTAL,
    )
    assert entry.reference == "TX-2"
    assert decision.opened == [] and decision.requests == []
    assert story.state.cases == {}
    assert story.order.view().paid_amount == TOTAL
    assert story.status is status


def test_p5_1_a_partial_payment_leaves_the_order_unpaid_and_the_next_one_is_booked_too():
    story = Story.at(S.UNDER_REVIEW, paid=False)
    story.payment_event(P.SUCCEEDED, amount="100.00")
    rest = story.payment_event(P.SUCCEEDED, amount="158.00")
    assert E.PAYMENT_RECEIVED in rest.kinds and rest.requests == []
    assert paid_total(story.state.ledger) == TOTAL
    assert story.state.cases == {}


# --- a failed payment -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", BEFORE_SHIPMENT)
def test_p5_1_a_failed_payment_of_an_unpaid_order_opens_a_case_and_sets_the_unpaid_deadline(
    status: OrderStatus,
):
    story = Story.at(status, paid=False)
    decision = story.payment_event(P.FAILED)
    assert decision.kinds == [E.PAYMENT_EVENT, E.CASE_OPENED]
    case = story.state.cases[story.case_id()]
    assert case.kind is CaseKind.PAYMENT_EXCEPTION
    assert case.data["event"] == "failed"
    [task] = decision.opened
    assert (task.kind, task.department) == (TaskKind.CONTACT_CUSTOMER, Department.CUSTOMER_SERVICE)
    assert task.case_id == case.case_id
    assert story.state.unpaid_deadline == story.now + story.state.policy.unpaid_payment_deadline
    assert decision.ledger == [] and decision.requests == []
    assert story.status is status


def test_p5_1_the_unpaid_deadline_is_the_next_alarm_when_it_comes_first():
    policy = PolicySettings(unpaid_payment_deadline=timedelta(minutes=30))
    story = Story.at(S.UNDER_REVIEW, paid=False, policy=policy)
    story.payment_event(P.FAILED)
    assert (
        story.order.next_alarm() == story.state.unpaid_deadline == story.now + timedelta(minutes=30)
    )


@pytest.mark.parametrize("status", [S.IN_TRANSIT, S.DELIVERED])
def test_p5_1_a_failed_payment_after_shipment_opens_the_case_but_sets_no_deadline(
    status: OrderStatus,
):
    story = Story.at(status, paid=False)
    decision = story.payment_event(P.FAILED)
    assert decision.opened_kinds() == [TaskKind.CONTACT_CUSTOMER]
    assert story.state.unpaid_deadline is None


@pytest.mark.parametrize("status", [*BEFORE_SHIPMENT, S.IN_TRANSIT])
def test_p5_1_a_failed_payment_of_a_paid_order_sets_no_deadline(status: OrderStatus):
    story = Story.at(status)
    decision = story.payment_event(P.FAILED)
    assert decision.opened_kinds() == [TaskKind.CONTACT_CUSTOMER]
    assert story.state.unpaid_deadline is None
    assert decision.requests == []


def test_p5_1_a_second_failure_keeps_the_first_deadline():
    story = Story.at(S.UNDER_REVIEW, paid=False)
    story.payment_event(P.FAILED)
    first = story.state.unpaid_deadline
    story.tick(timedelta(hours=3))
    story.payment_event(P.FAILED)
    assert story.state.unpaid_deadline == first
    assert len(story.state.cases) == 2


@pytest.mark.parametrize("status", BEFORE_SHIPMENT)
def test_p5_1_an_order_still_unpaid_at_the_deadline_is_cancelled_by_the_system(
    status: OrderStatus,
):
    story = Story.at(status, paid=False)
    story.payment_event(P.FAILED)
    held = story.state.reservation_key
    decision = story.ring_at(story.state.unpaid_deadline)
    assert story.status is S.CANCELLED
    [cancelled] = [e for e in decision.events if e.kind is E.CANCELLED]
    assert cancelled.actor == SYSTEM_ACTOR
    assert cancelled.data == {"paid": False}
    assert decision.refunds == []
    assert [step.reservation_key for step in decision.stock] == ([held] if held else [])
    assert story.state.unpaid_deadline is None


def test_p5_1_p4_2_an_order_partly_paid_at_the_deadline_is_cancelled_and_refunded_what_it_paid():
    story = Story.at(S.READY_TO_PACK, paid=False)
    story.payment_event(P.FAILED)
    story.payment_event(P.SUCCEEDED, amount="100.00")
    decision = story.ring_at(story.state.unpaid_deadline)
    assert story.status is S.CANCELLED
    assert [r.amount for r in decision.refunds] == [Decimal("100.00")]
    [cancelled] = [e for e in decision.events if e.kind is E.CANCELLED]
    assert cancelled.data == {"paid": True}


def test_p5_1_ringing_before_the_unpaid_deadline_cancels_nothing():
    story = Story.at(S.READY_TO_PACK, paid=False)
    story.payment_event(P.FAILED)
    deadline = story.state.unpaid_deadline
    decision = story.ring_at(deadline - timedelta(minutes=1))
    assert E.CANCELLED not in decision.kinds
    assert story.status is S.READY_TO_PACK
    assert story.state.unpaid_deadline == deadline


@pytest.mark.parametrize(
    ("meanwhile", "status"),
    [
        (lambda story: story.payment_event(P.SUCCEEDED), S.READY_TO_PACK),
        (lambda story: (story.pack(), story.dispatch()), S.IN_TRANSIT),
    ],
    ids=["paid", "shipped"],
)
def test_p5_1_an_order_paid_or_shipped_before_the_deadline_is_not_cancelled(
    meanwhile: Callable[[Story], object], status: OrderStatus
):
    story = Story.at(S.READY_TO_PACK, paid=False)
    story.payment_event(P.FAILED)
    meanwhile(story)
    decision = story.ring_at(story.state.unpaid_deadline)
    assert E.CANCELLED not in decision.kinds
    assert story.status is status
    assert story.state.unpaid_deadline is None


# --- a payment taken twice ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount"),
    [(P.DUPLICATE, "258.00"), (P.SUCCEEDED, "258.00"), (P.DUPLICATE, "99.50")],
    ids=["duplicate", "succeeded-once-paid", "duplicate-of-another-amount"],
)
def test_p5_1_a_payment_taken_again_is_booked_accounted_and_refunded_to_its_transaction(
    kind: PaymentEventKind, amount: str
):
    story = Story.at(S.READY_TO_PACK)
    decision = story.payment_event(kind, amount=amount, event_id="PAY-9")
    case = story.state.cases[story.case_id()]
    assert (case.kind, case.data["event"]) == (CaseKind.PAYMENT_EXCEPTION, "duplicate")
    payment = decision.ledger[0]
    assert (payment.entry_id, payment.kind) == ("JD1:payment:PAY-9", LedgerKind.PAYMENT)
    assert (payment.amount, payment.case_id) == (Decimal(amount), case.case_id)
    assert decision.opened_kinds() == [TaskKind.CONTACT_CUSTOMER, TaskKind.ACCOUNT_PAYMENT]
    assert decision.opened[1].department is Department.FINANCE
    [refund] = decision.refunds
    assert (refund.amount, refund.transaction_id) == (Decimal(amount), "TX-2")
    assert refund.case_id == case.case_id
    assert story.status is S.READY_TO_PACK


def test_p5_1_the_payment_after_a_late_payment_is_a_duplicate():
    story = Story.at(S.UNDER_REVIEW, paid=False)
    story.payment_event(P.SUCCEEDED)
    again = story.payment_event(P.SUCCEEDED)
    assert E.PAYMENT_RECEIVED not in again.kinds
    assert again.refunds[0].amount == TOTAL
    assert TaskKind.ACCOUNT_PAYMENT in again.opened_kinds()


# --- the gateway's answers ------------------------------------------------------------------------


def test_p5_1_a_refund_the_gateway_pays_out_is_booked_as_a_negative_ledger_entry():
    story = Story.at(S.READY_TO_PACK)
    story.auto = False
    story.payment_event(P.DUPLICATE)
    refund = only_refund(story)
    assert refund.state is RefundState.PENDING
    decision = answer_refund(story, refunds_paid)
    assert decision.kinds == [E.REFUND_ISSUED, E.LEDGER]
    issued, ledger = decision.events
    assert issued.data["refund_id"] == refund.refund_id
    assert ledger.data == {"entry_id": refund.refund_id, "kind": "refund", "amount": "-258.00"}
    [entry] = decision.ledger
    assert (entry.kind, entry.amount) == (LedgerKind.REFUND, -TOTAL)
    assert (refund.state, refund.reference) == (RefundState.ISSUED, f"GW-{refund.refund_id}")
    assert story.order.view().refunded_amount == TOTAL


def test_p5_1_a_refund_the_gateway_declines_goes_to_finance_and_stays_committed():
    story = Story.at(S.READY_TO_PACK)
    story.gateway = refunds_declined
    decision = story.payment_event(P.DUPLICATE)
    refund = only_refund(story)
    assert (refund.state, refund.failure) == (RefundState.FAILED, "card closed")
    [failed] = [e for e in decision.events if e.kind is E.REFUND_FAILED]
    assert failed.data == {
        "refund_id": refund.refund_id,
        "amount": "258.00",
        "reason": "card closed",
    }
    assert E.REFUND_ISSUED not in decision.kinds
    assert decision.opened_kinds()[-1] is TaskKind.MANUAL_REFUND
    manual = story.open_task(TaskKind.MANUAL_REFUND)
    assert manual.department is Department.FINANCE
    assert story.state.refund_tasks[refund.refund_id] == manual.task_id
    assert refunded_total(story.state.ledger) == Decimal("0.00")
    # Still counted as given: only the first payment may still be refunded.
    assert story.refundable() == TOTAL


def test_p5_1_finance_completes_a_declined_refund_by_hand():
    story = duplicated(refunds_declined)
    refund = only_refund(story)
    decision = story.complete_refund(refund.refund_id)
    assert decision.closed_kinds() == [TaskKind.MANUAL_REFUND]
    assert decision.kinds[-2:] == [E.REFUND_ISSUED, E.LEDGER]
    [entry] = decision.ledger
    assert (entry.entry_id, entry.amount, entry.reference) == (refund.refund_id, -TOTAL, "BANK-1")
    assert entry.actor_department == "finance"
    assert (refund.state, refund.reference) == (RefundState.COMPLETED_BY_FINANCE, "BANK-1")
    assert decision.reply.refund_id == refund.refund_id
    assert story.refundable() == TOTAL
    assert story.order.view().refunded_amount == TOTAL


def _unknown(story: Story) -> str:
    return "JD1:refund:99"


def _issued(story: Story) -> str:
    story.payment_event(P.DUPLICATE)
    return only_refund(story).refund_id


def _pending(story: Story) -> str:
    story.auto = False
    story.payment_event(P.DUPLICATE)
    return only_refund(story).refund_id


def _completed(story: Story) -> str:
    story.gateway = refunds_declined
    story.payment_event(P.DUPLICATE)
    refund_id = only_refund(story).refund_id
    story.complete_refund(refund_id)
    return refund_id


@pytest.mark.parametrize(
    ("refund", "error", "code", "refund_state"),
    [
        (_unknown, NotFound, "no_such_refund", None),
        (_issued, ActionNotAllowed, "refund_not_failed", "issued"),
        (_pending, ActionNotAllowed, "refund_not_failed", "pending"),
        (_completed, ActionNotAllowed, "refund_not_failed", "completed_by_finance"),
    ],
    ids=["unknown", "issued", "pending", "completed"],
)
def test_p5_1_only_a_failed_refund_is_completed_by_hand(
    refund: Callable[[Story], str], error: type[OrderError], code: str, refund_state: str | None
):
    story = Story.at(S.READY_TO_PACK)
    refund_id = refund(story)
    status, seq = story.status, story.state.seq
    with pytest.raises(error) as refused:
        story.complete_refund(refund_id)
    assert refused.value.code == code
    params = refused.value.params
    assert params["refund_id"] == refund_id
    assert params.get("refund_state") == refund_state
    assert (story.status, story.state.seq) == (status, seq)


@pytest.mark.parametrize(
    "department", ["customer_service", "sales", "warehouse", "logistics", "platform"]
)
def test_p5_1_only_finance_completes_a_refund_by_hand(department: str):
    story = duplicated(refunds_declined)
    refund = only_refund(story)
    seq = story.state.seq
    with pytest.raises(NotPermitted):
        story.complete_refund(refund.refund_id, by=department)
    assert refund.state is RefundState.FAILED
    assert (story.status, story.state.seq) == (S.READY_TO_PACK, seq)
    command = CompleteRefundCommand(
        actor=actor("finance"), refund_id=refund.refund_id, reference="B"
    )
    story.order.check_complete_refund(command, story.now)  # finance may


# --- the money invariant --------------------------------------------------------------------------


def _cancel_after_duplicate(story: Story) -> None:
    story.payment_event(P.DUPLICATE)
    story.cancel()


def _cancel_after_declined_duplicate(story: Story) -> None:
    story.gateway = refunds_declined
    story.payment_event(P.DUPLICATE)
    story.gateway = refunds_paid
    story.cancel()


def _cancel_while_the_duplicate_refund_is_pending(story: Story) -> None:
    story.auto = False
    story.payment_event(P.DUPLICATE)
    story.cancel()


def _reject_after_two_duplicates(story: Story) -> None:
    story.payment_event(P.DUPLICATE, amount="100.00")
    story.payment_event(P.DUPLICATE, amount="258.00")
    story.reject()


def _return_after_duplicate(story: Story) -> None:
    story.advance_to(S.DELIVERED)
    story.payment_event(P.DUPLICATE, amount="500.00")
    story.request_return()
    story.decide_return()
    story.inspect()


def _late_payment_then_cancel(story: Story) -> None:
    story.payment_event(P.SUCCEEDED)
    story.payment_event(P.SUCCEEDED)
    story.cancel()


def _cheaper_goods_then_cancel(story: Story) -> None:
    story.advance_to(S.READY_TO_PACK)
    cheaper = [OrderItem(sku="SKU-1", name="sku-1", quantity=1, unit_price=Decimal("129.00"))]
    story.request_change(items=cheaper)
    story.decide_change()
    story.cancel()


def _lost_parcel_compensated_and_refunded(story: Story) -> None:
    story.advance_to(S.IN_TRANSIT)
    story.payment_event(P.DUPLICATE)
    story.track(TrackingEventKind.LOST)
    story.decide_exception(Resolution.REFUND, compensation="50.00")


def _exchanged_then_returned(story: Story) -> None:
    story.advance_to(S.DELIVERED)
    story.request_return(ReturnKind.EXCHANGE)
    story.decide_return()
    story.inspect()
    deliver(story)
    story.settle_claim()
    story.complete_task(TaskKind.ADJUST_ACCOUNTS)
    story.request_return()
    story.decide_return()
    story.inspect()


MONEY_SCENARIOS = {
    "cancel after a duplicate": (S.READY_TO_PACK, True, _cancel_after_duplicate),
    "cancel after a declined duplicate refund": (
        S.READY_TO_PACK,
        True,
        _cancel_after_declined_duplicate,
    ),
    "cancel while the duplicate refund is pending": (
        S.READY_TO_PACK,
        True,
        _cancel_while_the_duplicate_refund_is_pending,
    ),
    "reject after two duplicates": (S.UNDER_REVIEW, True, _reject_after_two_duplicates),
    "return after a duplicate": (S.UNDER_REVIEW, True, _return_after_duplicate),
    "late payments then cancel": (S.UNDER_REVIEW, False, _late_payment_then_cancel),
    "cheaper goods then cancel": (S.UNDER_REVIEW, True, _cheaper_goods_then_cancel),
    "lost parcel compensated and refunded": (
        S.UNDER_REVIEW,
        True,
        _lost_parcel_compensated_and_refunded,
    ),
    "exchanged then returned": (S.UNDER_REVIEW, True, _exchanged_then_returned),
}


@pytest.mark.parametrize("scenario", list(MONEY_SCENARIOS))
def test_p5_1_refunds_never_exceed_what_was_paid(scenario: str):
    status, paid, play = MONEY_SCENARIOS[scenario]
    story = Story.at(status, paid=paid)
    play(story)
    paid_in = paid_total(story.state.ledger)
    # Compensation paid out (P5.2) is no refund: the cap is on refunds alone.
    refunds = [r for r in refund_requests(story) if r.kind is LedgerKind.REFUND]
    asked = sum((r.amount for r in refunds), Decimal("0.00"))
    assert Decimal("0.00") < asked <= paid_in
    assert refunded_total(story.state.ledger) <= paid_in
    assert story.refundable() == paid_in - asked
    # Every refund asked for is on the order's record, once.
    assert sorted(r.refund_id for r in refund_requests(story)) == sorted(story.state.refunds)


# --- P5.1 money moves only on verified facts (the gateway confirms the capture) ----------------


@pytest.mark.parametrize(
    ("gateway_says", "reported", "same_transaction", "why"),
    [
        (None, "258.00", False, "the gateway knows no such capture"),
        ("100.00", "9999.00", False, "reported 9999.00, the gateway captured 100.00"),
        ("258.00", "258.00", True, "the transaction is already booked for this order"),
    ],
    ids=["unknown-capture", "more-than-captured", "the-original-payment-again"],
)
def test_p5_1_an_unconfirmed_duplicate_moves_no_money_and_goes_to_finance(
    gateway_says: str | None, reported: str, same_transaction: bool, why: str
):
    story = Story.at(S.READY_TO_PACK)
    story.captures = captured(gateway_says)
    original = story.state.order.payment.transaction_id
    ledger_before = list(story.state.ledger)
    decision = story.payment_event(
        P.DUPLICATE, amount=reported, transaction_id=original if same_transaction else None
    )
    assert decision.refunds == []
    assert story.state.ledger == ledger_before  # nothing booked either
    assert E.CAPTURE_UNCONFIRMED in decision.kinds
    unconfirmed = next(e for e in decision.events if e.kind is E.CAPTURE_UNCONFIRMED)
    assert str(unconfirmed.data["reason"]).startswith(why)
    [verify] = [t for t in decision.opened if t.kind is TaskKind.ACCOUNT_PAYMENT]
    assert verify.department.value == "finance" and verify.summary_code == "verify_duplicate"


def test_p5_1_a_confirmed_duplicate_is_refunded_to_that_transaction_and_no_more_than_reported():
    story = Story.at(S.READY_TO_PACK)
    story.captures = captured("300.00")  # the gateway captured more than the event reports
    decision = story.payment_event(P.DUPLICATE, amount="120.00", transaction_id="TX-SECOND")
    [refund] = decision.refunds
    assert (refund.amount, refund.transaction_id) == (Decimal("120.00"), "TX-SECOND")


def test_p5_1_the_gateway_unreachable_leaves_the_duplicate_to_finance():
    story = Story.at(S.READY_TO_PACK)

    def unreachable(query: CaptureQuery) -> CaptureAnswer:
        return CaptureAnswer(
            transaction_id=query.transaction_id, event_id=query.event_id, failure="timeout"
        )

    story.captures = unreachable
    decision = story.payment_event(P.DUPLICATE)
    assert decision.refunds == [] and E.CAPTURE_UNCONFIRMED in decision.kinds
