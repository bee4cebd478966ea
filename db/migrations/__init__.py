"""The read model's schema migrations (Alembic), driven from code: there is no alembic.ini.

`versions/` holds one revision per schema change, numbered `0001`, `0002`, ... in one line
(one head). `0001` is the baseline: the schema of release r3 (0.3.0), the last one made by
`metadata.create_all`. A database made before migrations (no `alembic_version` table, made
by `create_schema` of r1, r2 or r3) is adopted by the baseline: it makes only the tables
and indexes such a database lacks, then Alembic stamps it, so no table is made twice.

Who runs them: `oms db upgrade` (ops, or the compose file's one-shot `oms-migrate` job),
and `oms up`, the worker and the API as they start (`prepare_schema`), which upgrade or,
with `OMS_MIGRATE_ON_START=false`, refuse a database that is behind (`SchemaOutOfDate`),
naming the command. A database a newer release has migrated is used as it is: the previous
release's workers keep running on it while their orders drain (workflows/releases.py), so a
revision only adds while a release may still drain (expand now, contract a release later).

One upgrade at a time: it runs in one write transaction, under PostgreSQL's advisory lock
(`pg_advisory_xact_lock`) or SQLite's write lock (`BEGIN IMMEDIATE`), so processes that
start together wait for the first and then find nothing to do.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, inspect, text

from db.schema import SchemaOutOfDate, load_table_modules
from db.tables import metadata

if TYPE_CHECKING:
    from db.engine import Database

log = logging.getLogger(__name__)


class _QuietAlembic(logging.Filter):
    """Alembic says which dialect it uses every time it looks at a database (each start,
    each `oms db current`); the migrations it runs are worth a line, that is not."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not message.startswith(("Context impl", "Will assume", "setup plugin"))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietAlembic())
logging.getLogger("alembic.runtime.plugins").addFilter(_QuietAlembic())

MIGRATIONS = Path(__file__).resolve().parent
#: The key of the PostgreSQL advisory lock that upgrades take (any fixed 64-bit number).
ADVISORY_LOCK_KEY = 0x6F6D735F6462  # "oms_db"
#: Options of the comparison between the tables and the migrated database (autogenerate,
#: `oms db check`, tests/db/test_migrations.py).
COMPARE_OPTIONS: dict[str, Any] = {"compare_type": True, "render_as_batch": True}


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code. With `connection`, env.py migrates through it (in
    its transaction); without, through a connection of the settings' database URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # `v0001_baseline.py`: a module name mypy and Python accept (not starting with a digit).
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@cache
def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The one head: tests/db/test_migrations.py checks the revisions stay in one line."""
    heads = script().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(heads)}): merge")
    return heads[0]


def next_revision_id() -> str:
    """The id of the next revision: one more than the highest, four digits."""
    numbers = [int(r.revision) for r in script().walk_revisions() if r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def has_read_model_tables(conn: Connection) -> bool:
    load_table_modules()
    return bool(set(inspect(conn).get_table_names()) & set(metadata.tables))


@dataclass(frozen=True)
class SchemaStatus:
    #: The database's revision; None for an empty database or one made before migrations.
    current: str | None
    head: str
    #: Revisions still to run, oldest first.
    pending: tuple[str, ...]
    #: Tables with no revision: a database made before migrations (the baseline adopts it).
    unversioned_tables: bool
    #: A revision this code does not know: a newer release migrated the database.
    newer: bool

    @property
    def describe(self) -> str:
        if self.newer:
            return (
                f"at revision {self.current}, which a newer release made (this one's head "
                f"is {self.head})"
            )
        if self.current is None:
            where = "made before migrations" if self.unversioned_tables else "empty"
            return f"{where}, no revision; head {self.head}"
        return f"at revision {self.current}; head {self.head}"


def status(conn: Connection) -> SchemaStatus:
    current = MigrationContext.configure(conn).get_current_revision()
    top = head()
    newer = False
    pending: tuple[str, ...] = ()
    try:
        pending = tuple(
            r.revision for r in reversed(list(script().iterate_revisions(top, current)))
        )
    except (CommandError, RevisionError):
        newer = True
    unversioned = current is None and has_read_model_tables(conn)
    return SchemaStatus(current, top, pending, unversioned, newer)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def upgrade(db: Database, revision: str = "head") -> list[str]:
    """Run the pending migrations up to `revision`, in one transaction; the ones run."""
    with db.write() as conn:
        _lock(conn)
        before = status(conn)
        if before.newer:
            log.warning("the read model is %s: left as it is", before.describe)
            return []
        if not before.pending:
            return []
        if before.unversioned_tables:
            log.info("adopting a read model made before migrations at the baseline")
        command.upgrade(alembic_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    ran = list(before.pending)
    if revision != "head" and after in ran:
        ran = ran[: ran.index(after) + 1]
    log.info("read model migrated to %s (ran %s)", after, ", ".join(ran))
    return ran


def out_of_date(db: Database, state: SchemaStatus) -> SchemaOutOfDate:
    where = db.url.render_as_string(hide_password=True)
    return SchemaOutOfDate(
        f"the read model at {where} is {state.describe}: {len(state.pending)} migration(s) "
        f"pending ({', '.join(state.pending)}). Nothing was changed. Run `oms db upgrade` "
        "(after `oms backup` for data that must be kept), or start with "
        "OMS_MIGRATE_ON_START=true."
    )


def prepare_schema(db: Database, *, migrate: bool) -> None:
    """At a process's start: run the pending migrations, or (`migrate=False`) refuse a
    database that has any (`SchemaOutOfDate`, naming `oms db upgrade`)."""
    if migrate:
        upgrade(db)
        return
    with db.read() as conn:
        state = status(conn)
    if state.newer:
        log.warning("the read model is %s: used as it is", state.describe)
    elif state.pending:
        raise out_of_date(db, state)


def differences(conn: Connection) -> list[Any]:
    """What the tables (`db.tables.metadata`) declare that the database's schema does not
    have, or the reverse, as Alembic's autogenerate sees it; empty when they match."""
    load_table_modules()
    context = MigrationContext.configure(conn, opts=COMPARE_OPTIONS)
    return [
        diff
        for diff in compare_metadata(context, metadata)
        if not (diff[0] == "remove_table" and diff[1].name == "alembic_version")
    ]


def make_revision(message: str, *, autogenerate: bool) -> Path:
    """Write the next revision into versions/. Autogenerate compares the tables with a
    throwaway SQLite database migrated to head, so the result never depends on what a
    developer's own database holds; review it (and its PostgreSQL side) before committing."""
    from db.engine import Database

    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'head.db'}")
        try:
            upgrade(db)
            with db.write() as conn:
                config = alembic_config(conn)
                ruff = Path(sys.executable).parent / "ruff"
                if ruff.exists():  # the dev tools: the revision comes out formatted
                    config.set_section_option("post_write_hooks", "hooks", "ruff")
                    config.set_section_option("post_write_hooks", "ruff.type", "exec")
                    config.set_section_option("post_write_hooks", "ruff.executable", str(ruff))
                    config.set_section_option(
                        "post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME"
                    )
                written = command.revision(
                    config,
                    message=message,
                    autogenerate=autogenerate,
                    rev_id=next_revision_id(),
                )
        finally:
            db.dispose()
    script.cache_clear()
    revisions = written if isinstance(written, list) else [written]
    if not revisions or revisions[0] is None:
        raise RuntimeError("alembic wrote no revision")
    return Path(revisions[0].path)
