"""ReportingWorkflow: the daily snapshot of reports and KPIs (P6.3, P8.2), run by a Schedule.

The Temporal Schedule (`oms/schedules.py`) starts it once a day shortly after
local midnight; it reports the day that just ended. Started by hand with a `day`,
it (re)computes that day: the snapshot is one row per day, so a second run
replaces the first with the newer figures.
"""

# No `from __future__ import annotations`: the sandbox imports this module afresh for every
# workflow it starts, and string annotations would be compiled again each time to read the
# handlers' argument types (10 % of a replay, measured).

from datetime import date, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.reports import SnapshotRequest, SnapshotStored, previous_day


class ReportingInput(BaseModel):
    #: The day to report; None means the day before the run (what the schedule sends).
    day: date | None = None
    #: Days begin at local midnight, this many hours ahead of UTC (settings.reports).
    utc_offset_hours: int = 0


#: A database that is down is waited for; a day's report is worth an hour of retries.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)


@workflow.defn
class ReportingWorkflow:
    @workflow.run
    async def run(self, input: ReportingInput) -> SnapshotStored:
        day = input.day or previous_day(workflow.now(), input.utc_offset_hours)
        stored: SnapshotStored = await workflow.execute_activity(
            "store_daily_snapshot",
            SnapshotRequest(
                day=day,
                utc_offset_hours=input.utc_offset_hours,
                workflow_id=workflow.info().workflow_id,
            ),
            start_to_close_timeout=timedelta(minutes=5),
            schedule_to_close_timeout=timedelta(hours=1),
            retry_policy=RETRY,
            result_type=SnapshotStored,
            summary=f"snapshot of {day.isoformat()}",
        )
        return stored
