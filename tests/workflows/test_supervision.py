"""The periodic supervision checks (P8.1.1): a Schedule starts SupervisionWorkflow, whose
activity runs the rules and stores the run; a period is stored once however often it runs."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from datetime import UTC, timedelta

from sqlalchemy import select
from temporalio.client import (
    Client,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    WorkflowExecutionStatus,
)

from db.supervision_tables import supervision_runs
from domain.supervision import SupervisionInput, SupervisionRunStored, SupervisionSettings
from oms.schedules import ensure_supervision_schedule
from tests.support.system import System
from workflows.supervision import SupervisionWorkflow


def weekly_at_a_minute_of_its_own() -> SupervisionSettings:
    """Weekly on Mondays, at a minute no other test uses: each test has periods of its own."""
    minute = random.randrange(1, 60 * 24)
    return SupervisionSettings(
        schedule_id=f"test-supervision-{uuid.uuid4().hex[:8]}",
        offset=timedelta(days=4, minutes=minute),
    )


def runs_of(system: System, period: str) -> list[str]:
    with system.db.read() as conn:
        query = select(supervision_runs.c.run_id).where(supervision_runs.c.period == period)
        return [str(r[0]) for r in conn.execute(query)]


async def test_the_workflow_stores_a_run_and_a_second_run_of_the_same_period_stores_none(
    system: System, client: Client
):
    settings = weekly_at_a_minute_of_its_own()

    async def run() -> SupervisionRunStored:
        return await client.execute_workflow(
            SupervisionWorkflow.run,
            SupervisionInput(settings=settings),
            id=f"test-supervision-{uuid.uuid4().hex[:8]}",
            task_queue=system.settings.task_queue,
        )

    first = await run()
    second = await run()
    assert (first.created, second.created) == (True, False)
    assert first.run_id == second.run_id and first.period == second.period
    assert first.period.endswith(f"/{7 * 24 * 3600}s")
    assert runs_of(system, first.period) == [first.run_id]


async def triggered_run(
    client: Client, handle: ScheduleHandle, schedule_id: str, nth: int
) -> SupervisionRunStored:
    """Trigger the schedule and wait for its `nth` run to complete; that run's result."""
    await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    query = f'TemporalScheduledById = "{schedule_id}"'
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = [run async for run in client.list_workflows(query)]
        if len(runs) == nth and all(r.status is not WorkflowExecutionStatus.RUNNING for r in runs):
            assert all(r.status is WorkflowExecutionStatus.COMPLETED for r in runs)
            newest = max(runs, key=lambda r: r.start_time)
            workflow = client.get_workflow_handle(
                newest.id, run_id=newest.run_id, result_type=SupervisionRunStored
            )
            return await workflow.result()
        await asyncio.sleep(0.3)
    raise AssertionError(f"run {nth} of {schedule_id} did not complete")


async def test_the_schedule_runs_weekly_and_its_runs_of_one_period_store_one_run(
    system: System, client: Client
):
    supervision = weekly_at_a_minute_of_its_own()
    settings = system.settings.model_copy(update={"supervision": supervision})
    await ensure_supervision_schedule(client, settings)
    handle = client.get_schedule_handle(supervision.schedule_id)
    try:
        described = await handle.describe()
        times = described.info.next_action_times
        assert len(times) > 1
        # Weekly on Mondays, at the offset's time of day.
        assert {t.astimezone(UTC).weekday() for t in times} == {0}
        assert {t2 - t1 for t1, t2 in itertools.pairwise(times)} == {timedelta(days=7)}

        # Started twice (ops triggering it by hand after the scheduled run): one stored run.
        done = [await triggered_run(client, handle, supervision.schedule_id, 1)]
        await asyncio.sleep(1.1)  # the run's id carries the start time to the second
        done.append(await triggered_run(client, handle, supervision.schedule_id, 2))
        assert [r.created for r in done] == [True, False]
        assert len({r.period for r in done}) == 1
        assert runs_of(system, done[0].period) == [done[0].run_id]
    finally:
        await handle.delete()
