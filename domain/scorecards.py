"""Targets and scorecards (P8.2, P8.3): a month's actuals beside the targets, per department
and per member of staff, and the standing the figures propose.

Pure rules. The figures come from the read model (`db/scorecards.py`); the monthly
evaluation is `workflows/scorecards.py`; supervision confirms or changes each proposal with
a note, which is where P8.3's reward or penalty is written down. Definitions: docs/kpis.md,
"Scorecards".

The standing a scorecard proposes (documented in docs/kpis.md, tested in
tests/domain/test_scorecards.py):

- no target has both a value and enough figures to judge it -> no proposal (`None`);
- any judged target missed -> `needs_improvement`;
- every judged target met, each by at least its excellence margin, and (for customer
  service, P7.1) training not overdue -> `excellent`;
- otherwise -> `meets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.reports import Kpi, ReportWindow


class Standing(StrEnum):
    EXCELLENT = "excellent"
    MEETS = "meets"
    NEEDS_IMPROVEMENT = "needs_improvement"


#: The KPIs a target may be set for, each a rate in [0, 1] except the mean rating (1-5).
#: Higher is better for all of them.
TARGET_BOUNDS: dict[Kpi, tuple[float, float]] = {
    Kpi.ORDER_PROCESSING_ON_TIME_RATE: (0.0, 1.0),
    Kpi.ORDER_ACCURACY_RATE: (0.0, 1.0),
    Kpi.CUSTOMER_SATISFACTION_MEAN: (1.0, 5.0),
    Kpi.CUSTOMER_SATISFACTION_SHARE_4_5: (0.0, 1.0),
    Kpi.LOGISTICS_ON_TIME_DELIVERY_RATE: (0.0, 1.0),
}

#: A period is a calendar month, `YYYY-MM`, from 2000-01 (the reports' first day) to 9998-12
#: (a month whose end the calendar can name): the OpenAPI document says so with the pattern.
PERIOD_PATTERN = r"^(2[0-9]{3}|[3-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])$"


class ScorecardSettings(BaseModel):
    """The monthly evaluation and the standing rules (`OMS_SCORECARDS__*`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The Temporal Schedule that runs ScorecardWorkflow (monthly: the 1st, 04:00 UTC).
    schedule_id: str = Field(default="monthly-scorecards", min_length=1, max_length=100)
    day_of_month: int = Field(default=1, ge=1, le=28)
    hour_utc: int = Field(default=4, ge=0, le=23)
    #: How far above its target a rate must be for `excellent` (absolute: 0.05 = 5 points).
    excellent_margin_rate: float = Field(default=0.05, ge=0, le=1)
    #: The same for the mean rating (on the 1-5 scale).
    excellent_margin_mean: float = Field(default=0.3, ge=0, le=4)
    #: A figure over fewer cases than this is shown but not judged (one late task of two
    #: says little about a person).
    min_cases: int = Field(default=1, ge=1, le=10_000)


class PeriodError(ValueError):
    """A period that is not a month the reports can name (a 422)."""


def parse_period(period: str) -> date:
    """The first day of the month `YYYY-MM`."""
    if not re.match(PERIOD_PATTERN, period):
        raise PeriodError(f"period must be a month, YYYY-MM (got {period!r})")
    year, month = int(period[:4]), int(period[5:])
    if year < 2000:
        raise PeriodError("period must be 2000-01 or later")
    return date(year, month, 1)


def month_window(period: str, utc_offset_hours: int = 0) -> ReportWindow:
    """The month's days, in the company's time zone."""
    first = parse_period(period)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return ReportWindow(first, following - timedelta(days=1), utc_offset_hours)


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_period(now: datetime, utc_offset_hours: int = 0) -> str:
    """The last complete month before `now`, in the company's time zone."""
    local = (now.astimezone(UTC) + timedelta(hours=utc_offset_hours)).date()
    return period_of(local.replace(day=1) - timedelta(days=1))


def excellence_margin(kpi: Kpi, settings: ScorecardSettings) -> float:
    if kpi is Kpi.CUSTOMER_SATISFACTION_MEAN:
        return settings.excellent_margin_mean
    return settings.excellent_margin_rate


@dataclass(frozen=True)
class ScoreLine:
    """One KPI of a scorecard: the actual (None: nothing to measure) beside its target."""

    kpi: Kpi
    numerator: float
    denominator: int
    actual: float | None
    target: float | None

    def judged(self, settings: ScorecardSettings) -> bool:
        return (
            self.target is not None
            and self.actual is not None
            and self.denominator >= settings.min_cases
        )

    def met(self, settings: ScorecardSettings) -> bool | None:
        """Whether the target is met; None when it is not judged."""
        if not self.judged(settings):
            return None
        assert self.actual is not None and self.target is not None
        # Rounded as shown, so 0.9 against a target of 0.9 is met whatever the float says.
        return round(self.actual, 4) >= round(self.target, 4)

    def excels(self, settings: ScorecardSettings) -> bool:
        if not self.met(settings):
            return False
        assert self.actual is not None and self.target is not None
        margin = excellence_margin(self.kpi, settings)
        return round(self.actual - self.target, 4) >= round(margin, 4)


def propose_standing(
    lines: list[ScoreLine], settings: ScorecardSettings, *, training_overdue: bool = False
) -> Standing | None:
    """The standing the figures propose (the rules are in the module's docstring)."""
    judged = [line for line in lines if line.judged(settings)]
    if not judged:
        return None
    if not all(line.met(settings) for line in judged):
        return Standing.NEEDS_IMPROVEMENT
    if training_overdue:
        return Standing.MEETS
    if all(line.excels(settings) for line in judged):
        return Standing.EXCELLENT
    return Standing.MEETS


class TargetError(ValueError):
    """A target outside its KPI's range (a 422)."""


def check_target(kpi: Kpi, target: float | None) -> None:
    if kpi not in TARGET_BOUNDS:
        raise TargetError(f"{kpi.value} takes no target")
    if target is None:
        return
    low, high = TARGET_BOUNDS[kpi]
    if not low <= target <= high:
        raise TargetError(f"a target for {kpi.value} is between {low:g} and {high:g}")


# --- The monthly evaluation (workflows/scorecards.py) ------------------------------------


class ScorecardInput(BaseModel):
    """What the schedule (or a caller) starts ScorecardWorkflow with; no period: the last
    complete month."""

    period: str | None = Field(default=None, pattern=PERIOD_PATTERN)
    #: Where months begin (the reports' `utc_offset_hours`).
    utc_offset_hours: int = 0
    requested_by: str | None = None


class ScorecardRequest(BaseModel):
    period: str = Field(pattern=PERIOD_PATTERN)
    workflow_id: str
    requested_by: str | None = None


class ScorecardsStored(BaseModel):
    period: str
    evaluated_at: datetime
    departments: int
    members: int
