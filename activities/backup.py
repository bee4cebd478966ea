"""The nightly backup as an activity (P6.2): it runs on a worker, next to the read model."""

from __future__ import annotations

from pathlib import Path

from temporalio import activity

from db.backup import make_backup
from db.engine import Database
from domain.backups import BackupRequest, BackupResult


class BackupActivities:
    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn
    def back_up_read_model(self, request: BackupRequest) -> BackupResult:
        """Copy the read model (and the dev server's file) to the backup directory."""
        folder, manifest, pruned = make_backup(
            self.db,
            Path(request.target_dir),
            keep=request.keep,
            temporal_db_file=Path(request.temporal_db_file) if request.temporal_db_file else None,
        )
        activity.logger.info("backup %s written to %s", manifest.backup_id, folder)
        return BackupResult(
            backup_id=manifest.backup_id,
            path=str(folder),
            tables={name: digest.rows for name, digest in manifest.tables.items()},
            files=[f.name for f in manifest.files],
            pruned=[p.name for p in pruned],
        )
