"""Backups (P6.2): a backup restored into an empty database brings back every row, checked.

Runs on SQLite (online backup API) and PostgreSQL (pg_dump / pg_restore). Backups are
encrypted and signed with a backup key (tests/security/test_backups.py has the attacks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from config.keys import Keyring
from db.backup import (
    MANIFEST,
    BackupError,
    decrypt_file,
    list_backups,
    make_backup,
    restore_backup,
    table_digests,
    verify_files,
)
from db.engine import Database
from db.order_records import apply_changes
from db.tables import ledger_entries, order_events, orders, tasks
from tests.db.test_order_records import changes_for
from tests.support.postgres import temporary_database

T0 = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
ORDERS = 7
EVENTS_PER_ORDER = 3
KEYRING = Keyring.generate()


def fill(db: Database) -> None:
    """Orders with their events and tasks, and ledger rows with signed amounts."""
    with db.write() as conn:
        for n in range(ORDERS):
            apply_changes(conn, changes_for(f"BK{n:03d}", seq=EVENTS_PER_ORDER, seconds=n))
            conn.execute(
                ledger_entries.insert(),
                [
                    {
                        "entry_id": f"BK{n:03d}:pay",
                        "order_id": f"BK{n:03d}",
                        "kind": "payment",
                        "amount": Decimal("258.00"),
                        "at": T0,
                    },
                    {
                        "entry_id": f"BK{n:03d}:refund",
                        "order_id": f"BK{n:03d}",
                        "kind": "refund",
                        "amount": Decimal("-12.34"),
                        "at": T0 + timedelta(minutes=n),
                        "actor_department": "finance",
                    },
                ],
            )


def count(db: Database, table) -> int:  # type: ignore[no-untyped-def]
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@contextmanager
def empty_database_like(db: Database, tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new, empty database of the same kind."""
    if db.is_sqlite:
        yield f"sqlite:///{tmp_path / 'restored' / 'oms.db'}"
        return
    with temporary_database() as url:
        yield url


def test_a_backup_restored_into_an_empty_database_has_identical_rows_and_checksums(
    database: Database, tmp_path: Path
):
    fill(database)
    folder, manifest, pruned = make_backup(
        database, tmp_path / "backups", keyring=KEYRING, keep=3, now=T0
    )
    assert pruned == []
    assert manifest.tables["orders"].rows == ORDERS
    assert manifest.tables["order_events"].rows == ORDERS * EVENTS_PER_ORDER
    assert manifest.tables["ledger_entries"].rows == 2 * ORDERS
    with database.read() as conn:
        assert table_digests(conn) == manifest.tables

    with empty_database_like(database, tmp_path) as target_url:
        restored = restore_backup(folder, target_url, KEYRING)
        target = Database(target_url)
        try:
            assert restored == manifest.tables
            for table in (orders, order_events, tasks, ledger_entries):
                assert count(target, table) == count(database, table) > 0
            with target.read() as conn:
                assert table_digests(conn) == manifest.tables
                refunds = conn.execute(
                    select(func.sum(ledger_entries.c.amount)).where(
                        ledger_entries.c.kind == "refund"
                    )
                ).scalar_one()
            assert refunds == Decimal("-12.34") * ORDERS
        finally:
            target.dispose()


def test_a_damaged_backup_file_is_refused_before_anything_is_restored(
    database: Database, tmp_path: Path
):
    fill(database)
    folder, manifest, _ = make_backup(database, tmp_path / "backups", keyring=KEYRING, keep=3)
    damaged = folder / manifest.read_model
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte somewhere in the middle
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum mismatch"):
        verify_files(folder, KEYRING)
    with (
        empty_database_like(database, tmp_path) as target_url,
        pytest.raises(BackupError, match="checksum mismatch"),
    ):
        restore_backup(folder, target_url, KEYRING)


def test_restoring_over_a_database_with_data_needs_force(database: Database, tmp_path: Path):
    fill(database)
    folder, manifest, _ = make_backup(database, tmp_path / "backups", keyring=KEYRING, keep=3)
    with database.write() as conn:  # the live database moves on after the backup
        conn.execute(update(orders).values(status="completed"))
        apply_changes(conn, changes_for("AFTER-BACKUP"))
    url = database.url.render_as_string(hide_password=False)
    with pytest.raises(BackupError, match="holds data"):
        restore_backup(folder, url, KEYRING)
    database.dispose()  # restoring is offline: nothing else holds the database open
    assert restore_backup(folder, url, KEYRING, force=True) == manifest.tables
    assert count(database, orders) == ORDERS


def test_only_the_newest_backups_are_kept_and_a_failed_one_leaves_nothing_behind(
    tmp_path: Path,
):
    db = Database(f"sqlite:///{tmp_path / 'oms.db'}")
    db.create_schema()
    fill(db)
    root = tmp_path / "backups"
    made = [
        make_backup(db, root, keyring=KEYRING, keep=2, now=T0 + timedelta(days=day))[0].name
        for day in range(4)
    ]
    assert [folder.name for folder, _ in list_backups(root)] == made[-2:]
    assert all((root / name / MANIFEST).exists() for name in made[-2:])

    with pytest.raises(BackupError, match="no such database file"):
        make_backup(db, root, keyring=KEYRING, keep=2, temporal_db_file=tmp_path / "missing.db")
    assert sorted(p.name for p in root.iterdir()) == made[-2:]
    db.dispose()


def test_the_dev_server_database_is_backed_up_beside_the_read_model(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'oms.db'}")
    db.create_schema()
    dev_server = Database(f"sqlite:///{tmp_path / 'temporal.db'}")
    dev_server.create_schema()  # any SQLite file will do as the dev server's
    fill(dev_server)
    folder, manifest, _ = make_backup(
        db, tmp_path / "b", keyring=KEYRING, keep=1, temporal_db_file=tmp_path / "temporal.db"
    )
    assert manifest.temporal_db is not None
    assert verify_files(folder, KEYRING) == manifest
    decrypt_file(folder, manifest.temporal_db, tmp_path / "copy.db", KEYRING)
    copy = Database(f"sqlite:///{tmp_path / 'copy.db'}")
    with copy.read() as conn, dev_server.read() as live:
        assert table_digests(conn) == table_digests(live)
    for handle in (copy, db, dev_server):
        handle.dispose()
