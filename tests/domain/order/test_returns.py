"""P5.3 returns and exchanges after delivery, as plain functions of the order aggregate.

Within its window after delivery (default: return 7 days, exchange 15) a customer
asks to return or exchange goods with a quality problem; customer service
reviews, the warehouse receives and inspects the goods. A confirmed problem is
refunded (return) or shipped anew (exchange); sales takes it up with the supplier
and finance adjusts the accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.actors import Department
from domain.cases import CaseKind, CaseState
from domain.commands import (
    DecideReturnCommand,
    InspectionCommand,
    PaymentEventKind,
    ReturnCommand,
    ReturnKind,
    TrackingEventKind,
)
from domain.errors import ActionNotAllowed, NotPermitted, OrderError, PolicyViolation
from domain.events import EventKind
from domain.inventory import ReceiveStock
from domain.order.decision import Decision
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, actor

S = OrderStatus
E = EventKind
RETURN, EXCHANGE = ReturnKind.RETURN, ReturnKind.EXCHANGE
CASE_KIND = {RETURN: CaseKind.RETURN, EXCHANGE: CaseKind.EXCHANGE}
TWO_LINES = [("SKU-1", 2, "129.00"), ("SKU-2", 1, "42.00")]


def refused(story: Story, error: type[OrderError], act: Callable[[], object]) -> OrderError:
    """`act` is refused with `error`, and the order is left as it was."""
    status, seq, tasks, cases = (
        story.status,
        story.state.seq,
        story.open_kinds(),
        len(story.state.cases),
    )
    with pytest.raises(error) as caught:
        act()
    assert (story.status, story.state.seq) == (status, seq)
    assert (story.open_kinds(), len(story.state.cases)) == (tasks, cases)
    return caught.value


def days_after_delivery(story: Story, after: timedelta) -> None:
    """The clock stands so that the next step happens `after` the delivery."""
    story.now = story.state.shipment.delivered_at + after - timedelta(minutes=1)


def request(story: Story, kind: ReturnKind, by: str = "customer_service") -> Decision:
    command = ReturnCommand(actor=actor(by), kind=kind, reason="it broke")
    return story.act(story.order.request_return, command)


def approved(kind: ReturnKind = RETURN, **options: object) -> Story:
    """A delivered order whose return or exchange was approved: the goods await inspection."""
    story = Story.at(S.DELIVERED, **options)
    request(story, kind)
    story.decide_return(approved=True)
    return story


def deliver(story: Story) -> None:
    """Carry a new shipment from stock to the customer (P3.3, P3.4)."""
    story.pack()
    story.dispatch()
    story.track(TrackingEventKind.DELIVERED)
    assert story.status is S.DELIVERED


# --- the windows ----------------------------------------------------------------------------------

WINDOWS = [
    # (kind, time after delivery, allowed)
    (RETURN, timedelta(minutes=5), True),
    (RETURN, timedelta(days=7), True),
    (RETURN, timedelta(days=7, minutes=1), False),
    (RETURN, timedelta(days=14), False),
    (EXCHANGE, timedelta(minutes=5), True),
    (EXCHANGE, timedelta(days=7, minutes=1), True),
    (EXCHANGE, timedelta(days=15), True),
    (EXCHANGE, timedelta(days=15, minutes=1), False),
]


@pytest.mark.parametrize(("kind", "after", "allowed"), WINDOWS)
def test_p5_3_returns_and_exchanges_are_asked_for_within_their_window(
    kind: ReturnKind, after: timedelta, allowed: bool
):
    story = Story.at(S.DELIVERED)
    days_after_delivery(story, after)
    if allowed:
        decision = request(story, kind)
        case = story.state.cases[story.case_id()]
        assert case.kind is CASE_KIND[kind]
        assert decision.kinds == [E.CASE_OPENED]
        [task] = decision.opened
        assert (task.kind, task.department) == (TaskKind.REVIEW_RETURN, Department.CUSTOMER_SERVICE)
        assert (decision.reply.task_id, decision.reply.case_id) == (task.task_id, case.case_id)
        assert story.status is S.DELIVERED
        return
    window = (
        story.state.policy.return_window if kind is RETURN else story.state.policy.exchange_window
    )
    error = refused(story, PolicyViolation, lambda: request(story, kind))
    assert error.code == "return_window_closed"
    assert error.params == {"return_kind": kind.value, "window": str(window)}


@pytest.mark.parametrize(
    ("kind", "after", "allowed"),
    [
        (RETURN, timedelta(days=2), True),
        (RETURN, timedelta(days=4), False),
        (EXCHANGE, timedelta(days=4), True),
    ],
)
def test_p5_3_the_windows_are_settings(kind: ReturnKind, after: timedelta, allowed: bool):
    policy = PolicySettings(return_window=timedelta(days=3), exchange_window=timedelta(days=5))
    story = Story.at(S.DELIVERED, policy=policy)
    days_after_delivery(story, after)
    if allowed:
        assert request(story, kind).kinds == [E.CASE_OPENED]
    else:
        error = refused(story, PolicyViolation, lambda: request(story, kind))
        assert error.params["window"] == str(timedelta(days=3))


@pytest.mark.parametrize("first", [RETURN, EXCHANGE])
@pytest.mark.parametrize("second", [RETURN, EXCHANGE])
@pytest.mark.parametrize("stage", ["under review", "awaiting inspection"])
def test_p5_3_one_return_or_exchange_at_a_time(first: ReturnKind, second: ReturnKind, stage: str):
    story = Story.at(S.DELIVERED)
    request(story, first)
    if stage == "awaiting inspection":
        story.decide_return(approved=True)
    error = refused(story, ActionNotAllowed, lambda: request(story, second))
    assert error.code == "return_already_open"


@pytest.mark.parametrize("decided", ["rejected", "no problem found"])
def test_p5_3_after_a_request_is_settled_another_may_be_made(decided: str):
    story = Story.at(S.DELIVERED)
    request(story, RETURN)
    if decided == "rejected":
        story.decide_return(approved=False)
    else:
        story.decide_return(approved=True)
        story.inspect(confirmed=False)
    assert request(story, EXCHANGE).kinds == [E.CASE_OPENED]
    assert len(story.state.cases) == 2


@pytest.mark.parametrize(
    "status", [S.UNDER_REVIEW, S.READY_TO_PACK, S.AWAITING_DISPATCH, S.IN_TRANSIT]
)
@pytest.mark.parametrize("kind", [RETURN, EXCHANGE])
def test_p5_3_nothing_is_returned_before_delivery(status: OrderStatus, kind: ReturnKind):
    story = Story.at(status)
    error = refused(story, ActionNotAllowed, lambda: request(story, kind))
    assert error.code == "action_not_now"
    assert error.params["status"] == status.value


def test_p5_3_a_returned_order_takes_no_further_return():
    story = approved(RETURN)
    story.inspect(confirmed=True)
    assert story.status is S.RETURNED
    error = refused(story, ActionNotAllowed, lambda: request(story, EXCHANGE))
    assert error.code == "action_not_now"


@pytest.mark.parametrize("department", ["sales", "warehouse", "logistics", "finance", "platform"])
def test_p5_3_only_customer_service_takes_a_return_request(department: str):
    story = Story.at(S.DELIVERED)
    refused(story, NotPermitted, lambda: request(story, RETURN, by=department))


# --- the review -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [RETURN, EXCHANGE])
def test_p5_3_an_approved_request_goes_to_the_warehouse_for_inspection(kind: ReturnKind):
    story = Story.at(S.DELIVERED)
    request(story, kind)
    decision = story.decide_return(approved=True)
    assert decision.kinds == [E.CASE_DECIDED]
    assert decision.events[0].data["approved"] is True
    assert decision.closed_kinds() == [TaskKind.REVIEW_RETURN]
    [inspect] = decision.opened
    assert (inspect.kind, inspect.department) == (TaskKind.INSPECT_RETURN, Department.WAREHOUSE)
    assert inspect.case_id == story.case_id()
    assert decision.reply.task_id == inspect.task_id
    assert story.state.cases[story.case_id()].state is CaseState.OPEN


@pytest.mark.parametrize("kind", [RETURN, EXCHANGE])
def test_p5_3_a_rejected_request_closes_its_case(kind: ReturnKind):
    story = Story.at(S.DELIVERED)
    request(story, kind)
    decision = story.decide_return(approved=False)
    assert decision.kinds == [E.CASE_DECIDED, E.CASE_CLOSED]
    case = story.state.cases[story.case_id()]
    assert (case.state, case.outcome) == (CaseState.CLOSED, "rejected")
    assert decision.opened == [] and decision.requests == [] and decision.ledger == []
    assert story.open_kinds() == []
    assert story.status is S.DELIVERED


def test_p5_3_a_request_is_decided_once():
    story = approved(RETURN)
    error = refused(story, ActionNotAllowed, story.decide_return)
    assert error.code == "case_already_decided"


@pytest.mark.parametrize("department", ["sales", "warehouse", "logistics", "finance"])
def test_p5_3_only_customer_service_decides_a_request(department: str):
    story = Story.at(S.DELIVERED)
    request(story, RETURN)
    command = DecideReturnCommand(actor=actor(department), case_id=story.case_id(), approved=True)
    refused(story, NotPermitted, lambda: story.act(story.order.decide_return, command))


# --- the inspection -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [RETURN, EXCHANGE])
def test_p5_3_goods_without_a_quality_problem_close_the_case_without_money(kind: ReturnKind):
    story = approved(kind)
    decision = story.inspect(confirmed=False)
    assert decision.kinds == [E.RETURN_INSPECTED, E.CASE_CLOSED]
    assert decision.events[0].data["quality_confirmed"] is False
    case = story.state.cases[story.case_id()]
    assert (case.state, case.outcome) == (CaseState.CLOSED, "no quality problem found")
    assert decision.requests == [] and decision.ledger == [] and decision.receipts == []
    assert story.status is S.DELIVERED
    assert story.open_kinds() == []


def test_p5_3_a_confirmed_return_refunds_and_tells_sales_and_finance():
    story = approved(RETURN)
    returned = story.case_id()
    decision = story.inspect(confirmed=True)
    assert story.status is S.RETURNED
    assert E.RETURNED in decision.kinds
    [refund] = decision.refunds
    assert (refund.amount, refund.case_id) == (Decimal("258.00"), returned)
    # Sales follows a claim on the supplier (a case of its own), finance the accounts.
    claim = story.case_id()
    assert story.state.cases[claim].kind is CaseKind.SUPPLIER_CLAIM
    assert story.state.cases[claim].data == {
        "return_case": returned,
        "value": "258.00",
        "step": "claimed",
    }
    assert [(t.kind, t.department, t.case_id) for t in decision.opened] == [
        (TaskKind.SUPPLIER_FOLLOW_UP, Department.SALES, claim),
        (TaskKind.ADJUST_ACCOUNTS, Department.FINANCE, returned),
    ]
    case = story.state.cases[returned]
    assert (case.state, case.outcome) == (CaseState.OPEN, "returned and refunded")
    story.settle_claim()
    done = story.complete_task(TaskKind.ADJUST_ACCOUNTS)
    assert case.state is CaseState.CLOSED
    assert done.kinds[-1] is E.CLOSED
    assert done.events[-1].data == {"status": "returned"}


def test_p5_3_a_confirmed_return_refunds_only_what_may_still_be_refunded():
    story = Story.at(S.DELIVERED)
    story.payment_event(PaymentEventKind.DUPLICATE, amount="100.00")
    request(story, RETURN)
    story.decide_return(approved=True)
    decision = story.inspect(confirmed=True)
    assert [r.amount for r in decision.refunds] == [Decimal("258.00")]
    assert story.refundable() == Decimal("0.00")


def test_p5_3_an_unpaid_order_returned_is_refunded_nothing():
    story = approved(RETURN, paid=False)
    decision = story.inspect(confirmed=True)
    assert story.status is S.RETURNED
    assert decision.refunds == []


@pytest.mark.parametrize("kind", [RETURN, EXCHANGE])
def test_p5_3_restocked_goods_are_booked_back_into_stock(kind: ReturnKind):
    story = approved(kind, lines=TWO_LINES)
    case_id = story.case_id()
    decision = story.inspect(confirmed=True, restock=True)
    assert decision.receipts == [
        ReceiveStock(
            receipt_id=f"{case_id}:SKU-1",
            sku="SKU-1",
            quantity=2,
            note=f"returned goods of {case_id}",
            actor_id="warehouse-1",
        ),
        ReceiveStock(
            receipt_id=f"{case_id}:SKU-2",
            sku="SKU-2",
            quantity=1,
            note=f"returned goods of {case_id}",
            actor_id="warehouse-1",
        ),
    ]
    [returned] = [e for e in decision.events if e.kind is E.STOCK_RETURNED]
    assert returned.data == {"quantities": {"SKU-1": 2, "SKU-2": 1}}
    assert E.STOCK_WRITTEN_OFF not in decision.kinds


@pytest.mark.parametrize("kind", [RETURN, EXCHANGE])
def test_p5_3_goods_not_restocked_are_written_off(kind: ReturnKind):
    story = approved(kind, lines=TWO_LINES)
    decision = story.inspect(confirmed=True, restock=False)
    assert decision.receipts == []
    [written_off] = [e for e in decision.events if e.kind is E.STOCK_WRITTEN_OFF]
    assert written_off.data == {"quantities": {"SKU-1": 2, "SKU-2": 1}}
    assert E.STOCK_RETURNED not in decision.kinds


def test_p5_3_a_confirmed_exchange_ships_new_goods_and_refunds_nothing():
    story = approved(EXCHANGE)
    decision = story.inspect(confirmed=True)
    [reservation] = decision.reservations
    assert (reservation.reservation_key, reservation.quantities) == ("JD1:R2", {"SKU-1": 2})
    assert decision.refunds == []
    assert E.RETURNED not in decision.kinds
    assert story.status is S.READY_TO_PACK
    assert story.open_kinds() == [
        TaskKind.ADJUST_ACCOUNTS,
        TaskKind.PACK,
        TaskKind.SUPPLIER_FOLLOW_UP,
    ]
    assert story.state.cases[story.case_id(0)].outcome == "exchanged"
    deliver(story)
    assert len(story.state.shipments) == 2
    assert story.status is S.DELIVERED


def test_p5_3_the_windows_start_again_from_the_exchanged_goods_delivery():
    story = approved(EXCHANGE)
    story.tick(timedelta(days=10))
    story.inspect(confirmed=True)
    deliver(story)
    story.settle_claim()
    story.complete_task(TaskKind.ADJUST_ACCOUNTS)
    days_after_delivery(story, timedelta(days=6))
    assert request(story, RETURN).kinds == [E.CASE_OPENED]


def test_p5_3_goods_are_inspected_only_once_approved():
    story = Story.at(S.DELIVERED)
    request(story, RETURN)
    error = refused(story, ActionNotAllowed, lambda: story.inspect(confirmed=True))
    assert error.code == "not_waiting_for_inspection"


@pytest.mark.parametrize("department", ["sales", "customer_service", "logistics", "finance"])
def test_p5_3_only_the_warehouse_inspects(department: str):
    story = approved(RETURN)
    command = InspectionCommand(
        actor=actor(department), case_id=story.case_id(), quality_confirmed=True
    )
    refused(story, NotPermitted, lambda: story.act(story.order.inspect_return, command))
