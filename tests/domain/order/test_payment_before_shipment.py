"""P2.1: an order exists once it is paid. An order paid before it ships (online, bank
transfer) waits for its payment until a deadline; cash on delivery ships unpaid.
Pure decisions of the order aggregate: no server, no clock but the story's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.actions import Action, check_action
from domain.actors import Department
from domain.commands import PaymentEventKind as P
from domain.errors import ActionNotAllowed, NotPermitted
from domain.events import EventKind as E
from domain.order.details import NewOrder
from domain.policy import PolicySettings
from domain.states import OrderStatus as S
from domain.tasks import TaskKind
from tests.domain.order.builders import START, Story
from tests.support.orders import order_body

TOTAL = Decimal("258.00")


def unpaid(method: str = "online", **changes: Any) -> NewOrder:
    """An order whose payment has not gone through, paid by `method`."""
    body = order_body("JD1", paid=False)
    body["payment"]["method"] = method
    body["shipping"].update(changes.pop("shipping", {}))
    return NewOrder.model_validate(body)


def waiting(**policy: Any) -> Story:
    return Story(unpaid(), policy=PolicySettings(**policy))


# --- who waits ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["online", "bank_transfer"])
def test_p2_1_an_order_paid_before_it_ships_waits_for_its_payment_until_a_deadline(method: str):
    story = Story(unpaid(method), policy=PolicySettings(payment_deadline=timedelta(hours=6)))
    assert story.status is S.AWAITING_PAYMENT
    assert story.opening.kinds[-1] is E.AWAITING_PAYMENT
    assert story.opening.events[-1].data["due"] == "258.00"
    # Nobody works on an order that does not exist yet: no review task, no stock held.
    assert story.opening.opened == [] and story.opening.reservations == []
    assert story.state.unpaid_deadline == START + timedelta(hours=6)
    assert story.order.next_alarm() == START + timedelta(hours=6)


@pytest.mark.parametrize(
    ("order", "status"),
    [
        (unpaid("cash_on_delivery"), S.UNDER_REVIEW),
        (NewOrder.model_validate(order_body("JD1", paid=True)), S.UNDER_REVIEW),
    ],
    ids=["cash on delivery ships unpaid", "paid"],
)
def test_p2_1_a_paid_order_and_cash_on_delivery_go_straight_to_review(order: NewOrder, status: S):
    story = Story(order)
    assert story.status is status
    assert E.AWAITING_PAYMENT not in story.opening.kinds
    assert story.opening.opened_kinds() == [TaskKind.REVIEW]
    assert story.state.unpaid_deadline is None


def test_p2_1_faulty_data_is_corrected_first_then_the_order_waits_for_its_payment():
    story = Story(unpaid(shipping={"address": None}))
    assert story.status is S.NEEDS_CORRECTION
    shipping = {"address": "2 Road", "contact_name": "Li Lei", "contact_phone": "13800138000"}
    story.correct(shipping=shipping)
    assert story.status is S.AWAITING_PAYMENT
    assert story.open_kinds() == []


# --- what waits for the payment ------------------------------------------------------------


REFUSED: list[tuple[Action, Department]] = [
    (Action.REVIEW, Department.SALES),
    (Action.RECORD_BACKORDER, Department.WAREHOUSE),
    (Action.PACK, Department.WAREHOUSE),
    (Action.DISPATCH, Department.LOGISTICS),
    (Action.REQUEST_CHANGE, Department.CUSTOMER_SERVICE),
    (Action.DECIDE_CHANGE, Department.CUSTOMER_SERVICE),
]


@pytest.mark.parametrize(("action", "department"), REFUSED, ids=[a.value for a, _ in REFUSED])
def test_p2_1_staff_work_on_an_unpaid_order_is_refused_naming_the_clause(
    action: Action, department: Department
):
    with pytest.raises(ActionNotAllowed) as refused:
        check_action(action, S.AWAITING_PAYMENT, department)
    assert refused.value.code == "awaiting_payment"
    assert refused.value.params == {"action": action.value, "clause": "P2.1"}
    assert "P2.1" in str(refused.value)


def test_p2_1_the_department_is_checked_before_the_payment():
    with pytest.raises(NotPermitted):
        check_action(Action.REVIEW, S.AWAITING_PAYMENT, Department.WAREHOUSE)


@pytest.mark.parametrize(
    "act",
    [Story.approve, Story.pack, Story.dispatch],
    ids=["review", "pack", "dispatch"],
)
def test_p2_1_the_aggregate_refuses_review_pack_and_dispatch_and_changes_nothing(
    act: Callable[[Story], Any],
):
    story = waiting()
    seq = story.state.seq
    with pytest.raises(ActionNotAllowed, match=r"P2\.1"):
        act(story)
    assert story.status is S.AWAITING_PAYMENT and story.state.seq == seq


# --- the payment, the deadline, the customer's cancellation --------------------------------


def test_p2_1_the_payment_moves_the_order_on_to_review():
    story = waiting()
    decision = story.payment_event(P.SUCCEEDED, amount="258.00")
    assert decision.kinds == [E.PAYMENT_EVENT, E.LEDGER, E.PAYMENT_RECEIVED]
    assert decision.opened_kinds() == [TaskKind.REVIEW]
    assert story.status is S.UNDER_REVIEW
    assert story.state.unpaid_deadline is None
    # From now on the order's alarm is its review task's, not the payment deadline.
    assert story.order.next_alarm() == story.open_task(TaskKind.REVIEW).remind_at
    story.approve()
    assert story.status is S.READY_TO_PACK


def test_p2_1_part_of_the_payment_keeps_it_waiting_and_the_rest_moves_it_on():
    story = waiting()
    story.payment_event(P.SUCCEEDED, amount="100.00")
    assert story.status is S.AWAITING_PAYMENT
    story.payment_event(P.SUCCEEDED, amount="158.00")
    assert story.status is S.UNDER_REVIEW


def test_p2_1_a_failed_payment_keeps_the_deadline_set_at_intake():
    story = waiting(payment_deadline=timedelta(hours=6), unpaid_payment_deadline=timedelta(days=2))
    story.payment_event(P.FAILED)
    assert story.state.unpaid_deadline == START + timedelta(hours=6)
    assert story.open_kinds() == [TaskKind.CONTACT_CUSTOMER]


def test_p2_1_unpaid_at_the_deadline_the_order_is_cancelled_and_nothing_is_refunded():
    story = waiting(payment_deadline=timedelta(hours=6))
    decision = story.ring_at(START + timedelta(hours=6))
    assert story.status is S.CANCELLED
    cancelled = next(e for e in decision.events if e.kind is E.CANCELLED)
    assert "P2.1" in cancelled.note and cancelled.data == {"paid": False}
    assert decision.refunds == [] and decision.stock == []


def test_p2_1_a_part_paid_order_cancelled_at_the_deadline_is_refunded_what_was_paid():
    story = waiting(payment_deadline=timedelta(hours=6))
    story.payment_event(P.SUCCEEDED, amount="100.00")
    decision = story.ring_at(START + timedelta(hours=6))
    assert story.status is S.CANCELLED
    assert [r.amount for r in decision.refunds] == [Decimal("100.00")]


def test_p2_1_p4_2_customer_service_cancels_an_unpaid_order_at_once():
    story = waiting()
    decision = story.cancel()
    assert story.status is S.CANCELLED
    assert decision.refunds == []
    assert story.order.next_alarm() is None


def test_p2_1_a_payment_after_the_deadline_cancelled_the_order_is_a_duplicate_to_refund():
    story = waiting(payment_deadline=timedelta(hours=6))
    story.ring_at(START + timedelta(hours=6))
    decision = story.payment_event(P.SUCCEEDED, amount="258.00", transaction_id="TX-LATE")
    # Money for an order that no longer exists goes back (P4.2, P5.1), to the transaction
    # that paid it, once the gateway confirms the capture.
    assert story.status is S.CANCELLED
    assert E.CASE_OPENED in decision.kinds
    [refund] = decision.refunds
    assert (refund.amount, refund.transaction_id) == (TOTAL, "TX-LATE")


# --- cash on delivery: settled by the carrier's remittance after delivery ------------------


def delivered_cod(**policy: Any) -> Story:
    """A cash-on-delivery order, delivered: the carrier collected the cash."""
    return Story.at(S.DELIVERED, paid=False, policy=PolicySettings(**policy))


def remit(story: Story, amount: str = "258.00") -> Any:
    return story.payment_event(P.REMITTED, amount=amount, transaction_id="COD-REMIT-1")


def test_p2_1_cash_on_delivery_waits_for_its_remittance_from_delivery():
    story = delivered_cod(remittance_deadline=timedelta(days=3))
    delivered_at = story.state.shipment.delivered_at
    assert story.state.awaiting_remittance
    assert story.state.remittance_due == delivered_at + timedelta(days=3)
    assert story.order.next_alarm() == delivered_at + timedelta(days=3)


def test_p2_1_cash_on_delivery_completes_only_after_its_remittance():
    story = delivered_cod(remittance_deadline=timedelta(days=30))
    story.after_sales_window_passes()
    # The windows are over and nothing is open, yet the cash has not come in.
    assert story.status is S.DELIVERED and not story.state.closed
    decision = remit(story)
    assert decision.kinds[:3] == [E.PAYMENT_EVENT, E.LEDGER, E.PAYMENT_RECEIVED]
    [entry] = decision.ledger
    assert (entry.amount, entry.reference) == (TOTAL, "COD-REMIT-1")
    assert story.status is S.COMPLETED and story.state.closed


def test_p2_1_a_remittance_before_the_windows_close_lets_the_order_complete_on_time():
    story = delivered_cod()
    remit(story)
    assert story.open_kinds() == [] and not story.state.awaiting_remittance
    story.after_sales_window_passes()
    assert story.status is S.COMPLETED


def test_p2_1_a_late_remittance_is_finance_s_to_reconcile_and_closing_it_settles_the_order():
    story = delivered_cod(remittance_deadline=timedelta(days=3))
    decision = story.ring_at(story.state.remittance_due)
    assert E.REMITTANCE_OVERDUE in decision.kinds
    task = story.open_task(TaskKind.RECONCILE_REMITTANCE)
    assert task.department is Department.FINANCE
    assert task.summary_code == "remittance_late"
    story.after_sales_window_passes()
    assert story.status is S.DELIVERED  # finance has not reconciled it yet
    story.complete_task(TaskKind.RECONCILE_REMITTANCE, by="finance")
    assert story.status is S.COMPLETED


@pytest.mark.parametrize("amount", ["200.00", "300.00"], ids=["short", "over"])
def test_p2_1_a_remittance_other_than_the_order_s_total_is_booked_and_reconciled(amount: str):
    story = delivered_cod()
    decision = remit(story, amount)
    assert [e.amount for e in decision.ledger] == [Decimal(amount)]
    task = story.open_task(TaskKind.RECONCILE_REMITTANCE)
    assert task.summary_params == {"remitted": amount, "amount": "258.00"}


def test_p2_1_a_remittance_for_an_order_paid_online_is_refused_and_books_nothing():
    story = Story.at(S.DELIVERED)  # paid online at intake
    decision = remit(story)
    assert decision.kinds == [E.FEED_REFUSED]
    assert decision.events[0].data["code"] == "remittance_not_cash_on_delivery"
    assert decision.ledger == []
