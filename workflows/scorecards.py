"""ScorecardWorkflow: the monthly evaluation of departments and staff (P8.2, P8.3), run by a
Temporal Schedule (the 1st of each month by default, `OMS_SCORECARDS__*`) or on demand.

A scheduled run evaluates the last complete month; the activity replaces that month's
stored evaluation, so a second run of the same month stores it once. What the figures
propose, supervision confirms or changes with a note (api/routes/scorecards.py).
"""

# No `from __future__ import annotations`: see workflows/supervision.py.

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.scorecards import (
        ScorecardInput,
        ScorecardRequest,
        ScorecardsStored,
        previous_period,
    )

#: A database that is down is waited for; a month's evaluation is worth an hour of retries.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)


@workflow.defn
class ScorecardWorkflow:
    @workflow.run
    async def run(self, input: ScorecardInput) -> ScorecardsStored:
        period = input.period or previous_period(workflow.now(), input.utc_offset_hours)
        request = ScorecardRequest(
            period=period,
            workflow_id=workflow.info().workflow_id,
            requested_by=input.requested_by,
        )
        stored: ScorecardsStored = await workflow.execute_activity(
            "evaluate_scorecards",
            request,
            start_to_close_timeout=timedelta(minutes=10),
            schedule_to_close_timeout=timedelta(hours=1),
            retry_policy=RETRY,
            result_type=ScorecardsStored,
            summary=f"scorecards for {period}",
        )
        workflow.set_current_details(
            f"**Month:** {stored.period}\n**Departments:** {stored.departments}\n"
            f"**Staff:** {stored.members}"
        )
        return stored
