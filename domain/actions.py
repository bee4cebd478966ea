"""Staff actions on an order: who may take each, and in which states (the action matrix).

Both the API (403 before anything is sent) and the workflow's update validators
(so that a call bypassing the API is refused too) check against this one table.
Actions on a case or task (a change decision, an inspection) are further checked
by the workflow against that case's own state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.actors import Department
from domain.errors import ActionNotAllowed, NotPermitted, Params, PolicyViolation
from domain.order.details import OrderKind
from domain.states import BEFORE_SHIPMENT, OrderStatus

D = Department
S = OrderStatus


class Action(StrEnum):
    CORRECT = "correct"
    REVIEW = "review"
    RECORD_BACKORDER = "record_backorder"
    PACK = "pack"
    DISPATCH = "dispatch"
    TRACKING = "tracking"
    REQUEST_CHANGE = "request_change"
    DECIDE_CHANGE = "decide_change"
    CANCEL = "cancel"
    PAYMENT_EVENT = "payment_event"
    DECIDE_LOGISTICS_EXCEPTION = "decide_logistics_exception"
    RECORD_LOGISTICS_CAUSE = "record_logistics_cause"
    REQUEST_RETURN = "request_return"
    DECIDE_RETURN = "decide_return"
    INSPECT_RETURN = "inspect_return"
    SUPPLIER_CLAIM = "supplier_claim"
    COMPLETE_REFUND = "complete_refund"
    COMPLETE_TASK = "complete_task"
    CLAIM_TASK = "claim_task"
    # P1.2 service orders.
    SCHEDULE_SERVICE = "schedule_service"
    RECORD_SERVICE_WORK = "record_service_work"
    CONFIRM_SERVICE = "confirm_service"
    SERVICE_COMPLAINT = "service_complaint"


@dataclass(frozen=True)
class ActionRule:
    clause: str
    departments: frozenset[Department]
    statuses: frozenset[OrderStatus]


_ANY = frozenset(S)
_WORKERS = frozenset({D.SALES, D.WAREHOUSE, D.LOGISTICS, D.CUSTOMER_SERVICE, D.FINANCE})
#: Before shipment, and paid (or cash on delivery): an order that exists (P2.1).
_PLACED = BEFORE_SHIPMENT - {S.AWAITING_PAYMENT}
#: What waits for the payment (P2.1): refused with that reason while the order is unpaid.
WAITS_FOR_PAYMENT = frozenset(
    {
        Action.REVIEW,
        Action.RECORD_BACKORDER,
        Action.PACK,
        Action.DISPATCH,
        Action.REQUEST_CHANGE,
        Action.DECIDE_CHANGE,
    }
)

ACTION_RULES: dict[Action, ActionRule] = {
    Action.CORRECT: ActionRule(
        "P2.2", frozenset({D.SALES, D.CUSTOMER_SERVICE}), frozenset({S.NEEDS_CORRECTION})
    ),
    Action.REVIEW: ActionRule("P3.1", frozenset({D.SALES}), frozenset({S.UNDER_REVIEW})),
    Action.RECORD_BACKORDER: ActionRule(
        "P3.2", frozenset({D.WAREHOUSE}), frozenset({S.OUT_OF_STOCK})
    ),
    Action.PACK: ActionRule("P3.3", frozenset({D.WAREHOUSE}), frozenset({S.READY_TO_PACK})),
    Action.DISPATCH: ActionRule("P3.4", frozenset({D.LOGISTICS}), frozenset({S.AWAITING_DISPATCH})),
    Action.TRACKING: ActionRule(
        "P3.4", frozenset({D.PLATFORM, D.LOGISTICS}), frozenset({S.IN_TRANSIT, S.DELIVERED})
    ),
    # P2.1: an order not paid yet is no order to change; the customer changes the cart.
    Action.REQUEST_CHANGE: ActionRule("P4.1", frozenset({D.CUSTOMER_SERVICE}), _PLACED),
    Action.DECIDE_CHANGE: ActionRule("P4.1", frozenset({D.CUSTOMER_SERVICE}), _PLACED),
    Action.CANCEL: ActionRule("P4.2", frozenset({D.CUSTOMER_SERVICE}), BEFORE_SHIPMENT),
    Action.PAYMENT_EVENT: ActionRule("P5.1", frozenset({D.PLATFORM}), _ANY),
    # Case actions stay possible while their case is open, whatever the order's status:
    # the workflow checks the case itself.
    Action.DECIDE_LOGISTICS_EXCEPTION: ActionRule("P5.2", frozenset({D.CUSTOMER_SERVICE}), _ANY),
    Action.RECORD_LOGISTICS_CAUSE: ActionRule("P5.2", frozenset({D.LOGISTICS}), _ANY),
    Action.REQUEST_RETURN: ActionRule(
        "P5.3", frozenset({D.CUSTOMER_SERVICE}), frozenset({S.DELIVERED})
    ),
    Action.DECIDE_RETURN: ActionRule("P5.3", frozenset({D.CUSTOMER_SERVICE}), _ANY),
    Action.INSPECT_RETURN: ActionRule("P5.3", frozenset({D.WAREHOUSE}), _ANY),
    Action.SUPPLIER_CLAIM: ActionRule("P5.3", frozenset({D.SALES}), _ANY),
    Action.COMPLETE_REFUND: ActionRule("P4.2", frozenset({D.FINANCE}), _ANY),
    # The task's own department is checked against the task by the workflow.
    Action.COMPLETE_TASK: ActionRule("P3-P5", _WORKERS, _ANY),
    Action.CLAIM_TASK: ActionRule("P3-P5", _WORKERS, _ANY),
    # P1.2: logistics delivers services (it already goes to customers' addresses); a visit
    # agreed may be agreed again until the work is done.
    Action.SCHEDULE_SERVICE: ActionRule(
        "P1.2", frozenset({D.LOGISTICS}), frozenset({S.AWAITING_APPOINTMENT, S.SERVICE_SCHEDULED})
    ),
    Action.RECORD_SERVICE_WORK: ActionRule(
        "P1.2", frozenset({D.LOGISTICS}), frozenset({S.SERVICE_SCHEDULED})
    ),
    # The customer confirms through customer service or the platform (P3.5).
    Action.CONFIRM_SERVICE: ActionRule(
        "P1.2", frozenset({D.CUSTOMER_SERVICE, D.PLATFORM}), frozenset({S.AWAITING_CONFIRMATION})
    ),
    # P5.3 for a service: instead of confirming, or within the windows after it.
    Action.SERVICE_COMPLAINT: ActionRule(
        "P5.3", frozenset({D.CUSTOMER_SERVICE}), frozenset({S.AWAITING_CONFIRMATION, S.DELIVERED})
    ),
}

#: P1.2: a service order has no goods: nothing to hold in stock, pack, hand to a carrier,
#: track or send back. A goods order has no visit to agree, do or confirm.
GOODS_ONLY: frozenset[Action] = frozenset(
    {
        Action.RECORD_BACKORDER,
        Action.PACK,
        Action.DISPATCH,
        Action.TRACKING,
        Action.REQUEST_RETURN,
        Action.DECIDE_RETURN,
        Action.INSPECT_RETURN,
    }
)
SERVICE_ONLY: frozenset[Action] = frozenset(
    {
        Action.SCHEDULE_SERVICE,
        Action.RECORD_SERVICE_WORK,
        Action.CONFIRM_SERVICE,
        Action.SERVICE_COMPLAINT,
    }
)


def fits_kind(action: Action, kind: OrderKind) -> bool:
    """Whether the action is one an order of this kind (goods, service) has at all (P1.2)."""
    if kind is OrderKind.SERVICE:
        return action not in GOODS_ONLY
    return action not in SERVICE_ONLY


def check_kind(action: Action, kind: OrderKind, status: OrderStatus) -> None:
    """Raise PolicyViolation when the order's kind has no such step (P1.2): a service order
    is never packed, dispatched, tracked or returned; a goods order gets no visit."""
    if fits_kind(action, kind):
        return
    params: Params = {"action": action.value, "clause": "P1.2"}
    if kind is OrderKind.SERVICE:
        raise PolicyViolation(
            f"{action} is not for a service order: it has no goods (P1.2)",
            status=status,
            code="not_for_service_orders",
            params=params,
        )
    raise PolicyViolation(
        f"{action} is for service orders only (P1.2)",
        status=status,
        code="only_for_service_orders",
        params=params,
    )


def check_department(action: Action, department: Department) -> None:
    """Raise NotPermitted unless this department may take this action at all."""
    rule = ACTION_RULES[action]
    if department not in rule.departments:
        allowed = ", ".join(sorted(rule.departments))
        raise NotPermitted(
            f"{action} is for {allowed} ({rule.clause}), not {department}",
            code="action_not_for_department",
            params={
                "action": action.value,
                "departments": sorted(d.value for d in rule.departments),
                "clause": rule.clause,
                "department": department.value,
            },
        )


def check_action(action: Action, status: OrderStatus, department: Department) -> None:
    """Raise NotPermitted or ActionNotAllowed unless the action may be taken now."""
    check_department(action, department)
    rule = ACTION_RULES[action]
    if status is S.AWAITING_PAYMENT and action in WAITS_FOR_PAYMENT:
        raise ActionNotAllowed(
            f"{action} waits for the payment: an order exists once it is paid (P2.1)",
            status=status,
            code="awaiting_payment",
            params={"action": action.value, "clause": "P2.1"},
        )
    if status not in rule.statuses:
        raise ActionNotAllowed(
            f"{action} is not allowed while the order is {status} ({rule.clause})",
            status=status,
            code="action_not_now",
            params={"action": action.value, "status": status.value, "clause": rule.clause},
        )


def allowed_actions(
    status: OrderStatus, department: Department, kind: OrderKind | None = None
) -> list[Action]:
    """The actions this department may take on an order in this status (the console's forms);
    given the order's kind, only those an order of that kind has (P1.2)."""
    return [
        action
        for action, rule in ACTION_RULES.items()
        if department in rule.departments
        and status in rule.statuses
        and (kind is None or fits_kind(action, kind))
    ]
