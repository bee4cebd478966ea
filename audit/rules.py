"""The conformance rules of the supervision group (P8.1): an order's events in, findings out.

Pure: no Temporal, no SQL. Each rule reads the order's record (docs/events.md)
in `seq` order and names the event where the process was not followed:

- `pack_before_approval` (P3.1, P3.3; warehouse): a `packed` before any `reviewed`
  with `approved: true`.
- `risky_approved_unverified` (P3.1; sales): a `reviewed` approving a risky order
  (non-empty `risk_reasons`) without `phone_verified: true`.
- `shipment_after_cancellation` (P4.2; logistics, or the warehouse for stock): a
  `dispatched` or `stock_shipped` after `cancelled`.
- `refund_above_received` (P4.2, P5; finance): refunds adding up to more than the
  money received.
- `actor_not_permitted` (the action's clause; the department owning the step): a
  staff event whose actor's department may not take that action.
- `overdue_not_escalated` (P8.1; supervision): a `task_overdue` with no
  `task_escalated` for the same task after it.

The department named is the one the rectification request goes to.
Who may take which action is `domain.actions.ACTION_RULES`; `ACTION_OF_EVENT`
below maps the events staff cause onto those actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.actions import ACTION_RULES, Action
from domain.actors import SYSTEM_ACTOR, WORKING_DEPARTMENTS, Department
from domain.events import EventKind, OrderEvent
from domain.tasks import TASK_DEPARTMENT, TaskKind

E = EventKind
D = Department


class Rule(StrEnum):
    PACK_BEFORE_APPROVAL = "pack_before_approval"
    RISKY_APPROVED_UNVERIFIED = "risky_approved_unverified"
    SHIPMENT_AFTER_CANCELLATION = "shipment_after_cancellation"
    REFUND_ABOVE_RECEIVED = "refund_above_received"
    ACTOR_NOT_PERMITTED = "actor_not_permitted"
    OVERDUE_NOT_ESCALATED = "overdue_not_escalated"


@dataclass(frozen=True)
class RuleInfo:
    clause: str
    #: The department a finding goes to for rectification (P8.1 "rectification request").
    department: Department
    title: str


RULES: dict[Rule, RuleInfo] = {
    Rule.PACK_BEFORE_APPROVAL: RuleInfo(
        "P3.1, P3.3", D.WAREHOUSE, "packed before the order was approved"
    ),
    Rule.RISKY_APPROVED_UNVERIFIED: RuleInfo(
        "P3.1", D.SALES, "risky order approved without phone verification"
    ),
    Rule.SHIPMENT_AFTER_CANCELLATION: RuleInfo(
        "P4.2", D.LOGISTICS, "goods shipped after the order was cancelled"
    ),
    Rule.REFUND_ABOVE_RECEIVED: RuleInfo(
        "P4.2, P5", D.FINANCE, "refunded more than the money received"
    ),
    # The department is the owner of the step that someone else took (see `_owner`).
    Rule.ACTOR_NOT_PERMITTED: RuleInfo(
        "P1.2", D.SUPERVISION, "action taken by a department not allowed to"
    ),
    Rule.OVERDUE_NOT_ESCALATED: RuleInfo("P8.1", D.SUPERVISION, "overdue task never escalated"),
}


class Finding(BaseModel):
    """One place where an order's record shows the process was not followed."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    rule: Rule
    clause: str
    department: Department
    #: The event that shows it (its seq keys the rectification item).
    seq: int
    at: datetime
    message: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.order_id, self.rule.value, self.seq)


#: The action behind each event a member of staff causes (domain.actions decides who may).
ACTION_OF_EVENT: dict[EventKind, Action] = {
    E.CORRECTED: Action.CORRECT,
    E.REVIEWED: Action.REVIEW,
    E.REJECTED: Action.REVIEW,
    E.BACKORDER_RECORDED: Action.RECORD_BACKORDER,
    E.PACKED: Action.PACK,
    E.DISPATCHED: Action.DISPATCH,
    E.TRACKING: Action.TRACKING,
    E.DELIVERED: Action.TRACKING,
    E.CANCELLED: Action.CANCEL,
    E.PAYMENT_EVENT: Action.PAYMENT_EVENT,
    E.PAYMENT_RECEIVED: Action.PAYMENT_EVENT,
    E.CHANGE_APPLIED: Action.DECIDE_CHANGE,
    E.LOGISTICS_CAUSE_RECORDED: Action.RECORD_LOGISTICS_CAUSE,
    E.RETURN_INSPECTED: Action.INSPECT_RETURN,
    E.STOCK_RETURNED: Action.INSPECT_RETURN,
    E.STOCK_WRITTEN_OFF: Action.INSPECT_RETURN,
    E.REFUND_ISSUED: Action.COMPLETE_REFUND,
    E.COMPENSATION_PAID: Action.COMPLETE_REFUND,
    E.TASK_COMPLETED: Action.COMPLETE_TASK,
    E.TASK_CLAIMED: Action.CLAIM_TASK,
    E.APPOINTMENT_SCHEDULED: Action.SCHEDULE_SERVICE,
    E.SERVICE_PERFORMED: Action.RECORD_SERVICE_WORK,
    E.SERVICE_CONFIRMED: Action.CONFIRM_SERVICE,
}

#: Case events: the action depends on the kind of case (`case_opened.data.kind`).
ACTION_OF_CASE_OPENED: dict[str, Action] = {
    "change": Action.REQUEST_CHANGE,
    "cancellation": Action.CANCEL,
    "payment_exception": Action.PAYMENT_EVENT,
    "logistics_exception": Action.TRACKING,
    "return": Action.REQUEST_RETURN,
    "exchange": Action.REQUEST_RETURN,
    "service_complaint": Action.SERVICE_COMPLAINT,
}
ACTION_OF_CASE_DECIDED: dict[str, Action] = {
    "change": Action.DECIDE_CHANGE,
    "cancellation": Action.CANCEL,
    "logistics_exception": Action.DECIDE_LOGISTICS_EXCEPTION,
    "return": Action.DECIDE_RETURN,
    "exchange": Action.DECIDE_RETURN,
    "service_complaint": Action.SERVICE_COMPLAINT,
}

#: Orders are handed over by the payment system (P2.2); no staff action stands behind it.
RECEIVED_BY: frozenset[Department] = frozenset({D.PLATFORM})


@dataclass(frozen=True)
class Hit:
    """What a rule found: the event, why, and where the rule's defaults do not fit."""

    event: OrderEvent
    message: str
    department: Department | None = None
    clause: str | None = None


RuleCheck = Callable[[Sequence[OrderEvent]], Iterator[Hit]]


def _money(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("0")


def _pack_before_approval(events: Sequence[OrderEvent]) -> Iterator[Hit]:
    approved = False
    for event in events:
        if event.kind is E.REVIEWED and event.data.get("approved") is True:
            approved = True
        elif event.kind is E.PACKED and not approved:
            yield Hit(event, "packed with no approved review before it")


def _risky_approved_unverified(events: Sequence[OrderEvent]) -> Iterator[Hit]:
    for event in events:
        if event.kind is not E.REVIEWED or event.data.get("approved") is not True:
            continue
        reasons = event.data.get("risk_reasons") or []
        if reasons and event.data.get("phone_verified") is not True:
            shown = ", ".join(str(r) for r in reasons) if isinstance(reasons, list) else reasons
            yield Hit(event, f"approved without phone verification (risk: {shown})")


def _shipment_after_cancellation(events: Sequence[OrderEvent]) -> Iterator[Hit]:
    cancelled: OrderEvent | None = None
    for event in events:
        if event.kind is E.CANCELLED and cancelled is None:
            cancelled = event
        elif event.kind in (E.DISPATCHED, E.STOCK_SHIPPED) and cancelled is not None:
            owner = D.LOGISTICS if event.kind is E.DISPATCHED else D.WAREHOUSE
            yield Hit(event, f"{event.kind} after the cancellation (event {cancelled.seq})", owner)


def _refund_above_received(events: Sequence[OrderEvent]) -> Iterator[Hit]:
    """Money received: the `ledger` payment entries (the payment reported at intake is booked
    as one too, P2.2).

    Refunds (`refund_issued`) add up; each one that takes the total above what was
    received is a finding.
    """
    received = Decimal("0")
    refunded = Decimal("0")
    for event in events:
        if event.kind is E.LEDGER and event.data.get("kind") == "payment":
            received += _money(event.data.get("amount"))
        elif event.kind is E.REFUND_ISSUED:
            refunded += _money(event.data.get("amount"))
            if refunded > received:
                yield Hit(event, f"refunds reach {refunded}, more than the {received} received")


def _overdue_not_escalated(events: Sequence[OrderEvent]) -> Iterator[Hit]:
    for index, event in enumerate(events):
        if event.kind is not E.TASK_OVERDUE:
            continue
        escalated = any(
            later.kind is E.TASK_ESCALATED and later.task_id == event.task_id
            for later in events[index + 1 :]
        )
        if not escalated:
            yield Hit(event, f"task {event.task_id} went overdue and was never escalated")


def _is_staff(event: OrderEvent) -> bool:
    return event.actor is not None and event.actor != SYSTEM_ACTOR


def allowed_departments(
    event: OrderEvent, case_kinds: dict[str, str]
) -> tuple[frozenset[Department], str] | None:
    """Who may cause this event, and the clause that says so; None for the workflow's own steps."""
    if event.kind is E.RECEIVED:
        return RECEIVED_BY, "P2.2"
    action: Action | None = ACTION_OF_EVENT.get(event.kind)
    if event.kind is E.CASE_OPENED:
        action = ACTION_OF_CASE_OPENED.get(str(event.data.get("kind", "")))
    elif event.kind is E.CASE_DECIDED:
        action = ACTION_OF_CASE_DECIDED.get(case_kinds.get(event.case_id or "", ""))
    if action is None:
        return None
    rule = ACTION_RULES[action]
    departments = rule.departments
    if event.kind is E.TASK_COMPLETED:
        # A task is closed by its own department (CORRECT_ORDER's varies: see domain.intake).
        task_kind = _task_kind(event.data.get("kind"))
        if task_kind is not None and task_kind is not TaskKind.CORRECT_ORDER:
            departments = departments & {TASK_DEPARTMENT[task_kind]}
    return departments, rule.clause


def _task_kind(value: object) -> TaskKind | None:
    try:
        return TaskKind(str(value))
    except ValueError:
        return None


def _owner(departments: frozenset[Department]) -> Department:
    """The department a wrongly taken step belongs to: the working one, if any, else the first."""
    candidates: list[Department] = [*WORKING_DEPARTMENTS, *Department]
    for department in candidates:
        if department in departments:
            return department
    return D.SUPERVISION


def _actor_not_permitted(events: Sequence[OrderEvent]) -> Iterator[Hit]:
    case_kinds: dict[str, str] = {}
    for event in events:
        if event.kind is E.CASE_OPENED and event.case_id:
            case_kinds[event.case_id] = str(event.data.get("kind", ""))
        if not _is_staff(event):
            continue
        allowed = allowed_departments(event, case_kinds)
        if allowed is None:
            continue
        departments, clause = allowed
        assert event.actor is not None
        if event.actor.department not in departments:
            names = ", ".join(sorted(departments))
            yield Hit(
                event,
                f"{event.kind} by {event.actor.staff_id} of {event.actor.department}; "
                f"{clause} allows {names}",
                department=_owner(departments),
                clause=clause,
            )


CHECKS: dict[Rule, RuleCheck] = {
    Rule.PACK_BEFORE_APPROVAL: _pack_before_approval,
    Rule.RISKY_APPROVED_UNVERIFIED: _risky_approved_unverified,
    Rule.SHIPMENT_AFTER_CANCELLATION: _shipment_after_cancellation,
    Rule.REFUND_ABOVE_RECEIVED: _refund_above_received,
    Rule.ACTOR_NOT_PERMITTED: _actor_not_permitted,
    Rule.OVERDUE_NOT_ESCALATED: _overdue_not_escalated,
}


def check_order(order_id: str, events: Sequence[OrderEvent]) -> list[Finding]:
    """Every finding on one order, ordered by event then rule."""
    ordered = sorted(events, key=lambda e: e.seq)
    findings: list[Finding] = []
    for rule, check in CHECKS.items():
        info = RULES[rule]
        for hit in check(ordered):
            findings.append(
                Finding(
                    order_id=order_id,
                    rule=rule,
                    clause=hit.clause or info.clause,
                    department=hit.department or info.department,
                    seq=hit.event.seq,
                    at=hit.event.at,
                    message=hit.message,
                )
            )
    return sorted(findings, key=lambda f: (f.seq, list(Rule).index(f.rule)))
