"""The supervisor dashboard: the P8.2 KPIs per department and period, order volume and
revenue over time (P6.3) as charts, the causes of resolved feedback against the window
before (P7.3.2), the members of customer service due for training (P7.1), and every
report as a CSV download.

Figures come from the API's report routes (`api/routes/reports.py`), called as the
API calls them, so the dashboard, the JSON and the CSV always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.console.access import (
    REPORTS,
    UNGROUPED_REPORTS,
    ConsoleError,
    app_state,
    staff_of,
    viewer_of,
)
from api.console.charts import Point, bar_chart, line_chart
from api.console.filters import choice, date_filter
from api.console.i18n import Locale
from api.console.render import finish, page
from api.errors import ApiError
from api.routes import feedback_causes, reports, training
from domain.actors import Department
from domain.feedback_analysis import RESPONSIBLE_DEPARTMENTS
from domain.reports import ALL_DEPARTMENTS, GroupBy, Kpi, ReportFormat

router = APIRouter()

FromDate = Annotated[str, Query(alias="from")]

#: KPIs that are a mean rather than a share.
MEANS = frozenset({Kpi.CUSTOMER_SATISFACTION_MEAN.value})


@dataclass(frozen=True)
class KpiCell:
    shown: str
    numerator: int
    denominator: int


@dataclass(frozen=True)
class KpiRow:
    kpi: str
    department: str
    cells: list[KpiCell]


def _body(response: Response) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bytes(response.body))
    return data


def kpi_table(rows: list[dict[str, Any]], locale: Locale) -> tuple[list[str], list[KpiRow]]:
    """KPIs as (periods, one row per KPI and department with a cell per period)."""
    periods = sorted({r["period"] for r in rows})
    order = {k.value: n for n, k in enumerate(Kpi)}
    departments = {d.value: n for n, d in enumerate(Department)}
    keys = sorted(
        {(r["kpi"], r["department"]) for r in rows},
        key=lambda k: (order[k[0]], departments.get(k[1], len(departments))),
    )
    by_key = {(r["kpi"], r["department"], r["period"]): r for r in rows}
    table = []
    for kpi, department in keys:
        cells = []
        for period in periods:
            row = by_key.get((kpi, department, period))
            value = row["value"] if row else None
            shown = (
                locale.number(value, 2)
                if kpi in MEANS and value is not None
                else locale.percent(value)
            )
            cells.append(
                KpiCell(shown, row["numerator"] if row else 0, row["denominator"] if row else 0)
            )
        table.append(KpiRow(kpi, department, cells))
    return periods, table


@dataclass(frozen=True)
class CauseRow:
    cause: str
    label: str
    active: bool
    count: int
    previous: int
    change: int
    share: str
    #: This window's count per responsible department, in RESPONSIBLE_DEPARTMENTS' order.
    departments: list[int]


def cause_table(rows: list[dict[str, Any]], locale: Locale) -> list[CauseRow]:
    """The feedback-causes report's rows as the dashboard shows them: every cause counted in
    either window, and the causes in use even at zero."""
    zh = locale.language.startswith("zh")
    return [
        CauseRow(
            cause=r["cause"],
            label=r["label_zh"] if zh else r["label_en"],
            active=bool(r["active"]),
            count=r["count"],
            previous=r["previous_count"],
            change=r["change"],
            share=locale.percent(r["share"]),
            departments=[r[d.value] for d in RESPONSIBLE_DEPARTMENTS],
        )
        for r in rows
    ]


def period_label(period: str, group_by: GroupBy, locale: Locale) -> str:
    if group_by is GroupBy.ALL:
        return locale.t("dashboard.whole_window")
    try:
        day = date.fromisoformat(period)
    except ValueError:
        return period
    key = "format.month" if group_by is GroupBy.MONTH else "format.day_short"
    return locale.t(
        key, year=day.year, month=day.month, month_name=locale.t(f"month.{day.month}"), day=day.day
    )


def charts(
    orders_rows: list[dict[str, Any]],
    revenue_rows: list[dict[str, Any]],
    group_by: GroupBy,
    locale: Locale,
) -> tuple[Markup, Markup]:
    volume = [
        Point(period_label(r["period"], group_by, locale), r["orders"], locale.number(r["orders"]))
        for r in orders_rows
    ]
    revenue = [
        Point(
            period_label(r["period"], group_by, locale),
            float(Decimal(r["net_revenue"])),
            locale.money(r["net_revenue"]),
        )
        for r in revenue_rows
    ]
    return (
        bar_chart(
            "chart-orders",
            volume,
            title=locale.t("dashboard.chart.orders"),
            description=locale.t("dashboard.chart.orders_desc"),
            scale=lambda v: locale.number(v),
        ),
        line_chart(
            "chart-revenue",
            revenue,
            title=locale.t("dashboard.chart.revenue"),
            description=locale.t("dashboard.chart.revenue_desc"),
            scale=lambda v: locale.money(Decimal(str(round(v, 2)))),
        ),
    )


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    first: FromDate = "",
    to: str = "",
    group_by: str = "week",
    department: str = "",
) -> HTMLResponse:
    viewer = viewer_of(request)
    staff = staff_of(request)
    state = app_state(request)
    grouping = choice(GroupBy, group_by, "group_by") or GroupBy.WEEK
    if department and department != ALL_DEPARTMENTS:
        choice(Department, department, "department")
    values = {"from": first, "to": to, "group_by": grouping.value, "department": department}
    context: dict[str, Any] = {
        "values": values,
        "groupings": list(GroupBy),
        "departments": [ALL_DEPARTMENTS, *(d.value for d in Department)],
        "downloads": list(REPORTS),
    }
    try:
        first_day, last_day = date_filter(first, "from"), date_filter(to, "to")
        kpis = _body(
            await reports.kpis(
                staff,
                state,
                first=first_day,
                last=last_day,
                group_by=grouping,
                department=department or None,
                fmt=ReportFormat.JSON,
            )
        )
        volume = _body(
            await reports.orders_report(
                staff, state, first=first_day, last=last_day, group_by=grouping
            )
        )
        revenue = _body(
            await reports.revenue_report(
                staff, state, first=first_day, last=last_day, group_by=grouping
            )
        )
        causes = _body(
            await feedback_causes.feedback_causes_report(
                staff, state, first=first_day, last=last_day, fmt=ReportFormat.JSON
            )
        )
    except (ApiError, ConsoleError) as error:
        if error.status_code != 422:
            raise
        return page(request, "dashboard.html", status_code=422, error=True, **context)
    periods, table = kpi_table(kpis["rows"], viewer.locale)
    orders_chart, revenue_chart = charts(volume["rows"], revenue["rows"], grouping, viewer.locale)
    values |= {"from": kpis["from"], "to": kpis["to"]}
    due = await training.training_due(staff, state, everyone=False)
    return page(
        request,
        "dashboard.html",
        error=False,
        utc_offset=f"{kpis['utc_offset_hours']:+d}",
        periods=[period_label(p, grouping, viewer.locale) for p in periods],
        kpi_rows=table,
        orders_chart=orders_chart,
        revenue_chart=revenue_chart,
        volume=volume["rows"],
        revenue=revenue["rows"],
        period_label=lambda p: period_label(p, grouping, viewer.locale),
        cause_rows=cause_table(causes["rows"], viewer.locale),
        causes=causes,
        cause_departments=[d.value for d in RESPONSIBLE_DEPARTMENTS],
        training_due=due,
        **context,
    )


@router.get("/dashboard/{report}.csv")
async def download(
    request: Request, report: str, first: FromDate = "", to: str = "", group_by: str = "day"
) -> Response:
    """The report as the API's CSV (`?format=csv`), the same rows as the dashboard's."""
    viewer = viewer_of(request)
    route = REPORTS[report]  # the gate answered 404 for an unknown report
    grouping: dict[str, GroupBy] = {}
    if report not in UNGROUPED_REPORTS:
        grouping["group_by"] = choice(GroupBy, group_by, "group_by") or GroupBy.DAY
    response: Response = await route(
        staff_of(request),
        app_state(request),
        first=date_filter(first, "from"),
        last=date_filter(to, "to"),
        fmt=ReportFormat.CSV,
        **grouping,
    )
    finish(response, viewer)
    return response
