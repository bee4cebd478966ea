"""Scorecards (P8.2, P8.3) from the read model: the month's figures per department and per
member of staff, the targets in force, the stored evaluations and the confirmed standings.

A member's figures are the tasks they closed in the month (done; on time when closed by
the deadline) and the orders those tasks belonged to: the share with no error in their
record (the accuracy rule of the KPIs, `db/reports.py`) and the ratings customers gave
them. A department's are the same over the tasks its staff closed, except its on-time rate,
which is the KPI's (tasks due in the month, open ones past due counted late) and, for
logistics, the on-time delivery rate. Definitions: docs/kpis.md, "Scorecards".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select

from db.feedback_tables import satisfaction_ratings
from db.reports import count_if, delivery_rows, erroneous_orders, on_time_rows
from db.scorecard_tables import kpi_targets, scorecard_decisions, scorecard_evaluations
from db.staff_tables import staff_roles
from db.tables import staff, tasks
from db.training import last_training_by_staff
from domain.actors import WORKING_DEPARTMENTS, Department
from domain.reports import (
    NOT_HUMAN_STEPS,
    GroupBy,
    Kpi,
    ReportWindow,
    local_today,
    rate,
)
from domain.scorecards import (
    ScorecardSettings,
    ScoreLine,
    Standing,
    month_window,
    propose_standing,
)
from domain.tasks import TaskState
from domain.training import TrainingSettings, training_overdue

Row = dict[str, Any]
#: The `staff_id` of a department's own line.
DEPARTMENT_LINE = ""
#: An error in an order's record counts whenever it was found (an order handled in the
#: month may have been corrected before it).
SINCE_ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)


# --- targets --------------------------------------------------------------------------------


def set_target(
    conn: Connection,
    *,
    kpi: Kpi,
    department: str,
    target: float | None,
    effective_from: str,
    set_by: str,
    now: datetime,
    note: str = "",
) -> Row:
    """A new target (or its withdrawal, `target=None`) from `effective_from` on; kept as history."""
    row = {
        "kpi": kpi.value,
        "department": department,
        "target": target,
        "effective_from": effective_from,
        "set_by": set_by,
        "set_at": now,
        "note": note,
    }
    target_id = conn.execute(insert(kpi_targets).values(**row).returning(kpi_targets.c.target_id))
    return {"target_id": target_id.scalar_one(), **row}


def target_history(
    conn: Connection, *, department: str | None = None, kpi: str | None = None
) -> list[Row]:
    query = select(kpi_targets)
    if department is not None:
        query = query.where(kpi_targets.c.department == department)
    if kpi is not None:
        query = query.where(kpi_targets.c.kpi == kpi)
    query = query.order_by(kpi_targets.c.set_at.desc(), kpi_targets.c.target_id.desc())
    return [dict(r) for r in conn.execute(query).mappings()]


def targets_in_force(conn: Connection, period: str) -> dict[tuple[str, str], Row]:
    """Per (kpi, department), the target that applies to `period`: the latest set of those
    effective by then (a withdrawn one is left out)."""
    rows = conn.execute(
        select(kpi_targets)
        .where(kpi_targets.c.effective_from <= period)
        .order_by(kpi_targets.c.effective_from, kpi_targets.c.set_at, kpi_targets.c.target_id)
    ).mappings()
    latest: dict[tuple[str, str], Row] = {}
    for row in rows:
        latest[(row["kpi"], row["department"])] = dict(row)
    return {key: row for key, row in latest.items() if row["target"] is not None}


# --- the month's figures --------------------------------------------------------------------


@dataclass
class Handled:
    """What one person (or department) did in the month."""

    tasks_done: int = 0
    tasks_on_time: int = 0
    orders: int = 0
    accurate_orders: int = 0
    ratings: int = 0
    score_sum: int = 0
    satisfied: int = 0


def _closed_in(window: ReportWindow) -> list[Any]:
    return [
        tasks.c.state == TaskState.DONE.value,
        tasks.c.closed_at >= window.start,
        tasks.c.closed_at < window.end,
        tasks.c.kind.not_in([k.value for k in NOT_HUMAN_STEPS]),
        tasks.c.closed_by.is_not(None),
    ]


def handled_in(conn: Connection, window: ReportWindow, key: Any) -> dict[str, Handled]:
    """Per value of `key` (a person, `tasks.c.closed_by`, or a department): the tasks closed
    in the window and the orders they belonged to."""
    found: dict[str, Handled] = {}
    task_rows = conn.execute(
        select(
            key.label("key"),
            func.count().label("done"),
            count_if(tasks.c.closed_at <= tasks.c.due_at).label("on_time"),
        )
        .where(*_closed_in(window))
        .group_by(key)
    ).mappings()
    for row in task_rows:
        found[row["key"]] = Handled(tasks_done=int(row["done"]), tasks_on_time=int(row["on_time"]))

    handled = (
        select(key.label("key"), tasks.c.order_id.label("order_id"))
        .where(*_closed_in(window), tasks.c.order_id.is_not(None))
        .distinct()
        .subquery("handled")
    )
    erroneous = erroneous_orders(SINCE_ALWAYS)
    score = satisfaction_ratings.c.score
    order_rows = conn.execute(
        select(
            handled.c.key,
            func.count().label("orders"),
            (func.count() - func.count(erroneous.c.order_id)).label("accurate"),
            func.count(score).label("ratings"),
            func.coalesce(func.sum(score), 0).label("score_sum"),
            count_if(score >= 4).label("satisfied"),
        )
        .select_from(handled)
        .join(erroneous, erroneous.c.order_id == handled.c.order_id, isouter=True)
        .join(
            satisfaction_ratings,
            satisfaction_ratings.c.order_id == handled.c.order_id,
            isouter=True,
        )
        .group_by(handled.c.key)
    ).mappings()
    for row in order_rows:
        entry = found.setdefault(row["key"], Handled())
        entry.orders = int(row["orders"])
        entry.accurate_orders = int(row["accurate"])
        entry.ratings = int(row["ratings"])
        entry.score_sum = int(row["score_sum"])
        entry.satisfied = int(row["satisfied"])
    return found


def _line(kpi: Kpi, numerator: float, denominator: int, target: float | None) -> ScoreLine:
    actual = rate(numerator, denominator)
    if kpi is Kpi.CUSTOMER_SATISFACTION_MEAN and actual is not None:
        actual = round(actual, 2)
    return ScoreLine(kpi, numerator, denominator, actual, target)


def _order_lines(handled: Handled, targets: Mapping[Kpi, float]) -> list[ScoreLine]:
    """Accuracy and satisfaction of the orders handled."""
    return [
        _line(
            Kpi.ORDER_ACCURACY_RATE,
            handled.accurate_orders,
            handled.orders,
            targets.get(Kpi.ORDER_ACCURACY_RATE),
        ),
        _line(
            Kpi.CUSTOMER_SATISFACTION_MEAN,
            handled.score_sum,
            handled.ratings,
            targets.get(Kpi.CUSTOMER_SATISFACTION_MEAN),
        ),
        _line(
            Kpi.CUSTOMER_SATISFACTION_SHARE_4_5,
            handled.satisfied,
            handled.ratings,
            targets.get(Kpi.CUSTOMER_SATISFACTION_SHARE_4_5),
        ),
    ]


def _figures(lines: list[ScoreLine], settings: ScorecardSettings) -> list[Row]:
    return [
        {
            "kpi": line.kpi.value,
            "numerator": line.numerator,
            "denominator": line.denominator,
            "actual": line.actual,
            "target": line.target,
            "met": line.met(settings),
        }
        for line in lines
    ]


def _members(conn: Connection, window: ReportWindow) -> list[Row]:
    """Staff of the working departments who were on the books during the window."""
    query = (
        select(staff.c.staff_id, staff.c.name, staff.c.department, staff_roles.c.role)
        .select_from(staff.outerjoin(staff_roles, staff_roles.c.staff_id == staff.c.staff_id))
        .where(
            staff.c.department.in_([d.value for d in WORKING_DEPARTMENTS]),
            staff.c.created_at < window.end,
            or_(staff.c.revoked_at.is_(None), staff.c.revoked_at >= window.start),
        )
        .order_by(staff.c.department, staff.c.name, staff.c.staff_id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def evaluate(
    conn: Connection,
    period: str,
    now: datetime,
    settings: ScorecardSettings,
    *,
    utc_offset_hours: int = 0,
    training_overdue: Mapping[str, bool] | None = None,
) -> list[Row]:
    """Every scorecard line of the month: each working department, then its members.

    `training_overdue` names the customer-service members whose training is out of date
    (P7.1): they are flagged, and cannot be proposed `excellent`.
    """
    window = month_window(period, utc_offset_hours)
    in_force = targets_in_force(conn, period)
    by_person = handled_in(conn, window, tasks.c.closed_by)
    by_department = handled_in(conn, window, tasks.c.department)
    on_time = {r["department"]: r for r in on_time_rows(conn, window, GroupBy.ALL, now)}
    delivery = delivery_rows(conn, window, GroupBy.ALL, now)[0]
    members = _members(conn, window)
    overdue = training_overdue or {}

    lines: list[Row] = []
    for department in WORKING_DEPARTMENTS:
        targets = {
            Kpi(kpi): row["target"] for (kpi, dept), row in in_force.items() if dept == department
        }
        own = by_department.get(department.value, Handled())
        kpi_row = on_time[department.value]
        department_lines = [
            _line(
                Kpi.ORDER_PROCESSING_ON_TIME_RATE,
                kpi_row["numerator"],
                kpi_row["denominator"],
                targets.get(Kpi.ORDER_PROCESSING_ON_TIME_RATE),
            ),
            *_order_lines(own, targets),
        ]
        if department is Department.LOGISTICS:
            department_lines.append(
                _line(
                    Kpi.LOGISTICS_ON_TIME_DELIVERY_RATE,
                    delivery["numerator"],
                    delivery["denominator"],
                    targets.get(Kpi.LOGISTICS_ON_TIME_DELIVERY_RATE),
                )
            )
        people = [m for m in members if m["department"] == department.value]
        flagged = [m["staff_id"] for m in people if overdue.get(m["staff_id"])]
        lines.append(
            {
                "department": department.value,
                "staff_id": DEPARTMENT_LINE,
                "name": None,
                "role": None,
                "tasks_done": own.tasks_done,
                "tasks_on_time": own.tasks_on_time,
                "orders_handled": own.orders,
                "figures": _figures(department_lines, settings),
                "training_overdue": None,
                "members_training_overdue": flagged,
                "proposed": _value(propose_standing(department_lines, settings)),
            }
        )
        for member in people:
            mine = by_person.get(member["staff_id"], Handled())
            member_lines = [
                _line(
                    Kpi.ORDER_PROCESSING_ON_TIME_RATE,
                    mine.tasks_on_time,
                    mine.tasks_done,
                    targets.get(Kpi.ORDER_PROCESSING_ON_TIME_RATE),
                ),
                *_order_lines(mine, targets),
            ]
            late_training = bool(overdue.get(member["staff_id"]))
            lines.append(
                {
                    "department": department.value,
                    "staff_id": member["staff_id"],
                    "name": member["name"],
                    "role": member["role"] or "member",
                    "tasks_done": mine.tasks_done,
                    "tasks_on_time": mine.tasks_on_time,
                    "orders_handled": mine.orders,
                    "figures": _figures(member_lines, settings),
                    "training_overdue": late_training
                    if department is Department.CUSTOMER_SERVICE
                    else None,
                    "members_training_overdue": [],
                    "proposed": _value(
                        propose_standing(member_lines, settings, training_overdue=late_training)
                    ),
                }
            )
    return lines


def _value(standing: Standing | None) -> str | None:
    return standing.value if standing else None


# --- stored evaluations and decisions -------------------------------------------------------


def store_evaluation(
    conn: Connection, period: str, lines: list[Row], now: datetime, workflow_id: str | None
) -> None:
    """The month's evaluation, replacing an earlier one of the same month (a rerun)."""
    conn.execute(delete(scorecard_evaluations).where(scorecard_evaluations.c.period == period))
    if lines:
        conn.execute(
            insert(scorecard_evaluations),
            [
                {
                    "period": period,
                    "department": line["department"],
                    "staff_id": line["staff_id"],
                    "evaluated_at": now,
                    "workflow_id": workflow_id,
                    "proposed": line["proposed"],
                    "figures": line,
                }
                for line in lines
            ],
        )


def stored_evaluation(conn: Connection, period: str) -> tuple[datetime, list[Row]] | None:
    rows = list(
        conn.execute(
            select(scorecard_evaluations).where(scorecard_evaluations.c.period == period)
        ).mappings()
    )
    if not rows:
        return None
    order = {d.value: n for n, d in enumerate(WORKING_DEPARTMENTS)}
    lines = [dict(r["figures"]) for r in rows]
    lines.sort(
        key=lambda line: (
            order.get(line["department"], 99),
            line["staff_id"] != DEPARTMENT_LINE,
            line.get("name") or "",
            line["staff_id"],
        )
    )
    return max(r["evaluated_at"] for r in rows), lines


def record_decision(
    conn: Connection,
    *,
    period: str,
    department: str,
    staff_id: str,
    standing: Standing,
    note: str,
    decided_by: str,
    now: datetime,
) -> Row:
    row = {
        "period": period,
        "department": department,
        "staff_id": staff_id,
        "standing": standing.value,
        "note": note,
        "decided_by": decided_by,
        "decided_at": now,
    }
    decision_id = conn.execute(
        insert(scorecard_decisions).values(**row).returning(scorecard_decisions.c.decision_id)
    )
    return {"decision_id": decision_id.scalar_one(), **row}


def decisions(conn: Connection, period: str) -> dict[tuple[str, str], list[Row]]:
    """Per (department, staff_id), the decisions of the month, latest first."""
    rows = conn.execute(
        select(scorecard_decisions)
        .where(scorecard_decisions.c.period == period)
        .order_by(scorecard_decisions.c.decided_at.desc(), scorecard_decisions.c.decision_id.desc())
    ).mappings()
    found: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        found.setdefault((row["department"], row["staff_id"]), []).append(dict(row))
    return found


def latest_decision_if_same(
    conn: Connection, *, period: str, department: str, staff_id: str, standing: Standing, note: str
) -> Row | None:
    """The decision in force when it already says this (a retried request adds no row)."""
    found = decisions(conn, period).get((department, staff_id))
    if found and found[0]["standing"] == standing.value and found[0]["note"] == note:
        return found[0]
    return None


def training_flags(
    conn: Connection, period: str, now: datetime, training: TrainingSettings, utc_offset: int = 0
) -> dict[str, bool]:
    """P7.1: the customer-service members whose training was out of date at the month's end
    (or today, in a month not over): sessions held after that day do not count."""
    window = month_window(period, utc_offset)
    judged_on = min(window.last_day, local_today(now, utc_offset))
    last_trained = last_training_by_staff(conn, now, held_by=judged_on)
    return {
        staff_id: training_overdue(last, judged_on, training.max_age_days)
        for staff_id, last in last_trained.items()
    }
