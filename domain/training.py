"""Customer-service training (P7.1): sessions held, who attended, and who is due again.

A member of customer service whose last training is more than `max_age_days` ago, or who
has never been trained, is overdue: flagged on the supervision dashboard, in
`GET /api/v1/training/due`, and in the evaluation. Pure: the setting and the rule. The
tables are in `db/training_tables.py`, the reads in `db/training.py`.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

#: The earliest day a session may be recorded as held (reports name no day before it).
EARLIEST_SESSION_DAY = date(2000, 1, 1)


class TrainingSettings(BaseModel):
    """How recent a customer-service member's training must be (`OMS_TRAINING__*`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: A member whose last session was held more than this many days ago is overdue.
    max_age_days: int = Field(default=90, ge=1, le=3660)


def days_since(last: date | None, today: date) -> int | None:
    """Whole days from the last session to today; None when there was none."""
    return None if last is None else (today - last).days


def training_overdue(last: date | None, today: date, max_age_days: int) -> bool:
    """Never trained, or trained more than `max_age_days` days before `today`.

    A session held exactly `max_age_days` days ago still counts: with the default 90, a
    session on 1 March keeps its member in date until 30 May and overdue from 31 May.
    """
    if last is None:
        return True
    return (today - last).days > max_age_days
