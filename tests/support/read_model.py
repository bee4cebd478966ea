"""A read model with its schema for a test: SQLite under the test's folder, or a
throwaway PostgreSQL database (tests/support/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from db.engine import Database
from tests.support.postgres import temporary_database


def sqlite_read_model(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'oms.db'}")
    db.create_schema()
    return db


@contextmanager
def read_model(backend: str, tmp_path: Path) -> Iterator[Database]:
    """`backend` is "sqlite" or "postgresql"; the database is disposed of afterwards."""
    if backend == "sqlite":
        db = sqlite_read_model(tmp_path)
        try:
            yield db
        finally:
            db.dispose()
        return
    with temporary_database() as url:
        db = Database(url)
        db.create_schema()
        try:
            yield db
        finally:
            db.dispose()
