"""The report window (P6.3, P8.2): what the reports' `from` and `to` may name."""

from __future__ import annotations

from datetime import date

import pytest

from domain.reports import EARLIEST_DAY, LATEST_DAY, WindowError, report_window

TODAY = date(2026, 12, 5)


def test_by_default_the_window_is_the_last_thirty_days_up_to_today():
    window = report_window(None, None, today=TODAY)
    assert (window.first_day, window.last_day) == (date(2026, 11, 6), TODAY)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (None, date.min, "to"),  # found by the OpenAPI fuzz test: it overflowed (a 500)
        (date.max, None, "from"),
        (date(1999, 12, 31), TODAY, "from"),
        (TODAY, date(2026, 12, 4), "from"),  # from after to
    ],
)
def test_days_outside_the_calendar_the_reports_reach_are_refused(
    first: date | None, last: date | None, field: str
):
    with pytest.raises(WindowError) as refused:
        report_window(first, last, today=TODAY)
    assert refused.value.field == field


def test_the_earliest_and_latest_days_are_taken():
    window = report_window(EARLIEST_DAY, EARLIEST_DAY, today=TODAY)
    assert window.start.date() == EARLIEST_DAY
    assert report_window(LATEST_DAY, LATEST_DAY, today=TODAY).end.date() == date.max
