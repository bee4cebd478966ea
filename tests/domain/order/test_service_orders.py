"""P1.2: a service order (issue 13 item 4). Approved, logistics agrees a visit with the
customer; the work is done and recorded on site; the customer confirms it (or, after
`service_confirmation_window`, it counts as confirmed); then the after-sales path of
delivered goods, where a complaint means a rework visit or a refund (P5.3). No stock, no
carrier, no tracking: the steps of goods are refused for it.
Pure decisions of the order aggregate: no server, no clock but the story's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.actions import Action, allowed_actions
from domain.actors import SYSTEM_ACTOR, Department
from domain.cases import CaseKind
from domain.commands import ComplaintResolution as R
from domain.commands import ReturnKind, TrackingEventKind
from domain.errors import ActionNotAllowed, OrderError, PolicyViolation
from domain.events import EventKind as E
from domain.inventory import ReserveStock
from domain.order.details import OrderKind
from domain.policy import PolicySettings
from domain.states import OrderStatus as S
from domain.tasks import TaskKind as K
from tests.domain.order.builders import START, Story, new_order

D = Department
TOTAL = Decimal("258.00")


def service(status: S = S.UNDER_REVIEW, **options: Any) -> Story:
    """A paid service order (SVC-INSTALL) driven to `status` along its line."""
    options.setdefault("lines", [("SVC-INSTALL", 2, "129.00")])
    return Story.at(status, kind="service", **options)


def refused(story: Story, act: Callable[[], Any], error: type[OrderError]) -> OrderError:
    """`act` is refused with `error` and the order stays exactly as it was."""
    before = story.state.model_dump()
    with pytest.raises(error) as caught:
        act()
    assert story.state.model_dump() == before
    return caught.value


def no_stock_or_carrier(story: Story) -> None:
    """P1.2: nothing was ever asked of the inventory, and nothing was shipped or tracked."""
    assert not any(isinstance(r, ReserveStock) for r in story.requests)
    assert story.state.reservation_key is None and story.state.shipments == []
    view = story.order.view()
    assert view.shipment is None and view.backorder is None


# --- the whole line ----------------------------------------------------------------------------


def test_p1_2_a_service_order_goes_from_approval_to_completed_through_visit_work_and_confirmation():
    story = service()
    approved = story.approve()
    assert story.status is S.AWAITING_APPOINTMENT
    [schedule] = approved.opened
    assert (schedule.kind, schedule.department) == (K.SCHEDULE_SERVICE, D.LOGISTICS)
    assert schedule.due_at == schedule.opened_at + PolicySettings().appointment_deadline

    agreed = story.schedule_visit(starts_in=timedelta(hours=3), lasts=timedelta(hours=2))
    assert story.status is S.SERVICE_SCHEDULED
    assert agreed.kinds == [E.APPOINTMENT_SCHEDULED]
    assert agreed.closed_kinds() == [K.SCHEDULE_SERVICE]
    [perform] = agreed.opened
    visit = story.state.visit
    # The work is due by the end of the window agreed with the customer.
    assert (perform.kind, perform.department) == (K.PERFORM_SERVICE, D.LOGISTICS)
    assert perform.due_at == visit.window_end
    assert perform.summary_code == "service_visit"
    data = agreed.events[0].data
    assert data["technician"] == "Technician Zhou" and data["address_given"] is False
    assert data["rescheduled"] is False and data["rework"] is False

    worked = story.record_work()
    assert story.status is S.AWAITING_CONFIRMATION
    assert worked.kinds == [E.SERVICE_PERFORMED] and worked.closed_kinds() == [K.PERFORM_SERVICE]
    assert worked.events[0].note == "installed"
    assert worked.events[0].data["on_time"] is True
    assert story.state.visit.done_by == "Technician Zhou"
    assert story.open_kinds() == []

    confirmed = story.confirm_service()
    assert story.status is S.DELIVERED
    [event] = confirmed.events
    assert (event.kind, event.actor.department, event.data["automatic"]) == (
        E.SERVICE_CONFIRMED,
        D.CUSTOMER_SERVICE,
        False,
    )
    # P5.3: the after-sales window as for delivered goods, from the confirmation.
    window_ends = story.state.visit.confirmed_at + story.state.policy.after_sales_window
    assert story.order.next_alarm() == window_ends
    ended = story.after_sales_window_passes()
    assert story.status is S.COMPLETED and ended.kinds[-1] is E.COMPLETED
    assert story.state.closed
    no_stock_or_carrier(story)


def test_p1_2_the_platform_may_confirm_for_the_customer():
    story = service(S.AWAITING_CONFIRMATION)
    decision = story.confirm_service(by="platform")
    assert story.status is S.DELIVERED
    assert decision.events[0].actor.department is D.PLATFORM


def test_p1_2_a_visit_goes_to_the_shipping_address_unless_another_is_given():
    story = service(S.AWAITING_APPOINTMENT)
    decision = story.schedule_visit(address="3 Wangfujing St, Beijing")
    assert story.state.visit.address == "3 Wangfujing St, Beijing"
    # The record, read by every department, says only that another address was given.
    assert decision.events[0].data["address_given"] is True
    assert "Wangfujing" not in str(decision.events[0].model_dump())
    assert service(S.SERVICE_SCHEDULED).state.visit.address is None


def test_p1_2_a_visit_agreed_again_replaces_the_visit_and_its_task():
    story = service(S.SERVICE_SCHEDULED)
    first = story.open_task(K.PERFORM_SERVICE)
    decision = story.schedule_visit(starts_in=timedelta(days=1))
    assert story.status is S.SERVICE_SCHEDULED
    assert len(story.state.visits) == 1
    assert decision.events[0].data["rescheduled"] is True
    assert decision.closed_kinds() == [K.PERFORM_SERVICE] and first.state.value == "cancelled"
    assert story.open_task(K.PERFORM_SERVICE).due_at == story.state.visit.window_end


# --- what the visit and the work record must hold -----------------------------------------------


def test_p1_2_a_visit_without_any_address_is_refused():
    story = Story(new_order(kind="service"))
    story.state.order = story.state.order.model_copy(
        update={"shipping": story.state.order.shipping.model_copy(update={"address": None})}
    )
    story.approve()
    refusal = refused(story, story.schedule_visit, PolicyViolation)
    assert refusal.code == "appointment_needs_address"
    story.schedule_visit(address="3 Wangfujing St, Beijing")
    assert story.status is S.SERVICE_SCHEDULED


@pytest.mark.parametrize(
    ("starts_in", "code"),
    [
        (-timedelta(hours=3), "appointment_in_the_past"),
        (timedelta(days=400), "appointment_too_far"),
    ],
    ids=["ended", "more than a year ahead"],
)
def test_p1_2_a_visit_is_agreed_for_a_window_to_come_within_a_year(starts_in, code):
    story = service(S.AWAITING_APPOINTMENT)
    act = lambda: story.schedule_visit(starts_in=starts_in, lasts=timedelta(hours=1))  # noqa: E731
    assert refused(story, act, PolicyViolation).code == code


@pytest.mark.parametrize(
    ("done", "code"),
    [
        (timedelta(hours=1), "work_done_in_the_future"),
        (-timedelta(days=1), "work_before_appointment"),
    ],
    ids=["in the future", "before the visit was agreed"],
)
def test_p6_1_p1_3_work_is_recorded_once_done_and_after_the_visit_was_agreed(done, code):
    story = service(S.SERVICE_SCHEDULED)
    refusal = refused(story, lambda: story.record_work(done_at=story.now + done), PolicyViolation)
    assert refusal.code == code


def test_p1_2_work_done_late_is_recorded_as_late():
    story = service(S.SERVICE_SCHEDULED)
    story.now = story.state.visit.window_end + timedelta(hours=1)
    decision = story.record_work(done_at=story.now)
    assert decision.events[0].data["on_time"] is False


# --- no stock, no carrier, no tracking, no return of goods ---------------------------------------


GOODS_STEPS: list[tuple[S, Callable[[Story], Any]]] = [
    (S.AWAITING_APPOINTMENT, Story.pack),
    (S.SERVICE_SCHEDULED, Story.pack),
    (S.AWAITING_APPOINTMENT, Story.dispatch),
    (S.SERVICE_SCHEDULED, Story.dispatch),
    (S.AWAITING_CONFIRMATION, Story.dispatch),
    (S.AWAITING_APPOINTMENT, Story.record_backorder),
    (S.DELIVERED, Story.request_return),
    (S.DELIVERED, lambda story: story.request_return(ReturnKind.EXCHANGE)),
    (S.DELIVERED, lambda story: story.decide_return(case_id="JD1-C1")),
    (S.DELIVERED, lambda story: story.inspect(case_id="JD1-C1")),
]


@pytest.mark.parametrize(("status", "step"), GOODS_STEPS)
def test_p1_2_the_steps_of_goods_are_refused_for_a_service_order_naming_the_clause(status, step):
    story = service(status)
    refusal = refused(story, lambda: step(story), PolicyViolation)
    assert refusal.code == "not_for_service_orders"
    assert refusal.params["clause"] == "P1.2"
    assert "P1.2" in str(refusal)


def test_p1_2_a_tracking_event_for_a_service_order_is_dropped_and_recorded():
    story = service(S.DELIVERED)
    decision = story.track(TrackingEventKind.DELIVERED)
    assert story.status is S.DELIVERED
    assert decision.kinds == [E.FEED_REFUSED]
    assert decision.events[0].data["code"] == "not_for_service_orders"
    assert story.state.tracking_seen == set()


SERVICE_STEPS: list[tuple[S, Callable[[Story], Any]]] = [
    (S.READY_TO_PACK, Story.schedule_visit),
    (S.AWAITING_DISPATCH, Story.record_work),
    (S.DELIVERED, Story.confirm_service),
    (S.DELIVERED, lambda story: story.complain(R.REWORK)),
]


@pytest.mark.parametrize(("status", "step"), SERVICE_STEPS)
def test_p1_2_a_goods_order_gets_no_visit(status, step):
    story = Story.at(status)
    refusal = refused(story, lambda: step(story), PolicyViolation)
    assert refusal.code == "only_for_service_orders"


def test_p1_2_the_console_offers_only_the_steps_of_the_order_s_kind():
    delivered = set(allowed_actions(S.DELIVERED, D.CUSTOMER_SERVICE, OrderKind.SERVICE))
    assert Action.SERVICE_COMPLAINT in delivered and Action.REQUEST_RETURN not in delivered
    goods = set(allowed_actions(S.DELIVERED, D.CUSTOMER_SERVICE, OrderKind.GOODS))
    assert Action.REQUEST_RETURN in goods and Action.SERVICE_COMPLAINT not in goods


# --- the automatic confirmation ------------------------------------------------------------------


WINDOWS = [timedelta(hours=6), timedelta(days=3), timedelta(days=7)]


@pytest.mark.parametrize("window", WINDOWS, ids=str)
def test_p1_2_without_a_word_from_the_customer_the_service_is_confirmed_after_the_window(window):
    story = service(S.SERVICE_SCHEDULED, policy=PolicySettings(service_confirmation_window=window))
    story.record_work()
    due = story.now + window
    assert story.state.confirmation_due == due
    assert story.order.next_alarm() == due
    assert story.ring_at(due - timedelta(seconds=1)).kinds == []
    assert story.status is S.AWAITING_CONFIRMATION
    decision = story.ring_at(due)
    assert story.status is S.DELIVERED
    [event] = decision.events
    assert event.kind is E.SERVICE_CONFIRMED and event.actor == SYSTEM_ACTOR
    assert event.data["automatic"] is True and "P1.2" in event.note
    assert story.state.visit.confirmed_automatically is True
    story.after_sales_window_passes()
    assert story.status is S.COMPLETED


def test_p1_2_the_customer_s_confirmation_ends_the_wait_for_it():
    story = service(S.AWAITING_CONFIRMATION)
    story.confirm_service()
    assert story.state.confirmation_due is None
    assert story.order.next_alarm() == story.order._window_ends()


def test_p2_1_a_service_paid_in_cash_on_the_spot_waits_for_the_remittance():
    story = service(S.DELIVERED, paid=False)  # cash on delivery
    assert story.state.awaiting_remittance
    story.after_sales_window_passes()
    assert story.status is S.DELIVERED and not story.state.closed


# --- a complaint: a rework visit or a refund (P5.3) -----------------------------------------------


@pytest.mark.parametrize("status", [S.AWAITING_CONFIRMATION, S.DELIVERED])
def test_p5_3_a_complaint_about_the_work_brings_a_rework_visit(status):
    story = service(status)
    decision = story.complain(R.REWORK)
    assert story.status is S.AWAITING_APPOINTMENT
    assert decision.kinds == [E.CASE_OPENED, E.CASE_DECIDED, E.CASE_CLOSED]
    case = story.state.cases[story.case_id()]
    assert (case.kind, case.outcome) == (CaseKind.SERVICE_COMPLAINT, "rework")
    [task] = decision.opened
    assert (task.kind, task.summary_code) == (K.SCHEDULE_SERVICE, "rework_visit")
    assert story.state.confirmation_due is None and story.order._window_ends() is None
    # The rework goes the whole line again, as a visit of its own.
    agreed = story.schedule_visit()
    assert agreed.events[0].data["rework"] is True and len(story.state.visits) == 2
    story.record_work()
    story.confirm_service()
    story.after_sales_window_passes()
    assert story.status is S.COMPLETED
    assert story.order.view().refunded_amount == Decimal("0.00")
    no_stock_or_carrier(story)


@pytest.mark.parametrize("status", [S.AWAITING_CONFIRMATION, S.DELIVERED])
def test_p5_3_a_complaint_may_be_refunded_instead_of_a_return_of_goods(status):
    story = service(status)
    decision = story.complain(R.REFUND)
    assert story.status is S.REFUNDED
    [refund] = decision.refunds
    assert refund.amount == TOTAL and refund.case_id == story.case_id()
    assert E.ORDER_REFUNDED in decision.kinds
    assert story.state.cases[story.case_id()].state.value == "closed"
    assert story.state.closed and story.order.next_alarm() is None


@pytest.mark.parametrize(
    ("resolution", "after", "allowed"),
    [
        (R.REFUND, timedelta(days=7), True),
        (R.REFUND, timedelta(days=7, seconds=1), False),
        (R.REWORK, timedelta(days=7, seconds=1), True),
        (R.REWORK, timedelta(days=15), True),
    ],
    ids=["refund on day 7", "refund after 7 days", "rework after 7 days", "rework on day 15"],
)
def test_p5_3_a_refund_is_asked_within_the_return_window_a_rework_within_the_exchange_window(
    resolution, after, allowed
):
    story = service(S.DELIVERED)
    at = story.state.visit.confirmed_at + after
    if allowed:
        story.now = at - timedelta(minutes=1)  # the step's clock moves a minute on
        story.complain(resolution)
        assert story.status in (S.AWAITING_APPOINTMENT, S.REFUNDED)
        return
    story.now = at - timedelta(minutes=1)
    refusal = refused(story, lambda: story.complain(resolution), PolicyViolation)
    assert refusal.code == "complaint_window_closed"
    assert refusal.params["resolution"] == resolution.value


def test_p5_3_only_customer_service_decides_a_complaint():
    story = service(S.DELIVERED)
    refusal = refused(story, lambda: story.complain(R.REFUND, by="logistics"), OrderError)
    assert refusal.code == "action_not_for_department"


# --- before and after the work: changes and cancellation (P4) -------------------------------------


@pytest.mark.parametrize("status", [S.AWAITING_APPOINTMENT, S.SERVICE_SCHEDULED])
def test_p4_2_a_service_not_performed_yet_is_cancelled_and_refunded(status):
    story = service(status)
    decision = story.cancel()
    assert story.status is S.CANCELLED
    assert [r.amount for r in decision.refunds] == [TOTAL]
    assert story.open_kinds() == []
    assert decision.stock == []


def test_p4_a_service_performed_is_not_cancelled_even_while_a_rework_visit_is_due():
    story = service(S.DELIVERED)
    story.complain(R.REWORK)
    assert story.status is S.AWAITING_APPOINTMENT
    refusal = refused(story, story.cancel, ActionNotAllowed)
    assert refusal.code == "service_already_performed"


def test_p1_2_service_tasks_fall_due_and_are_escalated_like_others():
    story = service(S.AWAITING_APPOINTMENT)
    task = story.open_task(K.SCHEDULE_SERVICE)
    story.ring_at(task.due_at)
    assert task.overdue and story.order.overdue()
    assert story.order.pending_department() is D.LOGISTICS
    assert task.due_at > START
