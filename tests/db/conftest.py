"""Each read-model test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from db.engine import Database
from tests.support.postgres import temporary_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'oms.db'}")
        db.create_schema()
        yield db
        db.dispose()
        return
    with temporary_database() as url:
        db = Database(url)
        db.create_schema()
        yield db
        db.dispose()
