"""PostgreSQL for tests: a fresh database per use, dropped afterwards.

A plain `make test` on a machine without PostgreSQL skips these tests with a
message; CI sets OMS_REQUIRE_POSTGRES=1, which turns a missing server into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from db.throwaway import throwaway_database

HOST = os.environ.get("OMS_TEST_PG_HOST", "127.0.0.1")
PORT = os.environ.get("OMS_TEST_PG_PORT", "5432")
USERS = [u for u in (os.environ.get("OMS_TEST_PG_USER"), "postgres", "root") if u]


def _admin_engine() -> tuple[Engine, str] | None:
    for user in USERS:
        engine = create_engine(
            f"postgresql+psycopg2://{user}@{HOST}:{PORT}/postgres", isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return engine, user
        except Exception:
            engine.dispose()
    return None


def require_postgres() -> tuple[Engine, str]:
    found = _admin_engine()
    if found is None:
        message = (
            f"PostgreSQL is not reachable on {HOST}:{PORT} as {'/'.join(USERS)}; "
            "start it with: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start"
        )
        if os.environ.get("OMS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def temporary_database() -> Iterator[str]:
    """Create an empty database and yield its SQLAlchemy URL; drop it afterwards."""
    admin, user = require_postgres()
    try:
        with throwaway_database(
            admin, f"postgresql+psycopg2://{user}@{HOST}:{PORT}", "oms_test"
        ) as url:
            yield url
    finally:
        admin.dispose()
