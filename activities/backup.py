"""The nightly backup as an activity (P6.2): it runs on a worker, next to the read model.

The backup is encrypted with the worker's own backup key (`OMS_BACKUP_KEYS`, or the key
file under var/): the key never travels through Temporal, only its id comes back.
"""

from __future__ import annotations

from pathlib import Path

from temporalio import activity

from config.keys import Keyring
from config.settings import Settings, get_settings
from db.backup import backup_keyring, make_backup
from db.engine import Database
from domain.backups import BackupRequest, BackupResult


class BackupActivities:
    def __init__(
        self, db: Database, settings: Settings | None = None, keyring: Keyring | None = None
    ) -> None:
        """`keyring` (tests), else the backup keys of `settings` (else of the process's
        settings), looked up at each backup: a key file appears with the first one."""
        self.db = db
        self.settings = settings
        self.keyring = keyring

    def _keyring(self, target: Path) -> Keyring:
        if self.keyring is not None:
            return self.keyring
        return backup_keyring(self.settings or get_settings(), create=True, backup_dir=target)

    @activity.defn
    def back_up_read_model(self, request: BackupRequest) -> BackupResult:
        """Copy the read model (and the dev server's file), encrypted, to the backup directory."""
        target = Path(request.target_dir)
        folder, manifest, pruned = make_backup(
            self.db,
            target,
            keyring=self._keyring(target),
            keep=request.keep,
            temporal_db_file=Path(request.temporal_db_file) if request.temporal_db_file else None,
        )
        activity.logger.info(
            "backup %s written to %s (key %s)", manifest.backup_id, folder, manifest.key_id
        )
        return BackupResult(
            backup_id=manifest.backup_id,
            path=str(folder),
            tables={name: digest.rows for name, digest in manifest.tables.items()},
            files=[f.name for f in manifest.files],
            pruned=[p.name for p in pruned],
            key_id=manifest.key_id,
        )
