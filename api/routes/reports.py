"""Reports (P6.3), KPIs (P8.2) and the daily snapshots, for the supervision group.

Every report takes `from`/`to` (dates, both included, in the company's time zone),
`group_by` (day, week, month, or all for the whole window) and `format` (json, csv).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection

from api.deps import CurrentStaff, State
from api.errors import ApiError
from api.tabular import table_response
from db import reports
from domain.reports import (
    KPI_DEFINITIONS,
    GroupBy,
    ReportFormat,
    ReportWindow,
    WindowError,
    local_today,
    report_window,
)

router = APIRouter(prefix="/api/v1", tags=["reports"])

FromDate = Annotated[date | None, Query(alias="from", description="first day, included")]
ToDate = Annotated[date | None, Query(alias="to", description="last day, included")]
Format = Annotated[ReportFormat, Query(alias="format")]


def _window(state: State, first: date | None, last: date | None) -> ReportWindow:
    settings = state.settings.reports
    try:
        return report_window(
            first,
            last,
            today=local_today(datetime.now(UTC), settings.utc_offset_hours),
            utc_offset_hours=settings.utc_offset_hours,
            default_days=settings.default_window_days,
        )
    except WindowError as error:
        raise ApiError(422, error.message, field=error.field) from None


async def _read(state: State, query: Callable[[Connection], list[dict[str, Any]]]) -> Any:
    def read() -> list[dict[str, Any]]:
        with state.db.read() as conn:
            return query(conn)

    return await run_in_threadpool(read)


@router.get("/reports/orders", response_class=Response)
async def orders_report(
    staff: CurrentStaff,
    state: State,
    first: FromDate = None,
    last: ToDate = None,
    group_by: GroupBy = GroupBy.DAY,
    fmt: Format = ReportFormat.JSON,
) -> Response:
    """Order volume by the day orders arrived: count, kind, where they stand, gross amount."""
    window = _window(state, first, last)
    rows = await _read(state, lambda conn: reports.orders_report(conn, window, group_by))
    return table_response("orders", window, group_by, reports.ORDER_COLUMNS, rows, fmt)


@router.get("/reports/revenue", response_class=Response)
async def revenue_report(
    staff: CurrentStaff,
    state: State,
    first: FromDate = None,
    last: ToDate = None,
    group_by: GroupBy = GroupBy.DAY,
    fmt: Format = ReportFormat.JSON,
) -> Response:
    """Sales revenue net of refunds, from the ledger; compensation and adjustments apart."""
    window = _window(state, first, last)
    rows = await _read(state, lambda conn: reports.revenue_report(conn, window, group_by))
    return table_response("revenue", window, group_by, reports.REVENUE_COLUMNS, rows, fmt)


@router.get("/reports/satisfaction", response_class=Response)
async def satisfaction_report(
    staff: CurrentStaff,
    state: State,
    first: FromDate = None,
    last: ToDate = None,
    group_by: GroupBy = GroupBy.DAY,
    by: Annotated[str | None, Query(pattern="^channel$")] = None,
    fmt: Format = ReportFormat.JSON,
) -> Response:
    """Customer satisfaction: ratings and feedback received, per period (and channel)."""
    window = _window(state, first, last)
    rows = await _read(
        state,
        lambda conn: reports.satisfaction_report(
            conn, window, group_by, by_channel=by == "channel"
        ),
    )
    return table_response("satisfaction", window, group_by, reports.SATISFACTION_COLUMNS, rows, fmt)


@router.get("/kpis", response_class=Response)
async def kpis(
    staff: CurrentStaff,
    state: State,
    first: FromDate = None,
    last: ToDate = None,
    group_by: GroupBy = GroupBy.ALL,
    department: Annotated[str | None, Query(pattern="^[a-z_]{1,32}$")] = None,
    fmt: Format = ReportFormat.JSON,
) -> Response:
    """The P8.2 KPIs per period, per department where they apply (definitions: docs/kpis.md)."""
    window = _window(state, first, last)
    now = datetime.now(UTC)
    rows = await _read(
        state, lambda conn: reports.kpis(conn, window, group_by, now, department=department)
    )
    definitions = {kpi.value: text for kpi, text in KPI_DEFINITIONS.items()}
    return table_response(
        "kpis",
        window,
        group_by,
        reports.KPI_COLUMNS,
        rows,
        fmt,
        extra={"definitions": definitions, "computed_at": now.isoformat()},
    )


@router.get("/reports/snapshots")
async def snapshots(
    staff: CurrentStaff, state: State, first: FromDate = None, last: ToDate = None
) -> JSONResponse:
    """The daily snapshots the reporting schedule stored, newest first."""
    window = _window(state, first, last)
    rows = await _read(
        state, lambda conn: reports.list_snapshots(conn, window.first_day, window.last_day)
    )
    items = [
        {
            "day": row["day"].isoformat(),
            "utc_offset_hours": row["utc_offset_hours"],
            "computed_at": row["computed_at"].isoformat(),
            "workflow_id": row["workflow_id"],
            **row["content"],
        }
        for row in rows
    ]
    return JSONResponse(
        {"from": window.first_day.isoformat(), "to": window.last_day.isoformat(), "items": items}
    )
