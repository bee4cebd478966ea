"""Periodic statistics (P6.3) and the KPIs the supervision group evaluates (P8.2).

Pure definitions: the reporting window and its periods, the KPIs and what each
one means (the full definitions are in `docs/kpis.md`), and how a rate is formed.
The SQL that computes them is in `db/reports.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.tasks import TaskKind


class GroupBy(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"
    ALL = "all"  # the whole window as one period


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class Kpi(StrEnum):
    ORDER_PROCESSING_ON_TIME_RATE = "order_processing_on_time_rate"
    ORDER_ACCURACY_RATE = "order_accuracy_rate"
    CUSTOMER_SATISFACTION_MEAN = "customer_satisfaction_mean"
    CUSTOMER_SATISFACTION_SHARE_4_5 = "customer_satisfaction_share_4_5"
    LOGISTICS_ON_TIME_DELIVERY_RATE = "logistics_on_time_delivery_rate"


#: One line each; `docs/kpis.md` gives numerator, denominator, period and exclusions.
KPI_DEFINITIONS: dict[Kpi, str] = {
    Kpi.ORDER_PROCESSING_ON_TIME_RATE: (
        "human tasks due in the period closed by their deadline / human tasks due in the "
        "period that are closed or past due (per department)"
    ),
    Kpi.ORDER_ACCURACY_RATE: (
        "orders created in the period with no correction, wrong-item return or exchange, "
        "or change caused by an error / orders created in the period"
    ),
    Kpi.CUSTOMER_SATISFACTION_MEAN: "sum of ratings given in the period / ratings given",
    Kpi.CUSTOMER_SATISFACTION_SHARE_4_5: "ratings of 4 or 5 given in the period / ratings given",
    Kpi.LOGISTICS_ON_TIME_DELIVERY_RATE: (
        "orders promised for the period delivered by the promised time / orders promised for "
        "the period that are delivered or past the promise"
    ),
}

#: The department a company-wide figure is reported under.
ALL_DEPARTMENTS = "all"

#: Tasks that are not a person's step: DELIVER is closed by the carrier's event and is
#: measured by the logistics on-time delivery rate instead.
NOT_HUMAN_STEPS: frozenset[TaskKind] = frozenset({TaskKind.DELIVER})

#: The `reason_code` of a return or exchange that our own error caused (P5.3).
ERROR_REASON_CODE = "wrong_item"
ERROR_CASE_KINDS = ("return", "exchange")

#: A window longer than this is refused: reports are for periods, not for all time.
MAX_WINDOW_DAYS = 366 * 3


class ReportSettings(BaseModel):
    """Where days begin, and when the daily snapshot is taken (`OMS_REPORTS__*`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Days in reports begin at local midnight, this many hours ahead of UTC (8: Beijing).
    utc_offset_hours: int = Field(default=0, ge=-12, le=14)
    #: The Temporal Schedule that runs ReportingWorkflow once a day.
    schedule_id: str = Field(default="daily-report", min_length=1, max_length=100)
    #: Local time of day of the daily run; it reports the day that just ended.
    snapshot_hour: int = Field(default=0, ge=0, le=23)
    snapshot_minute: int = Field(default=10, ge=0, le=59)
    #: The window of a report when `from` is not given.
    default_window_days: int = Field(default=30, ge=1, le=MAX_WINDOW_DAYS)

    @property
    def snapshot_utc_time(self) -> tuple[int, int]:
        """(hour, minute) in UTC of the daily run."""
        minutes = (self.snapshot_hour - self.utc_offset_hours) * 60 + self.snapshot_minute
        minutes %= 24 * 60
        return divmod(minutes, 60)


class WindowError(ValueError):
    """The `from`/`to` dates do not make a window (a 422 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ReportWindow:
    """Whole days `first_day`..`last_day` (both included), in the company's time zone.

    Days begin at midnight `utc_offset_hours` ahead of UTC (8 for Beijing); the
    default 0 reports in UTC.
    """

    first_day: date
    last_day: date
    utc_offset_hours: int = 0

    @property
    def offset(self) -> timedelta:
        return timedelta(hours=self.utc_offset_hours)

    @property
    def start(self) -> datetime:
        """The first instant of the window, in UTC."""
        return datetime.combine(self.first_day, time(), UTC) - self.offset

    @property
    def end(self) -> datetime:
        """The instant after the window, in UTC (the window is `[start, end)`)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), UTC) - self.offset

    def local_day(self, at: datetime) -> date:
        return (at.astimezone(UTC) + self.offset).date()


#: The days a report window may name: orders exist in none before, and the window's end
#: (the day after its last, in UTC) must still be a date.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(9999, 12, 30)


def report_window(
    first_day: date | None,
    last_day: date | None,
    *,
    today: date,
    utc_offset_hours: int = 0,
    default_days: int = 30,
) -> ReportWindow:
    """The window asked for; by default the last `default_days` days up to today."""
    for name, day in (("from", first_day), ("to", last_day)):
        # Days the calendar arithmetic (a window before a day, the day after) can reach.
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise WindowError(name, f"{name} must be between {EARLIEST_DAY} and {LATEST_DAY}")
    last = last_day or today
    first = first_day or last - timedelta(days=default_days - 1)
    if first > last:
        raise WindowError("from", f"from ({first}) is after to ({last})")
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise WindowError("from", f"the window may span at most {MAX_WINDOW_DAYS} days")
    return ReportWindow(first, last, utc_offset_hours)


def local_today(now: datetime, utc_offset_hours: int = 0) -> date:
    return (now.astimezone(UTC) + timedelta(hours=utc_offset_hours)).date()


def day_window(day: date, utc_offset_hours: int = 0) -> ReportWindow:
    return ReportWindow(day, day, utc_offset_hours)


def previous_day(as_of: datetime, utc_offset_hours: int = 0) -> date:
    """The last complete day before `as_of` in the company's time zone (the daily snapshot)."""
    local = as_of.astimezone(UTC) + timedelta(hours=utc_offset_hours)
    return local.date() - timedelta(days=1)


def rate(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator, rounded to 4 places; None when there is nothing to divide."""
    if not denominator:
        return None
    return round(numerator / denominator, 4)


# --- the daily snapshot (P6.3): what the reporting workflow asks and is answered ----------


class SnapshotRequest(BaseModel):
    day: date
    utc_offset_hours: int = 0
    #: The workflow that asked, recorded with the snapshot.
    workflow_id: str


class SnapshotStored(BaseModel):
    day: date
    computed_at: datetime
    orders: int
    kpi_rows: int
