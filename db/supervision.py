"""The read model as the supervision rules see it (P8.1), and the runs they are stored in.

`facts` reads the rows `domain.supervision.find_lapses` judges; `store_run` keeps a
run with its findings (once per period) and opens a rectification item per finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from db.feedback_tables import feedback, feedback_events
from db.rectification import open_new_items
from db.staff import leads_of
from db.supervision_tables import supervision_findings, supervision_runs
from db.tables import (
    ledger_entries,
    order_events,
    orders,
    simulated_gateway_captures,
    simulated_gateway_refunds,
    tasks,
)
from db.upsert import insert_ignore
from domain.events import EventKind
from domain.order.details import PaymentMethod
from domain.supervision import (
    STAFF_STEPS,
    EventRow,
    FeedbackRow,
    Lapse,
    MoneyRow,
    OrderRow,
    ReadModelFacts,
    Severity,
    TaskRow,
)

E = EventKind

#: Statuses an order ends in: nothing waits there (a follow-up still open is a task).
ENDED = ("completed", "cancelled", "rejected", "returned", "refunded")

#: Event kinds the event rules read whoever recorded them (intake problems, refunds); staff
#: steps are read only where they lack their actor (most events are staff steps).
EVENT_KINDS = sorted(
    {
        E.INTAKE_PROBLEMS.value,
        E.REFUND_FAILED.value,
        E.REFUND_ISSUED.value,
        E.COMPENSATION_FAILED.value,
        E.COMPENSATION_PAID.value,
    }
)
STAFF_STEP_KINDS = sorted(k.value for k in STAFF_STEPS)


def _event(row: Any) -> EventRow:
    return EventRow(
        order_id=row.order_id,
        seq=row.seq,
        at=row.at,
        kind=row.kind,
        status=row.status,
        actor_id=row.actor_id,
        actor_department=row.actor_department,
        task_id=row.task_id,
        case_id=row.case_id,
        data=dict(row.data or {}),
    )


def _task_rows(conn: Connection, now: datetime) -> list[Any]:
    t = tasks
    late = and_(t.c.closed_at.is_not(None), t.c.closed_at > t.c.due_at)
    waiting = and_(t.c.state == "open", t.c.due_at < now)
    return list(conn.execute(select(t).where(or_(late, waiting, t.c.overdue.is_(True)))))


def _escalated(conn: Connection, task_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    ids = list(task_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for table in (order_events, feedback_events):
            query = select(table.c.task_id).where(
                table.c.kind == E.TASK_ESCALATED.value, table.c.task_id.in_(chunk)
            )
            found |= {str(r[0]) for r in conn.execute(query)}
    return found


def facts(conn: Connection, now: datetime) -> ReadModelFacts:
    """Everything the rules read, as of `now`."""
    task_rows = _task_rows(conn, now)
    escalated = _escalated(conn, [r.task_id for r in task_rows])
    task_facts = [
        TaskRow(
            task_id=r.task_id,
            order_id=r.order_id,
            kind=r.kind,
            department=r.department,
            state=r.state,
            due_at=r.due_at,
            closed_at=r.closed_at,
            overdue=bool(r.overdue),
            escalation_recorded=r.task_id in escalated,
        )
        for r in task_rows
    ]
    f = feedback
    late_feedback = or_(
        and_(f.c.first_reply_at.is_not(None), f.c.first_reply_at > f.c.first_reply_due_at),
        and_(f.c.first_reply_at.is_(None), f.c.first_reply_due_at < now),
    )
    feedback_facts = [
        FeedbackRow(
            feedback_id=r.feedback_id,
            order_id=r.order_id,
            received_at=r.received_at,
            first_reply_due_at=r.first_reply_due_at,
            first_reply_at=r.first_reply_at,
        )
        for r in conn.execute(
            select(
                f.c.feedback_id,
                f.c.order_id,
                f.c.received_at,
                f.c.first_reply_due_at,
                f.c.first_reply_at,
            ).where(late_feedback)
        )
    ]
    statuses = {
        str(r.order_id): str(r.status)
        for r in conn.execute(
            select(orders.c.order_id, orders.c.status).where(orders.c.status.not_in(ENDED))
        )
    }
    open_ids = list(statuses)
    events_of: dict[str, list[EventRow]] = {order_id: [] for order_id in open_ids}
    for start in range(0, len(open_ids), 500):
        chunk = open_ids[start : start + 500]
        query = select(order_events).where(order_events.c.order_id.in_(chunk))
        for row in conn.execute(query):
            events_of[row.order_id].append(_event(row))
    open_orders = [
        OrderRow(order_id=order_id, status=statuses[order_id], events=tuple(events))
        for order_id, events in events_of.items()
    ]
    events = [
        _event(row)
        for row in conn.execute(
            select(order_events).where(
                or_(
                    order_events.c.kind.in_(EVENT_KINDS),
                    and_(
                        order_events.c.kind.in_(STAFF_STEP_KINDS),
                        or_(order_events.c.actor_id.is_(None), order_events.c.actor_id == ""),
                    ),
                )
            )
        )
    ]
    ledger = [
        MoneyRow(r.entry_id, r.order_id, r.kind, Decimal(r.amount), r.at, r.reference)
        for r in conn.execute(select(ledger_entries))
    ]
    captures = [
        MoneyRow(r.transaction_id, r.order_id, "capture", Decimal(r.amount), r.at)
        for r in conn.execute(select(simulated_gateway_captures))
    ]
    gateway_refunds = [
        MoneyRow(r.refund_id, r.order_id, "refund", Decimal(r.amount), r.at, r.reference)
        for r in conn.execute(select(simulated_gateway_refunds))
    ]
    cash_orders = frozenset(
        conn.execute(
            select(orders.c.order_id).where(
                orders.c.payment_method == PaymentMethod.CASH_ON_DELIVERY.value
            )
        ).scalars()
    )
    return ReadModelFacts(
        tasks=task_facts,
        feedback=feedback_facts,
        open_orders=open_orders,
        events=events,
        ledger=ledger,
        captures=captures,
        gateway_refunds=gateway_refunds,
        cash_orders=cash_orders,
    )


def existing_run(conn: Connection, period: str) -> dict[str, Any] | None:
    row = conn.execute(select(supervision_runs).where(supervision_runs.c.period == period)).first()
    return dict(row._mapping) if row else None


def store_run(
    conn: Connection,
    *,
    run_id: str,
    period: str,
    trigger: str,
    requested_by: str | None,
    workflow_id: str,
    period_start: datetime | None,
    period_end: datetime,
    started_at: datetime,
    lapses: Sequence[Lapse],
    rectification_deadline: timedelta,
) -> list[dict[str, Any]] | None:
    """Store the run and its findings; None (and nothing written) if its period has one.

    Returns the rectification items it opened (P8.1.3), each owned by its department's
    lead (the first active one by staff id; None when it has none), for their workflows.
    """
    counts = Counter(lapse.severity.value for lapse in lapses)
    inserted = insert_ignore(
        conn,
        supervision_runs,
        [
            {
                "run_id": run_id,
                "period": period,
                "trigger": trigger,
                "requested_by": requested_by,
                "workflow_id": workflow_id,
                "period_start": period_start,
                "period_end": period_end,
                "started_at": started_at,
                "findings": len(lapses),
                "by_severity": {s.value: counts.get(s.value, 0) for s in Severity},
            }
        ],
    )
    if not inserted:
        return None
    insert_ignore(
        conn,
        supervision_findings,
        [
            {
                "run_id": run_id,
                "rule": lapse.rule.value,
                "subject": lapse.subject[:200],
                "clause": lapse.clause,
                "severity": lapse.severity.value,
                "department": lapse.department.value,
                "order_id": lapse.order_id,
                "event_seq": lapse.seq,
                "at": lapse.at,
                "message": lapse.message[:500],
            }
            for lapse in lapses
        ],
    )
    # P8.1: each finding is a rectification request with a deadline, as the history
    # audit's are; the same lapse found again (next week, or by hand) adds no item.
    leads = leads_of(conn, {lapse.department for lapse in lapses}, started_at)
    owners = {d: min((m.staff_id for m in members), default=None) for d, members in leads.items()}
    return open_new_items(
        conn,
        [
            {
                "order_id": lapse.order_id or lapse.subject[:64],
                "rule": lapse.rule.value,
                "event_seq": lapse.subject_number,
                "clause": lapse.clause,
                "department": lapse.department.value,
                "message": lapse.message[:500],
                "event_at": lapse.at,
                "found_at": started_at,
                "due_at": started_at + rectification_deadline,
                "state": "open",
                "owner": owners.get(lapse.department),
            }
            for lapse in lapses
        ],
    )


FINDING_FIELDS = (
    "rule",
    "clause",
    "severity",
    "department",
    "order_id",
    "subject",
    "event_seq",
    "at",
    "message",
)


def run_with_findings(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """A stored run and its findings (most severe first), or None."""
    row = conn.execute(select(supervision_runs).where(supervision_runs.c.run_id == run_id)).first()
    if row is None:
        return None
    rank = {s.value: i for i, s in enumerate(Severity)}
    found = [
        {name: r._mapping[name] for name in FINDING_FIELDS}
        for r in conn.execute(
            select(supervision_findings).where(supervision_findings.c.run_id == run_id)
        )
    ]
    found.sort(
        key=lambda f: (rank.get(f["severity"], 9), f["order_id"] or "", f["rule"], f["subject"])
    )
    return {**dict(row._mapping), "items": found}
