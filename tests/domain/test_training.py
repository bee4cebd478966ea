"""Customer-service training (P7.1): who is overdue, as plain functions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from config.settings import Settings
from domain.training import TrainingSettings, days_since, training_overdue

TODAY = date(2026, 5, 31)


def test_a_member_never_trained_is_overdue():
    assert training_overdue(None, TODAY, 90) is True
    assert days_since(None, TODAY) is None


@pytest.mark.parametrize(
    ("last", "overdue"),
    [
        (TODAY, False),  # trained today
        (TODAY - timedelta(days=89), False),
        (TODAY - timedelta(days=90), False),  # exactly the age allowed: still in date
        (TODAY - timedelta(days=91), True),
        (date(2025, 1, 1), True),
    ],
)
def test_a_member_is_overdue_once_the_last_session_is_older_than_the_setting(
    last: date, overdue: bool
):
    assert training_overdue(last, TODAY, 90) is overdue


def test_the_day_after_ninety_days_from_the_first_of_march_is_the_first_overdue_day():
    held = date(2026, 3, 1)
    assert training_overdue(held, date(2026, 5, 30), 90) is False
    assert training_overdue(held, date(2026, 5, 31), 90) is True
    assert days_since(held, date(2026, 5, 31)) == 91


def test_a_shorter_setting_makes_the_same_session_overdue_sooner():
    last = TODAY - timedelta(days=31)
    assert training_overdue(last, TODAY, 90) is False
    assert training_overdue(last, TODAY, 30) is True


def test_the_setting_defaults_to_ninety_days_and_is_read_from_the_environment(monkeypatch):
    assert TrainingSettings().max_age_days == 90
    assert Settings().training.max_age_days == 90
    monkeypatch.setenv("OMS_TRAINING__MAX_AGE_DAYS", "30")
    assert Settings().training.max_age_days == 30
    with pytest.raises(ValidationError):
        TrainingSettings(max_age_days=0)
