"""The action matrix (domain.actions) and the SLA table (domain.policy)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.actions import ACTION_RULES, Action, allowed_actions, check_action
from domain.actors import Department
from domain.errors import ActionNotAllowed, NotPermitted
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TASK_DEPARTMENT, TaskKind

D, S = Department, OrderStatus


@pytest.mark.parametrize(
    ("action", "department", "status"),
    [
        (Action.REVIEW, D.SALES, S.UNDER_REVIEW),  # P3.1
        (Action.PACK, D.WAREHOUSE, S.READY_TO_PACK),  # P3.3
        (Action.DISPATCH, D.LOGISTICS, S.AWAITING_DISPATCH),  # P3.4
        (Action.RECORD_BACKORDER, D.WAREHOUSE, S.OUT_OF_STOCK),  # P3.2
        (Action.CANCEL, D.CUSTOMER_SERVICE, S.AWAITING_DISPATCH),  # P4.2
        (Action.TRACKING, D.PLATFORM, S.IN_TRANSIT),
    ],
)
def test_the_department_the_policy_names_may_act_in_the_right_state(action, department, status):
    check_action(action, status, department)


@pytest.mark.parametrize(
    ("action", "department"),
    [
        (Action.REVIEW, D.WAREHOUSE),
        (Action.PACK, D.SALES),
        (Action.DISPATCH, D.WAREHOUSE),
        (Action.REVIEW, D.ADMIN),
        (Action.CANCEL, D.SALES),
        (Action.REVIEW, D.SUPERVISION),
    ],
)
def test_another_department_is_not_permitted(action, department):
    with pytest.raises(NotPermitted):
        check_action(action, S.UNDER_REVIEW, department)


@pytest.mark.parametrize(
    ("action", "department", "status"),
    [
        (Action.PACK, D.WAREHOUSE, S.UNDER_REVIEW),  # P1.3(3): steps run in order
        (Action.DISPATCH, D.LOGISTICS, S.READY_TO_PACK),
        (Action.REVIEW, D.SALES, S.READY_TO_PACK),
        (Action.CANCEL, D.CUSTOMER_SERVICE, S.IN_TRANSIT),  # P4.2 after shipment
        (Action.REQUEST_CHANGE, D.CUSTOMER_SERVICE, S.DELIVERED),  # P4.1 after shipment
    ],
)
def test_an_action_out_of_turn_is_not_allowed_and_says_the_status(action, department, status):
    with pytest.raises(ActionNotAllowed) as refused:
        check_action(action, status, department)
    assert refused.value.status == status


def test_allowed_actions_lists_what_a_department_can_do_now():
    # Work on a task or a case (a supplier claim, P5.3) is offered whatever the order's status.
    task_actions = {Action.COMPLETE_TASK, Action.CLAIM_TASK, Action.SUPPLIER_CLAIM}
    assert set(allowed_actions(S.UNDER_REVIEW, D.SALES)) - task_actions == {Action.REVIEW}
    assert Action.PACK not in allowed_actions(S.UNDER_REVIEW, D.WAREHOUSE)
    assert Action.PACK in allowed_actions(S.READY_TO_PACK, D.WAREHOUSE)
    assert Action.CANCEL in allowed_actions(S.READY_TO_PACK, D.CUSTOMER_SERVICE)
    assert set(allowed_actions(S.COMPLETED, D.SALES)) == task_actions


def test_every_rule_names_its_clause():
    assert all(rule.clause.startswith("P") for rule in ACTION_RULES.values())


def test_every_task_kind_has_a_department_and_a_deadline():
    policy = PolicySettings()
    for kind in TaskKind:
        assert kind in TASK_DEPARTMENT
        assert policy.deadline_for(kind) > timedelta(0)


@pytest.mark.parametrize(
    ("kind", "deadline"),
    [
        (TaskKind.REVIEW, timedelta(hours=2)),
        (TaskKind.RECORD_BACKORDER, timedelta(minutes=30)),
        (TaskKind.PACK, timedelta(hours=24)),
        (TaskKind.DISPATCH, timedelta(hours=12)),
        (TaskKind.DELIVER, timedelta(days=2)),
        (TaskKind.REVIEW_CHANGE, timedelta(hours=2)),
        (TaskKind.REPLY_FEEDBACK, timedelta(hours=24)),
    ],
)
def test_default_deadlines_follow_the_policy_sla_table(kind, deadline):
    assert PolicySettings().deadline_for(kind) == deadline


def test_windows_and_deadlines_are_settings():
    policy = PolicySettings(
        review_deadline=timedelta(seconds=2),
        return_window=timedelta(seconds=1),
        exchange_window=timedelta(seconds=3),
    )
    assert policy.deadline_for(TaskKind.REVIEW) == timedelta(seconds=2)
    assert policy.after_sales_window == timedelta(seconds=3)
    assert PolicySettings().after_sales_window == timedelta(days=15)
