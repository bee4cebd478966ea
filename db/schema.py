"""Which modules define read-model tables: `Database.create_schema` imports them all.

A new area with tables of its own adds its module here (tables share `db.tables.metadata`).
"""

from __future__ import annotations

import importlib

TABLE_MODULES = [
    "db.tables",
    "db.feedback_tables",
    "db.report_tables",
    "db.audit_tables",
    "db.console_tables",
]


def load_table_modules() -> None:
    for module in TABLE_MODULES:
        importlib.import_module(module)
