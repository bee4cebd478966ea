"""BackupWorkflow: one backup of the read model, run nightly by a Temporal Schedule (P6.2).

A workflow rather than a cron job on one host: the Schedule survives restarts,
skips a run while the previous one is still going, and every run with its
result (or failure and retries) is visible in the Temporal UI.
"""

# No `from __future__ import annotations`: the sandbox imports this module afresh for every
# workflow it starts, and string annotations would be compiled again each time to read the
# handlers' argument types (10 % of a replay, measured).

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.backups import BackupRequest, BackupResult

#: A dump can take a while; a failed one is retried a few times, then the run fails visibly.
BACKUP_TIMEOUT = timedelta(hours=2)
BACKUP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=30), backoff_coefficient=2.0, maximum_attempts=4
)


@workflow.defn
class BackupWorkflow:
    @workflow.run
    async def run(self, request: BackupRequest) -> BackupResult:
        result: BackupResult = await workflow.execute_activity(
            "back_up_read_model",
            request,
            result_type=BackupResult,
            start_to_close_timeout=BACKUP_TIMEOUT,
            retry_policy=BACKUP_RETRY,
            summary=f"back up the read model to {request.target_dir}",
        )
        workflow.set_current_details(
            f"**Backup:** {result.backup_id}\n**Rows:** {sum(result.tables.values())}"
        )
        return result
