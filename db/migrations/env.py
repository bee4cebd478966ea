"""Alembic's environment for the read model, run by `db.migrations` (`oms db ...`).

It migrates through the connection `db.migrations` hands it (inside that connection's write
transaction, under its lock), or else through one of the settings' database URL, so a plain
`alembic` with `-x` is never needed. Batch mode, so SQLite can alter a table (it copies it).
Columns of the app's own types (`db.types`) are written as their database types: a revision
stays valid whatever later becomes of the Python class.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine
from sqlalchemy.types import TypeDecorator

from db.migrations import COMPARE_OPTIONS
from db.schema import load_table_modules
from db.tables import metadata

load_table_modules()


def render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=render_item,
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (--sql) migrations are not supported: run `oms db upgrade`")
    given = context.config.attributes.get("connection")
    if given is not None:
        run(given)
        return
    from config.settings import get_settings

    engine = create_engine(get_settings().resolved_database_url)
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()


main()
