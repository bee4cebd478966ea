"""P6.2: a backup of the read model, as the nightly workflow asks for it and is answered.

No key travels in these: the worker encrypts with its own backup key (db/backup.py).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class BackupRequest(BaseModel):
    #: Where the backups go, as the workers see it (a volume mounted from another site).
    target_dir: str
    keep: int = Field(default=14, ge=1)
    #: The Temporal dev server's SQLite file, in the embedded system; None otherwise.
    temporal_db_file: str | None = None


class BackupResult(BaseModel):
    backup_id: str
    path: str
    #: Rows per table, as recorded in the manifest.
    tables: dict[str, int]
    files: list[str]
    pruned: list[str]
    #: The backup key that encrypted the files and signed the manifest (its id only).
    #: Empty in results recorded before backups were encrypted.
    key_id: str = ""
