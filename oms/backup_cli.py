"""`oms backup` and `oms restore` (P6.2), and the nightly Temporal Schedule that runs backups.

    oms backup                       back up now, into OMS_BACKUP_DIR (keep OMS_BACKUP_KEEP)
    oms backup list                  the complete backups, oldest first
    oms backup verify FOLDER         check every file against the manifest's checksums
    oms backup schedule [--trigger]  create or update the nightly Schedule (OMS_BACKUP_CRON)
    oms restore FOLDER [--database-url URL] [--force] [--temporal-db]

Restoring is an offline operation: stop the API and the workers first (and the
dev server for `--temporal-db`).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

from config.settings import Settings
from db.backup import (
    BackupError,
    list_backups,
    make_backup,
    restore_backup,
    restore_temporal_db,
    verify_files,
)
from db.engine import Database
from oms.schedules import ensure_backup_schedule
from workers.client import connect


def _database(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    db.create_schema()
    return db


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    temporal_db = None if args.no_temporal_db else settings.resolved_temporal_db_file
    try:
        folder, manifest, pruned = make_backup(
            db,
            args.dir or settings.resolved_backup_dir,
            keep=args.keep or settings.backup_keep,
            temporal_db_file=temporal_db,
        )
    except BackupError as error:
        print(f"oms backup: {error}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    rows = sum(t.rows for t in manifest.tables.values())
    print(f"backup {manifest.backup_id}: {len(manifest.tables)} tables, {rows} rows -> {folder}")
    for old in pruned:
        print(f"removed old backup {old.name}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    for folder, manifest in list_backups(args.dir or settings.resolved_backup_dir):
        rows = sum(t.rows for t in manifest.tables.values())
        extra = " + dev server db" if manifest.temporal_db else ""
        print(f"{folder.name}  {manifest.dialect:<10} {rows:>9} rows{extra}")
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    try:
        manifest = verify_files(args.folder)
    except BackupError as error:
        print(f"oms backup verify: {error}", file=sys.stderr)
        return 1
    print(f"{manifest.backup_id}: {len(manifest.files)} file(s) match their checksums")
    return 0


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        client = await connect(settings)
        handle = await ensure_backup_schedule(client, settings)
        if args.trigger:
            await handle.trigger()
        print(
            f"schedule {handle.id}: backups at '{settings.backup_cron}' (UTC) "
            f"on task queue {settings.task_queue}"
        )

    asyncio.run(run())
    return 0


def _temporal_listening(settings: Settings) -> bool:
    host, _, port = settings.temporal_address.rpartition(":")
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host or "localhost", int(port))) == 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    url = args.database_url or settings.resolved_database_url
    try:
        restored = restore_backup(args.folder, url, force=args.force)
        print(
            f"restored {len(restored)} tables, {sum(t.rows for t in restored.values())} rows; "
            "row counts and checksums match the backup"
        )
        if args.temporal_db:
            target = settings.resolved_temporal_db_file or settings.var_dir / "temporal.db"
            if _temporal_listening(settings):
                print("stop the Temporal dev server before restoring its database", file=sys.stderr)
                return 1
            restore_temporal_db(args.folder, target)
            print(f"restored the dev server's database to {target}")
    except BackupError as error:
        print(f"oms restore: {error}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    backup = subparsers.add_parser("backup", help="back up the read model now (P6.2)")
    backup.add_argument("--dir", type=Path, help="backup directory (default OMS_BACKUP_DIR)")
    backup.add_argument("--keep", type=int, help="backups to keep (default OMS_BACKUP_KEEP)")
    backup.add_argument(
        "--no-temporal-db", action="store_true", help="leave out the dev server's database"
    )
    backup.set_defaults(fn=cmd_backup)
    sub = backup.add_subparsers(dest="backup_command")
    listing = sub.add_parser("list", help="complete backups, oldest first")
    listing.add_argument("--dir", type=Path)
    listing.set_defaults(fn=cmd_list)
    verify = sub.add_parser("verify", help="check a backup's files against its checksums")
    verify.add_argument("folder", type=Path)
    verify.set_defaults(fn=cmd_verify)
    schedule = sub.add_parser("schedule", help="create or update the nightly backup Schedule")
    schedule.add_argument("--trigger", action="store_true", help="and run one backup now")
    schedule.set_defaults(fn=cmd_schedule)

    restore = subparsers.add_parser("restore", help="restore the read model from a backup")
    restore.add_argument("folder", type=Path, help="a backup folder (oms-backup-...)")
    restore.add_argument(
        "--database-url", help="restore into this database (default: the configured one)"
    )
    restore.add_argument("--force", action="store_true", help="replace a database holding data")
    restore.add_argument(
        "--temporal-db", action="store_true", help="also put back the dev server's database"
    )
    restore.set_defaults(fn=cmd_restore)
