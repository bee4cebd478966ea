"""A PostgreSQL database made for one use and dropped afterwards (tests, the benchmark)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


@contextmanager
def throwaway_database(admin: Engine, base_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database through `admin` (AUTOCOMMIT) and yield its URL
    (`base_url` + its name); afterwards end its sessions and drop it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base_url.rstrip('/')}/{name}"
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
