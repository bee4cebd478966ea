"""Backups of the read model and of the dev server's database, and their restore (P6.2).

A backup is a folder `oms-backup-<UTC time>-<id>` under the backup directory
(in production a volume mounted from another site) holding:

- the read model: a SQLite copy made with SQLite's online backup API (the
  system keeps running), or a `pg_dump --format=custom` of PostgreSQL taken in
  one snapshot;
- the Temporal dev server's SQLite file, when the embedded system runs one;
- `manifest.json`: the SHA-256 and size of every file, and per table of the
  read model its row count and a SHA-256 of its rows in key order.

The table digests are taken from the same snapshot as the copy (the copy itself
for SQLite; the exported snapshot pg_dump also reads for PostgreSQL), so a
restore can prove it brought back exactly what was saved. A folder is renamed
into place only when complete; after a good backup only the newest `keep` stay.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy.engine import URL, make_url

from db.engine import Database
from db.schema import load_table_modules
from db.tables import metadata

MANIFEST = "manifest.json"
PREFIX = "oms-backup-"
PARTIAL = ".partial"
SQLITE_COPY = "read-model.sqlite"
PG_DUMP = "read-model.pgdump"
TEMPORAL_COPY = "temporal-dev-server.sqlite"


class BackupError(Exception):
    """A backup that cannot be made, checked or restored; the message says why."""


class FileDigest(BaseModel):
    name: str
    sha256: str
    bytes: int


class TableDigest(BaseModel):
    rows: int
    sha256: str


class Manifest(BaseModel):
    backup_id: str
    created_at: datetime
    #: `sqlite` or `postgresql`: which restore the read-model file needs.
    dialect: str
    #: The source, without any password.
    source: str
    read_model: str
    temporal_db: str | None = None
    files: list[FileDigest]
    tables: dict[str, TableDigest]


# --- digests ---------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """One canonical form per value, whichever database it was read from."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def table_digests(conn: Connection) -> dict[str, TableDigest]:
    """Row count and SHA-256 of the rows (in primary-key order) of every read-model table."""
    load_table_modules()
    present = set(inspect(conn).get_table_names())
    digests: dict[str, TableDigest] = {}
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        digest = hashlib.sha256()
        rows = 0
        for row in conn.execute(select(table).order_by(*order)):
            line = json.dumps([_plain(v) for v in row], sort_keys=True, default=str)
            digest.update(line.encode() + b"\n")
            rows += 1
        digests[table.name] = TableDigest(rows=rows, sha256=digest.hexdigest())
    return digests


def _sqlite_file_digests(path: Path) -> dict[str, TableDigest]:
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            return table_digests(conn)
    finally:
        engine.dispose()


# --- copies ----------------------------------------------------------------------------------


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API; the copy is a single file."""
    if not source.exists():
        raise BackupError(f"{source}: no such database file")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # WAL needs side files; a backup must stand alone.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore, and an environment carrying the password (not argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _pg_dump_with_digests(url: URL, target: Path) -> dict[str, TableDigest]:
    """pg_dump and the table digests from one exported snapshot: both see the same data."""
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn, conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            dsn, env = _libpq(url)
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={dsn}",
                ],
                env,
            )
            return table_digests(conn)
    finally:
        engine.dispose()


# --- backup ----------------------------------------------------------------------------------


def backup_id(now: datetime) -> str:
    return f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def make_backup(
    db: Database,
    root: Path,
    *,
    keep: int,
    temporal_db_file: Path | None = None,
    now: datetime | None = None,
) -> tuple[Path, Manifest, list[Path]]:
    """Back up the read model (and the dev server's file); returns the folder, its manifest,
    and the old backups removed to keep only `keep`."""
    now = now or datetime.now(UTC)
    root.mkdir(parents=True, exist_ok=True)
    name = backup_id(now)
    work = root / (name + PARTIAL)
    work.mkdir()
    try:
        if db.is_sqlite:
            source = Path(db.url.database or "")
            sqlite_copy(source, work / SQLITE_COPY)
            read_model, tables = SQLITE_COPY, _sqlite_file_digests(work / SQLITE_COPY)
        else:
            read_model, tables = PG_DUMP, _pg_dump_with_digests(db.url, work / PG_DUMP)
        temporal = None
        if temporal_db_file is not None:
            sqlite_copy(temporal_db_file, work / TEMPORAL_COPY)
            temporal = TEMPORAL_COPY
        files = [
            FileDigest(name=p.name, sha256=sha256_file(p), bytes=p.stat().st_size)
            for p in sorted(work.iterdir())
        ]
        manifest = Manifest(
            backup_id=name,
            created_at=now,
            dialect=db.dialect,
            source=db.url.render_as_string(hide_password=True),
            read_model=read_model,
            temporal_db=temporal,
            files=files,
            tables=tables,
        )
        (work / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
        final = root / name
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final, manifest, prune(root, keep, now)


def list_backups(root: Path) -> list[tuple[Path, Manifest]]:
    """Complete backups, oldest first (names sort by time)."""
    if not root.exists():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and folder.name.startswith(PREFIX) and (folder / MANIFEST).exists():
            found.append((folder, read_manifest(folder)))
    return found


def prune(root: Path, keep: int, now: datetime) -> list[Path]:
    """Keep the newest `keep` backups; drop older ones and attempts abandoned over a day ago."""
    complete = [folder for folder, _ in list_backups(root)]
    doomed = complete[: max(len(complete) - keep, 0)]
    for folder in root.glob(f"{PREFIX}*{PARTIAL}"):
        modified = datetime.fromtimestamp(folder.stat().st_mtime, UTC)
        if now - modified > timedelta(days=1):
            doomed.append(folder)
    for folder in doomed:
        shutil.rmtree(folder)
    return doomed


# --- check and restore -----------------------------------------------------------------------


def read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest.model_validate_json((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder}: no readable {MANIFEST} ({error})") from None


def verify_files(folder: Path) -> Manifest:
    """The manifest, once every file it lists is there with its recorded size and SHA-256."""
    manifest = read_manifest(folder)
    for entry in manifest.files:
        path = folder / entry.name
        if not path.exists():
            raise BackupError(f"{path}: missing")
        if path.stat().st_size != entry.bytes or sha256_file(path) != entry.sha256:
            raise BackupError(f"{path}: checksum mismatch, the backup is damaged")
    return manifest


def _our_tables(conn: Connection) -> list[Any]:
    load_table_modules()
    present = set(inspect(conn).get_table_names())
    return [table for table in metadata.sorted_tables if table.name in present]


def _has_rows(conn: Connection) -> bool:
    return any(conn.execute(select(t).limit(1)).first() is not None for t in _our_tables(conn))


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def restore_backup(
    folder: Path, database_url: str, *, force: bool = False
) -> dict[str, TableDigest]:
    """Restore the read model into the database at `database_url`, then prove it: every
    table's row count and digest must equal the manifest's. Refuses a database with
    order data in it unless `force`."""
    manifest = verify_files(folder)
    url = make_url(database_url)
    dialect = url.get_backend_name()
    if dialect != manifest.dialect:
        raise BackupError(f"this backup is of a {manifest.dialect} database, not {dialect}")
    if dialect == "sqlite":
        target = Path(url.database or "")
        if target.exists() and not force:
            with _connection(database_url) as conn:
                if _has_rows(conn):
                    raise BackupError(f"{target} holds data; restore with --force to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        sqlite_copy(folder / manifest.read_model, target)
    else:
        with _connection(database_url) as conn:
            occupied, has_schema = _has_rows(conn), bool(_our_tables(conn))
        if occupied and not force:
            raise BackupError("the target database holds data; restore with --force to replace it")
        dsn, env = _libpq(url)
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
        if has_schema:  # an empty schema made by `oms db init` is replaced too
            command += ["--clean", "--if-exists"]
        _run([*command, f"--dbname={dsn}", str(folder / manifest.read_model)], env)
    with _connection(database_url) as conn:
        restored = table_digests(conn)
    if restored != manifest.tables:
        differing = sorted(
            name
            for name in set(restored) | set(manifest.tables)
            if restored.get(name) != manifest.tables.get(name)
        )
        raise BackupError(f"restored tables differ from the backup: {', '.join(differing)}")
    return restored


def restore_temporal_db(folder: Path, target: Path) -> None:
    """Put the dev server's database back (the dev server must be stopped)."""
    manifest = verify_files(folder)
    if manifest.temporal_db is None:
        raise BackupError(f"{folder} holds no copy of the dev server's database")
    target.parent.mkdir(parents=True, exist_ok=True)
    for side in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        side.unlink(missing_ok=True)
    sqlite_copy(folder / manifest.temporal_db, target)
