"""Supervision over what happened (P8.1): rules over the read model that find real lapses.

The history rules of `audit/rules.py` check, order by order, invariants the workflow
already enforces (a replay-level safety net). The rules here look at the outcome
instead: the tasks, feedback, backorders, refunds and money as the read model holds
them, judged against the deadlines of the policy and of these settings. Each lapse
cites its clause, has a severity and names the department answerable for it (the one
a rectification request goes to, P8.1).

| rule | clause | severity | department |
| --- | --- | --- | --- |
| `late_task` | P8.1 (SLA table) | medium | the task's |
| `overdue_task_not_escalated` | P8.1 | high | supervision |
| `late_first_reply` | P7.2 | medium | customer service |
| `backorder_past_eta` | P3.2 | medium | warehouse |
| `stuck_in_status` | P8.1 | low | the status's owner |
| `step_without_actor` | P6.1 | high | the step's owner |
| `data_corrected` | P2.2 | low | the department alerted |
| `slow_refund` | P4.2, P5 | medium | finance |
| `ledger_gateway_mismatch` | P5.1 | high | finance |

Pure: no Temporal, no SQL, no clock. The queries that feed the rows are in
`db/supervision.py`; the periodic run is `workflows/supervision.py`.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Department
from domain.events import EventKind
from domain.rectification import RectificationItemInput
from domain.states import OrderStatus
from domain.tasks import TaskKind

D = Department
E = EventKind
S = OrderStatus


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class LapseRule(StrEnum):
    LATE_TASK = "late_task"
    OVERDUE_TASK_NOT_ESCALATED = "overdue_task_not_escalated"
    LATE_FIRST_REPLY = "late_first_reply"
    BACKORDER_PAST_ETA = "backorder_past_eta"
    STUCK_IN_STATUS = "stuck_in_status"
    STEP_WITHOUT_ACTOR = "step_without_actor"
    DATA_CORRECTED = "data_corrected"
    SLOW_REFUND = "slow_refund"
    LEDGER_GATEWAY_MISMATCH = "ledger_gateway_mismatch"


@dataclass(frozen=True)
class LapseRuleInfo:
    clause: str
    severity: Severity
    title: str


LAPSE_RULES: dict[LapseRule, LapseRuleInfo] = {
    LapseRule.LATE_TASK: LapseRuleInfo("P8.1", Severity.MEDIUM, "task done after its deadline"),
    LapseRule.OVERDUE_TASK_NOT_ESCALATED: LapseRuleInfo(
        "P8.1", Severity.HIGH, "overdue task with no escalation on record"
    ),
    LapseRule.LATE_FIRST_REPLY: LapseRuleInfo(
        "P7.2", Severity.MEDIUM, "first reply to feedback after its deadline"
    ),
    LapseRule.BACKORDER_PAST_ETA: LapseRuleInfo(
        "P3.2", Severity.MEDIUM, "backorder past its expected restock time with no update"
    ),
    LapseRule.STUCK_IN_STATUS: LapseRuleInfo(
        "P8.1", Severity.LOW, "order in one status longer than the setting allows"
    ),
    LapseRule.STEP_WITHOUT_ACTOR: LapseRuleInfo(
        "P6.1", Severity.HIGH, "staff step recorded without its actor"
    ),
    LapseRule.DATA_CORRECTED: LapseRuleInfo("P2.2", Severity.LOW, "order data had to be corrected"),
    LapseRule.SLOW_REFUND: LapseRuleInfo(
        "P4.2, P5", Severity.MEDIUM, "refund slower than the policy allows"
    ),
    LapseRule.LEDGER_GATEWAY_MISMATCH: LapseRuleInfo(
        "P5.1", Severity.HIGH, "ledger disagrees with the payment gateway's records"
    ),
}

#: The statuses an order may stay in for a while, and for how long before supervision
#: asks why (`OMS_SUPERVISION__STUCK_AFTER`, a JSON object of status: duration).
DEFAULT_STUCK_AFTER: dict[OrderStatus, timedelta] = {
    S.RECEIVED: timedelta(hours=1),
    S.NEEDS_CORRECTION: timedelta(days=1),
    S.AWAITING_PAYMENT: timedelta(days=2),
    S.UNDER_REVIEW: timedelta(days=1),
    S.OUT_OF_STOCK: timedelta(days=14),
    S.READY_TO_PACK: timedelta(days=2),
    S.AWAITING_DISPATCH: timedelta(days=1),
    S.IN_TRANSIT: timedelta(days=7),
    S.AWAITING_APPOINTMENT: timedelta(days=3),
    S.SERVICE_SCHEDULED: timedelta(days=14),
    S.AWAITING_CONFIRMATION: timedelta(days=7),
    S.DELIVERED: timedelta(days=30),
}

#: Who answers for an order waiting in a status (P3, P4: the department whose step is next).
STATUS_DEPARTMENT: dict[OrderStatus, Department] = {
    S.RECEIVED: D.SUPERVISION,
    S.NEEDS_CORRECTION: D.SALES,
    S.AWAITING_PAYMENT: D.FINANCE,
    S.UNDER_REVIEW: D.SALES,
    S.OUT_OF_STOCK: D.WAREHOUSE,
    S.READY_TO_PACK: D.WAREHOUSE,
    S.AWAITING_DISPATCH: D.LOGISTICS,
    S.IN_TRANSIT: D.LOGISTICS,
    S.AWAITING_APPOINTMENT: D.LOGISTICS,
    S.SERVICE_SCHEDULED: D.LOGISTICS,
    S.AWAITING_CONFIRMATION: D.CUSTOMER_SERVICE,
    S.DELIVERED: D.CUSTOMER_SERVICE,
}

#: Steps a member of staff takes, and the department that records them (P6.1: departments
#: record their own data as they work). The workflow's own steps carry the system actor.
STAFF_STEPS: dict[EventKind, Department] = {
    E.CORRECTED: D.SALES,
    E.REVIEWED: D.SALES,
    E.REJECTED: D.SALES,
    E.BACKORDER_RECORDED: D.WAREHOUSE,
    E.PACKED: D.WAREHOUSE,
    E.RETURN_INSPECTED: D.WAREHOUSE,
    E.STOCK_RETURNED: D.WAREHOUSE,
    E.STOCK_WRITTEN_OFF: D.WAREHOUSE,
    E.DISPATCHED: D.LOGISTICS,
    E.LOGISTICS_CAUSE_RECORDED: D.LOGISTICS,
    E.APPOINTMENT_SCHEDULED: D.LOGISTICS,
    E.SERVICE_PERFORMED: D.LOGISTICS,
    E.CHANGE_APPLIED: D.CUSTOMER_SERVICE,
    E.CASE_OPENED: D.CUSTOMER_SERVICE,
    E.CASE_DECIDED: D.CUSTOMER_SERVICE,
    E.TASK_COMPLETED: D.SUPERVISION,
    E.TASK_CLAIMED: D.SUPERVISION,
}


class SupervisionSettings(BaseModel):
    """The periodic checks (P8.1.1) and their thresholds (`OMS_SUPERVISION__*`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The Temporal Schedule that runs SupervisionWorkflow.
    schedule_id: str = Field(default="weekly-supervision", min_length=1, max_length=100)
    #: How often the checks run: each run covers one period of this length, and a period
    #: is checked once however often its run is started.
    every: timedelta = Field(default=timedelta(days=7), ge=timedelta(minutes=1))
    #: Where periods begin, from 1970-01-01 00:00 UTC (a Thursday): 4 days 3 h puts a
    #: weekly run at Monday 03:00 UTC.
    offset: timedelta = timedelta(days=4, hours=3)
    #: A refund still unpaid this long after it was asked for is slow (P4.2, P5).
    refund_deadline: timedelta = timedelta(days=3)
    #: An overdue task is escalated at once; this long without it is a lapse (P8.1).
    escalation_grace: timedelta = timedelta(minutes=10)
    #: A capture the gateway holds may be reported a little later; past this, the ledger
    #: must show it (P5.1).
    gateway_grace: timedelta = timedelta(hours=1)
    #: Per status, how long an order may stay in it (statuses left out are not judged).
    stuck_after: dict[OrderStatus, timedelta] = Field(
        default_factory=lambda: dict(DEFAULT_STUCK_AFTER)
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: How early a scheduled start may come and still be its boundary's run (clock skew).
EARLY_START = timedelta(minutes=10)


def due_boundary(now: datetime, every: timedelta, offset: timedelta) -> datetime:
    """The scheduled time a run started at `now` belongs to: the latest boundary (every
    `every`, `offset` from 1970) at or before it.

    A scheduled run starts at its boundary or a little after; clocks differ, so a start up
    to `EARLY_START` before a boundary counts as that boundary's. A run started by hand
    between boundaries is the latest boundary's: it adds nothing if that period was run.
    The period a run covers is the `every` before its boundary.
    """
    origin = EPOCH + offset
    early = min(every / 2, EARLY_START)
    return origin + ((now + early - origin) // every) * every


def period_key(boundary: datetime, every: timedelta) -> str:
    """The business key of a periodic run: one stored run per key."""
    return f"{boundary.astimezone(UTC):%Y-%m-%dT%H:%MZ}/{int(every.total_seconds())}s"


# --- The rows the rules read (db/supervision.py builds them from the read model) ---


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    order_id: str | None
    kind: str
    department: str
    state: str
    due_at: datetime
    closed_at: datetime | None
    overdue: bool
    #: A `task_escalated` event for the task is on record (order or feedback events).
    escalation_recorded: bool


@dataclass(frozen=True)
class FeedbackRow:
    feedback_id: str
    order_id: str | None
    received_at: datetime
    first_reply_due_at: datetime
    first_reply_at: datetime | None


@dataclass(frozen=True)
class EventRow:
    order_id: str
    seq: int
    at: datetime
    kind: str
    status: str
    actor_id: str | None = None
    actor_department: str | None = None
    task_id: str | None = None
    case_id: str | None = None
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    status: str
    #: The order's events, any order (only status, seq and at are read).
    events: tuple[EventRow, ...]


@dataclass(frozen=True)
class MoneyRow:
    """One money movement: a ledger entry, or a capture or refund of the gateway."""

    key: str  # ledger entry id / gateway transaction id / gateway refund id
    order_id: str
    kind: str  # ledger: payment | refund | compensation | adjustment; gateway: capture | refund
    amount: Decimal  # ledger: signed; gateway: positive
    at: datetime
    reference: str | None = None


class Lapse(BaseModel):
    """One lapse found: what, where, who answers for it."""

    model_config = ConfigDict(frozen=True)

    rule: LapseRule
    clause: str
    severity: Severity
    department: Department
    order_id: str | None
    #: What the lapse is about (a task, a feedback, an order's event, a refund): with the
    #: rule, it keys the finding, so the same lapse found again is the same finding.
    subject: str
    #: The order event that shows it, where there is one.
    seq: int | None = None
    #: When it became a lapse (a deadline passed, a late step was taken): a periodic run
    #: reports the lapses of its period, so each is reported once.
    at: datetime
    message: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule.value, self.subject)

    @property
    def subject_number(self) -> int:
        """The event seq, or a stable number for the subject (rectification items key on one)."""
        if self.seq is not None:
            return self.seq
        return zlib.crc32(self.subject.encode()) & 0x7FFFFFFF


def lapse(
    rule: LapseRule,
    department: Department | str,
    order_id: str | None,
    subject: str,
    at: datetime,
    message: str,
    seq: int | None = None,
    clause: str | None = None,
) -> Lapse:
    info = LAPSE_RULES[rule]
    return Lapse(
        rule=rule,
        clause=clause or info.clause,
        severity=info.severity,
        department=_department(department),
        order_id=order_id,
        subject=subject,
        seq=seq,
        at=at,
        message=message,
    )


def _department(value: Department | str | None) -> Department:
    try:
        return Department(str(value))
    except ValueError:
        return D.SUPERVISION


def _late(by: timedelta) -> str:
    minutes = int(by.total_seconds() // 60)
    if minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes >= 120:
        return f"{minutes // 60} h"
    if minutes >= 1:
        return f"{minutes} min"
    return f"{int(by.total_seconds())} s"


# --- The rules ---


def late_tasks(tasks: Iterable[TaskRow]) -> list[Lapse]:
    """P8.1 (SLA table): a task done after its deadline (a first reply to feedback is
    `late_first_reply`'s, P7.2)."""
    found = []
    for task in tasks:
        if task.kind == TaskKind.REPLY_FEEDBACK:
            continue
        if task.state == "done" and task.closed_at is not None and task.closed_at > task.due_at:
            found.append(
                lapse(
                    LapseRule.LATE_TASK,
                    task.department,
                    task.order_id,
                    f"task:{task.task_id}",
                    task.closed_at,
                    f"{task.kind} task {task.task_id} done {_late(task.closed_at - task.due_at)} "
                    "after its deadline",
                )
            )
    return found


def overdue_not_escalated(tasks: Iterable[TaskRow], now: datetime, grace: timedelta) -> list[Lapse]:
    """P8.1: a task past its deadline (by more than `grace`) with no escalation on record."""
    found = []
    for task in tasks:
        if task.escalation_recorded or task.state == "cancelled":
            continue
        finished = task.closed_at or now
        if task.overdue or finished - task.due_at > grace:
            found.append(
                lapse(
                    LapseRule.OVERDUE_TASK_NOT_ESCALATED,
                    D.SUPERVISION,
                    task.order_id,
                    f"task:{task.task_id}",
                    task.due_at + grace,
                    f"{task.kind} task {task.task_id} of {task.department} went past its "
                    "deadline and no escalation was recorded",
                )
            )
    return found


def late_first_replies(feedback: Iterable[FeedbackRow], now: datetime) -> list[Lapse]:
    """P7.2: the first reply after its deadline, or none yet and the deadline passed."""
    found = []
    for item in feedback:
        replied = item.first_reply_at
        if replied is not None and replied <= item.first_reply_due_at:
            continue
        if replied is None and now <= item.first_reply_due_at:
            continue
        late_by = (replied or now) - item.first_reply_due_at
        what = "answered" if replied is not None else "still unanswered"
        found.append(
            lapse(
                LapseRule.LATE_FIRST_REPLY,
                D.CUSTOMER_SERVICE,
                item.order_id,
                f"feedback:{item.feedback_id}",
                replied or item.first_reply_due_at,
                f"feedback {item.feedback_id} {what} {_late(late_by)} after the first-reply "
                "deadline",
            )
        )
    return found


def _eta(value: object) -> datetime | None:
    if isinstance(value, datetime):
        eta = value
    elif isinstance(value, str) and value:
        try:
            eta = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return eta if eta.tzinfo else eta.replace(tzinfo=UTC)


def backorders_past_eta(orders: Iterable[OrderRow], now: datetime) -> list[Lapse]:
    """P3.2: an order still out of stock after the restock time the warehouse gave, with no
    newer backorder record (a new reason and time) since."""
    found = []
    for order in orders:
        if order.status != S.OUT_OF_STOCK:
            continue
        events = sorted(order.events, key=lambda e: e.seq)
        records = [e for e in events if e.kind == E.BACKORDER_RECORDED]
        if not records:
            continue
        latest = records[-1]
        # Replenished and short again since: the newest shortage has not been recorded yet,
        # which is the stock task's deadline, not this rule.
        if any(e.kind == E.OUT_OF_STOCK and e.seq > latest.seq for e in events):
            continue
        eta = _eta(latest.data.get("restock_eta"))
        if eta is None or now <= eta:
            continue
        found.append(
            lapse(
                LapseRule.BACKORDER_PAST_ETA,
                D.WAREHOUSE,
                order.order_id,
                f"order:{order.order_id}:{latest.seq}",
                eta,
                f"out of stock {_late(now - eta)} past the expected restock time "
                f"{eta.isoformat()} with no update",
                seq=latest.seq,
            )
        )
    return found


def stuck_in_status(
    orders: Iterable[OrderRow], now: datetime, stuck_after: dict[OrderStatus, timedelta]
) -> list[Lapse]:
    """P8.1: an order in one status for longer than the setting for that status."""
    found = []
    for order in orders:
        try:
            status = OrderStatus(order.status)
        except ValueError:
            continue
        allowed = stuck_after.get(status)
        events = sorted(order.events, key=lambda e: e.seq)
        if allowed is None or not events:
            continue
        # The first event of the current run of this status is when the order entered it.
        entered = events[-1]
        for event in reversed(events):
            if event.status != status:
                break
            entered = event
        if now - entered.at <= allowed:
            continue
        found.append(
            lapse(
                LapseRule.STUCK_IN_STATUS,
                STATUS_DEPARTMENT.get(status, D.SUPERVISION),
                order.order_id,
                f"order:{order.order_id}:{entered.seq}",
                entered.at + allowed,
                f"{status.value} for {_late(now - entered.at)} (allowed {_late(allowed)})",
                seq=entered.seq,
            )
        )
    return found


def steps_without_actor(events: Iterable[EventRow]) -> list[Lapse]:
    """P6.1: a step a member of staff takes, recorded with no actor."""
    found = []
    for event in events:
        try:
            kind = EventKind(event.kind)
        except ValueError:
            continue
        if kind not in STAFF_STEPS or event.actor_id:
            continue
        found.append(
            lapse(
                LapseRule.STEP_WITHOUT_ACTOR,
                event.actor_department or STAFF_STEPS[kind],
                event.order_id,
                f"order:{event.order_id}:{event.seq}",
                event.at,
                f"{event.kind} (event {event.seq}) recorded without who took it",
                seq=event.seq,
            )
        )
    return found


def data_corrections(events: Iterable[EventRow]) -> list[Lapse]:
    """P2.2 accuracy: the order arrived with data that had to be corrected."""
    found = []
    for event in events:
        if event.kind != E.INTAKE_PROBLEMS:
            continue
        problems = event.data.get("problems")
        listed = problems if isinstance(problems, list) else []
        fields = [str(p.get("field")) for p in listed if isinstance(p, dict)]
        departments = [str(p.get("department")) for p in listed if isinstance(p, dict)]
        found.append(
            lapse(
                LapseRule.DATA_CORRECTED,
                departments[0] if departments else D.SALES,
                event.order_id,
                f"order:{event.order_id}:{event.seq}",
                event.at,
                "intake found problems to correct: " + (", ".join(fields) or "unnamed"),
                seq=event.seq,
            )
        )
    return found


def slow_refunds(events: Iterable[EventRow], now: datetime, allowed: timedelta) -> list[Lapse]:
    """P4.2, P5: a refund paid (or still unpaid) longer than `allowed` after it was asked for.

    A refund is asked for when the workflow first tries it (a `refund_failed` or
    `compensation_failed`: the gateway declined and finance must pay it by hand) and
    paid at its `refund_issued` / `compensation_paid`. A refund paid at the first try
    took no time.
    """
    asked: dict[str, EventRow] = {}
    paid: dict[str, EventRow] = {}
    for event in sorted(events, key=lambda e: (e.order_id, e.seq)):
        refund_id = event.data.get("refund_id")
        if not isinstance(refund_id, str):
            continue
        if event.kind in (E.REFUND_FAILED, E.COMPENSATION_FAILED):
            asked.setdefault(refund_id, event)
        elif event.kind in (E.REFUND_ISSUED, E.COMPENSATION_PAID):
            paid.setdefault(refund_id, event)
    found = []
    for refund_id, request in asked.items():
        done = paid.get(refund_id)
        took = (done.at if done else now) - request.at
        if took <= allowed:
            continue
        what = f"paid after {_late(took)}" if done else f"unpaid after {_late(took)}"
        found.append(
            lapse(
                LapseRule.SLOW_REFUND,
                D.FINANCE,
                request.order_id,
                f"refund:{refund_id}",
                request.at + allowed,
                f"refund {refund_id} {what} (allowed {_late(allowed)})",
                seq=request.seq,
            )
        )
    return found


def ledger_gateway_mismatches(
    ledger: Sequence[MoneyRow],
    captures: Sequence[MoneyRow],
    refunds: Sequence[MoneyRow],
    now: datetime,
    grace: timedelta,
    cash_orders: frozenset[str] = frozenset(),
) -> list[Lapse]:
    """P5.1: the ledger and the payment gateway's books disagree.

    - a capture of the gateway (older than `grace`) with no payment booked under its
      transaction id, or booked with another amount;
    - a payment booked (longer than `grace` ago) under a transaction the gateway
      captured nothing under for that order: the platform reported money nobody took
      (refunds of it are held back for finance, activities/payments.py);
    - a refund the gateway paid that the ledger does not show (the gateway's refund id is
      the ledger entry's id), or shows with another amount.
    Movements the gateway never saw (cash on delivery, `cash_orders`; a refund finance
    paid by bank transfer) are not compared.
    """
    payments: dict[tuple[str, str], Decimal] = {}
    first_booked: dict[tuple[str, str], datetime] = {}
    by_entry: dict[str, MoneyRow] = {}
    for entry in ledger:
        by_entry[entry.key] = entry
        if entry.kind == "payment" and entry.reference:
            where = (entry.order_id, entry.reference)
            payments[where] = payments.get(where, Decimal("0")) + entry.amount
            first_booked[where] = min(entry.at, first_booked.get(where, entry.at))
    found = []
    captured = {(capture.order_id, capture.key) for capture in captures}
    for (order_id, txn), paid in sorted(payments.items()):
        since = first_booked[(order_id, txn)]
        if order_id in cash_orders or (order_id, txn) in captured or paid <= 0:
            continue
        if now - since <= grace:
            continue
        found.append(
            lapse(
                LapseRule.LEDGER_GATEWAY_MISMATCH,
                D.FINANCE,
                order_id,
                f"payment:{txn}",
                since + grace,
                f"the ledger books {paid} paid under transaction {txn}; the gateway "
                "captured nothing under it for this order",
            )
        )
    for capture in captures:
        booked = payments.get((capture.order_id, capture.key))
        if booked is None and now - capture.at <= grace:
            continue
        if booked == capture.amount:
            continue
        shown = "no payment" if booked is None else f"{booked}"
        found.append(
            lapse(
                LapseRule.LEDGER_GATEWAY_MISMATCH,
                D.FINANCE,
                capture.order_id,
                f"capture:{capture.key}",
                capture.at + grace,
                f"the gateway captured {capture.amount} (transaction {capture.key}); "
                f"the ledger books {shown}",
            )
        )
    for refund in refunds:
        booked_refund = by_entry.get(refund.key)
        if booked_refund is not None and -booked_refund.amount == refund.amount:
            continue
        shown = "nothing" if booked_refund is None else f"{-booked_refund.amount}"
        found.append(
            lapse(
                LapseRule.LEDGER_GATEWAY_MISMATCH,
                D.FINANCE,
                refund.order_id,
                f"gateway-refund:{refund.key}",
                refund.at,
                f"the gateway refunded {refund.amount} ({refund.key}); the ledger books {shown}",
            )
        )
    return found


@dataclass(frozen=True)
class ReadModelFacts:
    """Everything the rules read, as of one moment."""

    tasks: Sequence[TaskRow] = ()
    feedback: Sequence[FeedbackRow] = ()
    #: Orders not yet ended (with their events), for the status and backorder rules.
    open_orders: Sequence[OrderRow] = ()
    #: Events the event rules read (staff steps, intake problems, refunds).
    events: Sequence[EventRow] = ()
    ledger: Sequence[MoneyRow] = ()
    captures: Sequence[MoneyRow] = ()
    gateway_refunds: Sequence[MoneyRow] = ()
    #: Orders paid cash on delivery: their payments never pass the gateway.
    cash_orders: frozenset[str] = frozenset()


RuleRun = Callable[[ReadModelFacts, datetime, SupervisionSettings], list[Lapse]]

LAPSE_CHECKS: dict[LapseRule, RuleRun] = {
    LapseRule.LATE_TASK: lambda f, now, s: late_tasks(f.tasks),
    LapseRule.OVERDUE_TASK_NOT_ESCALATED: lambda f, now, s: overdue_not_escalated(
        f.tasks, now, s.escalation_grace
    ),
    LapseRule.LATE_FIRST_REPLY: lambda f, now, s: late_first_replies(f.feedback, now),
    LapseRule.BACKORDER_PAST_ETA: lambda f, now, s: backorders_past_eta(f.open_orders, now),
    LapseRule.STUCK_IN_STATUS: lambda f, now, s: stuck_in_status(f.open_orders, now, s.stuck_after),
    LapseRule.STEP_WITHOUT_ACTOR: lambda f, now, s: steps_without_actor(f.events),
    LapseRule.DATA_CORRECTED: lambda f, now, s: data_corrections(f.events),
    LapseRule.SLOW_REFUND: lambda f, now, s: slow_refunds(f.events, now, s.refund_deadline),
    LapseRule.LEDGER_GATEWAY_MISMATCH: lambda f, now, s: ledger_gateway_mismatches(
        f.ledger, f.captures, f.gateway_refunds, now, s.gateway_grace, f.cash_orders
    ),
}


def find_lapses(facts: ReadModelFacts, now: datetime, settings: SupervisionSettings) -> list[Lapse]:
    """Every lapse, most severe first, then by order and subject."""
    found = [lapse for check in LAPSE_CHECKS.values() for lapse in check(facts, now, settings)]
    rank = list(Severity)
    unique = {lapse.key: lapse for lapse in found}
    return sorted(
        unique.values(),
        key=lambda x: (rank.index(x.severity), x.order_id or "", x.rule.value, x.subject),
    )


# --- The periodic run's input and result (workflows/supervision.py) ---


def run_id_of(period: str) -> str:
    """A run's id, from its period key: safe in a URL path, and one per period (the
    readable part alone would give `on-demand:a.b` and `on-demand:a_b` the same id)."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", period).strip("-")
    return f"run-{readable}-{hashlib.sha256(period.encode()).hexdigest()[:8]}"


class SupervisionInput(BaseModel):
    """What the schedule (or a caller) starts SupervisionWorkflow with.

    `period` None: the scheduled run nearest the workflow's start (`due_boundary`).
    """

    period: str | None = None
    settings: SupervisionSettings = SupervisionSettings()
    trigger: str = "schedule"
    requested_by: str | None = None


class SupervisionRequest(BaseModel):
    """One run of the checks, as the activity carries it out."""

    period: str
    run_id: str
    #: The lapses reported arose in [period_start, period_end); None: from the beginning /
    #: up to the run's time.
    period_start: datetime | None = None
    period_end: datetime | None = None
    settings: SupervisionSettings = SupervisionSettings()
    #: `schedule` or `on_demand`; who asked, for an on-demand run.
    trigger: str = "schedule"
    requested_by: str | None = None
    workflow_id: str = ""


class SupervisionRunStored(BaseModel):
    run_id: str
    period: str
    #: False: this period had been run already; nothing new was stored.
    created: bool
    findings: int
    started_at: datetime
    #: The rectification items this run opened (P8.1.3): the run starts a workflow for each.
    opened: list[RectificationItemInput] = []
