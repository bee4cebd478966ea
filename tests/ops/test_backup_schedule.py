"""The nightly backup (P6.2): a Temporal Schedule starts BackupWorkflow, which writes a backup,
encrypted with the workers' backup key (the key never travels through Temporal)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC
from pathlib import Path

from temporalio.client import Client, ScheduleHandle, WorkflowExecutionStatus

from db.backup import backup_keyring, list_backups, verify_files
from oms.schedules import ensure_backup_schedule
from tests.support.system import System


async def next_runs(handle: ScheduleHandle) -> set[tuple[int, int]]:
    """(hour, minute) in UTC of the schedule's next runs."""
    described = await handle.describe()
    times = described.info.next_action_times
    assert len(times) > 1
    return {(t.astimezone(UTC).hour, t.astimezone(UTC).minute) for t in times}


async def test_the_schedule_runs_a_backup_workflow_that_writes_a_verified_backup(
    system: System, client: Client, tmp_path: Path
):
    settings = system.settings.model_copy(
        update={"backup_dir": tmp_path / "offsite", "backup_keep": 2, "backup_cron": "30 2 * * *"}
    )
    schedule_id = f"test-backup-{uuid.uuid4().hex[:8]}"
    handle = await ensure_backup_schedule(client, settings, schedule_id)
    try:
        assert await next_runs(handle) == {(2, 30)}  # nightly at 02:30 UTC
        # Running the setup again updates the same schedule rather than failing.
        later = settings.model_copy(update={"backup_cron": "45 3 * * *"})
        await ensure_backup_schedule(client, later, schedule_id)
        assert await next_runs(handle) == {(3, 45)}

        await handle.trigger()
        query = f'TemporalScheduledById = "{schedule_id}"'
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            runs = [run async for run in client.list_workflows(query)]
            if runs and runs[0].status is not WorkflowExecutionStatus.RUNNING:
                status = runs[0].status
                break
            await asyncio.sleep(0.3)
        assert status is WorkflowExecutionStatus.COMPLETED
    finally:
        await handle.delete()

    [(folder, manifest)] = list_backups(tmp_path / "offsite")
    # The worker takes the backup keys of its settings, as `oms worker` does
    # (OMS_BACKUP_KEYS, else the key file under its var/).
    keyring = backup_keyring(system.settings)
    assert manifest is not None and verify_files(folder, keyring) == manifest
    assert manifest.key_id == keyring.active
    assert manifest.dialect == "sqlite" and manifest.tables["orders"].rows >= 0
    names = sorted(p.name for p in folder.iterdir())
    assert "read-model.sqlite.enc" in names
    assert all(name == "manifest.json" or name.endswith(".enc") for name in names)
