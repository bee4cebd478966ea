"""How an order ends, as plain functions of the order aggregate (P5.3 windows, P4-P5 follow-ups).

A delivered order completes once the return and exchange windows after delivery
have both closed (P5.3) and no return is open; an order in a final status
(cancelled, rejected, returned, refunded) closes at once. Either way it waits for
its follow-ups (a refund by hand, accounting, the supplier, an investigation):
while it waits it is *closing*, and no new course (a return, an exchange) may
start. Main-line tasks lose their point when the order ends and are cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.actors import SYSTEM_ACTOR
from domain.cases import CaseState
from domain.commands import (
    PaymentEventKind,
    Resolution,
    ReturnCommand,
    ReturnKind,
    TrackingEventKind,
)
from domain.errors import ActionNotAllowed, OrderError
from domain.events import EventKind
from domain.ledger import RefundRequest, RefundState
from domain.order.details import Shipping
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TaskKind, TaskState
from tests.domain.order.builders import Story, actor, refunds_declined, refunds_paid

S = OrderStatus
E = EventKind
K = TaskKind


def window_ends(story: Story) -> object:
    return story.state.shipment.delivered_at + story.state.policy.after_sales_window


def refused(story: Story, error: type[OrderError], act: Callable[[], object]) -> OrderError:
    """`act` is refused with `error`, and the order is left as it was."""
    status, seq, tasks = story.status, story.state.seq, story.open_kinds()
    with pytest.raises(error) as caught:
        act()
    assert (story.status, story.state.seq, story.open_kinds()) == (status, seq, tasks)
    return caught.value


def request(story: Story, kind: ReturnKind) -> object:
    command = ReturnCommand(actor=actor("customer_service"), kind=kind, reason="it broke")
    return story.act(story.order.request_return, command)


def closing_with_a_follow_up() -> Story:
    """A delivered order whose windows have passed while finance still accounts for a duplicate
    payment: the main line is over, the order is not yet closed."""
    story = Story.at(S.DELIVERED)
    story.payment_event(PaymentEventKind.DUPLICATE)
    story.after_sales_window_passes()
    assert story.state.closing and not story.state.closed
    assert story.status is S.DELIVERED
    return story


# --- completion after the windows -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "window"),
    [
        (PolicySettings(), timedelta(days=15)),
        (PolicySettings(return_window=timedelta(days=20)), timedelta(days=20)),
        (
            PolicySettings(return_window=timedelta(days=2), exchange_window=timedelta(days=3)),
            timedelta(days=3),
        ),
    ],
    ids=["default", "longer-return-window", "short-windows"],
)
def test_p5_3_a_delivered_order_completes_when_both_windows_have_passed(
    policy: PolicySettings, window: timedelta
):
    story = Story.at(S.DELIVERED, policy=policy)
    ends = story.state.shipment.delivered_at + window
    assert story.order.next_alarm() == ends
    early = story.ring_at(ends - timedelta(seconds=1))
    assert E.COMPLETED not in early.kinds
    assert (story.status, story.state.closing, story.state.closed) == (S.DELIVERED, False, False)
    decision = story.ring_at(ends)
    assert decision.kinds == [E.COMPLETED]
    assert story.status is S.COMPLETED
    assert story.state.closed and story.state.closed_at == ends
    assert story.order.view().closed_at == ends


def test_p5_3_completion_is_decided_when_the_alarm_rings_even_if_late():
    story = Story.at(S.DELIVERED)
    late = window_ends(story) + timedelta(days=3)
    assert story.ring_at(late).kinds == [E.COMPLETED]
    assert story.state.closed_at == late


@pytest.mark.parametrize(
    ("decide", "status", "closed"),
    [
        (lambda story: story.decide_return(approved=False), S.COMPLETED, True),
        (lambda story: (story.decide_return(), story.inspect(confirmed=False)), S.COMPLETED, True),
        # Returned: finance and sales still have their follow-ups (below).
        (lambda story: (story.decide_return(), story.inspect(confirmed=True)), S.RETURNED, False),
    ],
    ids=["rejected", "no-quality-problem", "returned"],
)
def test_p5_3_a_return_open_when_the_windows_pass_keeps_the_order_open_until_decided(
    decide: Callable[[Story], object], status: OrderStatus, closed: bool
):
    story = Story.at(S.DELIVERED)
    story.tick(timedelta(days=6))
    request(story, ReturnKind.RETURN)
    passing = story.after_sales_window_passes()
    assert E.COMPLETED not in passing.kinds
    assert (story.state.window_closed, story.state.closing) == (True, False)
    assert story.status is S.DELIVERED
    decide(story)
    assert story.status is status
    assert (story.state.closing, story.state.closed) == (True, closed)


def test_p5_3_a_return_confirmed_after_the_windows_passed_still_returns_the_goods():
    story = Story.at(S.DELIVERED)
    story.tick(timedelta(days=6))
    request(story, ReturnKind.RETURN)
    story.decide_return()
    story.after_sales_window_passes()
    decision = story.inspect(confirmed=True)
    assert story.status is S.RETURNED
    assert [r.amount for r in decision.refunds] == [story.state.order.total]
    assert story.state.closing and not story.state.closed
    story.settle_claim()
    done = story.complete_task(K.ADJUST_ACCOUNTS)
    assert done.kinds[-1] is E.CLOSED
    assert done.events[-1].data == {"status": "returned"}


def test_p5_3_an_exchange_delivered_again_opens_new_windows():
    story = Story.at(S.DELIVERED)
    story.tick(timedelta(days=10))
    request(story, ReturnKind.EXCHANGE)
    story.decide_return()
    story.after_sales_window_passes()
    story.inspect(confirmed=True)
    story.pack()
    story.dispatch()
    story.track(TrackingEventKind.DELIVERED)
    story.settle_claim()
    story.complete_task(K.ADJUST_ACCOUNTS)
    assert not story.state.window_closed and not story.state.closing
    assert story.order.next_alarm() == window_ends(story)
    assert story.ring_at(window_ends(story)).kinds == [E.COMPLETED]


# --- follow-ups keep an ended order open ----------------------------------------------------------


def _cancelled(story: Story) -> None:
    story.advance_to(S.READY_TO_PACK)
    story.cancel()


def _rejected(story: Story) -> None:
    story.reject()
    story.complete_task(K.EXPLAIN_REJECTION, by="sales")  # P3.1: the customer was told why


@pytest.mark.parametrize(
    ("end", "status"),
    [(_cancelled, S.CANCELLED), (_rejected, S.REJECTED)],
    ids=["cancelled", "rejected"],
)
def test_p4_2_p5_a_refund_by_hand_keeps_an_ended_order_open_until_finance_is_done(
    end: Callable[[Story], None], status: OrderStatus
):
    story = Story(gateway=refunds_declined)
    end(story)
    assert story.status is status
    assert story.state.closing and not story.state.closed
    assert story.open_kinds() == [K.MANUAL_REFUND]
    assert story.order.next_alarm() == story.open_task(K.MANUAL_REFUND).remind_at
    [refund] = story.state.refunds.values()
    done = story.complete_refund(refund.refund_id)
    assert done.kinds[-1] is E.CLOSED
    assert done.events[-1].data == {"status": status.value}
    assert story.state.closed and story.state.closed_at == story.now
    assert story.status is status


def test_p5_1_a_follow_up_of_a_payment_case_keeps_a_cancelled_order_open_until_done():
    story = Story.at(S.READY_TO_PACK)
    story.payment_event(PaymentEventKind.FAILED)
    story.cancel()
    assert story.open_kinds() == [K.CONTACT_CUSTOMER]
    assert not story.state.closed
    done = story.complete_task(K.CONTACT_CUSTOMER)
    assert done.kinds[-1] is E.CLOSED
    assert story.status is S.CANCELLED


def test_p4_2_a_refund_still_at_the_gateway_keeps_an_ended_order_open_until_answered():
    story = Story.at(S.READY_TO_PACK)
    story.auto = False
    story.cancel()
    [request_] = [r for r in story.requests if isinstance(r, RefundRequest)]
    assert story.state.refunds[request_.refund_id].state is RefundState.PENDING
    assert story.state.closing and not story.state.closed
    story.order.refund_answer(refunds_paid(request_), story.tick())
    # The customer is told of the cancellation and the refund before the order closes.
    assert not story.state.closed
    assert story.deliver_notices().kinds[-1] is E.CLOSED
    assert story.state.closed


def test_p5_1_p5_3_a_delivered_order_with_a_follow_up_completes_once_it_is_done():
    story = closing_with_a_follow_up()
    story.complete_task(K.CONTACT_CUSTOMER)
    assert not story.state.closed
    done = story.complete_task(K.ACCOUNT_PAYMENT)
    assert done.kinds[-1] is E.COMPLETED
    assert story.status is S.COMPLETED


# --- no new course once closing -------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ReturnKind.RETURN, ReturnKind.EXCHANGE])
def test_p5_3_once_closing_a_return_or_exchange_is_refused(kind: ReturnKind):
    story = closing_with_a_follow_up()
    error = refused(story, ActionNotAllowed, lambda: request(story, kind))
    assert error.code == "order_closing"
    assert error.params == {"status": "delivered"}


def test_p5_1_once_closing_the_follow_ups_can_still_be_worked():
    story = closing_with_a_follow_up()
    assert story.claim(K.ACCOUNT_PAYMENT, "finance-2").kinds == [E.TASK_CLAIMED]
    done = story.complete_task(K.ACCOUNT_PAYMENT)
    [completed] = [e for e in done.events if e.kind is E.TASK_COMPLETED]
    assert completed.data == {
        "kind": "account_payment",
        "assignee": "finance-2",
        "acted_by_other": True,
    }
    assert E.COMPLETED not in done.kinds
    assert story.open_kinds() == [K.CONTACT_CUSTOMER]
    assert story.state.closing and not story.state.closed


# --- closed ---------------------------------------------------------------------------------------


def _completed(story: Story) -> None:
    story.advance_to(S.COMPLETED)


def _cancelled_unpaid(story: Story) -> None:
    story.cancel()


def _cancelled_by_the_unpaid_deadline(story: Story) -> None:
    story.payment_event(PaymentEventKind.FAILED)
    story.ring_at(story.state.unpaid_deadline)
    story.complete_task(K.CONTACT_CUSTOMER)


def _refunded(story: Story) -> None:
    story.advance_to(S.IN_TRANSIT)
    story.track(TrackingEventKind.LOST)
    story.decide_exception(Resolution.REFUND)
    story.record_cause()


@pytest.mark.parametrize(
    ("end", "paid", "status"),
    [
        (_completed, True, S.COMPLETED),
        (_cancelled_unpaid, False, S.CANCELLED),
        (_cancelled_by_the_unpaid_deadline, False, S.CANCELLED),
        (_rejected, True, S.REJECTED),
        (_refunded, True, S.REFUNDED),
    ],
    ids=["completed", "cancelled", "cancelled-unpaid", "rejected", "refunded"],
)
def test_p8_1_a_closed_order_has_no_next_alarm(
    end: Callable[[Story], None], paid: bool, status: OrderStatus
):
    story = Story.at(S.UNDER_REVIEW, paid=paid)
    end(story)
    assert story.status is status
    assert story.state.closed
    assert story.state.tasks.open_tasks() == []
    assert all(case.state is CaseState.CLOSED for case in story.state.cases.values())
    assert story.order.next_alarm() is None
    seq = story.state.seq
    assert story.ring_at(story.now + timedelta(days=365)).events == []
    assert story.state.seq == seq


def test_p4_2_the_system_closes_an_order_that_ended_unpaid():
    story = Story.at(S.UNDER_REVIEW, paid=False)
    decision = story.cancel()
    assert decision.kinds[-1] is E.CLOSED
    assert decision.events[-1].actor == SYSTEM_ACTOR
    assert decision.events[-1].data == {"status": "cancelled"}


# --- main-line tasks end with the order -----------------------------------------------------------


def test_p4_1_p5_3_main_line_tasks_are_cancelled_when_the_order_completes():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(shipping=Shipping(address="2 Xidan St", contact_name="Han Meimei"))
    story.decide_change()
    replan = story.open_task(K.REPLAN_DELIVERY)
    story.pack()
    story.dispatch()
    story.track(TrackingEventKind.DELIVERED)
    assert replan.is_open
    decision = story.after_sales_window_passes()
    assert replan in decision.closed
    assert (replan.state, replan.closed_by, replan.outcome) == (
        TaskState.CANCELLED,
        "system",
        "order delivered",
    )
    assert decision.kinds[-1] is E.COMPLETED


def test_p4_1_a_change_request_left_undecided_at_shipment_ends_with_the_order():
    story = Story.at(S.AWAITING_DISPATCH)
    story.request_change(shipping=Shipping(address="2 Xidan St", contact_name="Han Meimei"))
    case = story.state.cases[story.case_id()]
    story.dispatch()
    story.track(TrackingEventKind.DELIVERED)
    decision = story.after_sales_window_passes()
    assert K.REVIEW_CHANGE in decision.closed_kinds()
    assert (case.state, case.outcome) == (CaseState.CLOSED, "order delivered")
    assert case.case_id not in story.state.proposals
    assert decision.kinds[-1] is E.COMPLETED


def test_p5_2_main_line_tasks_are_cancelled_but_follow_ups_kept_when_a_parcel_is_refunded():
    story = Story.at(S.READY_TO_PACK)
    story.request_change(shipping=Shipping(address="2 Xidan St", contact_name="Han Meimei"))
    story.decide_change()
    story.pack()
    story.dispatch()
    story.track(TrackingEventKind.LOST)
    decision = story.decide_exception(Resolution.REFUND)
    assert story.status is S.REFUNDED
    cancelled = {t.kind for t in decision.closed if t.state is TaskState.CANCELLED}
    assert cancelled == {K.DELIVER, K.REPLAN_DELIVERY}
    assert story.open_kinds() == [K.INVESTIGATE_LOGISTICS_EXCEPTION]
    assert story.state.closing and not story.state.closed
