"""P7.2 and P7.3: one piece of customer feedback, as plain functions of the `Feedback` aggregate.

Feedback opens a customer-service task due at the first-reply deadline (P7.2,
default 24 h), reminded and escalated like an order's tasks; the first reply
closes it, further replies are only recorded; the feedback ends when customer
service records its result (P7.3).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.actors import Actor, Department
from domain.commands import ClaimTaskCommand
from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError
from domain.feedback import (
    Channel,
    FeedbackEventKind,
    FeedbackKind,
    FeedbackOutcome,
    FeedbackReplyCommand,
    FeedbackRequest,
    FeedbackResolveCommand,
    FeedbackState,
)
from domain.feedback_handling import Feedback, FeedbackDecision
from domain.policy import PolicySettings
from domain.tasks import TaskKind, TaskState

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
F = FeedbackEventKind
D = Department
PLATFORM = Actor(staff_id="chat", department=D.PLATFORM)
OTHERS = [D.SALES, D.WAREHOUSE, D.LOGISTICS, D.FINANCE, D.PLATFORM, D.SUPERVISION, D.ADMIN]


def staff(staff_id: str = "cs-1", department: Department = D.CUSTOMER_SERVICE) -> Actor:
    return Actor(staff_id=staff_id, department=department)


def received(
    order_id: str | None = "JD1",
    policy: PolicySettings | None = None,
    kind: FeedbackKind = FeedbackKind.COMPLAINT,
) -> Feedback:
    """Feedback handed over by the online chat at START, and started."""
    request = FeedbackRequest(
        kind=kind,
        channel=Channel.ONLINE,
        customer_id="C1001",
        order_id=order_id,
        subject="late parcel",
        message="where is my parcel?",
    )
    feedback = Feedback.new("F1", request, policy or PolicySettings(), PLATFORM, "fp", START)
    feedback.start(START)
    return feedback


def later(minutes: int = 1) -> datetime:
    return START + timedelta(minutes=minutes)


def reply(feedback: Feedback, at: datetime, by: Actor | None = None) -> FeedbackDecision:
    command = FeedbackReplyCommand(actor=by or staff(), message="we are on it")
    return feedback.reply(command, at)


def resolve(
    feedback: Feedback,
    at: datetime,
    by: Actor | None = None,
    referred_to: list[Department] | None = None,
) -> FeedbackDecision:
    command = FeedbackResolveCommand(
        actor=by or staff(),
        outcome=FeedbackOutcome.REFERRED,
        result="passed to logistics",
        referred_to=referred_to or [],
    )
    return feedback.resolve(command, at)


def claim(
    feedback: Feedback, assignee: str | None, by: Actor | None = None, task_id: str | None = None
) -> FeedbackDecision:
    task_id = task_id or feedback.record.task_id
    assert task_id is not None
    command = ClaimTaskCommand(actor=by or staff(), task_id=task_id, assignee=assignee)
    return feedback.claim_task(command, later(2))


def refused(feedback: Feedback, error: type[OrderError], act: Callable[[], object]) -> OrderError:
    """`act` is refused with `error`, and the feedback is left as it was."""
    before = feedback.record.model_copy(deep=True)
    with pytest.raises(error) as caught:
        act()
    assert feedback.record == before
    return caught.value


# --- received -------------------------------------------------------------------------------------


@pytest.mark.parametrize("order_id", ["JD1", None])
def test_p7_2_feedback_opens_a_reply_task_for_customer_service_due_at_the_first_reply_deadline(
    order_id: str | None,
):
    feedback = received(order_id)
    task = feedback.task
    assert task is not None
    assert (task.kind, task.department) == (TaskKind.REPLY_FEEDBACK, D.CUSTOMER_SERVICE)
    assert task.task_id == "feedback:F1-T1"
    assert (task.case_id, task.order_id) == ("F1", order_id)
    assert task.due_at == START + timedelta(hours=24)
    assert task.remind_at == START + timedelta(hours=18)
    assert task.summary_params.get("order_id") == order_id
    view = feedback.view()
    assert (view.state, view.first_reply_due_at, view.task) == (
        FeedbackState.OPEN,
        task.due_at,
        task,
    )
    assert feedback.next_alarm() == task.remind_at


def test_p7_2_feedback_is_recorded_as_received_from_its_channel():
    request = FeedbackRequest(
        kind=FeedbackKind.INQUIRY,
        channel=Channel.HOTLINE,
        customer_id="C1",
        order_id="JD1",
        message="hi",
    )
    feedback = Feedback.new("F1", request, PolicySettings(), PLATFORM, "fp", START)
    decision = feedback.start(START)
    [event] = decision.events
    assert (event.kind, event.actor, event.at) == (F.RECEIVED, PLATFORM, START)
    assert event.data == {"kind": "inquiry", "channel": "hotline", "order_id": "JD1"}


def test_p7_2_the_first_reply_deadline_is_a_setting():
    feedback = received(policy=PolicySettings(first_reply_deadline=timedelta(hours=2)))
    assert feedback.task is not None
    assert feedback.task.due_at == START + timedelta(hours=2)
    assert feedback.view().first_reply_due_at == START + timedelta(hours=2)


# --- replies --------------------------------------------------------------------------------------


def test_p7_2_the_first_reply_closes_the_task_and_sets_the_first_reply_time():
    feedback = received()
    decision = reply(feedback, later(30))
    [event] = decision.events
    assert (event.kind, event.task_id) == (F.REPLIED, "feedback:F1-T1")
    assert event.data == {"reply": 1, "first": True}
    task = feedback.task
    assert task is not None
    assert (task.state, task.closed_by, task.closed_at) == (TaskState.DONE, "cs-1", later(30))
    assert task.closed_on_time
    record = feedback.record
    assert (record.state, record.first_reply_at) == (FeedbackState.REPLIED, later(30))
    assert feedback.next_alarm() is None
    assert feedback.result().state is FeedbackState.REPLIED


def test_p7_2_further_replies_are_only_recorded():
    feedback = received()
    reply(feedback, later(30))
    decision = reply(feedback, later(90), by=staff("cs-2"))
    [event] = decision.events
    assert (event.kind, event.task_id) == (F.REPLIED, None)
    assert event.data == {"reply": 2, "first": False}
    assert feedback.record.first_reply_at == later(30)
    assert feedback.task is not None and feedback.task.closed_by == "cs-1"
    assert [(r.seq, r.actor.staff_id, r.at) for r in feedback.record.replies] == [
        (1, "cs-1", later(30)),
        (2, "cs-2", later(90)),
    ]


def test_p7_2_a_late_first_reply_still_closes_the_task_but_not_on_time():
    feedback = received()
    feedback.ring(START + timedelta(hours=25))
    reply(feedback, START + timedelta(hours=26))
    task = feedback.task
    assert task is not None
    assert (task.state, task.overdue, task.closed_on_time) == (TaskState.DONE, True, False)


# --- resolution -----------------------------------------------------------------------------------


def test_p7_3_resolving_records_the_result_and_whom_it_was_referred_to_once_each():
    feedback = received()
    reply(feedback, later(10))
    decision = resolve(feedback, later(60), referred_to=[D.LOGISTICS, D.SALES, D.LOGISTICS])
    [event] = decision.events
    assert (event.kind, event.task_id, event.note) == (F.RESOLVED, None, "passed to logistics")
    assert event.data == {"outcome": "referred", "referred_to": "logistics,sales"}
    record = feedback.record
    assert record.state is FeedbackState.RESOLVED
    assert (record.resolved_at, record.resolved_by) == (later(60), "cs-1")
    assert (record.outcome, record.result) == (FeedbackOutcome.REFERRED, "passed to logistics")
    assert record.referred_to == [D.LOGISTICS, D.SALES]
    assert record.first_reply_at == later(10)
    assert feedback.closed
    assert feedback.view().referred_to == [D.LOGISTICS, D.SALES]


def test_p7_3_a_resolution_without_a_reply_is_the_first_answer():
    feedback = received()
    decision = resolve(feedback, later(45))
    [event] = decision.events
    assert event.task_id == "feedback:F1-T1"
    task = feedback.task
    assert task is not None
    assert (task.state, task.outcome, task.closed_at) == (TaskState.DONE, "resolved", later(45))
    assert feedback.record.first_reply_at == later(45)
    assert feedback.next_alarm() is None


@pytest.mark.parametrize("again", ["reply", "resolve"])
def test_p7_3_resolved_feedback_takes_no_more_replies_or_results(again: str):
    feedback = received()
    resolve(feedback, later(5))
    act = (
        (lambda: reply(feedback, later(9)))
        if again == "reply"
        else lambda: resolve(feedback, later(9))
    )
    error = refused(feedback, ActionNotAllowed, act)
    assert error.code == "feedback_resolved"
    assert feedback.record.state is FeedbackState.RESOLVED


@pytest.mark.parametrize("department", OTHERS)
@pytest.mark.parametrize("action", ["reply", "resolve"])
def test_p7_2_only_customer_service_handles_feedback(department: Department, action: str):
    feedback = received()
    by = staff("x-1", department)
    act = (
        (lambda: reply(feedback, later(), by))
        if action == "reply"
        else lambda: resolve(feedback, later(), by)
    )
    error = refused(feedback, NotPermitted, act)
    assert error.code == "feedback_not_for_department"
    assert error.params == {"department": department.value}
    assert feedback.task is not None and feedback.task.is_open


# --- the task: claims and deadlines ---------------------------------------------------------------


def test_p7_2_the_reply_task_is_claimed_handed_over_and_released_in_customer_service():
    feedback = received()
    for assignee, previous in [("cs-7", None), ("cs-8", "cs-7"), (None, "cs-8")]:
        [event] = claim(feedback, assignee).events
        assert (event.kind, event.task_id) == (F.TASK_CLAIMED, "feedback:F1-T1")
        assert event.data == {"assignee": assignee, "previous": previous}
        assert feedback.task is not None and feedback.task.assignee == assignee


def test_a_reply_task_claimed_as_often_as_the_limit_allows_refuses_the_next_claim():
    """Each claim is an event of the record: capped (issue 16, abuse limits)."""
    feedback = received(policy=PolicySettings(claim_limit=2))
    claim(feedback, "cs-7")
    claim(feedback, None)
    error = refused(feedback, ActionNotAllowed, lambda: claim(feedback, "cs-8"))
    assert error.code == "claim_limit_reached"


def test_p7_2_a_colleague_replying_to_a_claimed_task_is_recorded():
    feedback = received()
    claim(feedback, "cs-2")
    [event] = reply(feedback, later(5), by=staff("cs-1")).events
    assert event.data == {"reply": 1, "first": True, "assignee": "cs-2", "acted_by_other": True}


@pytest.mark.parametrize(
    ("task_id", "by", "error", "code"),
    [
        ("feedback:F1-T9", staff(), NotFound, "no_such_task"),
        (None, staff("s-1", D.SALES), NotPermitted, "task_of_another_department"),
        (None, staff("f-1", D.FINANCE), NotPermitted, "task_of_another_department"),
    ],
    ids=["unknown", "sales", "finance"],
)
def test_p7_2_the_reply_task_is_claimed_only_if_it_exists_and_in_customer_service(
    task_id: str | None, by: Actor, error: type[OrderError], code: str
):
    feedback = received()
    caught = refused(feedback, error, lambda: claim(feedback, "x", by=by, task_id=task_id))
    assert caught.code == code
    assert caught.status == "open"


def test_p7_2_an_answered_feedback_s_task_is_no_longer_claimed():
    feedback = received()
    reply(feedback, later())
    caught = refused(feedback, ActionNotAllowed, lambda: claim(feedback, "cs-2"))
    assert caught.code == "task_closed"


def test_p7_2_an_unanswered_feedback_is_reminded_then_overdue_and_escalated():
    feedback = received()
    task = feedback.task
    assert task is not None
    assert feedback.ring(task.remind_at - timedelta(seconds=1)).events == []
    reminded = feedback.ring(task.remind_at)
    assert [(e.kind, e.task_id) for e in reminded.events] == [(F.TASK_REMINDED, task.task_id)]
    assert reminded.events[0].data == {"due_at": task.due_at.isoformat()}
    assert (task.reminded, task.overdue) == (True, False)
    assert feedback.next_alarm() == task.due_at
    due = feedback.ring(task.due_at)
    assert [e.kind for e in due.events] == [F.TASK_OVERDUE, F.TASK_ESCALATED]
    assert due.events[1].data == {
        "to": "customer_service leads",
        "department": "customer_service",
        "role": "lead",
        "kind": "reply_feedback",
    }
    assert (task.overdue, task.escalated) == (True, True)
    view_task = feedback.view().task
    assert view_task is not None and view_task.overdue
    assert feedback.next_alarm() is None
    assert feedback.ring(task.due_at + timedelta(days=1)).events == []


def test_p7_2_feedback_answered_in_time_never_rings():
    feedback = received()
    reply(feedback, later(5))
    assert feedback.next_alarm() is None
    assert feedback.ring(START + timedelta(days=2)).events == []
    assert feedback.task is not None and not feedback.task.reminded


# --- what is written ------------------------------------------------------------------------------


def test_p6_1_take_writes_hands_over_each_change_once():
    feedback = received()
    first = feedback.take_writes()
    assert first is not None
    assert [e.kind for e in first.events] == [F.RECEIVED]
    assert [t.task_id for t in first.tasks] == ["feedback:F1-T1"]
    assert (first.fingerprint, first.view.feedback_id) == ("fp", "F1")
    assert feedback.take_writes() is None

    reply(feedback, later(5))
    answered = feedback.take_writes()
    assert answered is not None
    assert [e.kind for e in answered.events] == [F.REPLIED]
    assert [t.state for t in answered.tasks] == [TaskState.DONE]
    assert answered.view.state is FeedbackState.REPLIED
    assert answered.revision > first.revision
    assert feedback.take_writes() is None

    reply(feedback, later(9))
    again = feedback.take_writes()
    assert again is not None
    assert ([e.kind for e in again.events], again.tasks) == ([F.REPLIED], [])
    assert feedback.take_writes() is None


def test_p6_1_take_writes_carries_the_deadline_events_with_the_task():
    feedback = received()
    feedback.take_writes()
    assert feedback.ring(later(1)).events == []
    assert feedback.take_writes() is None
    feedback.ring(START + timedelta(hours=18))
    changes = feedback.take_writes()
    assert changes is not None
    assert [e.kind for e in changes.events] == [F.TASK_REMINDED]
    assert [t.reminded for t in changes.tasks] == [True]


def test_p7_2_a_refused_action_leaves_nothing_to_write():
    feedback = received()
    feedback.take_writes()
    with pytest.raises(NotPermitted):
        reply(feedback, later(), staff("s-1", D.SALES))
    assert feedback.take_writes() is None
