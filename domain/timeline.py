"""An order's timeline for auditors (P6.1, P8.1): every step with time, actor, department, outcome.

Built from the workflow history alone (`audit.history`), so it still answers
after the read model was lost. Served by `GET /api/v1/orders/{id}/history` and
printed by `oms audit timeline ORDER_ID`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, JsonValue

from domain.escalation import escalated_department
from domain.events import EventKind, OrderEvent
from domain.history import DecodedHistory
from domain.states import OrderStatus

E = EventKind


class TimelineStep(BaseModel):
    seq: int
    at: datetime
    kind: EventKind
    #: The order's status once the step was recorded.
    status: OrderStatus
    actor_id: str | None
    department: str | None
    #: What came of the step, in a few words ("approved, phone verified", "2 package(s)").
    outcome: str
    note: str = ""
    task_id: str | None = None
    case_id: str | None = None
    data: dict[str, JsonValue] = {}


class OrderTimeline(BaseModel):
    order_id: str
    workflow_id: str
    run_id: str
    started_at: datetime
    #: The status after the last step, and whether the order's workflow has finished.
    status: OrderStatus | None
    closed: bool
    closed_at: datetime | None = None
    submitted_by: str | None = None
    steps: list[TimelineStep]


def _yes(data: dict[str, Any], key: str) -> bool:
    return data.get(key) is True


def _reviewed(d: dict[str, Any]) -> str:
    words = ["approved" if _yes(d, "approved") else "not approved"]
    if d.get("risk_reasons"):
        words.append("phone verified" if _yes(d, "phone_verified") else "not phone verified")
    return ", ".join(words)


def _escalated(d: dict[str, Any]) -> str:
    # Earlier releases named a made-up `<department>_lead`; both shapes read the same.
    department = escalated_department(d)
    return f"escalated to the {department.value} leads" if department else "escalated"


def _closed_by_other(d: dict[str, Any]) -> str:
    return f" (claimed by {d['assignee']})" if _yes(d, "acted_by_other") else ""


#: How each kind of step reads; kinds not listed read as their own name.
OUTCOMES: dict[EventKind, Callable[[dict[str, Any]], str]] = {
    E.RECEIVED: lambda d: f"{d.get('lines')} line(s), total {d.get('total')}, {d.get('payment')}",
    E.INTAKE_PROBLEMS: lambda d: (
        "to correct: "
        + ", ".join(str(p.get("field")) for p in d.get("problems", []) if isinstance(p, dict))
    ),
    E.CORRECTED: lambda d: "corrected " + ", ".join(d.get("fields", [])) + _closed_by_other(d),
    E.REVIEWED: lambda d: _reviewed(d) + _closed_by_other(d),
    E.OUT_OF_STOCK: lambda d: (
        "short " + ", ".join(f"{sku} x{n}" for sku, n in sorted(d.get("short", {}).items()))
    ),
    E.BACKORDER_RECORDED: lambda d: f"restock expected {d.get('restock_eta')}",
    E.PACKED: lambda d: (
        f"{d.get('packages')} package(s) with "
        + ", ".join(d.get("accessories", []))
        + _closed_by_other(d)
    ),
    E.DISPATCHED: lambda d: (
        f"{d.get('carrier')} {d.get('method')} {d.get('tracking_number')}" + _closed_by_other(d)
    ),
    E.TRACKING: lambda d: (
        str(d.get("event")) + (f" at {d['location']}" if d.get("location") else "")
    ),
    E.DELIVERED: lambda d: "on time" if _yes(d, "on_time") else "late",
    E.TASK_COMPLETED: lambda d: f"{d.get('kind')} done" + _closed_by_other(d),
    E.TASK_CLAIMED: lambda d: (
        f"claimed by {d['assignee']}" if d.get("assignee") else f"released by {d.get('previous')}"
    ),
    E.TASK_REMINDED: lambda d: f"reminder, due {d.get('due_at')}",
    E.TASK_OVERDUE: lambda d: f"overdue since {d.get('due_at')}",
    E.TASK_ESCALATED: _escalated,
    E.CASE_OPENED: lambda d: f"{d.get('kind')} case opened",
    E.CASE_DECIDED: lambda d: (
        "approved" if _yes(d, "approved") else str(d.get("resolution") or "not approved")
    ),
    E.CASE_CLOSED: lambda d: str(d.get("outcome", "closed")),
    E.CANCELLED: lambda d: "cancelled, paid" if _yes(d, "paid") else "cancelled, unpaid",
    E.REFUND_ISSUED: lambda d: f"refunded {d.get('amount')} (total {d.get('refunded_total')})",
    E.REFUND_FAILED: lambda d: f"refund of {d.get('amount')} failed: {d.get('reason')}",
    # P5.2 compensation paid out; P4.1 the difference a dearer change costs.
    E.COMPENSATION_PAID: lambda d: f"compensation {d.get('amount')} paid",
    E.COMPENSATION_FAILED: lambda d: f"compensation of {d.get('amount')} failed: {d.get('reason')}",
    E.PAYMENT_REQUESTED: lambda d: f"{d.get('amount')} asked of the customer by {d.get('until')}",
    E.BALANCE_SETTLED: lambda d: f"difference of {d.get('amount')} {d.get('outcome')}",
    E.CHANGE_REVERTED: lambda d: (
        f"change undone, {d.get('unpaid')} unpaid: total {d.get('total_after')}"
    ),
    E.LEDGER: lambda d: f"{d.get('kind')} {d.get('amount')}",
    E.PAYMENT_EVENT: lambda d: f"payment {d.get('kind')} {d.get('amount')}",
    E.RETURN_INSPECTED: lambda d: (
        "quality problem confirmed" if _yes(d, "quality_confirmed") else "no quality problem"
    ),
    # P1.2 service orders.
    E.APPOINTMENT_SCHEDULED: lambda d: (
        ("rework " if _yes(d, "rework") else "")
        + f"visit {d.get('window_start')} - {d.get('window_end')} by {d.get('technician')}"
    ),
    E.SERVICE_PERFORMED: lambda d: (
        f"done by {d.get('technician')}, " + ("on time" if _yes(d, "on_time") else "late")
    ),
    E.SERVICE_CONFIRMED: lambda d: (
        "confirmed automatically" if _yes(d, "automatic") else "confirmed by the customer"
    ),
}


def outcome_of(event: OrderEvent) -> str:
    describe = OUTCOMES.get(event.kind)
    if describe is None:
        return event.kind.value.replace("_", " ")
    try:
        return describe(event.data)
    except (AttributeError, KeyError, TypeError):  # a step recorded with fewer fields
        return event.kind.value.replace("_", " ")


def step_of(event: OrderEvent) -> TimelineStep:
    return TimelineStep(
        seq=event.seq,
        at=event.at,
        kind=event.kind,
        status=event.status,
        actor_id=event.actor.staff_id if event.actor else None,
        department=event.actor.department.value if event.actor else None,
        outcome=outcome_of(event),
        note=event.note,
        task_id=event.task_id,
        case_id=event.case_id,
        data=event.data,
    )


def build_timeline(history: DecodedHistory) -> OrderTimeline:
    steps = [step_of(event) for event in history.events]
    submitter = history.start.submitted_by if history.start else None
    return OrderTimeline(
        order_id=history.order_id or history.workflow_id,
        workflow_id=history.workflow_id,
        run_id=history.run_id,
        started_at=history.started_at,
        status=steps[-1].status if steps else None,
        closed=history.closing is not None,
        closed_at=history.closing.at if history.closing else None,
        submitted_by=f"{submitter.staff_id} ({submitter.department.value})" if submitter else None,
        steps=steps,
    )
