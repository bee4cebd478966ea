"""Tasks on an order: closing, claiming, and their deadlines (P3-P5 work, P8.1-P8.2 timeliness).

Every step a person must take is a task of one department with a deadline from
the SLA table (domain/policy.py); a reminder falls at a fraction of it, and at
the deadline the task is overdue and escalated to the department's lead. Tasks
whose work happens outside the system (a call, a booking) are closed with a note;
the others are closed by their own action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.actors import WORKING_DEPARTMENTS, Department
from domain.commands import (
    ClaimTaskCommand,
    CompleteTaskCommand,
    PaymentEventKind,
    Resolution,
    TrackingEventKind,
)
from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError
from domain.events import EventKind
from domain.notifications import HandedOff, NoticesSent
from domain.order.decision import Decision
from domain.order.details import OrderItem, Shipping
from domain.policy import TASK_DEADLINE_SETTING, PolicySettings
from domain.states import OrderStatus
from domain.tasks import NOTE_TASKS, TASK_DEPARTMENT, Task, TaskKind, TaskState
from tests.domain.order.builders import Story, actor, new_order, refunds_declined, short_of

S = OrderStatus
K = TaskKind
E = EventKind

#: Every deadline different, so that a task can only match the setting it is due by.
DISTINCT = PolicySettings(
    correction_deadline=timedelta(hours=1),
    review_deadline=timedelta(hours=2),
    stock_deadline=timedelta(hours=3),
    pack_deadline=timedelta(hours=4),
    dispatch_deadline=timedelta(hours=5),
    delivery_deadline=timedelta(hours=6),
    change_review_deadline=timedelta(hours=7),
    first_reply_deadline=timedelta(hours=8),
    follow_up_deadline=timedelta(hours=9),
    inspection_deadline=timedelta(hours=10),
)


# --- an order with an open task of each kind ------------------------------------------------------


def _backordered(policy: PolicySettings) -> Story:
    story = Story(new_order(), policy=policy, stock=short_of(SKU_1=2))
    story.approve()
    return story


def _backorder_recorded(policy: PolicySettings) -> Story:
    story = _backordered(policy)
    story.record_backorder()
    return story


def _change_requested(policy: PolicySettings) -> Story:
    story = Story.at(S.READY_TO_PACK, policy=policy)
    story.request_change(shipping=Shipping(address="2 Xidan St", contact_name="Han Meimei"))
    return story


def _change_approved(policy: PolicySettings) -> Story:
    story = _change_requested(policy)
    story.decide_change()
    return story


def _dearer_change_approved(policy: PolicySettings) -> Story:
    story = Story.at(S.READY_TO_PACK, policy=policy)
    dearer = [OrderItem(sku="SKU-1", name="sku-1", quantity=3, unit_price=Decimal("129.00"))]
    story.request_change(items=dearer)
    story.decide_change()
    return story


def _refund_declined(policy: PolicySettings) -> Story:
    story = Story.at(S.READY_TO_PACK, policy=policy)
    story.gateway = refunds_declined
    story.cancel()
    return story


def _payment(kind: PaymentEventKind) -> Callable[[PolicySettings], Story]:
    def build(policy: PolicySettings) -> Story:
        story = Story.at(S.READY_TO_PACK, policy=policy)
        story.payment_event(kind)
        return story

    return build


def _parcel_lost(policy: PolicySettings) -> Story:
    story = Story.at(S.IN_TRANSIT, policy=policy)
    story.track(TrackingEventKind.LOST)
    return story


def _return_requested(policy: PolicySettings) -> Story:
    story = Story.at(S.DELIVERED, policy=policy)
    story.request_return()
    return story


def _return_approved(policy: PolicySettings) -> Story:
    story = _return_requested(policy)
    story.decide_return()
    return story


def _return_confirmed(policy: PolicySettings) -> Story:
    story = _return_approved(policy)
    story.inspect()
    return story


def _rejected(policy: PolicySettings) -> Story:
    story = Story.at(S.UNDER_REVIEW, policy=policy)
    story.reject()
    return story


def _packed_and_cancelled(policy: PolicySettings) -> Story:
    story = Story.at(S.AWAITING_DISPATCH, policy=policy)
    story.cancel()
    return story


def _remittance_late(policy: PolicySettings) -> Story:
    story = Story.at(S.DELIVERED, paid=False, policy=policy)  # cash on delivery
    story.ring_at(story.state.remittance_due)
    return story


def _notice_undelivered(policy: PolicySettings) -> Story:
    """The channel could not deliver the dispatch's message: customer service tells them."""
    story = Story(policy=policy, notices_delivered=False)
    story.advance_to(S.IN_TRANSIT)
    story.flush()
    (sending,) = story.order.follow_ups()
    story.order.notices_answer(
        NoticesSent(
            order_id=sending.order_id,
            handed_off=[
                HandedOff(notification_id=n, template="dispatched", channel="sms", reason="x")
                for n in sending.notification_ids
            ],
        ),
        story.tick(),
    )
    return story


WITH_OPEN: dict[TaskKind, Callable[[PolicySettings], Story]] = {
    K.CORRECT_ORDER: lambda policy: Story.at(S.NEEDS_CORRECTION, address=None, policy=policy),
    K.REVIEW: lambda policy: Story.at(S.UNDER_REVIEW, policy=policy),
    K.RECORD_BACKORDER: _backordered,
    K.INFORM_BACKORDER: _backorder_recorded,
    K.PACK: lambda policy: Story.at(S.READY_TO_PACK, policy=policy),
    K.DISPATCH: lambda policy: Story.at(S.AWAITING_DISPATCH, policy=policy),
    K.DELIVER: lambda policy: Story.at(S.IN_TRANSIT, policy=policy),
    K.REVIEW_CHANGE: _change_requested,
    K.REPLAN_DELIVERY: _change_approved,
    K.SEND_PAYMENT_REQUEST: _dearer_change_approved,
    K.MANUAL_REFUND: _refund_declined,
    K.CONTACT_CUSTOMER: _payment(PaymentEventKind.FAILED),
    K.ACCOUNT_PAYMENT: _payment(PaymentEventKind.DUPLICATE),
    K.RECONCILE_REMITTANCE: _remittance_late,
    K.PUT_BACK: _packed_and_cancelled,
    K.EXPLAIN_REJECTION: _rejected,
    K.HANDLE_LOGISTICS_EXCEPTION: _parcel_lost,
    K.INVESTIGATE_LOGISTICS_EXCEPTION: _parcel_lost,
    K.REVIEW_RETURN: _return_requested,
    K.INSPECT_RETURN: _return_approved,
    K.SUPPLIER_FOLLOW_UP: _return_confirmed,
    K.ADJUST_ACCOUNTS: _return_confirmed,
    # P1.2 service orders: logistics agrees the visit, then does the work.
    K.SCHEDULE_SERVICE: lambda policy: Story.at(
        S.AWAITING_APPOINTMENT, kind="service", policy=policy
    ),
    K.PERFORM_SERVICE: lambda policy: Story.at(S.SERVICE_SCHEDULED, kind="service", policy=policy),
    K.NOTIFY_CUSTOMER: _notice_undelivered,
}
KINDS = list(WITH_OPEN)


def with_open(kind: TaskKind, policy: PolicySettings | None = None) -> tuple[Story, Task]:
    story = WITH_OPEN[kind](policy or PolicySettings())
    return story, story.open_task(kind)


def complete(
    story: Story, task_id: str, by: Department | str, staff_id: str | None = None
) -> Decision:
    command = CompleteTaskCommand(actor=actor(by, staff_id), task_id=task_id, note="called back")
    return story.act(story.order.complete_task, command)


def claim(story: Story, task_id: str, assignee: str | None, by: Department | str) -> Decision:
    command = ClaimTaskCommand(actor=actor(by), task_id=task_id, assignee=assignee)
    return story.act(story.order.claim_task, command)


def refused(story: Story, error: type[OrderError], act: Callable[[], object]) -> OrderError:
    """`act` is refused with `error`, and the order is left as it was."""
    status, seq, tasks = story.status, story.state.seq, story.open_kinds()
    with pytest.raises(error) as caught:
        act()
    assert (story.status, story.state.seq, story.open_kinds()) == (status, seq, tasks)
    return caught.value


def test_p3_p5_every_kind_of_order_task_is_reached_by_the_table():
    # A cancellation needs no confirmation task (P4.2 is confirmed with the cancel itself)
    # and feedback replies are tasks of feedback, not orders (tests/domain/test_feedback_handling);
    # rectify tasks are rectification items' (tests/domain/test_rectification.py).
    assert set(TaskKind) - set(WITH_OPEN) == {K.REPLY_FEEDBACK, K.RECTIFY}


# --- closing a task with a note -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_p3_p5_only_tasks_done_outside_the_system_are_closed_with_a_note(kind: TaskKind):
    story, task = with_open(kind)
    if kind in NOTE_TASKS:
        decision = complete(story, task.task_id, task.department)
        [event] = [e for e in decision.events if e.kind is E.TASK_COMPLETED]
        assert (event.task_id, event.note, event.data["kind"]) == (
            task.task_id,
            "called back",
            kind.value,
        )
        assert decision.closed == [task]
        assert (task.state, task.closed_by, task.outcome) == (
            TaskState.DONE,
            f"{task.department}-1",
            "done",
        )
        assert task.closed_at == story.now
        assert decision.reply.task_id == task.task_id
        return
    error = refused(story, ActionNotAllowed, lambda: complete(story, task.task_id, task.department))
    assert error.code == "task_closed_by_its_action"
    assert error.params == {"task_kind": kind.value}
    assert task.is_open


OTHER_DEPARTMENTS = [
    (kind, department)
    for kind in sorted(NOTE_TASKS)
    for department in WORKING_DEPARTMENTS
    if department is not TASK_DEPARTMENT[kind]
]


@pytest.mark.parametrize(("kind", "department"), OTHER_DEPARTMENTS)
def test_p3_p5_a_task_of_another_department_is_not_closed(kind: TaskKind, department: Department):
    story, task = with_open(kind)
    error = refused(story, NotPermitted, lambda: complete(story, task.task_id, department))
    assert error.code == "task_of_another_department"
    assert error.params == {"task_id": task.task_id, "department": task.department.value}
    assert task.is_open


@pytest.mark.parametrize(
    "act", [complete, lambda story, task_id, by: claim(story, task_id, "x", by)]
)
def test_p3_p5_an_unknown_task_is_not_found(act: Callable[[Story, str, str], Decision]):
    story = Story.at(S.UNDER_REVIEW)
    error = refused(story, NotFound, lambda: act(story, "JD1-T99", "sales"))
    assert error.code == "no_such_task"
    assert error.params == {"task_id": "JD1-T99"}


@pytest.mark.parametrize(
    "act", [complete, lambda story, task_id, by: claim(story, task_id, "x", by)]
)
def test_p3_p5_a_closed_task_takes_no_more_work(act: Callable[[Story, str, str], Decision]):
    story, task = with_open(K.CONTACT_CUSTOMER)
    complete(story, task.task_id, task.department)
    error = refused(story, ActionNotAllowed, lambda: act(story, task.task_id, task.department))
    assert error.code == "task_closed"
    assert error.params == {"task_id": task.task_id}


# --- claims ---------------------------------------------------------------------------------------


def test_p3_p5_a_task_is_claimed_handed_over_and_released_within_its_department():
    story, task = with_open(K.REVIEW)
    steps = [("sales-7", None), ("sales-8", "sales-7"), (None, "sales-8")]
    for assignee, previous in steps:
        decision = claim(story, task.task_id, assignee, "sales")
        [event] = decision.events
        assert (event.kind, event.task_id) == (E.TASK_CLAIMED, task.task_id)
        assert event.data == {"assignee": assignee, "previous": previous}
        assert event.actor == actor("sales")
        assert task.assignee == assignee
        assert decision.reply.task_id == task.task_id
    assert task.is_open


@pytest.mark.parametrize("department", ["warehouse", "logistics", "customer_service", "finance"])
def test_p3_p5_a_task_is_claimed_only_within_its_department(department: str):
    story, task = with_open(K.REVIEW)
    error = refused(story, NotPermitted, lambda: claim(story, task.task_id, "x", department))
    assert error.code == "task_of_another_department"
    assert task.assignee is None


@pytest.mark.parametrize(
    ("assignee", "closer", "recorded"),
    [
        (None, "customer_service-1", {}),
        ("customer_service-1", "customer_service-1", {}),
        (
            "customer_service-2",
            "customer_service-1",
            {"assignee": "customer_service-2", "acted_by_other": True},
        ),
    ],
    ids=["unclaimed", "closed-by-its-assignee", "closed-by-a-colleague"],
)
def test_p3_p5_a_colleague_may_close_a_claimed_task_and_that_is_recorded(
    assignee: str | None, closer: str, recorded: dict[str, object]
):
    story, task = with_open(K.CONTACT_CUSTOMER)
    if assignee:
        claim(story, task.task_id, assignee, "customer_service")
    decision = complete(story, task.task_id, "customer_service", closer)
    [event] = [e for e in decision.events if e.kind is E.TASK_COMPLETED]
    assert event.data == {"kind": "contact_customer", **recorded}
    assert task.closed_by == closer


def test_p3_1_a_colleague_acting_on_a_claimed_task_by_its_own_action_is_recorded_too():
    story, _ = with_open(K.REVIEW)
    story.claim(K.REVIEW, "sales-2")
    decision = story.approve()
    [reviewed] = [e for e in decision.events if e.kind is E.REVIEWED]
    assert reviewed.data["assignee"] == "sales-2"
    assert reviewed.data["acted_by_other"] is True


# --- deadlines ------------------------------------------------------------------------------------


#: A visit is due by the end of the window agreed with the customer, not by a setting
#: (P1.2, tests/domain/order/test_service_orders.py).
BY_SETTING = [kind for kind in KINDS if kind is not K.PERFORM_SERVICE]


@pytest.mark.parametrize("kind", BY_SETTING)
def test_p8_2_each_kind_of_task_is_due_by_its_own_deadline_setting(kind: TaskKind):
    _, task = with_open(kind, DISTINCT)
    deadline = getattr(DISTINCT, TASK_DEADLINE_SETTING[kind])
    assert task.due_at - task.opened_at == deadline
    assert task.remind_at - task.opened_at == deadline * DISTINCT.reminder_fraction


def test_p8_1_the_reminder_falls_at_the_policy_s_fraction_of_the_deadline():
    story = Story.at(S.UNDER_REVIEW, policy=PolicySettings(reminder_fraction=0.5))
    task = story.open_task(K.REVIEW)
    assert task.remind_at == task.opened_at + timedelta(hours=1)
    assert story.order.next_alarm() == task.remind_at


def test_p8_1_the_next_alarm_is_the_earliest_reminder_of_the_open_tasks():
    story = Story.at(S.READY_TO_PACK, policy=DISTINCT)
    story.payment_event(PaymentEventKind.DUPLICATE)
    open_tasks = story.state.tasks.open_tasks()
    assert {t.kind for t in open_tasks} == {K.PACK, K.CONTACT_CUSTOMER, K.ACCOUNT_PAYMENT}
    assert story.order.next_alarm() == min(t.remind_at for t in open_tasks)
    assert story.order.next_alarm() == story.open_task(K.PACK).remind_at


def test_p8_1_ringing_at_the_reminder_reminds_the_department():
    story, task = with_open(K.REVIEW)
    decision = story.ring_next()
    assert story.now == task.remind_at
    [event] = decision.events
    assert (event.kind, event.task_id) == (E.TASK_REMINDED, task.task_id)
    assert event.data == {"due_at": task.due_at.isoformat()}
    assert (task.reminded, task.overdue, task.escalated) == (True, False, False)
    assert not story.order.view().overdue
    assert story.order.next_alarm() == task.due_at


@pytest.mark.parametrize(
    "kind", [K.REVIEW, K.PACK, K.DISPATCH, K.CONTACT_CUSTOMER, K.ACCOUNT_PAYMENT, K.INSPECT_RETURN]
)
def test_p8_1_at_its_deadline_an_open_task_is_overdue_and_escalated_to_the_department_leads(
    kind: TaskKind,
):
    story, task = with_open(kind)
    story.ring_at(task.remind_at)
    decision = story.ring_at(task.due_at)
    mine = [e for e in decision.events if e.task_id == task.task_id]
    assert [e.kind for e in mine] == [E.TASK_OVERDUE, E.TASK_ESCALATED]
    assert mine[0].data == {"due_at": task.due_at.isoformat()}
    # By department and role: who leads is read from the staff table when shown.
    assert mine[1].data == {
        "to": f"{task.department.value} leads",
        "department": task.department.value,
        "role": "lead",
        "kind": kind.value,
    }
    assert (task.overdue, task.escalated, task.is_open) == (True, True, True)
    assert story.order.view().overdue
    assert story.order.overdue()


def test_p8_2_an_overdue_task_done_late_clears_the_order_s_overdue_flag_and_counts_as_late():
    story = Story.at(S.DELIVERED)
    story.payment_event(PaymentEventKind.FAILED)
    task = story.open_task(K.CONTACT_CUSTOMER)
    story.ring_at(task.due_at)
    assert story.order.view().overdue
    story.complete_task(K.CONTACT_CUSTOMER)
    assert not story.order.view().overdue
    assert (task.overdue, task.closed_on_time) == (True, False)


def test_p8_1_a_task_rung_late_is_reminded_then_escalated_at_once():
    story, task = with_open(K.REVIEW)
    decision = story.ring_at(task.due_at + timedelta(hours=5))
    assert decision.kinds == [E.TASK_REMINDED, E.TASK_OVERDUE, E.TASK_ESCALATED]


def test_p8_1_ringing_early_records_nothing():
    story, task = with_open(K.REVIEW)
    seq = story.state.seq
    decision = story.ring_at(task.remind_at - timedelta(seconds=1))
    assert decision.events == []
    assert story.state.seq == seq
    assert not task.reminded


def test_p8_1_a_deadline_rings_once():
    story, task = with_open(K.REVIEW)
    story.ring_at(task.due_at)
    seq = story.state.seq
    assert story.ring_at(task.due_at + timedelta(days=1)).events == []
    assert story.state.seq == seq


def test_p8_1_a_task_closed_before_its_reminder_never_rings():
    story, task = with_open(K.CONTACT_CUSTOMER)
    complete(story, task.task_id, task.department)
    still_open = story.state.tasks.open_tasks()
    assert task not in still_open
    assert story.order.next_alarm() == min(t.remind_at for t in still_open)
    decision = story.ring_at(task.due_at + timedelta(minutes=1))
    assert [e for e in decision.events if e.task_id == task.task_id] == []
    assert (task.reminded, task.overdue) == (False, False)


def test_p8_1_a_task_closed_after_its_reminder_is_never_escalated():
    story, task = with_open(K.CONTACT_CUSTOMER)
    story.ring_at(task.remind_at)
    complete(story, task.task_id, task.department)
    decision = story.ring_at(task.due_at + timedelta(minutes=1))
    assert [e for e in decision.events if e.task_id == task.task_id] == []
    assert (task.reminded, task.overdue, task.closed_on_time) == (True, False, True)


def test_p8_1_several_tasks_ring_in_time_order():
    story = Story.at(S.READY_TO_PACK, policy=DISTINCT)
    story.payment_event(PaymentEventKind.DUPLICATE)
    tasks = story.state.tasks.open_tasks()
    expected = sorted(
        [(t.remind_at, t.task_id, E.TASK_REMINDED) for t in tasks]
        + [(t.due_at, t.task_id, E.TASK_OVERDUE) for t in tasks]
        + [(t.due_at, t.task_id, E.TASK_ESCALATED) for t in tasks],
        key=lambda x: (x[0], x[2] is E.TASK_ESCALATED),
    )
    decision = story.ring_at(max(t.due_at for t in tasks))
    assert [(e.task_id, e.kind) for e in decision.events] == [(t, k) for _, t, k in expected]
    # pack (4 h) before the contact (8 h) before the accounting (9 h)
    order = list(dict.fromkeys(e.task_id for e in decision.events if e.kind is E.TASK_OVERDUE))
    assert [story.state.tasks.get(t).kind for t in order] == [
        K.PACK,
        K.CONTACT_CUSTOMER,
        K.ACCOUNT_PAYMENT,
    ]
    assert story.order.next_alarm() is None


def test_p8_1_ringing_step_by_step_follows_the_same_order():
    story = Story.at(S.READY_TO_PACK, policy=DISTINCT)
    story.payment_event(PaymentEventKind.DUPLICATE)
    rung: list[tuple[TaskKind, EventKind]] = []
    while story.order.next_alarm() is not None:
        for event in story.ring_next().events:
            rung.append((story.state.tasks.get(event.task_id).kind, event.kind))
    # pack: reminder 3 h, due 4 h; contact: 6 h, 8 h; accounting: 6 h 45, 9 h (DISTINCT).
    assert rung == [
        (K.PACK, E.TASK_REMINDED),
        (K.PACK, E.TASK_OVERDUE),
        (K.PACK, E.TASK_ESCALATED),
        (K.CONTACT_CUSTOMER, E.TASK_REMINDED),
        (K.ACCOUNT_PAYMENT, E.TASK_REMINDED),
        (K.CONTACT_CUSTOMER, E.TASK_OVERDUE),
        (K.CONTACT_CUSTOMER, E.TASK_ESCALATED),
        (K.ACCOUNT_PAYMENT, E.TASK_OVERDUE),
        (K.ACCOUNT_PAYMENT, E.TASK_ESCALATED),
    ]


def test_p3_4_the_promised_delivery_date_is_the_deliver_task_s_deadline():
    story = Story.at(S.IN_TRANSIT, policy=DISTINCT)
    task = story.open_task(K.DELIVER)
    assert task.due_at == story.state.shipment.promised_by


def test_p5_2_p8_1_a_decided_parcel_exception_stops_ringing_for_customer_service():
    story, handle = with_open(K.HANDLE_LOGISTICS_EXCEPTION)
    story.decide_exception(Resolution.RESHIP)
    assert not handle.is_open
    decision = story.ring_at(handle.due_at)
    assert [e for e in decision.events if e.task_id == handle.task_id] == []
