"""SupervisionWorkflow: the periodic checks of the supervision group (P8.1.1), run by a
Temporal Schedule (weekly by default, `OMS_SUPERVISION__EVERY`) or on demand.

A scheduled run covers the period that ends at its scheduled time and is keyed by it:
started twice (a retry, a trigger by hand), it stores one run. The rules and their
clauses are `domain/supervision.py`; the activity stores each run with its findings.
"""

# No `from __future__ import annotations`: the sandbox imports this module afresh for every
# workflow it starts, and string annotations would be compiled again each time to read the
# handlers' argument types (10 % of a replay, measured).

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.rectification import RectificationItemInput, rectification_workflow_id
    from domain.supervision import (
        SupervisionInput,
        SupervisionRequest,
        SupervisionRunStored,
        due_boundary,
        period_key,
        run_id_of,
    )

#: A database that is down is waited for; a week's checks are worth an hour of retries.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)


@workflow.defn
class SupervisionWorkflow:
    @workflow.run
    async def run(self, input: SupervisionInput) -> SupervisionRunStored:
        settings = input.settings
        if input.period is None:
            end = due_boundary(workflow.now(), settings.every, settings.offset)
            request = SupervisionRequest(
                period=period_key(end, settings.every),
                run_id=run_id_of(period_key(end, settings.every)),
                period_start=end - settings.every,
                period_end=end,
                settings=settings,
                trigger=input.trigger,
                requested_by=input.requested_by,
                workflow_id=workflow.info().workflow_id,
            )
        else:
            request = SupervisionRequest(
                period=input.period,
                run_id=run_id_of(input.period),
                settings=settings,
                trigger=input.trigger,
                requested_by=input.requested_by,
                workflow_id=workflow.info().workflow_id,
            )
        stored: SupervisionRunStored = await workflow.execute_activity(
            "run_supervision_checks",
            request,
            start_to_close_timeout=timedelta(minutes=10),
            schedule_to_close_timeout=timedelta(hours=1),
            retry_policy=RETRY,
            result_type=SupervisionRunStored,
            summary=f"supervision checks for {request.period}",
        )
        # P8.1.3: each item opened is tracked work of its own, which outlives this run.
        await asyncio.gather(*(self._track(item) for item in stored.opened))
        workflow.set_current_details(
            f"**Run:** {stored.run_id}\n**Findings:** {stored.findings}"
            + ("" if stored.created else " (stored by an earlier run of this period)")
        )
        return stored

    async def _track(self, item: RectificationItemInput) -> None:
        # Started by an earlier attempt of this run: the item is tracked already.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                "RectificationWorkflow",
                item,
                id=rectification_workflow_id(item.item_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"Rectification of {item.rule} ({item.clause}) for "
                f"{item.department.value}",
            )
