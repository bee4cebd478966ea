"""The monthly scorecard evaluation (P8.2, P8.3): compute the month's lines, store them."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from config.settings import Settings
from db import scorecards
from db.engine import Database
from domain.scorecards import ScorecardRequest, ScorecardsStored


def evaluate_month(
    db: Database, settings: Settings, request: ScorecardRequest, now: datetime
) -> ScorecardsStored:
    """The month's scorecards as the read model has them now; a rerun replaces the month's
    evaluation (decisions already taken are kept: they are rows of their own)."""
    offset = settings.reports.utc_offset_hours
    with db.read() as conn:
        flags = scorecards.training_flags(conn, request.period, now, settings.training, offset)
        lines = scorecards.evaluate(
            conn,
            request.period,
            now,
            settings.scorecards,
            utc_offset_hours=offset,
            training_overdue=flags,
        )
    with db.write() as conn:
        scorecards.store_evaluation(conn, request.period, lines, now, request.workflow_id)
    return ScorecardsStored(
        period=request.period,
        evaluated_at=now,
        departments=sum(1 for line in lines if line["staff_id"] == scorecards.DEPARTMENT_LINE),
        members=sum(1 for line in lines if line["staff_id"] != scorecards.DEPARTMENT_LINE),
    )


class ScorecardActivities:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    @activity.defn
    def evaluate_scorecards(self, request: ScorecardRequest) -> ScorecardsStored:
        return evaluate_month(self._db, self._settings, request, datetime.now(UTC))
