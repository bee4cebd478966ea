"""Reports (P6.3) and KPIs (P8.2) as SQL aggregations over the read model.

Every function reads one time range of one covering index (see `db/report_tables.py`)
and groups in the database; Python only names the periods, fills the empty ones
and divides. Days are counted in the company's time zone (`utc_offset_hours`).
Definitions of every KPI: `docs/kpis.md`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal_column, or_, select

from db.feedback_tables import feedback, satisfaction_ratings
from db.report_tables import report_snapshots
from db.tables import ledger_entries, order_events, orders, tasks
from db.upsert import upsert
from domain.actors import WORKING_DEPARTMENTS
from domain.feedback import Channel, FeedbackKind, FeedbackState
from domain.order.details import PaymentMethod
from domain.reports import (
    ALL_DEPARTMENTS,
    ERROR_CASE_KINDS,
    ERROR_REASON_CODE,
    NOT_HUMAN_STEPS,
    GroupBy,
    Kpi,
    ReportWindow,
    rate,
)
from domain.states import TERMINAL, OrderStatus
from domain.tasks import TaskState

Row = dict[str, Any]


# --- periods ----------------------------------------------------------------------------------


def period_of(column: Any, group_by: GroupBy, window: ReportWindow, dialect: str) -> Any:
    """SQL for the first day (YYYY-MM-DD) of the period a timestamp falls in, local time."""
    hours = window.utc_offset_hours
    if dialect == "sqlite":
        shift = [f"{hours:+d} hours"] if hours else []
        if group_by is GroupBy.DAY:
            return func.strftime("%Y-%m-%d", column, *shift)
        if group_by is GroupBy.WEEK:  # the Monday on or before the day
            return func.date(column, *shift, "weekday 0", "-6 days")
        return func.strftime("%Y-%m-01", column, *shift)
    shifted = column + literal_column(f"interval '{int(hours)} hours'") if hours else column
    unit = {GroupBy.DAY: "day", GroupBy.WEEK: "week", GroupBy.MONTH: "month"}[group_by]
    return func.to_char(func.date_trunc(unit, shifted), "YYYY-MM-DD")


def period_starts(window: ReportWindow, group_by: GroupBy) -> list[str]:
    """Every period of the window, so that a quiet day still has its row (of zeros)."""
    if group_by is GroupBy.ALL:
        return [whole_window(window)]
    first = window.first_day
    if group_by is GroupBy.WEEK:
        first -= timedelta(days=first.weekday())
    elif group_by is GroupBy.MONTH:
        first = first.replace(day=1)
    starts: list[str] = []
    day = first
    while day <= window.last_day:
        starts.append(day.isoformat())
        try:
            if group_by is GroupBy.DAY:
                day += timedelta(days=1)
            elif group_by is GroupBy.WEEK:
                day += timedelta(days=7)
            else:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        except OverflowError:  # the period after it would begin after year 9999
            break
    return starts


def whole_window(window: ReportWindow) -> str:
    return f"{window.first_day.isoformat()}/{window.last_day.isoformat()}"


def _grouped(
    conn: Connection,
    columns: Sequence[Any],
    *,
    time_column: Any,
    window: ReportWindow,
    group_by: GroupBy,
    dimensions: Sequence[Any] = (),
    where: Iterable[ColumnElement[bool]] = (),
    joins: Sequence[tuple[Any, ColumnElement[bool]]] = (),
    from_table: Any,
) -> list[Row]:
    """Aggregate `columns` per period (and dimension) over `[window.start, window.end)`."""
    keys: list[Any] = []
    if group_by is not GroupBy.ALL:
        keys.append(period_of(time_column, group_by, window, conn.dialect.name).label("period"))
    keys += list(dimensions)
    query = select(*keys, *columns).select_from(from_table)
    for table, on in joins:
        query = query.join(table, on, isouter=True)
    query = query.where(time_column >= window.start, time_column < window.end, *where)
    if keys:
        query = query.group_by(*keys)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    if group_by is GroupBy.ALL:
        for row in rows:
            row["period"] = whole_window(window)
    return rows


def count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _fill(
    rows: list[Row],
    window: ReportWindow,
    group_by: GroupBy,
    zero: Row,
    dimension: tuple[str, Sequence[str]] | None = None,
) -> list[Row]:
    """One row per period (and dimension value), in order; missing ones get `zero`."""
    key_name = dimension[0] if dimension else None
    found = {(r["period"], r.get(key_name) if key_name else None): r for r in rows}
    values: Sequence[str | None] = dimension[1] if dimension else [None]
    filled: list[Row] = []
    for period in period_starts(window, group_by):
        for value in values:
            row = found.get((period, value))
            base: Row = {"period": period}
            if key_name:
                base[key_name] = value
            filled.append({**base, **zero, **(row or {}), **base})
    return filled


def _money(value: Any) -> str:
    return f"{Decimal(value or 0).quantize(Decimal('0.01'))}"


# --- reports (P6.3) ---------------------------------------------------------------------------

ORDER_COLUMNS = (
    "period",
    "orders",
    "goods",
    "service",
    "open",
    "completed",
    "cancelled",
    "rejected",
    "returned",
    "refunded",
    "gross_amount",
)


def orders_report(conn: Connection, window: ReportWindow, group_by: GroupBy) -> list[Row]:
    """Order volume by the day the order arrived: how many, of which kind, where they stand."""
    status = orders.c.status
    terminal = [s.value for s in TERMINAL]
    counts = [
        func.count().label("orders"),
        count_if(orders.c.kind == "goods").label("goods"),
        count_if(orders.c.kind == "service").label("service"),
        count_if(status.not_in(terminal)).label("open"),
        *(
            count_if(status == s.value).label(s.value)
            for s in (
                OrderStatus.COMPLETED,
                OrderStatus.CANCELLED,
                OrderStatus.REJECTED,
                OrderStatus.RETURNED,
                OrderStatus.REFUNDED,
            )
        ),
        func.coalesce(func.sum(orders.c.total_amount), 0).label("gross_amount"),
    ]
    rows = _grouped(
        conn,
        counts,
        time_column=orders.c.created_at,
        window=window,
        group_by=group_by,
        from_table=orders,
    )
    zero: Row = {name: 0 for name in ORDER_COLUMNS[1:]}
    filled = _fill(rows, window, group_by, zero)
    for row in filled:
        row["gross_amount"] = _money(_cents(row["gross_amount"]))
    return [{name: row[name] for name in ORDER_COLUMNS} for row in filled]


def _cents(value: Any) -> Decimal:
    """A sum over a Cents column comes back as Decimal, or as raw cents where SQL lost the type."""
    if isinstance(value, Decimal):
        return value
    return Decimal(int(value or 0)) / 100


REVENUE_COLUMNS = (
    "period",
    "payments",
    "refunds",
    "net_revenue",
    "cash_on_delivery",
    "compensation",
    "adjustments",
    "net_cash",
    "entries",
)


def revenue_report(conn: Connection, window: ReportWindow, group_by: GroupBy) -> list[Row]:
    """Sales revenue net of refunds, from the ledger (signed amounts: payment +, refund -);
    `cash_on_delivery` is the part of the payments the carriers remitted (P2.1)."""
    kind, amount = ledger_entries.c.kind, ledger_entries.c.amount
    on_delivery = orders.c.payment_method == PaymentMethod.CASH_ON_DELIVERY.value

    def sum_of(name: str, *also: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((and_(kind == name, *also), amount), else_=0)), 0)

    rows = _grouped(
        conn,
        [
            sum_of("payment").label("payments"),
            sum_of("refund").label("refunds"),
            sum_of("payment", on_delivery).label("cash_on_delivery"),
            sum_of("compensation").label("compensation"),
            sum_of("adjustment").label("adjustments"),
            func.coalesce(func.sum(amount), 0).label("net_cash"),
            func.count().label("entries"),
        ],
        time_column=ledger_entries.c.at,
        window=window,
        group_by=group_by,
        joins=[(orders, orders.c.order_id == ledger_entries.c.order_id)],
        from_table=ledger_entries,
    )
    zero: Row = {"payments": 0, "refunds": 0, "compensation": 0, "adjustments": 0}
    zero |= {"cash_on_delivery": 0}
    zero |= {"net_cash": 0, "entries": 0}
    out: list[Row] = []
    for row in _fill(rows, window, group_by, zero):
        payments, refunds = _cents(row["payments"]), _cents(row["refunds"])
        out.append(
            {
                "period": row["period"],
                "payments": _money(payments),
                "refunds": _money(refunds),
                "net_revenue": _money(payments + refunds),
                "cash_on_delivery": _money(_cents(row["cash_on_delivery"])),
                "compensation": _money(_cents(row["compensation"])),
                "adjustments": _money(_cents(row["adjustments"])),
                "net_cash": _money(_cents(row["net_cash"])),
                "entries": int(row["entries"]),
            }
        )
    return out


#: The feedback counts of a satisfaction row (P7), zero where a period had none.
FEEDBACK_COUNTS = (
    "feedback",
    "inquiries",
    "complaints",
    "praise",
    "answered",
    "answered_on_time",
    "resolved",
)

SATISFACTION_COLUMNS = (
    "period",
    "channel",
    "ratings",
    "mean_rating",
    "satisfied",
    "share_satisfied",
    "score_1",
    "score_2",
    "score_3",
    "score_4",
    "score_5",
    *FEEDBACK_COUNTS,
)


def satisfaction_report(
    conn: Connection, window: ReportWindow, group_by: GroupBy, *, by_channel: bool = False
) -> list[Row]:
    """Ratings given, and feedback received (P7.3 summaries), per period (and channel)."""
    score = satisfaction_ratings.c.score
    rating_dims = [satisfaction_ratings.c.channel.label("channel")] if by_channel else []
    ratings = _grouped(
        conn,
        [
            func.count().label("ratings"),
            func.coalesce(func.sum(score), 0).label("score_sum"),
            *(count_if(score == n).label(f"score_{n}") for n in range(1, 6)),
        ],
        time_column=satisfaction_ratings.c.rated_at,
        window=window,
        group_by=group_by,
        dimensions=rating_dims,
        from_table=satisfaction_ratings,
    )
    answered_at = feedback.c.first_reply_at
    feedback_dims = [feedback.c.channel.label("channel")] if by_channel else []
    received = _grouped(
        conn,
        [
            func.count().label("feedback"),
            count_if(feedback.c.kind == FeedbackKind.INQUIRY.value).label("inquiries"),
            count_if(feedback.c.kind == FeedbackKind.COMPLAINT.value).label("complaints"),
            count_if(feedback.c.kind == FeedbackKind.PRAISE.value).label("praise"),
            count_if(answered_at.is_not(None)).label("answered"),
            count_if(answered_at <= feedback.c.first_reply_due_at).label("answered_on_time"),
            count_if(feedback.c.state == FeedbackState.RESOLVED.value).label("resolved"),
        ],
        time_column=feedback.c.received_at,
        window=window,
        group_by=group_by,
        dimensions=feedback_dims,
        from_table=feedback,
    )
    dimension = ("channel", [c.value for c in Channel]) if by_channel else None
    rating_zero: Row = {"ratings": 0, "score_sum": 0} | {f"score_{n}": 0 for n in range(1, 6)}
    feedback_zero: Row = dict.fromkeys(FEEDBACK_COUNTS, 0)
    ratings = _fill(ratings, window, group_by, rating_zero, dimension)
    received = _fill(received, window, group_by, feedback_zero, dimension)
    out: list[Row] = []
    for r, f in zip(ratings, received, strict=True):
        satisfied = int(r["score_4"]) + int(r["score_5"])
        row: Row = {
            "period": r["period"],
            "channel": r.get("channel", "all"),
            "ratings": int(r["ratings"]),
            "mean_rating": rate(int(r["score_sum"]), int(r["ratings"])),
            "satisfied": satisfied,
            "share_satisfied": rate(satisfied, int(r["ratings"])),
            **{f"score_{n}": int(r[f"score_{n}"]) for n in range(1, 6)},
            **{name: int(f[name]) for name in feedback_zero},
        }
        out.append({name: row[name] for name in SATISFACTION_COLUMNS})
    return out


# --- KPIs (P8.2) ------------------------------------------------------------------------------

KPI_COLUMNS = ("period", "kpi", "department", "numerator", "denominator", "value")


def _kpi_row(period: str, kpi: Kpi, department: str, numerator: Any, denominator: Any) -> Row:
    return {
        "period": period,
        "kpi": kpi.value,
        "department": department,
        "numerator": int(numerator),
        "denominator": int(denominator),
        "value": rate(int(numerator), int(denominator)),
    }


def on_time_rows(
    conn: Connection, window: ReportWindow, group_by: GroupBy, now: datetime
) -> list[Row]:
    """Order processing on-time rate per department, by the tasks' deadlines."""
    done = tasks.c.state == TaskState.DONE.value
    rows = _grouped(
        conn,
        [
            func.count().label("denominator"),
            count_if(and_(done, tasks.c.closed_at <= tasks.c.due_at)).label("numerator"),
        ],
        time_column=tasks.c.due_at,
        window=window,
        group_by=group_by,
        dimensions=[tasks.c.department.label("department")],
        where=[
            tasks.c.kind.not_in([k.value for k in NOT_HUMAN_STEPS]),
            tasks.c.state != TaskState.CANCELLED.value,
            # An open task counts once its deadline has passed: it is late whatever happens.
            or_(done, tasks.c.due_at < now),
        ],
        from_table=tasks,
    )
    departments = [d.value for d in WORKING_DEPARTMENTS]
    filled = _fill(
        rows, window, group_by, {"numerator": 0, "denominator": 0}, ("department", departments)
    )
    return [
        _kpi_row(
            r["period"],
            Kpi.ORDER_PROCESSING_ON_TIME_RATE,
            r["department"],
            r["numerator"],
            r["denominator"],
        )
        for r in filled
    ]


def erroneous_orders(since: datetime) -> Any:
    """Orders with an error in their record since `since` (an error never precedes the order)."""
    data = order_events.c.data
    case_kind = data["kind"].as_string()
    error_case = or_(
        and_(
            case_kind.in_(ERROR_CASE_KINDS),
            data["reason_code"].as_string() == ERROR_REASON_CODE,
        ),
        and_(case_kind == "change", data["caused_by_error"].as_boolean().is_(True)),
    )
    return (
        select(order_events.c.order_id)
        .where(
            order_events.c.kind.in_(["corrected", "case_opened"]),
            order_events.c.at >= since,
            or_(order_events.c.kind == "corrected", error_case),
        )
        .distinct()
        .subquery("erroneous")
    )


def accuracy_rows(conn: Connection, window: ReportWindow, group_by: GroupBy) -> list[Row]:
    """Order accuracy rate, over the orders created in each period."""
    erroneous = erroneous_orders(window.start)
    rows = _grouped(
        conn,
        [
            func.count().label("denominator"),
            (func.count() - func.count(erroneous.c.order_id)).label("numerator"),
        ],
        time_column=orders.c.created_at,
        window=window,
        group_by=group_by,
        joins=[(erroneous, erroneous.c.order_id == orders.c.order_id)],
        from_table=orders,
    )
    filled = _fill(rows, window, group_by, {"numerator": 0, "denominator": 0})
    return [
        _kpi_row(
            r["period"], Kpi.ORDER_ACCURACY_RATE, ALL_DEPARTMENTS, r["numerator"], r["denominator"]
        )
        for r in filled
    ]


def satisfaction_rows(conn: Connection, window: ReportWindow, group_by: GroupBy) -> list[Row]:
    """Customer satisfaction: the mean rating, and the share of 4s and 5s."""
    score = satisfaction_ratings.c.score
    rows = _grouped(
        conn,
        [
            func.count().label("ratings"),
            func.coalesce(func.sum(score), 0).label("score_sum"),
            count_if(score >= 4).label("satisfied"),
        ],
        time_column=satisfaction_ratings.c.rated_at,
        window=window,
        group_by=group_by,
        from_table=satisfaction_ratings,
    )
    filled = _fill(rows, window, group_by, {"ratings": 0, "score_sum": 0, "satisfied": 0})
    out: list[Row] = []
    for r in filled:
        out.append(
            _kpi_row(
                r["period"],
                Kpi.CUSTOMER_SATISFACTION_MEAN,
                ALL_DEPARTMENTS,
                r["score_sum"],
                r["ratings"],
            )
        )
        out.append(
            _kpi_row(
                r["period"],
                Kpi.CUSTOMER_SATISFACTION_SHARE_4_5,
                ALL_DEPARTMENTS,
                r["satisfied"],
                r["ratings"],
            )
        )
    return out


def delivery_rows(
    conn: Connection, window: ReportWindow, group_by: GroupBy, now: datetime
) -> list[Row]:
    """Logistics on-time delivery rate, by the promised delivery time."""
    promised, delivered = orders.c.promised_delivery_at, orders.c.delivered_at
    rows = _grouped(
        conn,
        [
            func.count().label("denominator"),
            count_if(and_(delivered.is_not(None), delivered <= promised)).label("numerator"),
        ],
        time_column=promised,
        window=window,
        group_by=group_by,
        # Still in transit before its promise: the outcome is not known yet.
        where=[or_(delivered.is_not(None), promised < now)],
        from_table=orders,
    )
    filled = _fill(rows, window, group_by, {"numerator": 0, "denominator": 0})
    return [
        _kpi_row(
            r["period"],
            Kpi.LOGISTICS_ON_TIME_DELIVERY_RATE,
            "logistics",
            r["numerator"],
            r["denominator"],
        )
        for r in filled
    ]


def kpis(
    conn: Connection,
    window: ReportWindow,
    group_by: GroupBy,
    now: datetime,
    *,
    department: str | None = None,
) -> list[Row]:
    """Every KPI per period: per department where it applies, else under `all`."""
    rows = [
        *on_time_rows(conn, window, group_by, now),
        *accuracy_rows(conn, window, group_by),
        *satisfaction_rows(conn, window, group_by),
        *delivery_rows(conn, window, group_by, now),
    ]
    if department is not None:
        rows = [r for r in rows if r["department"] == department]
    order = {k.value: n for n, k in enumerate(Kpi)}
    rows.sort(key=lambda r: (r["period"], order[r["kpi"]], r["department"]))
    return rows


# --- daily snapshots --------------------------------------------------------------------------


def daily_content(conn: Connection, window: ReportWindow, now: datetime) -> Row:
    """What a day's snapshot holds: every report and every KPI over that day."""
    whole = GroupBy.ALL
    return {
        "orders": orders_report(conn, window, whole)[0],
        "revenue": revenue_report(conn, window, whole)[0],
        "satisfaction": satisfaction_report(conn, window, whole)[0],
        "kpis": kpis(conn, window, whole, now),
    }


def store_snapshot(
    conn: Connection,
    day: date,
    utc_offset_hours: int,
    content: Row,
    workflow_id: str,
    now: datetime,
) -> None:
    """One row per day: a run for the same day again replaces it with the newer figures."""
    upsert(
        conn,
        report_snapshots,
        {
            "day": day,
            "utc_offset_hours": utc_offset_hours,
            "computed_at": now,
            "workflow_id": workflow_id,
            "content": content,
        },
        keys=["day"],
    )


def list_snapshots(conn: Connection, first_day: date, last_day: date) -> list[Row]:
    rows = conn.execute(
        select(report_snapshots)
        .where(report_snapshots.c.day >= first_day, report_snapshots.c.day <= last_day)
        .order_by(report_snapshots.c.day.desc())
    ).mappings()
    return [dict(r) for r in rows]
