"""Which modules define read-model tables; the migrations (db/migrations/) import them all.

A new area with tables of its own adds its module here (tables share `db.tables.metadata`),
and a revision that makes them (`oms db revision -m "..." --autogenerate`, docs/ops.md).
"""

from __future__ import annotations

import importlib

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
    "db.feedback_analysis_tables",
    "db.training_tables",
    "db.scorecard_tables",
]


def load_table_modules() -> None:
    for module in TABLE_MODULES:
        importlib.import_module(module)


class SchemaOutOfDate(SystemExit):
    """The read model is behind this version's migrations, and this process may not run them
    (`OMS_MIGRATE_ON_START=false`): the message names `oms db upgrade`.

    A `SystemExit`: the process that meets it (API, worker, `oms up`, a command) stops with
    the message rather than failing later in the middle of an order's step, where a write
    would be retried for ever.
    """
