"""The Temporal Schedules of the system: the daily report snapshot (P6.3, P8.2), the
nightly backup (P6.2), the weekly supervision checks (P8.1.1) and the monthly scorecards
(P8.2, P8.3).

`ensure_schedules` creates them, or brings existing ones in line with the settings
(time of day, time zone offset, task queue); running it twice changes nothing.
`oms up` calls it once the dev server is up; in production run `oms schedules ensure`
once per deployment. `oms schedules trigger` runs the report now (ops, or a test);
`oms schedules supervise` runs the latest period's supervision checks now;
`oms backup schedule --trigger` runs a backup now.
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
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from config.settings import Settings
from domain.backups import BackupRequest
from domain.scorecards import ScorecardInput
from domain.supervision import SupervisionInput
from workers.client import connect
from workflows.backup import BackupWorkflow
from workflows.reporting import ReportingInput, ReportingWorkflow
from workflows.scorecards import ScorecardWorkflow
from workflows.supervision import SupervisionWorkflow


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


BACKUP_SCHEDULE_ID = "oms-nightly-backup"


def backup_request(settings: Settings) -> BackupRequest:
    temporal_db = settings.resolved_temporal_db_file
    return BackupRequest(
        target_dir=str(settings.resolved_backup_dir.resolve()),
        keep=settings.backup_keep,
        temporal_db_file=str(temporal_db.resolve()) if temporal_db else None,
    )


def backup_schedule(settings: Settings) -> Schedule:
    """Nightly at OMS_BACKUP_CRON (UTC); a run still going when the next is due is not doubled."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            BackupWorkflow.run,
            backup_request(settings),
            id="oms-backup",
            task_queue=settings.task_queue,
            static_summary="Nightly backup of the read model (P6.2)",
        ),
        spec=ScheduleSpec(cron_expressions=[settings.backup_cron]),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=6)
        ),
    )


def supervision_schedule(settings: Settings) -> Schedule:
    """Every `OMS_SUPERVISION__EVERY` (weekly: Mondays 03:00 UTC); each run checks the period
    that ended at its scheduled time, and a period is stored once however often it runs."""
    supervision = settings.supervision
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SupervisionWorkflow.run,
            SupervisionInput(settings=supervision),
            # Temporal appends the scheduled time, so each period's run has an id of its own.
            id=f"{supervision.schedule_id}-run",
            task_queue=settings.task_queue,
            static_summary="Periodic supervision checks (P8.1.1)",
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=supervision.every, offset=supervision.offset)]
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            # A worker or server down at the time still runs the period's checks later.
            catchup_window=min(supervision.every, timedelta(days=1)),
        ),
    )


async def ensure_supervision_schedule(client: Client, settings: Settings) -> str:
    schedule_id = settings.supervision.schedule_id
    await ensure_schedule(client, schedule_id, supervision_schedule(settings))
    return schedule_id


def scorecard_schedule(settings: Settings) -> Schedule:
    """Monthly (the 1st, 04:00 UTC by default): each run evaluates the last complete month
    (P8.2); a month is stored once however often its run is started."""
    scorecards = settings.scorecards
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ScorecardWorkflow.run,
            ScorecardInput(utc_offset_hours=settings.reports.utc_offset_hours),
            # Temporal appends the scheduled time, so each month's run has an id of its own.
            id=f"{scorecards.schedule_id}-run",
            task_queue=settings.task_queue,
            static_summary="Monthly scorecards of departments and staff (P8.2, P8.3)",
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(scorecards.day_of_month)],
                    hour=[ScheduleRange(scorecards.hour_utc)],
                    minute=[ScheduleRange(0)],
                    comment=f"monthly on day {scorecards.day_of_month}, "
                    f"{scorecards.hour_utc:02d}:00 UTC",
                )
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_scorecard_schedule(client: Client, settings: Settings) -> str:
    schedule_id = settings.scorecards.schedule_id
    await ensure_schedule(client, schedule_id, scorecard_schedule(settings))
    return schedule_id


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> ScheduleHandle:
    """Create the schedule, or bring an existing one in line with the settings.

    Running it twice changes nothing; a schedule that ops paused stays paused.
    """
    try:
        return await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(schedule_id)

        def keep_state(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule.state = current.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await handle.update(keep_state)
        return handle


async def ensure_daily_report(client: Client, settings: Settings) -> str:
    schedule_id = settings.reports.schedule_id
    await ensure_schedule(client, schedule_id, daily_report_schedule(settings))
    return schedule_id


async def ensure_backup_schedule(
    client: Client, settings: Settings, schedule_id: str = BACKUP_SCHEDULE_ID
) -> ScheduleHandle:
    return await ensure_schedule(client, schedule_id, backup_schedule(settings))


async def ensure_schedules(client: Client, settings: Settings) -> list[str]:
    """Every schedule of the system: the daily report, the nightly backup, supervision,
    the monthly scorecards."""
    await ensure_backup_schedule(client, settings)
    return [
        await ensure_daily_report(client, settings),
        BACKUP_SCHEDULE_ID,
        await ensure_supervision_schedule(client, settings),
        await ensure_scorecard_schedule(client, settings),
    ]


async def trigger_daily_report(client: Client, settings: Settings) -> None:
    await client.get_schedule_handle(settings.reports.schedule_id).trigger(
        overlap=ScheduleOverlapPolicy.ALLOW_ALL
    )


def ensure_now(settings: Settings) -> list[str]:
    """`ensure_schedules` for a caller without an event loop (`oms up`, the CLI)."""

    async def run() -> list[str]:
        return await ensure_schedules(await connect(settings), settings)

    return asyncio.run(run())


def cmd_ensure(args: argparse.Namespace, settings: Settings) -> int:
    print(f"schedules {', '.join(ensure_now(settings))} are in place")
    return 0


def cmd_trigger(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        client = await connect(settings)
        await ensure_daily_report(client, settings)
        await trigger_daily_report(client, settings)

    asyncio.run(run())
    print(f"schedule {settings.reports.schedule_id} triggered")
    return 0


def cmd_supervise(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        client = await connect(settings)
        schedule_id = await ensure_supervision_schedule(client, settings)
        await client.get_schedule_handle(schedule_id).trigger(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL
        )

    asyncio.run(run())
    print(
        f"schedule {settings.supervision.schedule_id} triggered: the latest period's checks run "
        "(stored once per period; POST /api/v1/supervision/runs runs them over everything)"
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedules = subparsers.add_parser("schedules", help="Temporal Schedules (daily report)")
    sub = schedules.add_subparsers(dest="schedules", required=True)
    sub.add_parser(
        "ensure", help="create or update the daily-report schedule (idempotent)"
    ).set_defaults(fn=cmd_ensure)
    sub.add_parser("trigger", help="run the daily report now").set_defaults(fn=cmd_trigger)
    sub.add_parser(
        "supervise", help="run the periodic supervision checks now (P8.1.1)"
    ).set_defaults(fn=cmd_supervise)
