"""The supervision group's periodic checks (P8.1.1): run the rules, store the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio import activity

from db import supervision
from db.engine import Database
from domain.actors import Department
from domain.rectification import RectificationItemInput, order_of
from domain.supervision import SupervisionRequest, SupervisionRunStored, find_lapses


def run_checks(
    db: Database, request: SupervisionRequest, now: datetime, rectification_deadline: timedelta
) -> SupervisionRunStored:
    """Run the rules over the read model and store the run, once per period."""
    with db.read() as conn:
        done = supervision.existing_run(conn, request.period)
    if done is not None:
        return SupervisionRunStored(
            run_id=done["run_id"],
            period=request.period,
            created=False,
            findings=done["findings"],
            started_at=done["started_at"],
        )
    end = request.period_end or now
    with db.read() as conn:
        facts = supervision.facts(conn, now)
    lapses = [
        lapse
        for lapse in find_lapses(facts, now, request.settings)
        if lapse.at < end and (request.period_start is None or lapse.at >= request.period_start)
    ]
    with db.write() as conn:
        opened = supervision.store_run(
            conn,
            run_id=request.run_id,
            period=request.period,
            trigger=request.trigger,
            requested_by=request.requested_by,
            workflow_id=request.workflow_id,
            period_start=request.period_start,
            period_end=end,
            started_at=now,
            lapses=lapses,
            rectification_deadline=rectification_deadline,
        )
        stored = supervision.existing_run(conn, request.period)
    assert stored is not None
    return SupervisionRunStored(
        run_id=stored["run_id"],
        period=request.period,
        created=opened is not None,
        findings=stored["findings"],
        started_at=stored["started_at"],
        opened=[
            RectificationItemInput(
                item_id=row["item_id"],
                order_id=order_of(row["order_id"]),
                rule=row["rule"],
                clause=row["clause"],
                department=Department(row["department"]),
                message=row["message"],
                found_at=row["found_at"],
                owner=row["owner"],
                deadline=rectification_deadline,
            )
            for row in opened or []
        ],
    )


class SupervisionActivities:
    def __init__(self, db: Database, rectification_deadline: timedelta) -> None:
        self.db = db
        self.rectification_deadline = rectification_deadline

    @activity.defn
    def run_supervision_checks(self, request: SupervisionRequest) -> SupervisionRunStored:
        """Run the supervision rules over the read model and store the run with its findings."""
        return run_checks(self.db, request, datetime.now(UTC), self.rectification_deadline)
