"""The action matrix (domain/actions.py) as the order aggregate applies it: every action with a
check of its own, every department, every status a story reaches.

For each action the aggregate checks (`Order.check_<action>`, which the workflow's update
validators call, and the command itself, which checks first), a department the rule does not
name is refused `action_not_for_department` (P1.2: each department its own steps), and a
department it names is refused `action_not_now` in a status the rule does not allow (P1.3
"steps run in order"). Either way nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import pytest

from domain.actions import ACTION_RULES, SERVICE_ONLY, Action
from domain.actors import Department
from domain.commands import (
    AppointmentCommand,
    BackorderCommand,
    CancelCommand,
    CauseCommand,
    ChangeCommand,
    ClaimStep,
    ClaimTaskCommand,
    CompleteRefundCommand,
    CompleteTaskCommand,
    CorrectionCommand,
    DecideChangeCommand,
    DecideReturnCommand,
    DeliveryMethod,
    DispatchCommand,
    ExceptionDecisionCommand,
    InspectionCommand,
    PackCommand,
    Resolution,
    ReturnCommand,
    ReturnKind,
    ReviewCommand,
    ServiceComplaintCommand,
    ServiceConfirmationCommand,
    ServiceWorkCommand,
    SupplierClaimCommand,
)
from domain.errors import ActionNotAllowed, NotPermitted
from domain.order.aggregate import Order
from domain.order.details import Shipping
from domain.states import OrderStatus
from domain.tasks import TaskKind
from tests.domain.order.builders import ACCESSORIES, Story, actor, in_stock, new_order, short_of

S = OrderStatus
D = Department
WHEN = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

#: The statuses a story reaches along the main line (and out of stock, and a correction).
REACHABLE = [
    S.UNDER_REVIEW,
    S.NEEDS_CORRECTION,
    S.READY_TO_PACK,
    S.OUT_OF_STOCK,
    S.AWAITING_DISPATCH,
    S.IN_TRANSIT,
    S.DELIVERED,
]
#: The statuses a service order's story reaches (P1.2): the matrix of the service actions.
SERVICE_REACHABLE = [
    S.UNDER_REVIEW,
    S.NEEDS_CORRECTION,
    S.AWAITING_APPOINTMENT,
    S.SERVICE_SCHEDULED,
    S.AWAITING_CONFIRMATION,
    S.DELIVERED,
]


def reachable(action: Action) -> list[OrderStatus]:
    """Service actions are asked of service orders, the others of goods orders (P1.2; what
    the other kind answers is domain/order/test_service_orders.py's)."""
    return SERVICE_REACHABLE if action in SERVICE_ONLY else REACHABLE


#: Each action the aggregate checks: (its check, its command, a valid command by `actor`).
#: Case and refund ids are dummies: the matrix is consulted before they are looked up.
CHECKED: dict[Action, tuple[str, str, Callable[[Any], Any]]] = {
    Action.CORRECT: (
        "check_correct",
        "correct",
        lambda who: CorrectionCommand(actor=who, shipping=Shipping(address="2 Road")),
    ),
    Action.REVIEW: (
        "check_review",
        "review",
        lambda who: ReviewCommand(actor=who, approved=True, phone_verified=True),
    ),
    Action.RECORD_BACKORDER: (
        "check_record_backorder",
        "record_backorder",
        lambda who: BackorderCommand(actor=who, reason="supplier late", restock_eta=WHEN),
    ),
    Action.PACK: (
        "check_pack",
        "pack",
        lambda who: PackCommand(actor=who, packages=1, accessories=ACCESSORIES),
    ),
    Action.DISPATCH: (
        "check_dispatch",
        "dispatch",
        lambda who: DispatchCommand(
            actor=who, carrier="SF Express", method=DeliveryMethod.STANDARD, tracking_number="SF9"
        ),
    ),
    Action.REQUEST_CHANGE: (
        "check_request_change",
        "request_change",
        lambda who: ChangeCommand(actor=who, shipping=Shipping(address="2 Road"), reason="asked"),
    ),
    Action.DECIDE_CHANGE: (
        "check_decide_change",
        "decide_change",
        lambda who: DecideChangeCommand(actor=who, case_id="JD1-C1", approved=True),
    ),
    Action.CANCEL: (
        "check_cancel",
        "cancel",
        lambda who: CancelCommand(actor=who, reason="changed my mind"),
    ),
    Action.DECIDE_LOGISTICS_EXCEPTION: (
        "check_decide_exception",
        "decide_exception",
        lambda who: ExceptionDecisionCommand(
            actor=who, case_id="JD1-C1", resolution=Resolution.NONE, compensation=Decimal("0")
        ),
    ),
    Action.RECORD_LOGISTICS_CAUSE: (
        "check_record_cause",
        "record_cause",
        lambda who: CauseCommand(
            actor=who, case_id="JD1-C1", cause="dropped", corrective_action="padding"
        ),
    ),
    Action.REQUEST_RETURN: (
        "check_request_return",
        "request_return",
        lambda who: ReturnCommand(actor=who, kind=ReturnKind.RETURN, reason="it broke"),
    ),
    Action.DECIDE_RETURN: (
        "check_decide_return",
        "decide_return",
        lambda who: DecideReturnCommand(actor=who, case_id="JD1-C1", approved=True),
    ),
    Action.INSPECT_RETURN: (
        "check_inspect_return",
        "inspect_return",
        lambda who: InspectionCommand(actor=who, case_id="JD1-C1", quality_confirmed=True),
    ),
    Action.SUPPLIER_CLAIM: (
        "check_supplier_claim",
        "supplier_claim",
        lambda who: SupplierClaimCommand(
            actor=who, case_id="JD1-C2", step=ClaimStep.AGREED, amount=Decimal("10.00")
        ),
    ),
    Action.COMPLETE_REFUND: (
        "check_complete_refund",
        "complete_refund",
        lambda who: CompleteRefundCommand(actor=who, refund_id="JD1:refund:1", reference="B1"),
    ),
    Action.SCHEDULE_SERVICE: (
        "check_schedule_service",
        "schedule_service",
        lambda who: AppointmentCommand(
            actor=who,
            window_start=WHEN,
            window_end=WHEN + timedelta(hours=2),
            technician="Zhou",
        ),
    ),
    Action.RECORD_SERVICE_WORK: (
        "check_record_service_work",
        "record_service_work",
        lambda who: ServiceWorkCommand(actor=who, technician="Zhou", work="installed"),
    ),
    Action.CONFIRM_SERVICE: (
        "check_confirm_service",
        "confirm_service",
        lambda who: ServiceConfirmationCommand(actor=who),
    ),
    Action.SERVICE_COMPLAINT: (
        "check_service_complaint",
        "service_complaint",
        lambda who: ServiceComplaintCommand(actor=who, resolution="rework", reason="leaks"),
    ),
}

#: Actions in the matrix the aggregate does not check against it, and why.
NOT_CHECKED: dict[Action, tuple[str, str] | None] = {
    # Feeds (signals): the carrier's and the payment system's events are deduplicated and
    # recorded whatever the status; the API checks who sends them. No check method.
    Action.TRACKING: None,
    Action.PAYMENT_EVENT: None,
    # A task id is needed first: the aggregate checks the task's own department
    # (`task_of_another_department`), never the matrix, so the matrix cases are skipped here
    # and only their refusal is asserted below.
    Action.COMPLETE_TASK: ("check_complete_task", "complete_task"),
    Action.CLAIM_TASK: ("check_claim_task", "claim_task"),
}


def story_in(status: OrderStatus, kind: str = "goods") -> Story:
    if status is S.NEEDS_CORRECTION:
        story = Story(new_order(address=None, kind=kind))
    elif status is S.OUT_OF_STOCK:
        story = Story(stock=short_of(SKU_1=2))
        story.approve()
        story.stock = in_stock
    else:
        story = Story.at(status, kind=kind)
    assert story.status is status
    return story


@cache
def pristine(status: OrderStatus, kind: str = "goods") -> Story:
    """One order per status for the whole matrix: a refusal changes nothing (asserted), so
    every case may ask the same order, and the matrix stays fast."""
    return story_in(status, kind)


def matrix_cases() -> tuple[list[Any], list[Any]]:
    """(action, department) pairs the rule does not name, refused in every status; and
    (action, status, department) where a department the rule names is refused for the status.
    Together every refused combination of the matrix: a few hundred."""
    by_department, by_status = [], []
    for action, rule in ACTION_RULES.items():
        if action not in CHECKED:
            continue
        for department in D:
            if department not in rule.departments:
                by_department.append(pytest.param(action, department, id=f"{action}-{department}"))
                continue
            for status in reachable(action):
                if status not in rule.statuses:
                    case = pytest.param(
                        action, status, department, id=f"{action}-{status}-{department}"
                    )
                    by_status.append(case)
    return by_department, by_status


BY_DEPARTMENT, BY_STATUS = matrix_cases()


def assert_refused(
    action: Action, status: OrderStatus, department: Department, error: type[Exception]
) -> Any:
    """Both the check and the command refuse, and the order stays exactly as it was."""
    story = pristine(status, "service" if action in SERVICE_ONLY else "goods")
    check, command_name, make = CHECKED[action]
    command = make(actor(department))
    before = story.state.model_dump()
    seq = story.state.seq
    with pytest.raises(error) as by_check:
        getattr(story.order, check)(command, story.now)
    with pytest.raises(error) as by_command:
        getattr(story.order, command_name)(command, story.tick())
    assert (story.status, story.state.seq) == (status, seq)
    assert story.state.model_dump() == before
    assert by_command.value.code == by_check.value.code  # type: ignore[attr-defined]
    assert by_command.value.params == by_check.value.params  # type: ignore[attr-defined]
    return by_check.value


# --- the table itself ----------------------------------------------------------------------------


def test_p1_2_every_action_of_the_matrix_is_either_checked_here_or_says_why_not():
    assert set(CHECKED) | set(NOT_CHECKED) == set(ACTION_RULES)
    assert not set(CHECKED) & set(NOT_CHECKED)


def test_p1_2_every_check_of_the_aggregate_is_covered():
    checks = {name for name in dir(Order) if name.startswith("check_")}
    covered = {check for check, _, _ in CHECKED.values()}
    covered |= {names[0] for names in NOT_CHECKED.values() if names}
    # The platform's hand-over is not a staff action of the matrix (P2.2).
    assert checks - covered == {"check_receive"}
    assert all(callable(getattr(Order, name)) for name in covered)


def test_p1_2_the_matrix_yields_a_few_hundred_cases():
    combinations = len(BY_DEPARTMENT) * len(REACHABLE) + len(BY_STATUS)
    assert combinations > 600


# --- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "department"), BY_DEPARTMENT)
def test_p1_2_a_department_not_named_by_the_rule_is_refused_in_every_status(action, department):
    rule = ACTION_RULES[action]
    expected = {
        "action": action.value,
        "departments": sorted(d.value for d in rule.departments),
        "clause": rule.clause,
        "department": department.value,
    }
    statuses = reachable(action)
    refusals = {
        status: assert_refused(action, status, department, NotPermitted) for status in statuses
    }
    assert {status: r.code for status, r in refusals.items()} == dict.fromkeys(
        statuses, "action_not_for_department"
    )
    assert all(r.params == expected for r in refusals.values())


@pytest.mark.parametrize(("action", "status", "department"), BY_STATUS)
def test_p1_3_a_permitted_department_is_refused_in_a_status_the_rule_does_not_allow(
    action, status, department
):
    refusal = assert_refused(action, status, department, ActionNotAllowed)
    assert type(refusal) is ActionNotAllowed
    assert refusal.code == "action_not_now"
    assert refusal.params == {
        "action": action.value,
        "status": status.value,
        "clause": ACTION_RULES[action].clause,
    }
    assert refusal.status == status


# --- task actions: the task's department decides -------------------------------------------------


def task_command(action: Action, department: Department, task_id: str) -> Any:
    if action is Action.COMPLETE_TASK:
        return CompleteTaskCommand(actor=actor(department), task_id=task_id, note="told them")
    return ClaimTaskCommand(actor=actor(department), task_id=task_id, assignee="someone")


@pytest.mark.parametrize("action", [Action.COMPLETE_TASK, Action.CLAIM_TASK])
@pytest.mark.parametrize("department", [d for d in D if d is not D.SALES])
def test_p1_2_a_task_is_completed_or_claimed_only_by_its_own_department(action, department):
    story = story_in(S.OUT_OF_STOCK)
    story.record_backorder()
    task = story.open_task(TaskKind.INFORM_BACKORDER)  # sales tells the customer (P3.2)
    check, apply = (getattr(story.order, name) for name in NOT_CHECKED[action][:2])
    command = task_command(action, department, task.task_id)
    before = (story.status, story.state.seq, task.assignee, task.state)
    with pytest.raises(NotPermitted) as refused:
        check(command, story.now)
    with pytest.raises(NotPermitted):
        apply(command, story.tick())
    assert refused.value.code == "task_of_another_department"
    assert refused.value.params == {"task_id": task.task_id, "department": "sales"}
    assert (story.status, story.state.seq, task.assignee, task.state) == before


@pytest.mark.parametrize("action", [Action.COMPLETE_TASK, Action.CLAIM_TASK])
def test_p1_2_the_task_s_own_department_works_it(action):
    story = story_in(S.OUT_OF_STOCK)
    story.record_backorder()
    task = story.open_task(TaskKind.INFORM_BACKORDER)
    check, apply = (getattr(story.order, name) for name in NOT_CHECKED[action][:2])
    command = task_command(action, D.SALES, task.task_id)
    check(command, story.now)
    decision = apply(command, story.tick())
    assert decision.reply.task_id == task.task_id
    assert decision.events[-1].task_id == task.task_id
