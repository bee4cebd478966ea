"""P5.2 logistics exceptions, as plain functions of the order aggregate.

A parcel lost, damaged or delayed in transit opens a case: customer service
informs the customer and decides (compensation; a lost or damaged parcel is
reshipped or refunded), logistics investigates the cause and records a
corrective action. The case closes when both are done and its money is settled.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from domain.actors import Department
from domain.cases import CaseKind, CaseState
from domain.commands import (
    CauseCommand,
    ExceptionDecisionCommand,
    PaymentEventKind,
    Resolution,
    TrackingEventKind,
)
from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError, PolicyViolation
from domain.events import EventKind
from domain.ledger import LedgerKind, RefundState
from domain.order.decision import Decision
from domain.order.details import OrderItem
from domain.states import OrderStatus
from domain.tasks import TaskKind, TaskState
from tests.domain.order.builders import Story, actor, refunds_declined

S = OrderStatus
T = TrackingEventKind
R = Resolution
E = EventKind
EXCEPTIONS = [T.LOST, T.DAMAGED, T.DELAYED]
HANDLE = TaskKind.HANDLE_LOGISTICS_EXCEPTION
INVESTIGATE = TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION


def parcel(event: TrackingEventKind, status: OrderStatus = S.IN_TRANSIT) -> Story:
    """An order whose parcel had `event` in transit; then delivered all the same, if asked."""
    story = Story.at(S.IN_TRANSIT)
    story.track(event)
    if status is S.DELIVERED:
        story.track(T.DELIVERED)
    assert story.status is status
    return story


def decide(
    story: Story, resolution: Resolution, compensation: str = "0.00", by: str = "customer_service"
) -> Decision:
    command = ExceptionDecisionCommand(
        actor=actor(by),
        case_id=story.case_id(),
        resolution=resolution,
        compensation=Decimal(compensation),
    )
    return story.act(story.order.decide_exception, command)


def decide_case(story: Story, case_id: str) -> Decision:
    command = ExceptionDecisionCommand(
        actor=actor("customer_service"), case_id=case_id, resolution=R.NONE
    )
    return story.act(story.order.decide_exception, command)


def refused(story: Story, error: type[OrderError], act: Callable[[], object]) -> OrderError:
    """`act` is refused with `error`, and the order is left as it was."""
    status, seq, tasks = story.status, story.state.seq, story.open_kinds()
    ledger, requests = list(story.state.ledger), len(story.requests)
    with pytest.raises(error) as caught:
        act()
    assert (story.status, story.state.seq) == (status, seq)
    assert story.open_kinds() == tasks
    assert (story.state.ledger, len(story.requests)) == (ledger, requests)
    return caught.value


# --- the case -------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", EXCEPTIONS)
def test_p5_2_an_exception_in_transit_opens_a_case_for_customer_service_and_logistics(
    event: TrackingEventKind,
):
    story = Story.at(S.IN_TRANSIT)
    decision = story.track(event)
    assert decision.kinds == [E.TRACKING, E.CASE_OPENED]
    case = story.state.cases[story.case_id()]
    assert case.kind is CaseKind.LOGISTICS_EXCEPTION
    assert case.data == {"event": event.value, "tracking_number": "SF1"}
    assert [(t.kind, t.department, t.case_id) for t in decision.opened] == [
        (HANDLE, Department.CUSTOMER_SERVICE, case.case_id),
        (INVESTIGATE, Department.LOGISTICS, case.case_id),
    ]
    assert story.status is S.IN_TRANSIT
    assert TaskKind.DELIVER in story.open_kinds()


@pytest.mark.parametrize("event", EXCEPTIONS)
def test_p5_2_an_exception_reported_after_delivery_is_only_recorded(event: TrackingEventKind):
    story = Story.at(S.DELIVERED)
    decision = story.track(event)
    assert decision.kinds == [E.TRACKING]
    assert story.state.cases == {}
    assert decision.opened == []


def test_p5_2_a_repeated_tracking_event_opens_no_second_case():
    story = Story.at(S.IN_TRANSIT)
    story.track(T.LOST, event_id="LOST-1")
    seq = story.state.seq
    again = story.track(T.LOST, event_id="LOST-1")
    assert again.events == [] and story.state.seq == seq
    assert len(story.state.cases) == 1


# --- the decision table ---------------------------------------------------------------------------

DECISIONS = [
    # (event, resolution, status, refusal or None)
    (T.LOST, R.RESHIP, S.IN_TRANSIT, None),
    (T.LOST, R.REFUND, S.IN_TRANSIT, None),
    (T.LOST, R.NONE, S.IN_TRANSIT, "lost_goods_need_a_resolution"),
    (T.DAMAGED, R.RESHIP, S.IN_TRANSIT, None),
    (T.DAMAGED, R.REFUND, S.IN_TRANSIT, None),
    (T.DAMAGED, R.NONE, S.IN_TRANSIT, "lost_goods_need_a_resolution"),
    (T.DELAYED, R.RESHIP, S.IN_TRANSIT, "nothing_to_resolve"),
    (T.DELAYED, R.REFUND, S.IN_TRANSIT, "nothing_to_resolve"),
    (T.DELAYED, R.NONE, S.IN_TRANSIT, None),
    # The parcel reached the customer after all: there is nothing to reship or refund.
    (T.DELAYED, R.RESHIP, S.DELIVERED, "nothing_to_resolve"),
    (T.DELAYED, R.REFUND, S.DELIVERED, "nothing_to_resolve"),
    (T.DELAYED, R.NONE, S.DELIVERED, None),
    (T.LOST, R.RESHIP, S.DELIVERED, "nothing_to_resolve"),
    (T.LOST, R.REFUND, S.DELIVERED, "nothing_to_resolve"),
    (T.LOST, R.NONE, S.DELIVERED, None),
    (T.DAMAGED, R.NONE, S.DELIVERED, None),
]


@pytest.mark.parametrize(("event", "resolution", "status", "refusal"), DECISIONS)
def test_p5_2_which_resolutions_a_parcel_exception_allows(
    event: TrackingEventKind, resolution: Resolution, status: OrderStatus, refusal: str | None
):
    story = parcel(event, status)
    if refusal is None:
        decision = decide(story, resolution)
        assert E.CASE_DECIDED in decision.kinds
        assert HANDLE in decision.closed_kinds()
        case = story.state.cases[story.case_id()]
        assert case.outcome == resolution.value
        assert decision.reply.case_id == case.case_id
        return
    error = refused(story, PolicyViolation, lambda: decide(story, resolution))
    assert error.code == refusal
    if refusal == "nothing_to_resolve":
        params = {"resolution": resolution.value, "status": status.value}
        assert error.params == params
    assert HANDLE in story.open_kinds()


# --- compensation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["0.01", "30.00", "258.00"])
def test_p5_2_compensation_is_booked_as_a_negative_compensation_entry(amount: str):
    story = parcel(T.DELAYED)
    case_id = story.case_id()
    decision = decide(story, R.NONE, compensation=amount)
    [entry] = decision.ledger
    assert entry.entry_id == f"JD1:compensation:{case_id}"
    assert (entry.kind, entry.amount, entry.case_id) == (
        LedgerKind.COMPENSATION,
        -Decimal(amount),
        case_id,
    )
    # Paid out through the gateway (tests/domain/order/test_compensation.py), like a refund.
    assert entry.actor_id == "system"
    [booked] = [e for e in decision.events if e.kind is E.LEDGER]
    assert booked.data["amount"] == str(-Decimal(amount))
    [payout] = decision.requests
    assert payout.kind is LedgerKind.COMPENSATION and payout.amount == Decimal(amount)
    assert story.refundable() == Decimal("258.00")  # compensation is not a refund


def test_p5_2_no_compensation_books_nothing():
    story = parcel(T.DELAYED)
    decision = decide(story, R.NONE)
    assert decision.ledger == []
    assert E.LEDGER not in decision.kinds


@pytest.mark.parametrize("resolution", [R.NONE, R.RESHIP, R.REFUND])
def test_p5_2_compensation_above_the_order_total_is_refused(resolution: Resolution):
    story = parcel(T.LOST if resolution is not R.NONE else T.DELAYED)
    error = refused(story, PolicyViolation, lambda: decide(story, resolution, "258.01"))
    assert error.code == "compensation_above_total"


# --- reship and refund ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", [T.LOST, T.DAMAGED])
def test_p5_2_a_reshipped_parcel_is_reserved_packed_and_dispatched_again(event: TrackingEventKind):
    story = parcel(event)
    decision = decide(story, R.RESHIP)
    assert TaskKind.DELIVER in decision.closed_kinds()
    [deliver] = [t for t in decision.closed if t.kind is TaskKind.DELIVER]
    assert deliver.state is TaskState.CANCELLED
    [reservation] = decision.reservations
    assert reservation.reservation_key == "JD1:R2"
    assert reservation.quantities == {"SKU-1": 2}
    assert decision.refunds == []
    assert story.status is S.READY_TO_PACK
    assert decision.opened_kinds() == [TaskKind.PACK]
    story.pack()
    story.dispatch()
    assert story.status is S.IN_TRANSIT
    assert len(story.state.shipments) == 2
    assert TaskKind.DELIVER in story.open_kinds()
    story.track(T.DELIVERED)
    assert story.status is S.DELIVERED
    assert story.state.shipments[0].delivered_at is None
    assert story.state.shipments[1].delivered_at == story.now


def _paid(story: Story) -> None:
    pass


def _cheaper_before_shipment(story: Story) -> None:
    cheaper = [OrderItem(sku="SKU-1", name="sku-1", quantity=1, unit_price=Decimal("129.00"))]
    story.request_change(items=cheaper)
    story.decide_change()


def _after_a_duplicate(story: Story) -> None:
    story.payment_event(PaymentEventKind.DUPLICATE)
    story.complete_task(TaskKind.CONTACT_CUSTOMER)
    story.complete_task(TaskKind.ACCOUNT_PAYMENT)


@pytest.mark.parametrize(
    ("paid", "before", "refunded"),
    [
        (True, _paid, Decimal("258.00")),
        (True, _cheaper_before_shipment, Decimal("129.00")),
        (True, _after_a_duplicate, Decimal("258.00")),
        (False, _paid, None),
    ],
    ids=["paid", "after-a-cheaper-change", "after-a-duplicate", "unpaid"],
)
def test_p5_2_a_refunded_parcel_refunds_what_may_still_be_refunded_and_ends_the_order(
    paid: bool, before: Callable[[Story], None], refunded: Decimal | None
):
    story = Story.at(S.READY_TO_PACK, paid=paid)
    before(story)
    story.pack()
    story.dispatch()
    story.track(T.LOST)
    may_refund = story.refundable()
    decision = decide(story, R.REFUND)
    assert story.status is S.REFUNDED
    [ended] = [e for e in decision.events if e.kind is E.ORDER_REFUNDED]
    assert ended.case_id == story.case_id()
    assert [r.amount for r in decision.refunds] == ([refunded] if refunded else [])
    assert may_refund == (refunded or Decimal("0.00"))
    assert story.refundable() == Decimal("0.00")
    assert TaskKind.DELIVER in decision.closed_kinds()
    # Logistics still investigates: the order ends once that is done.
    assert story.open_kinds() == [INVESTIGATE]
    assert not story.state.closed
    done = story.record_cause()
    assert E.CASE_CLOSED in done.kinds
    assert done.kinds[-1] is E.CLOSED
    assert done.events[-1].data == {"status": "refunded"}


def test_p5_2_deciding_a_case_twice_is_refused():
    story = parcel(T.DELAYED)
    decide(story, R.NONE)
    error = refused(story, ActionNotAllowed, lambda: decide(story, R.NONE))
    assert error.code == "case_already_decided"
    assert error.params == {"case_id": story.case_id()}


# --- the cause ------------------------------------------------------------------------------------


def test_p5_2_recording_the_cause_closes_the_investigation():
    story = parcel(T.DAMAGED)
    decision = story.record_cause()
    assert decision.kinds == [E.LOGISTICS_CAUSE_RECORDED]
    assert decision.events[0].data == {
        "cause": "dropped at the depot",
        "corrective_action": "padding",
    }
    assert decision.closed_kinds() == [INVESTIGATE]
    assert decision.closed[0].closed_by == "logistics-1"
    assert story.open_kinds() == [TaskKind.DELIVER, HANDLE]


def test_p5_2_recording_the_cause_twice_is_refused():
    story = parcel(T.DAMAGED)
    story.record_cause()
    error = refused(story, ActionNotAllowed, story.record_cause)
    assert error.code == "cause_already_recorded"


@pytest.mark.parametrize("decision_first", [True, False], ids=["decided-first", "cause-first"])
def test_p5_2_the_case_closes_when_both_tasks_are_done(decision_first: bool):
    story = parcel(T.DELAYED)
    case = story.state.cases[story.case_id()]
    steps = [lambda: decide(story, R.NONE), story.record_cause]
    first, second = steps if decision_first else steps[::-1]
    assert E.CASE_CLOSED not in first().kinds
    assert case.state is CaseState.OPEN
    assert E.CASE_CLOSED in second().kinds
    assert case.state is CaseState.CLOSED
    assert case.closed_at == story.now
    assert story.status is S.IN_TRANSIT


def test_p5_2_the_case_waits_for_a_refund_the_gateway_declined():
    story = parcel(T.LOST)
    story.gateway = refunds_declined
    case = story.state.cases[story.case_id()]
    decide(story, R.REFUND)
    assert E.CASE_CLOSED not in story.record_cause().kinds
    assert case.state is CaseState.OPEN
    [refund] = story.state.refunds.values()
    assert refund.state is RefundState.FAILED
    assert story.open_kinds() == [TaskKind.MANUAL_REFUND]
    done = story.complete_refund(refund.refund_id)
    assert case.state is CaseState.CLOSED
    assert done.kinds[-1] is E.CLOSED


# --- who acts on which case -----------------------------------------------------------------------


@pytest.mark.parametrize("department", ["sales", "warehouse", "logistics", "finance", "platform"])
def test_p5_2_only_customer_service_decides(department: str):
    story = parcel(T.DELAYED)
    refused(story, NotPermitted, lambda: decide(story, R.NONE, by=department))


@pytest.mark.parametrize("department", ["sales", "warehouse", "customer_service", "finance"])
def test_p5_2_only_logistics_records_the_cause(department: str):
    story = parcel(T.DELAYED)
    command = CauseCommand(
        actor=actor(department), case_id=story.case_id(), cause="c", corrective_action="a"
    )
    refused(story, NotPermitted, lambda: story.act(story.order.record_cause, command))


@pytest.mark.parametrize("case_id", ["JD1-C9", "payment"])
def test_p5_2_a_case_that_is_no_logistics_exception_is_not_found(case_id: str):
    story = parcel(T.DELAYED)
    if case_id == "payment":
        story.payment_event(PaymentEventKind.FAILED)
        case_id = story.case_id()
        assert story.state.cases[case_id].kind is CaseKind.PAYMENT_EXCEPTION
    error = refused(story, NotFound, lambda: decide_case(story, case_id))
    assert error.code == "no_such_case"
    assert error.params == {"case_id": case_id}


def test_p5_2_a_closed_case_takes_no_more_decisions():
    story = parcel(T.DELAYED)
    decide(story, R.NONE)
    story.record_cause()
    error = refused(story, ActionNotAllowed, lambda: decide(story, R.NONE))
    assert error.code == "case_closed"
    error = refused(story, ActionNotAllowed, story.record_cause)
    assert error.code == "case_closed"
