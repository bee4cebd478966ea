"""P4.1 changes before shipment: requested, reviewed by customer service, applied, as plain
functions of the order aggregate."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.actors import Department
from domain.cases import CaseKind, CaseState
from domain.commands import ChangeCommand, DecideChangeCommand, PaymentEventKind
from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError, PolicyViolation
from domain.events import EventKind
from domain.order.details import OrderItem, Shipping
from domain.order.writes import StockStep
from domain.states import OrderStatus
from domain.tasks import TaskKind, TaskState
from tests.domain.order.builders import Story, actor, in_stock, new_order, short_of

S = OrderStatus
D = Department
NEW_ADDRESS = Shipping(
    address="2 Jianguo Rd, Beijing", contact_name="Han Meimei", contact_phone="13900139000"
)
BEFORE_SHIPMENT = [
    S.NEEDS_CORRECTION,
    S.UNDER_REVIEW,
    S.OUT_OF_STOCK,
    S.READY_TO_PACK,
    S.AWAITING_DISPATCH,
]
NOT_CUSTOMER_SERVICE = [
    "sales",
    "warehouse",
    "logistics",
    "finance",
    "supervision",
    "platform",
    "admin",
]


# --- helpers ---------------------------------------------------------------------------------


def items(*lines: tuple[str, int, str]) -> list[OrderItem]:
    return [
        OrderItem(sku=sku, name=sku.lower(), quantity=quantity, unit_price=Decimal(price))
        for sku, quantity, price in lines
    ]


def story_in(status: OrderStatus, **options: Any) -> Story:
    """An order in `status`, also the two the main line of `Story.at` does not reach."""
    if status is S.NEEDS_CORRECTION:
        story = Story(new_order(address=None, **options))
    elif status is S.OUT_OF_STOCK:
        story = Story(new_order(**options), stock=short_of(SKU_1=2))
        story.approve()
        story.stock = in_stock
    else:
        story = Story.at(status, **options)
    assert story.status is status
    return story


def refused(story: Story, attempt: Callable[[], Any], error: type[OrderError]) -> OrderError:
    """The attempt is refused with `error` and leaves the order as it was."""
    before = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    with pytest.raises(error) as caught:
        attempt()
    after = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    assert after == before
    return caught.value


# --- the request ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", BEFORE_SHIPMENT)
@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"shipping": NEW_ADDRESS}, ["shipping"]),
        ({"items": items(("SKU-2", 1, "99.00"))}, ["items"]),
        ({"shipping": NEW_ADDRESS, "items": items(("SKU-2", 1, "99.00"))}, ["shipping", "items"]),
    ],
    ids=["address", "goods", "both"],
)
def test_p4_1_a_change_request_opens_a_case_for_customer_service_to_review(status, change, fields):
    story = story_in(status)
    before = story.state.order
    decision = story.request_change(**change)
    [case] = story.state.cases.values()
    [task] = decision.opened
    assert (case.kind, case.state) == (CaseKind.CHANGE, CaseState.OPEN)
    assert case.data == {"fields": fields, "caused_by_error": False}
    assert (task.kind, task.department, task.case_id) == (
        TaskKind.REVIEW_CHANGE,
        D.CUSTOMER_SERVICE,
        case.case_id,
    )
    assert (decision.reply.case_id, decision.reply.task_id) == (case.case_id, task.task_id)
    assert decision.kinds == [EventKind.CASE_OPENED]
    # Nothing is applied before the decision.
    assert story.state.order == before
    assert story.status is status
    assert decision.requests == []


# --- approved: address ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", BEFORE_SHIPMENT)
def test_p4_1_an_approved_address_change_replaces_it_and_logistics_replans(status):
    story = story_in(status)
    story.request_change(shipping=NEW_ADDRESS)
    reserved = story.state.reservation_key
    decision = story.decide_change()
    assert story.state.order.shipping == NEW_ADDRESS
    assert story.status is status
    [replan] = decision.opened
    assert (replan.kind, replan.department) == (TaskKind.REPLAN_DELIVERY, D.LOGISTICS)
    assert replan.case_id == decision.reply.case_id
    applied = decision.events[decision.kinds.index(EventKind.CHANGE_APPLIED)]
    assert applied.data == {
        "fields": ["shipping"],
        "total_before": "258.00",
        "total_after": "258.00",
    }
    # The goods are untouched: no stock moves, nothing is reserved again, nothing refunded.
    assert (decision.stock, decision.requests) == ([], [])
    assert story.state.reservation_key == reserved


def test_p4_1_the_change_case_closes_once_logistics_has_replanned():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(shipping=NEW_ADDRESS)
    decided = story.decide_change()
    case = story.state.cases[decided.reply.case_id]
    assert case.is_open
    done = story.complete_task(TaskKind.REPLAN_DELIVERY)
    assert EventKind.CASE_CLOSED in done.kinds
    assert (case.state, case.outcome) == (CaseState.CLOSED, "approved")


# --- approved: goods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "released", "cancelled"),
    [
        (S.READY_TO_PACK, True, TaskKind.PACK),
        (S.AWAITING_DISPATCH, True, TaskKind.DISPATCH),
        (S.OUT_OF_STOCK, False, TaskKind.RECORD_BACKORDER),
    ],
)
def test_p4_1_new_goods_in_fulfilment_release_the_stock_and_are_confirmed_again(
    status, released, cancelled
):
    story = story_in(status)
    story.request_change(items=items(("SKU-2", 3, "86.00")))
    old = story.open_task(cancelled)
    decision = story.decide_change()
    assert decision.stock == (
        [StockStep(action="release", reservation_key="JD1:R1")] if released else []
    )
    assert (EventKind.STOCK_RELEASED in decision.kinds) is released
    assert old in decision.closed
    assert (old.state, old.outcome) == (TaskState.CANCELLED, "the goods changed (P4.1)")
    [reservation] = decision.reservations
    assert reservation.reservation_key == "JD1:R2"
    assert reservation.quantities == {"SKU-2": 3}
    assert story.status is S.READY_TO_PACK
    assert story.state.reservation_key == "JD1:R2"
    assert story.state.backorder is None
    assert story.open_kinds() == [TaskKind.PACK]


def test_p4_1_new_goods_still_short_go_out_of_stock_again():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(items=items(("SKU-2", 3, "86.00")))
    story.stock = short_of(SKU_2=1)
    decision = story.decide_change()
    assert story.status is S.OUT_OF_STOCK
    assert story.state.backorder is not None
    assert story.state.backorder.short == {"SKU-2": 1}
    assert TaskKind.RECORD_BACKORDER in decision.opened_kinds()
    assert story.state.reservation_key is None


def test_p4_1_new_goods_still_short_while_out_of_stock_are_recorded_afresh():
    # P3.2 for the new goods: their shortage, reason and eta are recorded anew. (The workflow
    # before the aggregate, 782a8d4, opened no record task here: the order stayed out of
    # stock with the old task cancelled and nothing for the warehouse to do.)
    story = story_in(S.OUT_OF_STOCK)
    story.record_backorder()
    inform = story.open_task(TaskKind.INFORM_BACKORDER)
    story.request_change(items=items(("SKU-2", 3, "86.00")))
    story.stock = short_of(SKU_2=3)
    decision = story.decide_change()
    assert story.status is S.OUT_OF_STOCK
    backorder = story.state.backorder
    assert backorder is not None
    assert (backorder.short, backorder.reason, backorder.restock_eta) == ({"SKU-2": 3}, None, None)
    assert (inform.state, inform.outcome) == (TaskState.CANCELLED, "the goods changed (P4.1)")
    assert decision.opened_kinds() == [TaskKind.RECORD_BACKORDER]
    assert story.open_kinds() == [TaskKind.RECORD_BACKORDER]


@pytest.mark.parametrize("status", [S.NEEDS_CORRECTION, S.UNDER_REVIEW])
def test_p4_1_new_goods_before_review_move_no_stock(status):
    story = story_in(status)
    story.request_change(items=items(("SKU-2", 2, "129.00")))
    decision = story.decide_change()
    assert story.status is status
    assert (decision.stock, decision.reservations) == ([], [])
    assert story.state.order.items == items(("SKU-2", 2, "129.00"))


# --- approved goods: money follows them --------------------------------------------------------


@pytest.mark.parametrize(
    "status", [S.UNDER_REVIEW, S.OUT_OF_STOCK, S.READY_TO_PACK, S.AWAITING_DISPATCH]
)
def test_p4_1_cheaper_goods_on_a_paid_order_refund_the_difference(status):
    story = story_in(status)
    story.request_change(items=items(("SKU-1", 1, "129.00")))
    decision = story.decide_change()
    [refund] = decision.refunds
    assert refund.amount == Decimal("129.00")
    assert refund.case_id == decision.reply.case_id
    assert refund.transaction_id == story.state.order.payment.transaction_id
    view = story.order.view()
    assert (view.refunded_amount, view.balance_due) == (Decimal("129.00"), Decimal("0.00"))


def test_p4_1_cheaper_goods_on_an_unpaid_order_refund_nothing():
    story = Story.at(S.READY_TO_PACK, paid=False)
    story.request_change(items=items(("SKU-1", 1, "129.00")))
    decision = story.decide_change()
    assert decision.refunds == []
    assert story.order.view().balance_due == Decimal("0.00")


@pytest.mark.parametrize(
    ("paid", "owed"), [(True, "129.00"), (False, "0.00")], ids=["paid", "unpaid"]
)
@pytest.mark.parametrize("status", [S.UNDER_REVIEW, S.READY_TO_PACK])
def test_p4_1_dearer_goods_leave_a_balance_due(status, paid, owed):
    story = story_in(status, paid=paid)
    story.request_change(items=items(("SKU-1", 3, "129.00")))
    decision = story.decide_change()
    assert decision.refunds == []
    view = story.order.view()
    assert view.total == Decimal("387.00")
    assert view.balance_due == Decimal(owed)


def test_p4_1_goods_at_the_same_price_leave_nothing_to_settle():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(items=items(("SKU-2", 1, "258.00")))
    decision = story.decide_change()
    assert decision.refunds == []
    assert story.order.view().balance_due == Decimal("0.00")


# --- approved goods before review: the risk is judged again (P3.1) --------------------------------


def test_p4_1_dearer_goods_before_review_make_the_order_risky():
    story = Story.at(S.UNDER_REVIEW)
    assert story.state.risk_reasons == []
    story.request_change(items=items(("SKU-1", 1, "6000.00")))
    story.decide_change()
    assert story.state.risk_reasons == ["amount 6000.00 over 5000.00"]
    refusal = refused(story, story.approve, PolicyViolation)
    assert refusal.code == "phone_verification_required"
    story.approve(phone_verified=True)
    assert story.status is S.READY_TO_PACK


def test_p4_1_cheaper_goods_before_review_lift_the_amount_risk():
    story = Story.at(S.UNDER_REVIEW, lines=[("SKU-1", 1, "6000.00")], new_customer=True)
    assert story.state.risk_reasons == ["new customer", "amount 6000.00 over 5000.00"]
    story.request_change(items=items(("SKU-1", 1, "60.00")))
    story.decide_change()
    assert story.state.risk_reasons == ["new customer"]


# --- rejected ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", BEFORE_SHIPMENT)
def test_p4_1_a_rejected_change_applies_nothing_and_closes_its_case(status):
    story = story_in(status)
    before, reserved, tasks = story.state.order, story.state.reservation_key, story.open_kinds()
    story.request_change(shipping=NEW_ADDRESS, items=items(("SKU-2", 1, "1.00")))
    decision = story.decide_change(approved=False)
    assert decision.kinds == [EventKind.CASE_DECIDED, EventKind.CASE_CLOSED]
    assert decision.events[0].data["approved"] is False
    assert story.state.order == before
    assert story.status is status
    assert (decision.opened, decision.stock, decision.requests) == ([], [], [])
    assert story.state.reservation_key == reserved
    assert story.open_kinds() == tasks
    [case] = story.state.cases.values()
    assert (case.state, case.outcome) == (CaseState.CLOSED, "rejected")
    assert story.state.proposals == {}


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.IN_TRANSIT, S.DELIVERED])
def test_p4_1_after_shipment_a_change_is_refused(status):
    story = Story.at(status)
    refusal = refused(story, lambda: story.request_change(shipping=NEW_ADDRESS), ActionNotAllowed)
    assert refusal.code == "action_not_now"
    assert story.state.cases == {}


def test_p4_1_a_change_requested_before_shipment_is_not_decided_after_it():
    story = Story.at(S.AWAITING_DISPATCH)
    requested = story.request_change(shipping=NEW_ADDRESS)
    story.dispatch()
    case_id = requested.reply.case_id
    refusal = refused(story, lambda: story.decide_change(case_id=case_id), ActionNotAllowed)
    assert refusal.code == "action_not_now"
    assert story.state.shipment.tracking_number == "SF1"
    assert story.state.order.shipping != NEW_ADDRESS


def test_p4_1_a_change_case_is_decided_once():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(shipping=NEW_ADDRESS)
    story.decide_change()  # the case stays open until logistics has replanned
    refusal = refused(story, story.decide_change, ActionNotAllowed)
    assert refusal.code == "case_already_decided"
    assert refusal.params == {"case_id": story.case_id()}


def test_p4_1_a_closed_change_case_is_not_decided_again():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(shipping=NEW_ADDRESS)
    story.decide_change(approved=False)
    refusal = refused(story, story.decide_change, ActionNotAllowed)
    assert refusal.code == "case_closed"


@pytest.mark.parametrize("case_id", ["JD1-C9", "JD2-C1", ""])
def test_p4_1_deciding_a_change_the_order_does_not_have_is_not_found(case_id):
    story = Story.at(S.READY_TO_PACK)
    story.request_change(shipping=NEW_ADDRESS)
    command = DecideChangeCommand(actor=actor("customer_service"), case_id=case_id, approved=True)
    refusal = refused(story, lambda: story.act(story.order.decide_change, command), NotFound)
    assert refusal.code == "no_such_case"
    assert refusal.params == {"case_id": case_id}


def test_p4_1_a_case_of_another_kind_is_not_a_change():
    story = Story.at(S.READY_TO_PACK, paid=False)
    story.payment_event(PaymentEventKind.FAILED)
    [case] = story.state.cases.values()
    assert case.kind is CaseKind.PAYMENT_EXCEPTION
    refusal = refused(story, lambda: story.decide_change(case_id=case.case_id), NotFound)
    assert refusal.code == "no_such_case"


@pytest.mark.parametrize("department", NOT_CUSTOMER_SERVICE)
def test_p4_1_only_customer_service_takes_change_requests(department):
    story = Story.at(S.READY_TO_PACK)
    command = ChangeCommand(actor=actor(department), shipping=NEW_ADDRESS, reason="asked")
    refusal = refused(story, lambda: story.act(story.order.request_change, command), NotPermitted)
    assert refusal.code == "action_not_for_department"


@pytest.mark.parametrize("department", NOT_CUSTOMER_SERVICE)
def test_p4_1_only_customer_service_decides_change_requests(department):
    story = Story.at(S.READY_TO_PACK)
    story.request_change(shipping=NEW_ADDRESS)
    command = DecideChangeCommand(actor=actor(department), case_id=story.case_id(), approved=True)
    refusal = refused(story, lambda: story.act(story.order.decide_change, command), NotPermitted)
    assert refusal.code == "action_not_for_department"
    assert story.open_kinds() == [TaskKind.PACK, TaskKind.REVIEW_CHANGE]
