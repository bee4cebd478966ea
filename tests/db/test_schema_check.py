"""A read model made by an earlier version is refused with the statements that would bring it
up to date, and nothing is changed (no migrations yet: db/schema.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect, text

from db.engine import Database
from db.schema import SchemaOutOfDate
from db.tables import metadata


def leaf_table() -> str:
    """A table no other table refers to: one that can be dropped on its own."""
    referred = {fk.column.table.name for t in metadata.tables.values() for fk in t.foreign_keys}
    return next(t.name for t in reversed(metadata.sorted_tables) if t.name not in referred)


def test_a_table_missing_a_column_is_refused_with_its_alter_statement(database: Database):
    dropped = leaf_table()
    with database.write() as conn:
        conn.execute(text("ALTER TABLE orders DROP COLUMN carrier"))
        conn.execute(text(f"DROP TABLE {dropped}"))
    again = Database(str(database.writer.url.render_as_string(hide_password=False)))
    try:
        with pytest.raises(SchemaOutOfDate) as refused:
            again.create_schema()
        message = str(refused.value)
        assert "lacks 1 column(s) this version needs (orders.carrier)" in message
        assert "Nothing was changed" in message
        # Nothing was: the dropped table is still missing.
        assert dropped not in inspect(again.writer).get_table_names()

        [statement] = re.findall(r"ALTER TABLE .*;", message)
        assert statement == "ALTER TABLE orders ADD COLUMN carrier VARCHAR(100);"
        with again.write() as conn:
            conn.execute(text(statement))
        again.create_schema()  # now it goes through, and makes the missing table
        assert dropped in inspect(again.writer).get_table_names()
    finally:
        again.dispose()


def test_a_database_of_this_version_passes_the_check(database: Database):
    database.create_schema()  # the fixture made it; a second start finds nothing missing
