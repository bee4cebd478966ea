"""A small, hand-checkable set of department figures for the report and KPI tests.

Everything happens on Monday 4 and Tuesday 5 March 2024 (UTC), far from the
orders other tests create now, so the shared system's database can hold both.
The tests state the right answers by hand from the comments below.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from db.engine import Database
from db.feedback_tables import feedback, satisfaction_ratings
from db.tables import ledger_entries, order_events, orders, tasks

D1 = "2024-03-04"
D2 = "2024-03-05"


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=UTC)


def order_row(
    order_id: str,
    created_at: datetime,
    *,
    status: str = "completed",
    kind: str = "goods",
    total: str = "10.00",
    promised: datetime | None = None,
    delivered: datetime | None = None,
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "kind": kind,
        "status": status,
        "customer_id": "C-SEED",
        "payment_method": "online",
        "payment_status": "paid",
        "total_amount": Decimal(total),
        "paid_amount": Decimal(total),
        "refunded_amount": Decimal("0.00"),
        "pending_departments": "",
        "overdue": False,
        "created_at": created_at,
        "updated_at": created_at,
        "promised_delivery_at": promised,
        "delivered_at": delivered,
        "intake_fingerprint": "seed",
        "last_seq": 1,
        "revision": 1,
        "snapshot": {},
    }


def event_row(
    order_id: str, seq: int, when: datetime, kind: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "seq": seq,
        "at": when,
        "kind": kind,
        "status": "delivered",
        "actor_id": "seed",
        "actor_department": "customer_service",
        "note": "",
        "data": data or {},
    }


def task_row(
    task_id: str,
    order_id: str | None,
    department: str,
    kind: str,
    due: datetime,
    *,
    state: str = "done",
    closed: datetime | None = None,
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "order_id": order_id,
        "kind": kind,
        "department": department,
        "state": state,
        "opened_at": due.replace(hour=0),
        "due_at": due,
        "remind_at": due,
        "closed_at": closed,
        "revision": 1,
    }


def ledger_row(order_id: str, kind: str, amount: str, when: datetime) -> dict[str, Any]:
    return {
        "entry_id": f"{order_id}:{kind}:{uuid.uuid4().hex[:8]}",
        "order_id": order_id,
        "kind": kind,
        "amount": Decimal(amount),
        "at": when,
    }


def rating_row(
    order_id: str, score: int, when: datetime, channel: str = "online"
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "score": score,
        "channel": channel,
        "rated_at": when,
        "actor_id": "seed",
        "actor_department": "platform",
        "fingerprint": "seed",
    }


def feedback_row(
    feedback_id: str,
    kind: str,
    channel: str,
    received: datetime,
    due: datetime,
    *,
    answered: datetime | None = None,
    state: str = "open",
) -> dict[str, Any]:
    return {
        "feedback_id": feedback_id,
        "kind": kind,
        "channel": channel,
        "customer_id": "C-SEED",
        "message": "seeded",
        "state": state,
        "received_at": received,
        "received_by": "seed",
        "received_department": "platform",
        "first_reply_due_at": due,
        "first_reply_at": answered,
        "intake_fingerprint": "seed",
        "revision": 1,
        "snapshot": {},
    }


def seed_department_figures(db: Database, prefix: str = "") -> None:
    """The March 2024 figures. `prefix` keeps order ids apart when seeded twice."""
    p = prefix
    o = {n: f"{p}SEED-O{n}" for n in range(0, 10)}
    with db.write() as conn:
        conn.execute(
            orders.insert(),
            [
                # Created on D1: six orders; O2, O3, O5 have an error in their record.
                order_row(
                    o[1],
                    at(D1, "09:00"),
                    total="100.00",
                    promised=at(D1, "18:00"),
                    delivered=at(D1, "17:00"),  # on time
                ),
                order_row(
                    o[2],
                    at(D1, "09:10"),
                    total="250.50",
                    promised=at(D1, "20:00"),
                    delivered=at(D2, "09:00"),  # late
                ),
                order_row(o[3], at(D1, "09:20"), status="returned", total="30.00"),
                order_row(
                    o[4],
                    at(D1, "09:30"),
                    total="40.00",
                    promised=at(D2, "12:00"),
                    delivered=at(D2, "12:00"),  # on time to the second
                ),
                order_row(
                    o[5],
                    at(D1, "09:40"),
                    status="delivered",
                    kind="service",
                    total="80.00",
                    promised=at(D2, "10:00"),
                    delivered=at(D2, "08:00"),  # on time
                ),
                order_row(
                    o[6],
                    at(D1, "09:50"),
                    status="refunded",
                    total="19.99",
                    promised=at(D2, "15:00"),  # never delivered: late once the promise passed
                ),
                # Created on D2: three orders; O9 has an error.
                order_row(
                    o[7],
                    at(D2, "10:00"),
                    promised=at("2024-03-06", "10:00"),  # promised after the window
                    delivered=at("2024-03-06", "09:00"),
                ),
                order_row(o[8], at(D2, "11:00"), status="cancelled", total="20.00"),
                order_row(o[9], at(D2, "12:00"), status="under_review", total="30.00"),
                # Created the day before the window: outside it, whatever its record says.
                order_row(o[0], at("2024-03-03", "23:00")),
            ],
        )
        conn.execute(
            order_events.insert(),
            [
                event_row(o[2], 2, at(D1, "10:05"), "corrected", {"fields": ["payment"]}),
                event_row(
                    o[3],
                    2,
                    at("2024-03-08", "10:00"),  # found after the window: still counts
                    "case_opened",
                    {"kind": "return", "reason_code": "wrong_item"},
                ),
                event_row(
                    o[4],
                    2,
                    at(D2, "10:00"),
                    "case_opened",
                    {"kind": "return", "reason_code": "quality"},
                ),
                event_row(
                    o[5],
                    2,
                    at(D1, "12:00"),
                    "case_opened",
                    {"kind": "change", "caused_by_error": True},
                ),
                event_row(
                    o[6],
                    2,
                    at(D1, "12:00"),
                    "case_opened",
                    {"kind": "change", "caused_by_error": False},
                ),
                event_row(
                    o[9],
                    2,
                    at(D2, "13:00"),
                    "case_opened",
                    {"kind": "exchange", "reason_code": "wrong_item"},
                ),
                event_row(o[0], 2, at(D1, "08:00"), "corrected", {"fields": ["shipping"]}),
            ],
        )
        conn.execute(
            tasks.insert(),
            [
                # sales on D1: on time, late, open past its deadline (late), cancelled (not counted)
                task_row(
                    f"{p}T1", o[1], "sales", "review", at(D1, "12:00"), closed=at(D1, "11:00")
                ),
                task_row(
                    f"{p}T2", o[2], "sales", "review", at(D1, "14:00"), closed=at(D1, "15:00")
                ),
                task_row(f"{p}T3", o[3], "sales", "review", at(D1, "16:00"), state="open"),
                task_row(
                    f"{p}T4",
                    o[4],
                    "sales",
                    "review",
                    at(D1, "16:00"),
                    state="cancelled",
                    closed=at(D1, "17:00"),
                ),
                # warehouse: on time to the second on D1, on time on D2
                task_row(
                    f"{p}T5", o[1], "warehouse", "pack", at(D1, "10:00"), closed=at(D1, "10:00")
                ),
                task_row(
                    f"{p}T6", o[7], "warehouse", "pack", at(D2, "10:00"), closed=at(D2, "09:00")
                ),
                # logistics: a late DELIVER is not a person's step; a late dispatch on D2
                task_row(
                    f"{p}T7", o[2], "logistics", "deliver", at(D1, "20:00"), closed=at(D2, "09:00")
                ),
                task_row(
                    f"{p}T8", o[7], "logistics", "dispatch", at(D2, "08:00"), closed=at(D2, "09:30")
                ),
                # customer service answered feedback of no order on time
                task_row(
                    f"{p}T9",
                    None,
                    "customer_service",
                    "reply_feedback",
                    at(D1, "23:00"),
                    closed=at(D1, "13:00"),
                ),
                # due after the window
                task_row(
                    f"{p}T10", o[7], "sales", "review", at("2024-03-06", "09:00"), state="open"
                ),
            ],
        )
        conn.execute(
            ledger_entries.insert(),
            [
                ledger_row(o[1], "payment", "100.00", at(D1, "09:00")),
                ledger_row(o[2], "payment", "250.50", at(D1, "09:10")),
                ledger_row(o[3], "refund", "-50.00", at(D1, "18:00")),
                ledger_row(o[6], "compensation", "-10.00", at(D1, "19:00")),
                ledger_row(o[7], "payment", "80.00", at(D2, "10:00")),
                ledger_row(o[8], "refund", "-80.00", at(D2, "11:30")),
                ledger_row(o[9], "adjustment", "5.00", at(D2, "12:30")),
                ledger_row(o[0], "payment", "999.00", at("2024-03-06", "00:00")),
            ],
        )
        conn.execute(
            satisfaction_ratings.insert(),
            [
                rating_row(o[1], 5, at(D1, "20:00")),
                rating_row(o[2], 4, at(D1, "21:00"), channel="hotline"),
                rating_row(o[4], 2, at(D1, "22:00")),
                rating_row(o[5], 3, at(D2, "09:00"), channel="email"),
                rating_row(o[7], 1, at("2024-03-06", "10:00")),
            ],
        )
        conn.execute(
            feedback.insert(),
            [
                feedback_row(
                    f"{p}SEED-F1",
                    "complaint",
                    "online",
                    at(D1, "08:00"),
                    at(D2, "08:00"),
                    answered=at(D1, "09:00"),
                    state="resolved",
                ),
                feedback_row(
                    f"{p}SEED-F2",
                    "inquiry",
                    "hotline",
                    at(D1, "10:00"),
                    at(D2, "10:00"),
                    answered=at(D2, "11:00"),
                    state="replied",
                ),
                feedback_row(
                    f"{p}SEED-F3", "praise", "email", at(D2, "10:00"), at("2024-03-06", "10:00")
                ),
            ],
        )
