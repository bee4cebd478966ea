"""`oms backup` and `oms restore` (P6.2), and the nightly Temporal Schedule that runs backups.

    oms backup                       back up now, into OMS_BACKUP_DIR (keep OMS_BACKUP_KEEP)
    oms backup list                  the complete backups, oldest first
    oms backup verify FOLDER         check the manifest's signature, every file's checksum,
                                     and that every file decrypts with the backup keys
    oms backup new-key               create the backup key file, or rotate to a new active key
    oms backup schedule [--trigger]  create or update the nightly Schedule (OMS_BACKUP_CRON)
    oms restore FOLDER [--database-url URL] [--force] [--temporal-db]

Backups are encrypted and their manifests signed (db/backup.py); the keys come from
OMS_BACKUP_KEYS / OMS_BACKUP_ACTIVE_KEY or the key file (var/backup-keys.json).

Restoring is an offline operation. Before anything else `oms restore` makes sure of it:
nothing may answer on the API's address (OMS_API_HOST, OMS_API_PORT), and Temporal must
report no poller on the task queue (OMS_TASK_QUEUE) in the last minute; with
`--temporal-db` the dev server must be stopped too. If the API's address or Temporal
cannot be reached, nothing can be proved and `--force` is needed to go on. `--force`
also lets a restore replace a database that holds data; it never overrides a running
API or polling workers, nor a backup that fails its checks. After the restore, the
revocation log (OMS_REVOCATION_LOG) is re-applied, so no token revoked or rotated away
since the backup comes back to life.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from config.settings import Settings
from db.backup import (
    BackupError,
    backup_keyring,
    check_manifest,
    list_backups,
    make_backup,
    new_backup_key,
    read_revocations,
    reapply_revocations,
    restore_backup,
    restore_temporal_db,
    verify_files,
)
from db.engine import Database
from oms.schedules import ensure_backup_schedule
from workers.client import connect, tls_config

#: Workers that polled the task queue within this long count as running.
POLLED_WITHIN = timedelta(minutes=1)


def _database(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    db.create_schema()
    return db


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    root = args.dir or settings.resolved_backup_dir
    try:
        keyring = backup_keyring(settings, create=True, backup_dir=root)
    except BackupError as error:
        print(f"oms backup: {error}", file=sys.stderr)
        return 1
    db = _database(settings)
    temporal_db = None if args.no_temporal_db else settings.resolved_temporal_db_file
    try:
        folder, manifest, pruned = make_backup(
            db,
            root,
            keyring=keyring,
            keep=args.keep or settings.backup_keep,
            temporal_db_file=temporal_db,
        )
    except BackupError as error:
        print(f"oms backup: {error}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    rows = sum(t.rows for t in manifest.tables.values())
    print(
        f"backup {manifest.backup_id}: {len(manifest.tables)} tables, {rows} rows, "
        f"encrypted with key {manifest.key_id} -> {folder}"
    )
    for old in pruned:
        print(f"removed old backup {old.name}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    try:
        keyring = backup_keyring(settings)
    except BackupError:
        keyring = None  # list anyway; signatures unchecked
    for folder, manifest in list_backups(args.dir or settings.resolved_backup_dir):
        if manifest is None:
            print(f"{folder.name}  older format or unreadable manifest: cannot be restored")
            continue
        rows = sum(t.rows for t in manifest.tables.values())
        extra = " + dev server db" if manifest.temporal_db else ""
        signed = "signature unchecked (no backup key)"
        if keyring is not None:
            try:
                check_manifest(folder, keyring)
                signed = f"signed, key {manifest.key_id}"
            except BackupError:
                signed = "SIGNATURE INVALID OR UNKNOWN KEY"
        print(f"{folder.name}  {manifest.dialect:<10} {rows:>9} rows{extra}  {signed}")
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    try:
        manifest = verify_files(args.folder, backup_keyring(settings))
    except BackupError as error:
        print(f"oms backup verify: {error}", file=sys.stderr)
        return 1
    print(
        f"{manifest.backup_id}: manifest signed with key {manifest.key_id}; "
        f"{len(manifest.files)} file(s) match their checksums and decrypt"
    )
    return 0


def cmd_new_key(args: argparse.Namespace, settings: Settings) -> int:
    try:
        keyring, path = new_backup_key(settings)
    except BackupError as error:
        print(f"oms backup new-key: {error}", file=sys.stderr)
        return 1
    print(
        f"active backup key {keyring.active} ({len(keyring.keys)} key(s)) in {path}; keep a "
        "copy of this file away from this machine and from the backup volume"
    )
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


# --- is anything running? ----------------------------------------------------------------------


@dataclass(frozen=True)
class Running:
    """What a check found: `up`, `down`, or `unknown` (it could not tell)."""

    state: Literal["up", "down", "unknown"]
    detail: str


def api_running(settings: Settings, timeout: float = 2.0) -> Running:
    """Whether anything accepts connections on the API's address from the settings."""
    host = settings.api_host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    where = f"{host}:{settings.api_port}"
    try:
        with socket.create_connection((host, settings.api_port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        return Running("down", f"API: nothing answers on {where}")
    except OSError as error:
        return Running("unknown", f"cannot tell whether the API runs on {where} ({error})")
    url_host = f"[{host}]" if ":" in host else host
    try:
        status = httpx.get(f"http://{url_host}:{settings.api_port}/healthz", timeout=timeout)
        answer = f"GET /healthz answered {status.status_code}"
    except httpx.HTTPError:
        answer = "not over HTTP"
    return Running("up", f"something answers on the API's port {where} ({answer})")


async def workers_running(settings: Settings, timeout: float = 10.0) -> Running:
    """Whether Temporal saw a poller on the task queue within the last minute."""
    queue, address = settings.task_queue, settings.temporal_address
    try:
        client = await asyncio.wait_for(
            Client.connect(
                address,
                namespace=settings.temporal_namespace,
                tls=tls_config(settings),
                api_key=settings.temporal_api_key or None,
            ),
            timeout,
        )
    except Exception as error:
        return Running(
            "unknown",
            f"cannot reach Temporal at {address} to ask whether workers poll {queue} ({error})",
        )
    cutoff = datetime.now(UTC) - POLLED_WITHIN
    pollers: set[str] = set()
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        request = DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=kind,
        )
        try:
            described = await client.workflow_service.describe_task_queue(
                request, timeout=timedelta(seconds=timeout)
            )
        except Exception as error:
            return Running("unknown", f"Temporal at {address} did not describe {queue} ({error})")
        for poller in described.pollers:
            if poller.last_access_time.ToDatetime(tzinfo=UTC) >= cutoff:
                pollers.add(poller.identity)
    if pollers:
        return Running(
            "up", f"{len(pollers)} worker(s) polled the task queue {queue} in the last minute"
        )
    return Running("down", f"workers: none polled {queue} on {address} in the last minute")


def refusal_while_running(settings: Settings, *, force: bool, temporal_db: bool) -> str | None:
    """Why a restore must not start now, or None; printed findings go to stderr."""
    api = api_running(settings)
    if api.state == "up":
        return f"{api.detail}: stop the API before restoring"
    workers = asyncio.run(workers_running(settings))
    if workers.state == "up":
        return f"{workers.detail}: stop the workers before restoring"
    if temporal_db and workers.state == "down":
        return (
            f"Temporal answers at {settings.temporal_address}: stop the dev server before "
            "restoring its database (--temporal-db)"
        )
    unknown = [check.detail for check in (api, workers) if check.state == "unknown"]
    if unknown and not force:
        return (
            "; ".join(unknown) + ". Make sure the API and the workers are stopped, then run "
            "again with --force"
        )
    for check in (api, workers):
        note = " (going on: --force)" if check.state == "unknown" else ""
        print(f"{check.detail}{note}", file=sys.stderr)
    return None


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    url = args.database_url or settings.resolved_database_url
    folder: Path = args.folder
    try:
        # 1. Offline, proved before anything is read or changed.
        refusal = refusal_while_running(settings, force=args.force, temporal_db=args.temporal_db)
        if refusal is not None:
            print(f"oms restore: {refusal}", file=sys.stderr)
            return 1
        # 2. The backup: signature, file names, checksums, decryption; and the revocation
        #    log, read now so that a log that cannot be read stops the restore before it.
        keyring = backup_keyring(settings)
        manifest = verify_files(folder, keyring)
        if args.temporal_db and manifest.temporal_db is None:
            raise BackupError(f"{folder} holds no copy of the dev server's database")
        log = settings.resolved_revocation_log
        for volume in (folder.parent, settings.resolved_backup_dir):
            if _inside(log, volume):
                raise BackupError(
                    f"the revocation log {log} is on the backup volume {volume}: whoever can "
                    "write the backups could erase revocations; set OMS_REVOCATION_LOG elsewhere"
                )
        revocations = read_revocations(log)
        # 3. Restore and prove it; then revoke again what was revoked since.
        restored = restore_backup(folder, url, keyring, force=args.force, verified=manifest)
        print(
            f"restored {len(restored)} tables, {sum(t.rows for t in restored.values())} rows; "
            "row counts and checksums match the backup"
        )
        changed = reapply_revocations(url, revocations)
        print(
            f"re-applied {len(revocations)} token revocation(s) and rotation(s) from {log} "
            f"({changed} changed the restored staff table)"
        )
        if args.temporal_db:
            target = settings.resolved_temporal_db_file or settings.var_dir / "temporal.db"
            restore_temporal_db(folder, target, keyring, verified=manifest)
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
    verify = sub.add_parser(
        "verify", help="check a backup's signature and checksums, and that it decrypts"
    )
    verify.add_argument("folder", type=Path)
    verify.set_defaults(fn=cmd_verify)
    new_key = sub.add_parser(
        "new-key", help="create the backup key file, or rotate to a new active key"
    )
    new_key.set_defaults(fn=cmd_new_key)
    schedule = sub.add_parser("schedule", help="create or update the nightly backup Schedule")
    schedule.add_argument("--trigger", action="store_true", help="and run one backup now")
    schedule.set_defaults(fn=cmd_schedule)

    restore = subparsers.add_parser("restore", help="restore the read model from a backup")
    restore.add_argument("folder", type=Path, help="a backup folder (oms-backup-...)")
    restore.add_argument(
        "--database-url", help="restore into this database (default: the configured one)"
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace a database holding data; and go on when Temporal or the API's address "
        "cannot be reached to prove the workers and the API are stopped (never overrides a "
        "running API, polling workers, or a backup that fails its checks)",
    )
    restore.add_argument(
        "--temporal-db", action="store_true", help="also put back the dev server's database"
    )
    restore.set_defaults(fn=cmd_restore)
