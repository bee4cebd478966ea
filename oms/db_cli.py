"""`oms db`: the read model's schema and its migrations (db/migrations/, docs/ops.md).

oms db upgrade              run the pending migrations (adopts a database made before them)
oms db current              the database's revision, the head, what is pending
oms db check                the tables match the migrations (CI: exit 1 and the differences)
oms db revision -m MESSAGE [--autogenerate]   write the next revision into db/migrations/versions/
oms db init                 the same as `upgrade` (the name of earlier releases)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from config.settings import Settings
from db import migrations
from db.engine import Database


def cmd_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.resolved_database_url)
    try:
        ran = migrations.upgrade(db, args.revision)
        with db.read() as conn:
            state = migrations.status(conn)
    finally:
        db.dispose()
    where = db.url.render_as_string(hide_password=True)
    if ran:
        print(f"{where}: ran {', '.join(ran)}; now at {state.current}")
    else:
        print(f"{where}: nothing to run, {state.describe}")
    return 0


def cmd_current(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.resolved_database_url)
    try:
        with db.read() as conn:
            state = migrations.status(conn)
    finally:
        db.dispose()
    print(f"{db.url.render_as_string(hide_password=True)}: {state.describe}")
    if state.pending:
        print(f"pending: {', '.join(state.pending)} (run `oms db upgrade`)")
    else:
        print("up to date" if not state.newer else "newer than this release: left as it is")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Like `alembic check`, on a throwaway SQLite database migrated to head."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'head.db'}")
        try:
            migrations.upgrade(db)
            with db.read() as conn:
                found = migrations.differences(conn)
        finally:
            db.dispose()
    if found:
        print("the tables differ from the migrations' head: write a revision", file=sys.stderr)
        for difference in found:
            print(f"  {difference}", file=sys.stderr)
        return 1
    print(f"the tables match the migrations' head ({migrations.head()})")
    return 0


def cmd_revision(args: argparse.Namespace, settings: Settings) -> int:
    path = migrations.make_revision(args.message, autogenerate=args.autogenerate)
    print(f"wrote {path}: review it (PostgreSQL and SQLite) before committing")
    return 0


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="the read model's schema and migrations").add_subparsers(
        dest="db", required=True
    )
    upgrade = db.add_parser("upgrade", help="run the pending migrations")
    upgrade.add_argument("revision", nargs="?", default="head", help="head by default")
    upgrade.set_defaults(fn=cmd_upgrade)
    db.add_parser("init", help="the same as `upgrade` to head").set_defaults(
        fn=cmd_upgrade, revision="head"
    )
    db.add_parser("current", help="the database's revision and what is pending").set_defaults(
        fn=cmd_current
    )
    db.add_parser("check", help="exit 1 if the tables differ from the migrations").set_defaults(
        fn=cmd_check
    )
    revision = db.add_parser("revision", help="write the next revision (db/migrations/versions/)")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument(
        "--autogenerate",
        action="store_true",
        help="fill it from the tables' differences with the head (review it!)",
    )
    revision.set_defaults(fn=cmd_revision)
