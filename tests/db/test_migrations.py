"""The read model's migrations (db/migrations/): one head; an empty database upgraded to head
has exactly the tables the code declares (Alembic's autogenerate finds no difference), on
SQLite and PostgreSQL; databases made before migrations (by this release's `create_all` and
by the previous releases' own code) are adopted with every row kept; a process that may not
migrate refuses a database that is behind, naming the command.

The baseline (0001) is this release's schema, so head and baseline are one revision today:
the upgrade of a previous release's database is the baseline adopting it.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from db import migrations
from db.engine import Database
from db.schema import SchemaOutOfDate, load_table_modules
from db.tables import metadata
from tests.support.postgres import temporary_database
from workers.release_code import PROJECT, ReleaseCodeUnavailable, release_tree
from workflows.releases import PREVIOUS, Release

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
#: The code that made read models before migrations: the previous releases, and this
#: release's own before them (the baseline's commit, whose schema 0001 is).
MADE_BEFORE_MIGRATIONS = (
    *PREVIOUS,
    Release("r3-before-migrations", "0.3.0", commit="5ae1fe3800773b2dedda88c09e46f34c4ce4d4bc"),
)


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'oms.db'}")
        try:
            yield db
        finally:
            db.dispose()
        return
    with temporary_database() as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


def table_names(db: Database) -> set[str]:
    return set(inspect(db.writer).get_table_names())


def declared_tables() -> set[str]:
    load_table_modules()
    return set(metadata.tables)


#: Values a check constraint accepts (staff_tables.ck_staff_roles_role).
ALLOWED = {("staff_roles", "role"): "member"}


def a_value(table: str, column: Any) -> Any:
    if (table, column.name) in ALLOWED:
        return ALLOWED[(table, column.name)]
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, (Integer, BigInteger)):
        return 1
    if isinstance(kind, DateTime):
        return datetime(2026, 12, 1, 12, 0)
    if isinstance(kind, Date):
        return date(2026, 12, 1)
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, (String, Text)):
        length = getattr(kind, "length", None) or 20
        return "x"[:length]
    raise AssertionError(f"no sample value for {table}.{column.name} ({kind!r})")


def insert_a_row_in_every_table(db: Database) -> dict[str, int]:
    """One row in every table the database has (as it has them), and each table's count."""
    reflected = MetaData()
    reflected.reflect(db.writer)
    with db.write() as conn:
        for table in reflected.sorted_tables:
            if table.name != "alembic_version":
                conn.execute(
                    table.insert().values({c.name: a_value(table.name, c) for c in table.c})
                )
    return counts(db)


def counts(db: Database) -> dict[str, int]:
    reflected = MetaData()
    reflected.reflect(db.writer)
    with db.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in reflected.sorted_tables
            if t.name != "alembic_version"
        }


def assert_at_head_and_matching(db: Database) -> None:
    with db.read() as conn:
        state = migrations.status(conn)
        assert (state.current, state.pending) == (migrations.head(), ())
        assert migrations.differences(conn) == []
    assert table_names(db) == declared_tables() | {"alembic_version"}


def test_the_migrations_have_exactly_one_head_and_run_in_one_numbered_line():
    script = migrations.script()
    assert len(script.get_heads()) == 1
    revisions = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    assert revisions[0].down_revision is None
    for earlier, later in itertools.pairwise(revisions):
        assert later.down_revision == earlier.revision
    assert migrations.next_revision_id() == f"{len(revisions) + 1:04d}"


def test_every_table_module_is_imported_by_the_migrations():
    """A module of tables left out of TABLE_MODULES would be invisible to autogenerate: the
    tables of every module under db/ are the ones TABLE_MODULES alone declares."""
    tables = (
        "import sys, importlib, pkgutil, db\n"
        "from db.tables import metadata\n"
        "from db.schema import load_table_modules\n"
        "if sys.argv[1] == 'all':\n"
        "    for m in pkgutil.iter_modules(db.__path__): importlib.import_module('db.' + m.name)\n"
        "else:\n"
        "    load_table_modules()\n"
        "print(' '.join(sorted(metadata.tables)))\n"
    )

    def declared(which: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", tables, which],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=True,
        )
        return set(done.stdout.split())

    assert declared("all") == declared("listed")


def test_every_constraint_and_index_has_a_name():
    """Named by hand or by the naming convention (db/tables.py), so a migration can name what
    it alters or drops; the convention's names are PostgreSQL's defaults for what existed."""
    load_table_modules()
    for table in metadata.tables.values():
        ddl = str(CreateTable(table).compile(dialect=postgresql.dialect()))
        constraints = [
            c
            for c in table.constraints
            if not (isinstance(c, PrimaryKeyConstraint) and not c.columns)
        ]
        assert ddl.count("CONSTRAINT ") == len(constraints), ddl
        for index in table.indexes:
            assert index.name, f"{table.name}: an index has no name"


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_empty_database_upgraded_to_head_has_exactly_the_declared_tables(backend, tmp_path):
    with empty_database(backend, tmp_path) as db:
        assert table_names(db) == set()
        ran = migrations.upgrade(db)
        assert ran[0] == "0001" and ran[-1] == migrations.head()
        assert_at_head_and_matching(db)
        assert migrations.upgrade(db) == []  # a second start finds nothing to do


@pytest.fixture(scope="module")
def release_trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    into = tmp_path_factory.mktemp("releases")
    trees = {}
    for release in MADE_BEFORE_MIGRATIONS:
        try:
            trees[release.build_id] = release_tree(release, into)
        except ReleaseCodeUnavailable as unavailable:
            pytest.skip(str(unavailable))
    return trees


def made_by_release(release: Release, tree: Path, url: str) -> None:
    """The read model as that release's own code makes it (its `Database.create_schema`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env["PYTHONPATH"] = str(tree)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from db.engine import Database; Database(sys.argv[1]).create_schema()",
            url,
        ],
        cwd=tree,
        env=env,
        check=True,
        timeout=120,
    )
    assert tree != PROJECT


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("release", MADE_BEFORE_MIGRATIONS, ids=lambda r: r.build_id)
def test_a_database_made_before_migrations_with_a_row_in_every_table_keeps_them_all(
    backend, release, release_trees, tmp_path
):
    with empty_database(backend, tmp_path) as db:
        made_by_release(
            release,
            release_trees[release.build_id],
            db.url.render_as_string(hide_password=False),
        )
        made = table_names(db)
        assert made and made < declared_tables()  # each had fewer tables than head declares
        with db.write() as conn:
            # As in a database made before the report indexes (db/report_tables.py) existed:
            # the baseline adds them (checked by assert_at_head_and_matching below).
            conn.execute(text("DROP INDEX ix_tasks_report_due"))
        before = insert_a_row_in_every_table(db)
        with db.read() as conn:
            state = migrations.status(conn)
        assert state.current is None and state.unversioned_tables
        assert "made before migrations" in state.describe

        ran = migrations.upgrade(db)  # the baseline adopts it, then the later revisions run
        assert ran == list(state.pending) and ran[-1] == migrations.head()
        after = counts(db)
        assert {name: after[name] for name in before} == before
        assert {name: n for name, n in after.items() if name not in before} == dict.fromkeys(
            declared_tables() - made, 0
        )
        assert_at_head_and_matching(db)
        with db.read() as conn:
            # 0002 gave the rectification item made before it its id.
            ids = conn.execute(text("SELECT item_id FROM rectification_items")).scalars().all()
        assert len(ids) == 1 and ids[0].startswith("RI-")


def test_a_process_that_may_not_migrate_refuses_a_database_behind_and_changes_nothing(
    tmp_path,
):
    with empty_database("sqlite", tmp_path) as db:
        with pytest.raises(SchemaOutOfDate) as refused:
            db.prepare_schema(migrate=False)
        message = str(refused.value)
        assert "oms db upgrade" in message and "Nothing was changed" in message
        assert migrations.head() in message
        assert table_names(db) == set()

        db.prepare_schema(migrate=True)
        assert_at_head_and_matching(db)
        db.prepare_schema(migrate=False)  # at head: it starts


def test_a_database_a_newer_release_migrated_is_used_as_it_is(tmp_path, caplog):
    """The previous release's workers keep running on the read model while they drain."""
    with empty_database("sqlite", tmp_path) as db:
        db.create_schema()
        with db.write() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        db.prepare_schema(migrate=False)
        assert migrations.upgrade(db) == []
        assert "newer release" in caplog.text


def oms(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env["OMS_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "oms", "db", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_oms_db_current_and_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'oms.db'}"
    head = migrations.head()
    current = oms("current", database_url=url)
    assert current.returncode == 0, current.stderr
    every = ", ".join(r.revision for r in reversed(list(migrations.script().walk_revisions())))
    assert "empty, no revision" in current.stdout and f"pending: {every} " in current.stdout

    upgraded = oms("upgrade", database_url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"ran {every}; now at {head}" in upgraded.stdout

    current = oms("current", database_url=url)
    assert f"at revision {head}; head {head}" in current.stdout and "up to date" in current.stdout
    again = oms("upgrade", database_url=url)
    assert "nothing to run" in again.stdout

    check = oms("check", database_url=url)
    assert check.returncode == 0, check.stderr
    assert "match" in check.stdout
