"""Which modules define read-model tables (`Database.create_schema` imports them all), and
the check that a database made by an earlier version has every column this one needs.

A new area with tables of its own adds its module here (tables share `db.tables.metadata`).
There are no migrations yet: a table that gains a column in a new version is refused
with the `ALTER TABLE` statements that would bring it up to date, never half-used.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Column, Engine, inspect
from sqlalchemy.schema import CreateColumn

from db.tables import metadata

TABLE_MODULES = [
    "db.tables",
    "db.feedback_tables",
    "db.catalogue_tables",
    "db.customer_tables",
    "db.report_tables",
    "db.audit_tables",
    "db.supervision_tables",
    "db.console_tables",
    "db.staff_tables",
    "db.channel_tables",
    "db.carrier_tables",
    "db.notification_tables",
]


def load_table_modules() -> None:
    for module in TABLE_MODULES:
        importlib.import_module(module)


class SchemaOutOfDate(SystemExit):
    """The read model was made by an earlier version: columns this version needs are missing.

    A `SystemExit`: the process that meets it (API, worker, `oms up`, a command) stops with
    the message rather than failing later in the middle of an order's step, where a write
    would be retried for ever.
    """


def missing_columns(engine: Engine) -> list[Column[Any]]:
    """Columns of the tables that exist in the database which the database lacks."""
    load_table_modules()
    inspector = inspect(engine)
    existing = set(inspector.get_table_names())
    missing: list[Column[Any]] = []
    for table in metadata.sorted_tables:
        if table.name in existing:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing += [column for column in table.columns if column.name not in present]
    return missing


def check_columns(engine: Engine) -> None:
    """Refuse, changing nothing, a database whose tables lack columns of this version."""
    missing = missing_columns(engine)
    if not missing:
        return
    where = engine.url.render_as_string(hide_password=True)
    names = ", ".join(f"{c.table.name}.{c.name}" for c in missing)
    statements = "\n".join(
        f"  ALTER TABLE {c.table.name} ADD COLUMN "
        f"{CreateColumn(c).compile(dialect=engine.dialect)};"
        for c in missing
    )
    raise SchemaOutOfDate(
        f"the read model at {where} was made by an earlier version of this system: it lacks "
        f"{len(missing)} column(s) this version needs ({names}). Nothing was changed.\n"
        "A development database can be moved aside and made afresh (stop `make run`, then "
        "`mv var/oms.db var/oms.db.old` and `mv var/temporal.db var/temporal.db.old`, whose "
        "orders would otherwise lack their rows). A database whose data must be kept: back it "
        "up (`oms backup`), then add the columns, reviewing each statement first (a NOT NULL "
        f"column needs a default on a table with rows):\n{statements}"
    )
