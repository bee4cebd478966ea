"""The Temporal Schedules of the system: the daily report snapshot (P6.3, P8.2).

`ensure_schedules` creates the schedule, or brings an existing one in line with
the settings (time of day, time zone offset, task queue); running it twice
changes nothing. `oms up` calls it once the dev server is up; in production run
`oms schedules ensure` once per deployment. `oms schedules trigger` runs the
report now (ops, or a test).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from oms.settings import Settings
from workers.client import connect
from workflows.reporting import ReportingInput, ReportingWorkflow


def daily_report_schedule(settings: Settings) -> Schedule:
    reports = settings.reports
    hour, minute = reports.snapshot_utc_time
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReportingWorkflow.run,
            ReportingInput(utc_offset_hours=reports.utc_offset_hours),
            # Temporal appends the scheduled time, so each day's run has an id of its own.
            id=f"{reports.schedule_id}-run",
            task_queue=settings.task_queue,
            static_summary="Daily snapshot of reports and KPIs (P6.3, P8.2)",
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(hour)],
                    minute=[ScheduleRange(minute)],
                    comment=f"daily at {reports.snapshot_hour:02d}:{reports.snapshot_minute:02d}"
                    f" local (UTC{reports.utc_offset_hours:+d})",
                )
            ]
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            # A worker or server down at the hour still takes the day's snapshot later that day.
            catchup_window=timedelta(hours=23),
        ),
    )


async def ensure_schedules(client: Client, settings: Settings) -> str:
    """Create the daily-report schedule, or update it to the settings. Returns its id."""
    schedule = daily_report_schedule(settings)
    schedule_id = settings.reports.schedule_id
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
            # Paused by ops stays paused: only what the settings decide is replaced.
            schedule.state = current.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(keep_state)
    return schedule_id


async def trigger_daily_report(client: Client, settings: Settings) -> None:
    await client.get_schedule_handle(settings.reports.schedule_id).trigger(
        overlap=ScheduleOverlapPolicy.ALLOW_ALL
    )


def ensure_now(settings: Settings) -> str:
    """`ensure_schedules` for a caller without an event loop (`oms up`, the CLI)."""

    async def run() -> str:
        return await ensure_schedules(await connect(settings), settings)

    return asyncio.run(run())


def cmd_ensure(args: argparse.Namespace, settings: Settings) -> int:
    print(f"schedule {ensure_now(settings)} is in place")
    return 0


def cmd_trigger(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        client = await connect(settings)
        await ensure_schedules(client, settings)
        await trigger_daily_report(client, settings)

    asyncio.run(run())
    print(f"schedule {settings.reports.schedule_id} triggered")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedules = subparsers.add_parser("schedules", help="Temporal Schedules (daily report)")
    sub = schedules.add_subparsers(dest="schedules", required=True)
    sub.add_parser(
        "ensure", help="create or update the daily-report schedule (idempotent)"
    ).set_defaults(fn=cmd_ensure)
    sub.add_parser("trigger", help="run the daily report now").set_defaults(fn=cmd_trigger)
