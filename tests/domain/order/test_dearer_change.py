"""P4.1 a dearer change of goods is collected, as plain functions of the order aggregate.

An approved change of goods that makes a paid order dearer leaves the customer
owing the difference: the order records a payment request, customer service sends
it to the customer, and the warehouse does not pack until the difference is paid
(a `succeeded` payment event). Unpaid by the payment deadline (`payment_deadline`
after the approval), the change is undone: the goods paid for stand again, and
whatever was paid of the difference goes back. Cash on delivery has nothing to wait
for: the carrier collects the new total.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.cases import CaseState
from domain.commands import PaymentEventKind
from domain.errors import ActionNotAllowed
from domain.events import EventKind
from domain.ledger import LedgerKind, RefundRequest
from domain.order.details import OrderItem
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TaskKind, TaskState
from tests.domain.order.builders import Story, short_of

S = OrderStatus
E = EventKind
K = TaskKind
P = PaymentEventKind
PAID_ITEMS = [("SKU-1", 2, "129.00")]  # 258.00, paid at intake


def items(*lines: tuple[str, int, str]) -> list[OrderItem]:
    return [
        OrderItem(sku=sku, name=sku.lower(), quantity=quantity, unit_price=Decimal(price))
        for sku, quantity, price in lines
    ]


DEARER = items(("SKU-1", 3, "129.00"))  # 387.00: 129.00 more


def dearer_change(status: OrderStatus = S.READY_TO_PACK, **options: object) -> Story:
    story = Story.at(status, **options)
    story.request_change(items=DEARER)
    story.decide_change()
    return story


def refunds_asked(story: Story) -> list[RefundRequest]:
    return [r for r in story.requests if isinstance(r, RefundRequest)]


# --- the payment request ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.OUT_OF_STOCK, S.READY_TO_PACK, S.AWAITING_DISPATCH])
def test_p4_1_a_dearer_change_of_a_paid_order_asks_the_customer_for_the_difference(status):
    if status is S.OUT_OF_STOCK:
        story = Story(stock=short_of(SKU_1=2))
        story.approve()
        story.request_change(items=DEARER)
        decision = story.decide_change()
    else:
        story = Story.at(status)
        story.request_change(items=DEARER)
        decision = story.decide_change()
    [asked] = [e for e in decision.events if e.kind is E.PAYMENT_REQUESTED]
    until = story.now + story.state.policy.payment_deadline
    assert asked.data == {"amount": "129.00", "until": until.isoformat(), "clause": "P4.1"}
    assert asked.case_id == decision.reply.case_id
    task = story.open_task(K.SEND_PAYMENT_REQUEST)
    assert task.department.value == "customer_service"
    assert (task.summary_code, task.summary_params["amount"]) == ("payment_request", "129.00")
    assert K.PACK not in story.open_kinds()
    assert story.order.view().balance_due == Decimal("129.00")
    assert story.state.cases[decision.reply.case_id].state is CaseState.OPEN
    assert refunds_asked(story) == []


def test_p4_1_the_changed_goods_are_confirmed_in_stock_while_the_payment_is_awaited():
    story = dearer_change()
    assert story.status is S.READY_TO_PACK
    assert story.state.reserved == {"SKU-1": 3}
    assert story.open_kinds() == [K.SEND_PAYMENT_REQUEST]


def test_p4_1_the_warehouse_does_not_pack_until_the_difference_is_paid():
    story = dearer_change()
    seq = story.state.seq
    with pytest.raises(ActionNotAllowed) as refused:
        story.pack()
    assert refused.value.code == "change_payment_due"
    assert refused.value.params == {"amount": "129.00", "clause": "P4.1"}
    assert (story.status, story.state.seq) == (S.READY_TO_PACK, seq)


def test_p4_1_customer_service_closes_the_task_once_the_request_is_sent_and_the_order_waits():
    story = dearer_change()
    story.complete_task(K.SEND_PAYMENT_REQUEST)
    assert story.open_kinds() == []
    with pytest.raises(ActionNotAllowed):
        story.pack()
    assert story.state.cases[story.case_id()].state is CaseState.OPEN


# --- paid: the order moves on --------------------------------------------------------------------


def test_p4_1_the_payment_of_the_difference_moves_the_order_on_to_packing():
    story = dearer_change()
    decision = story.payment_event(P.SUCCEEDED, amount="129.00")
    assert decision.kinds[-3:] == [E.PAYMENT_RECEIVED, E.BALANCE_SETTLED, E.CASE_CLOSED]
    assert decision.opened_kinds() == [K.PACK]
    assert decision.closed_kinds() == [K.SEND_PAYMENT_REQUEST]
    assert decision.closed[0].outcome == "paid"
    assert story.order.view().balance_due == Decimal("0.00")
    story.pack()
    assert story.status is S.AWAITING_DISPATCH


def test_p4_1_part_of_the_difference_keeps_it_waiting_and_the_rest_moves_it_on():
    story = dearer_change()
    story.payment_event(P.SUCCEEDED, amount="100.00")
    assert story.order.view().balance_due == Decimal("29.00")
    assert K.PACK not in story.open_kinds()
    story.payment_event(P.SUCCEEDED, amount="29.00")
    assert K.PACK in story.open_kinds()
    assert story.state.change_payment is None


def test_p4_1_paid_more_than_the_difference_the_rest_is_refunded():
    story = dearer_change()
    story.payment_event(P.SUCCEEDED, amount="200.00")
    [refund] = refunds_asked(story)
    assert refund.amount == Decimal("71.00") and refund.kind is LedgerKind.REFUND
    assert K.PACK in story.open_kinds()


def test_p4_1_a_dearer_change_before_review_is_packed_only_once_paid():
    story = dearer_change(S.UNDER_REVIEW)
    assert story.open_kinds() == [K.REVIEW, K.SEND_PAYMENT_REQUEST]
    story.approve()
    assert story.status is S.READY_TO_PACK
    assert K.PACK not in story.open_kinds()
    story.payment_event(P.SUCCEEDED, amount="129.00")
    assert K.PACK in story.open_kinds()


def test_p4_1_a_failed_payment_of_the_difference_does_not_cancel_the_order():
    """P5.1's unpaid deadline cancels an unpaid order; a dearer change has its own deadline."""
    story = dearer_change()
    story.payment_event(P.FAILED, amount="129.00")
    assert story.state.unpaid_deadline is None
    assert story.state.change_payment is not None


# --- unpaid at the deadline: the change is undone ------------------------------------------------


def test_p4_1_unpaid_at_the_deadline_the_change_is_undone_and_the_paid_goods_stand():
    story = dearer_change()
    due = story.state.change_payment.due_at
    assert due == story.now + PolicySettings().payment_deadline
    assert story.order.next_alarm() <= due
    decision = story.ring_at(due)
    [reverted] = [e for e in decision.events if e.kind is E.CHANGE_REVERTED]
    assert reverted.data == {
        "unpaid": "129.00",
        "total_before": "387.00",
        "total_after": "258.00",
        "clause": "P4.1",
    }
    assert story.state.order.items == items(*PAID_ITEMS)
    assert story.state.reserved == {"SKU-1": 2}  # the paid goods confirmed in stock again
    assert story.open_kinds() == [K.PACK]
    case = story.state.cases[story.case_id()]
    assert case.state is CaseState.CLOSED
    assert case.outcome == "approved; undone: the difference was not paid (P4.1)"
    assert story.order.view().balance_due == Decimal("0.00")
    assert refunds_asked(story) == []
    story.pack()
    assert story.status is S.AWAITING_DISPATCH


def test_p4_1_the_change_undone_what_was_paid_of_the_difference_is_refunded():
    story = dearer_change()
    story.payment_event(P.SUCCEEDED, amount="50.00")
    story.ring_at(story.state.change_payment.due_at)
    [refund] = refunds_asked(story)
    assert refund.amount == Decimal("50.00")
    assert refund.case_id == story.case_id()


def test_p4_1_a_payment_request_not_sent_by_the_deadline_is_cancelled_with_the_change():
    story = dearer_change()
    task = story.open_task(K.SEND_PAYMENT_REQUEST)
    story.ring_at(story.state.change_payment.due_at)
    assert (task.state, task.outcome) == (TaskState.CANCELLED, "the change was undone")


def test_p4_1_the_payment_just_before_the_deadline_keeps_the_change():
    story = dearer_change()
    due = story.state.change_payment.due_at
    story.now = due - timedelta(minutes=2)
    story.payment_event(P.SUCCEEDED, amount="129.00")
    story.ring_at(due)
    assert story.state.order.total == Decimal("387.00")
    assert K.PACK in story.open_kinds()


def test_p4_1_a_second_dearer_change_asks_once_for_the_whole_and_undoes_to_the_paid_goods():
    story = dearer_change()
    story.request_change(items=items(("SKU-1", 4, "129.00")))
    story.decide_change()
    assert story.state.change_payment.amount == Decimal("258.00")
    sends = [t for t in story.state.tasks.open_tasks() if t.kind is K.SEND_PAYMENT_REQUEST]
    assert len(sends) == 1 and sends[0].summary_params["amount"] == "258.00"
    first, second = list(story.state.cases.values())
    assert first.state is CaseState.CLOSED and second.state is CaseState.OPEN
    story.ring_at(story.state.change_payment.due_at)
    assert story.state.order.items == items(*PAID_ITEMS)


def test_p4_1_a_cheaper_change_that_leaves_nothing_owed_settles_the_request():
    story = dearer_change()
    story.request_change(items=items(*PAID_ITEMS))
    decision = story.decide_change()
    assert E.BALANCE_SETTLED in decision.kinds
    assert story.state.change_payment is None
    assert story.open_kinds() == [K.PACK]
    assert refunds_asked(story) == []


# --- nothing to wait for ------------------------------------------------------------------------


def test_p4_1_cash_on_delivery_has_nothing_to_wait_for_the_carrier_collects_the_new_total():
    story = dearer_change(paid=False)
    assert story.state.change_payment is None
    assert story.open_kinds() == [K.PACK]
    assert story.order.view().balance_due == Decimal("0.00")


def test_p4_1_a_change_at_the_same_price_or_cheaper_asks_for_nothing():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(items=items(("SKU-2", 1, "258.00")))
    decision = story.decide_change()
    assert E.PAYMENT_REQUESTED not in decision.kinds
    assert story.open_kinds() == [K.PACK]


def test_p4_1_p4_2_cancelled_while_the_difference_is_owed_refunds_what_was_paid_and_asks_no_more():
    story = dearer_change()
    story.payment_event(P.SUCCEEDED, amount="29.00")
    story.cancel()
    assert story.status is S.CANCELLED
    assert [r.amount for r in refunds_asked(story)] == [Decimal("287.00")]
    assert story.state.change_payment is None
    assert story.open_kinds() == []
    assert story.state.closed
