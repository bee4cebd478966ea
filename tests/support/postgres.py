"""PostgreSQL for tests: a fresh database per use, dropped afterwards.

A plain `make test` on a machine without PostgreSQL skips these tests with a
message; CI sets OMS_REQUIRE_POSTGRES=1, which turns a missing server into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

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
    name = f"oms_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg2://{user}@{HOST}:{PORT}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
