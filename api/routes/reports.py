"""Reports (P6.3), KPIs (P8.2) and the daily snapshots, for the supervision group.

Every report takes `from`/`to` (dates, both included, in the company's time zone),
`group_by` (day, week, month, or all for the whole window) and `format` (json, csv).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from sqlalchemy import Connection

from api.deps import CurrentStaff, QueryDate, State
from api.errors import ApiError
from api.tabular import table_response
from db import reports
from domain.actors import Department
from domain.reports import (
    EARLIEST_DAY,
    KPI_DEFINITIONS,
    LATEST_DAY,
    MAX_WINDOW_DAYS,
    GroupBy,
    ReportFormat,
    ReportWindow,
    WindowError,
    local_today,
    report_window,
)

router = APIRouter(prefix="/api/v1", tags=["reports"])


class ReportTable(BaseModel):
    """A report as JSON: its rows, one object per row with the `columns` as keys."""

    report: str
    #: The window's first and last day, included.
    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy
    utc_offset_hours: int
    columns: list[str]
    rows: list[dict[str, Any]]
    #: /kpis only: each KPI's definition (docs/kpis.md), and when it was computed.
    definitions: dict[str, str] | None = None
    computed_at: datetime | None = None


class SnapshotList(BaseModel):
    """The daily snapshots in the window, newest first: each with its day's figures."""

    from_: date = Field(alias="from")
    to: date
    items: list[dict[str, Any]]


#: A day of a report's window: what `report_window` takes, as the schema's pattern says it
#: (EARLIEST_DAY to LATEST_DAY). That the window spans at most MAX_WINDOW_DAYS, and `from`
#: is not after `to`, is a rule between two parameters: the descriptions say it, a
#: JSON schema cannot (a 422 naming `from`).
_MONTH_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
#: 2000-01-01 to 9999-12-30 (9999-12-31 has no day after it); `format: date` does the rest.
DAY_PATTERN = (
    rf"^([2-8][0-9]{{3}}|9[0-8][0-9]{{2}}|99[0-8][0-9]|999[0-8])-{_MONTH_DAY}$"
    rf"|^9999-(0[1-9]|1[01])-(0[1-9]|[12][0-9]|3[01])$|^9999-12-([0-2][1-9]|[12]0|30)$"
)
Day = Annotated[
    QueryDate,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": DAY_PATTERN,
        }
    ),
]
WINDOW = (
    f"The window (`from` to `to`, both included, in the company's time zone) spans at most "
    f"{MAX_WINDOW_DAYS} days; days are between {EARLIEST_DAY} and {LATEST_DAY}."
)
FromDate = Annotated[
    Day | None,
    Query(
        alias="from",
        description="first day, included; by default the window is the last "
        f"OMS_REPORTS__DEFAULT_WINDOW_DAYS (30) days up to `to`. {WINDOW}",
    ),
]
ToDate = Annotated[
    Day | None, Query(alias="to", description=f"last day, included; by default today. {WINDOW}")
]
Format = Annotated[ReportFormat, Query(alias="format")]
#: The departments KPIs are given for, and `all` for the KPIs that are not per department.
KPI_DEPARTMENTS = sorted([d.value for d in Department] + ["all"])


def _kpi_department(value: str) -> str:
    if value not in KPI_DEPARTMENTS:
        raise ValueError(f"one of {', '.join(KPI_DEPARTMENTS)}")
    return value


KpiDepartment = Annotated[
    str,
    AfterValidator(_kpi_department),
    WithJsonSchema({"type": "string", "enum": KPI_DEPARTMENTS}),
]

#: A report's 200: its rows as JSON (ReportTable), or as CSV with `format=csv`.
TABLE: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ReportTable,
        "description": "The report, as JSON or (`format=csv`) as CSV",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


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


@router.get("/reports/orders", response_class=Response, responses=TABLE)
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


@router.get("/reports/revenue", response_class=Response, responses=TABLE)
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


@router.get("/reports/satisfaction", response_class=Response, responses=TABLE)
async def satisfaction_report(
    staff: CurrentStaff,
    state: State,
    first: FromDate = None,
    last: ToDate = None,
    group_by: GroupBy = GroupBy.DAY,
    by: Annotated[
        Literal["channel"] | None, Query(description="`channel`: a row per channel")
    ] = None,
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


@router.get("/kpis", response_class=Response, responses=TABLE)
async def kpis(
    staff: CurrentStaff,
    state: State,
    first: FromDate = None,
    last: ToDate = None,
    group_by: GroupBy = GroupBy.ALL,
    department: KpiDepartment | None = None,
    fmt: Format = ReportFormat.JSON,
) -> Response:
    """The P8.2 KPIs per period, per department where they apply (definitions: docs/kpis.md)."""
    window = _window(state, first, last)
    now = datetime.now(UTC)
    rows = await _read(
        state,
        lambda conn: reports.kpis(conn, window, group_by, now, department=department),
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


@router.get("/reports/snapshots", response_model=SnapshotList)
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
