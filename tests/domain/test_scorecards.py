"""The standing a scorecard proposes (P8.2, P8.3): the rules of domain/scorecards.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.reports import Kpi
from domain.scorecards import (
    PeriodError,
    ScorecardSettings,
    ScoreLine,
    Standing,
    TargetError,
    check_target,
    month_window,
    previous_period,
    propose_standing,
)

SETTINGS = ScorecardSettings()
ON_TIME = Kpi.ORDER_PROCESSING_ON_TIME_RATE
MEAN = Kpi.CUSTOMER_SATISFACTION_MEAN


def line(kpi: Kpi, actual: float | None, target: float | None, cases: int = 10) -> ScoreLine:
    return ScoreLine(kpi, 0, cases, actual, target)


def test_nothing_judged_proposes_nothing():
    assert propose_standing([], SETTINGS) is None
    assert propose_standing([line(ON_TIME, 0.9, None)], SETTINGS) is None
    assert propose_standing([line(ON_TIME, None, 0.9, cases=0)], SETTINGS) is None


def test_a_missed_target_needs_improvement_whatever_the_others():
    lines = [line(ON_TIME, 1.0, 0.9), line(MEAN, 3.9, 4.0)]
    assert propose_standing(lines, SETTINGS) is Standing.NEEDS_IMPROVEMENT


def test_met_exactly_meets_and_met_by_the_margin_everywhere_excels():
    assert propose_standing([line(ON_TIME, 0.9, 0.9)], SETTINGS) is Standing.MEETS
    assert propose_standing([line(ON_TIME, 0.95, 0.9)], SETTINGS) is Standing.EXCELLENT
    # The mean rating's margin is on its own scale (0.3 of a star by default).
    assert propose_standing([line(ON_TIME, 0.95, 0.9), line(MEAN, 4.2, 4.0)], SETTINGS) is (
        Standing.MEETS
    )
    assert propose_standing([line(ON_TIME, 0.95, 0.9), line(MEAN, 4.3, 4.0)], SETTINGS) is (
        Standing.EXCELLENT
    )


def test_overdue_training_caps_a_customer_service_member_at_meets():
    """P7.1: staff whose training is out of date are not proposed excellent."""
    lines = [line(ON_TIME, 1.0, 0.9)]
    assert propose_standing(lines, SETTINGS, training_overdue=True) is Standing.MEETS
    missed = [line(ON_TIME, 0.5, 0.9)]
    assert propose_standing(missed, SETTINGS, training_overdue=True) is (Standing.NEEDS_IMPROVEMENT)


def test_too_few_cases_are_shown_but_not_judged():
    settings = ScorecardSettings(min_cases=5)
    assert propose_standing([line(ON_TIME, 0.0, 0.9, cases=4)], settings) is None
    assert propose_standing([line(ON_TIME, 0.0, 0.9, cases=5)], settings) is (
        Standing.NEEDS_IMPROVEMENT
    )


def test_a_period_is_a_calendar_month_in_the_company_time_zone():
    window = month_window("2026-02", utc_offset_hours=8)
    assert (window.first_day, window.last_day) == (date(2026, 2, 1), date(2026, 2, 28))
    assert window.start == datetime(2026, 1, 31, 16, tzinfo=UTC)
    assert month_window("2026-12").last_day == date(2026, 12, 31)
    for bad in ("2026-13", "2026-1", "1999-12", "26-01"):
        with pytest.raises(PeriodError):
            month_window(bad)
    assert previous_period(datetime(2026, 12, 1, 1, tzinfo=UTC)) == "2026-11"
    # 1 December 01:00 UTC is already 09:00 in Beijing: the month before is still November.
    assert previous_period(datetime(2026, 11, 30, 20, tzinfo=UTC), utc_offset_hours=8) == "2026-11"


def test_targets_stay_within_their_kpi_range():
    check_target(ON_TIME, 0.95)
    check_target(MEAN, 4.5)
    check_target(ON_TIME, None)
    with pytest.raises(TargetError):
        check_target(ON_TIME, 1.5)
    with pytest.raises(TargetError):
        check_target(MEAN, 0.5)
