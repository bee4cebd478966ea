"""The read model's engine: one `Database` per process, built from `OMS_DATABASE_URL`.

SQLite (the embedded default) runs in WAL mode so the API reads while the worker
writes, and every write transaction starts with `BEGIN IMMEDIATE`: two writers
then queue on the lock instead of one failing half-way with "database is locked".
Writers of one process also queue on a lock of their own first: SQLite's busy
handler waits for a held lock by sleeping up to 100 ms at a time, so thirty
threads polling it spend most of their time asleep while the lock is free
(docs/performance.md). PostgreSQL uses one pooled engine for both.

Engines hide statement parameters (`hide_parameters=True`): a database error's message
and any log of it name the statement, never the values (customers' names, phones and
addresses among them).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

#: One write lock per SQLite file, shared by every `Database` of the process.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(database: str) -> threading.Lock:
    key = str(Path(database).resolve()) if database and database != ":memory:" else database
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so pysqlite must not.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Engines for one database URL: `write()` for a transaction, `read()` for queries."""

    def __init__(self, url: str, *, serialize_writes: bool = True) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._write_lock: threading.Lock | None = None
        if self.is_sqlite:
            database = self.url.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = _sqlite_engine(url, immediate=True)
            self.reader = _sqlite_engine(url, immediate=False)
            if serialize_writes:
                self._write_lock = _write_lock(database)
        else:
            self.writer = create_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True
            )
            self.reader = self.writer

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self._write_lock or nullcontext(), self.writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.begin() as conn:
            yield conn

    def create_schema(self) -> None:
        """Bring the schema to this version's head by its migrations (db/migrations/):
        make it in an empty database, adopt one made before migrations; idempotent."""
        from db.migrations import upgrade

        upgrade(self)

    def prepare_schema(self, *, migrate: bool) -> None:
        """At a process's start (`OMS_MIGRATE_ON_START`): migrate, or refuse a database
        that is behind with `SchemaOutOfDate` naming `oms db upgrade`."""
        from db.migrations import prepare_schema

        prepare_schema(self, migrate=migrate)

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
