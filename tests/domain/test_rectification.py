"""Rectification items (P8.1.3) as plain functions: owner, deadline, answer, verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.actors import Actor, Department
from domain.commands import ClaimTaskCommand
from domain.errors import ActionNotAllowed, NotPermitted
from domain.rectification import (
    Rectification,
    RectificationAnswerCommand,
    RectificationEventKind,
    RectificationItemInput,
    RectificationState,
    RectificationVerifyCommand,
    order_of,
    rectification_item_id,
)
from domain.tasks import TaskKind, TaskState

FOUND = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
WAREHOUSE = Actor(staff_id="W-LEAD", department=Department.WAREHOUSE)
SALES = Actor(staff_id="S1", department=Department.SALES)
SUPERVISOR = Actor(staff_id="SUP1", department=Department.SUPERVISION)
E = RectificationEventKind


def opened(deadline: timedelta = timedelta(days=14)) -> Rectification:
    item = RectificationItemInput(
        item_id=rectification_item_id("O1", "backorder_past_eta", 4),
        order_id="O1",
        rule="backorder_past_eta",
        clause="P3.2",
        department=Department.WAREHOUSE,
        message="out of stock past the expected restock time",
        found_at=FOUND,
        owner="W-LEAD",
        deadline=deadline,
    )
    rectification = Rectification.new(item, FOUND)
    rectification.start(FOUND)
    return rectification


def answer(at: datetime) -> tuple[RectificationAnswerCommand, datetime]:
    return (
        RectificationAnswerCommand(
            cause="supplier late",
            corrective_action="second supplier",
            evidence="PO-1",
            actor=WAREHOUSE,
        ),
        at,
    )


def kinds(rectification: Rectification) -> list[str]:
    changes = rectification.take_writes()
    return [e.kind.value for e in changes.events] if changes else []


def test_an_opened_item_gives_its_department_a_task_owned_by_the_owner_due_by_the_deadline():
    item = opened()
    task = item.open_task()
    assert task is not None
    assert (task.kind, task.department, task.assignee) == (
        TaskKind.RECTIFY,
        Department.WAREHOUSE,
        "W-LEAD",
    )
    assert task.due_at == FOUND + timedelta(days=14) == item.record.due_at
    assert task.order_id == "O1" and task.case_id == item.record.item.item_id
    assert kinds(item) == ["opened"]


def test_the_item_id_is_stable_and_an_order_less_subject_names_no_order():
    assert rectification_item_id("O1", "late_task", 3) == rectification_item_id(
        "O1", "late_task", 3
    )
    assert rectification_item_id("O1", "late_task", 3) != rectification_item_id(
        "O1", "late_task", 4
    )
    assert order_of("O1") == "O1"
    assert order_of("feedback:F1") is None


def test_answer_then_rejection_reopens_with_a_new_deadline_and_acceptance_closes():
    item = opened()
    item.take_writes()
    item.answer(*answer(FOUND + timedelta(days=1)))
    assert item.record.state is RectificationState.ANSWERED
    assert item.open_task() is None
    assert kinds(item) == ["answered"]

    rejected_at = FOUND + timedelta(days=2)
    item.verify(
        RectificationVerifyCommand(accepted=False, note="no evidence", actor=SUPERVISOR),
        rejected_at,
    )
    assert item.record.state is RectificationState.OPEN and item.record.round == 2
    assert item.record.due_at == rejected_at + timedelta(days=14)
    task = item.open_task()
    assert task is not None and task.due_at == item.record.due_at and task.assignee == "W-LEAD"
    assert kinds(item) == ["rejected"]

    item.answer(*answer(FOUND + timedelta(days=3)))
    item.verify(
        RectificationVerifyCommand(accepted=True, note="ok", actor=SUPERVISOR),
        FOUND + timedelta(days=4),
    )
    assert item.closed and item.record.closed_at == FOUND + timedelta(days=4)
    assert kinds(item) == ["answered", "accepted"]
    assert item.next_alarm() is None
    closed_tasks = [t for t in item.record.tasks.tasks.values()]
    assert [t.state for t in closed_tasks] == [TaskState.DONE, TaskState.DONE]


def test_an_item_left_past_its_deadline_is_reminded_then_overdue_and_escalated_to_the_leads():
    item = opened(timedelta(hours=4))
    item.take_writes()
    assert item.next_alarm() == FOUND + timedelta(hours=3)
    item.ring(FOUND + timedelta(hours=3))
    assert kinds(item) == ["task_reminded"]
    item.ring(FOUND + timedelta(hours=4))
    changes = item.take_writes()
    assert changes is not None
    assert [e.kind for e in changes.events] == [E.TASK_OVERDUE, E.TASK_ESCALATED]
    assert changes.events[-1].data["to"] == "warehouse leads"
    task = item.open_task()
    assert task is not None and task.overdue and task.escalated
    assert item.next_alarm() is None


def test_only_the_items_department_answers_and_only_supervision_verifies():
    item = opened()
    with pytest.raises(NotPermitted) as refused:
        item.check_answer(answer(FOUND)[0].model_copy(update={"actor": SALES}), FOUND)
    assert refused.value.code == "rectification_not_for_department"
    item.answer(*answer(FOUND))
    with pytest.raises(NotPermitted) as refused:
        item.check_verify(RectificationVerifyCommand(accepted=True, actor=WAREHOUSE), FOUND)
    assert refused.value.code == "rectification_verified_by_supervision"


def test_steps_out_of_turn_are_refused_and_a_rejection_needs_a_note():
    item = opened()
    with pytest.raises(ActionNotAllowed) as refused:
        item.check_verify(RectificationVerifyCommand(accepted=True, actor=SUPERVISOR), FOUND)
    assert refused.value.code == "rectification_not_now"
    assert refused.value.params["rectification_state"] == "open"
    item.answer(*answer(FOUND))
    with pytest.raises(ActionNotAllowed) as refused:
        item.check_answer(answer(FOUND)[0], FOUND)
    assert refused.value.code == "rectification_not_now"
    with pytest.raises(ActionNotAllowed) as refused:
        item.check_verify(RectificationVerifyCommand(accepted=False, actor=SUPERVISOR), FOUND)
    assert refused.value.code == "rejection_needs_note"


def test_the_task_can_be_handed_to_a_colleague_of_the_department():
    item = opened()
    task = item.open_task()
    assert task is not None
    item.claim_task(ClaimTaskCommand(task_id=task.task_id, assignee="W2", actor=WAREHOUSE), FOUND)
    assert task.assignee == "W2"
    with pytest.raises(NotPermitted):
        item.check_claim_task(
            ClaimTaskCommand(task_id=task.task_id, assignee="S1", actor=SALES), FOUND
        )
