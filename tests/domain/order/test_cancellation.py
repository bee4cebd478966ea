"""P4.2 cancellation before shipment, as plain functions of the order aggregate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.actors import Department
from domain.errors import ActionNotAllowed, NotPermitted
from domain.events import EventKind
from domain.ledger import RefundState
from domain.order.writes import StockStep
from domain.states import OrderStatus
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, refunds_declined

S = OrderStatus
BEFORE_SHIPMENT = [S.UNDER_REVIEW, S.READY_TO_PACK, S.AWAITING_DISPATCH]


def test_cancelling_a_paid_order_issues_a_refund():
    story = Story.at(S.READY_TO_PACK)
    decision = story.cancel()
    assert story.status is S.CANCELLED
    [refund] = decision.refunds
    assert refund.amount == Decimal("258.00")
    assert refund.transaction_id == story.state.order.payment.transaction_id


def test_cancelling_an_unpaid_order_refunds_nothing_and_closes_it_at_once():
    story = Story.at(S.UNDER_REVIEW, paid=False)
    decision = story.cancel()
    assert decision.refunds == []
    assert decision.kinds[-1] is EventKind.CLOSED
    assert story.state.closed


@pytest.mark.parametrize(
    ("status", "left"),
    [(S.UNDER_REVIEW, []), (S.READY_TO_PACK, []), (S.AWAITING_DISPATCH, [TaskKind.PUT_BACK])],
)
def test_p4_2_a_cancellation_stops_the_warehouse_and_logistics(
    status: OrderStatus, left: list[TaskKind]
):
    story = Story.at(status)
    story.cancel()
    # Packed, the parcel waits on the dispatch shelf: the warehouse unpacks and shelves it.
    assert story.open_kinds() == left
    assert story.status is S.CANCELLED


def test_p4_2_a_packed_order_cancelled_stays_open_until_the_warehouse_put_the_goods_back():
    story = Story.at(S.AWAITING_DISPATCH)
    decision = story.cancel()
    [task] = decision.opened
    assert (task.kind, task.department) == (TaskKind.PUT_BACK, Department.WAREHOUSE)
    assert task.summary_params == {"packages": "1"}
    assert task.case_id == story.case_id()
    assert not story.state.closed
    done = story.complete_task(TaskKind.PUT_BACK, by="warehouse")
    assert done.kinds[-2:] == [EventKind.TASK_COMPLETED, EventKind.CLOSED]
    assert story.state.closed


@pytest.mark.parametrize(
    ("status", "released"),
    [(S.UNDER_REVIEW, False), (S.READY_TO_PACK, True), (S.AWAITING_DISPATCH, True)],
)
def test_p4_2_reserved_stock_goes_back_on_the_shelf(status: OrderStatus, released: bool):
    story = Story.at(status)
    key = story.state.reservation_key
    decision = story.cancel()
    expected = [StockStep(action="release", reservation_key=key)] if released else []
    assert decision.stock == expected
    assert story.state.reservation_key is None


@pytest.mark.parametrize("status", [S.IN_TRANSIT, S.DELIVERED])
def test_p4_2_after_shipment_a_cancellation_is_refused_and_changes_nothing(status: OrderStatus):
    story = Story.at(status)
    seq = story.state.seq
    with pytest.raises(ActionNotAllowed) as refused:
        story.cancel()
    assert refused.value.code == "action_not_now"
    assert (story.status, story.state.seq) == (status, seq)


@pytest.mark.parametrize("department", ["sales", "warehouse", "logistics", "finance", "platform"])
def test_p4_2_only_customer_service_cancels(department: str):
    story = Story.at(S.READY_TO_PACK)
    with pytest.raises(NotPermitted):
        story.cancel(by=department)


def test_a_cancelled_order_closes_once_its_refund_is_paid_out():
    story = Story.at(S.READY_TO_PACK)
    decision = story.cancel()
    assert decision.kinds[-3:] == [EventKind.LEDGER, EventKind.CASE_CLOSED, EventKind.CLOSED]
    assert story.refundable() == Decimal("0.00")


def test_a_refund_the_gateway_refuses_keeps_the_order_open_for_finance():
    story = Story.at(S.READY_TO_PACK)
    story.gateway = refunds_declined
    decision = story.cancel()
    assert EventKind.REFUND_FAILED in decision.kinds
    assert story.open_kinds() == [TaskKind.MANUAL_REFUND]
    assert not story.state.closed
    [refund] = story.state.refunds.values()
    assert refund.state is RefundState.FAILED
    finished = story.complete_refund(refund.refund_id)
    assert finished.kinds[-1] is EventKind.CLOSED
