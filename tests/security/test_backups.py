"""Backups you can trust (security review of P6.2): encrypted and private files, a signed
manifest, plain file names only, a restore that refuses while the system runs, and token
revocations that survive a restore.

Real SQLite files and a real PostgreSQL database, real backup folders, the real `oms`
commands; the attacker below can write the backup volume but does not hold the key.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import io
import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api.deps import authenticate
from api.errors import ApiError
from config.keys import Keyring
from config.settings import Settings
from db import staff as staff_store
from db.backup import (
    MANIFEST,
    PG_DUMP,
    SQLITE_COPY,
    BackupError,
    backup_keyring,
    decrypt_file,
    decrypt_stream,
    encrypt_stream,
    list_backups,
    make_backup,
    manifest_signature,
    new_backup_key,
    restore_backup,
    sqlite_copy,
    table_digests,
    verify_files,
)
from db.engine import Database
from db.order_records import apply_changes
from db.tables import orders
from domain.actors import Department
from oms.cli import parser
from tests.db.test_backup import ORDERS, fill
from tests.db.test_order_records import changes_for
from tests.support.read_model import read_model, sqlite_read_model
from tests.support.system import System, free_port

KEYRING = Keyring.generate()
#: What `tests.support.orders.order_body` puts in every seeded order: personal data.
PERSONAL = [b"13800138000", b"Li Lei", b"Chaoyang Rd"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A read model with seeded orders, on SQLite and on PostgreSQL."""
    with read_model(request.param, tmp_path) as db:
        fill(db)
        yield db


def filled_sqlite(tmp_path: Path) -> Database:
    """A SQLite read model with the seeded orders."""
    db = sqlite_read_model(tmp_path)
    fill(db)
    return db


@contextmanager
def occupied_target(db: Database, tmp_path: Path) -> Iterator[Database]:
    """Another database of the same kind, holding data of its own: what a refused restore
    must leave exactly as it was."""
    folder = tmp_path / "target"
    folder.mkdir(exist_ok=True)
    with read_model("sqlite" if db.is_sqlite else "postgresql", folder) as target:
        with target.write() as conn:
            apply_changes(conn, changes_for("TARGET-1"))
        yield target


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def digests(db: Database) -> dict[str, Any]:
    with db.read() as conn:
        return table_digests(conn)


def closed_port() -> int:
    return free_port()  # free a moment ago: nothing listens there


def settings_for(tmp_path: Path, database_url: str, **changes: Any) -> Settings:
    """Settings of a machine whose API and Temporal are stopped (nothing on their ports)."""
    values: dict[str, Any] = {
        "var_dir": tmp_path / "var",
        "database_url": database_url,
        "backup_dir": tmp_path / "backups",
        "backup_keys": KEYRING.to_strings(),
        "backup_active_key": KEYRING.active,
        "api_host": "127.0.0.1",
        "api_port": closed_port(),
        "temporal_address": f"127.0.0.1:{closed_port()}",
        "revocation_log": tmp_path / "var" / "revocations.log",
    }
    return Settings(**{**values, **changes})


async def oms(settings: Settings, *argv: str) -> int:
    """Run an `oms` command as the command line does, with these settings."""
    args = parser().parse_args(list(argv))
    return int(await asyncio.to_thread(args.fn, args, settings))


def manifest_body(folder: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    return body


def write_manifest(folder: Path, body: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(body, indent=2))


def accepted(db: Database, token: str) -> bool:
    """Whether the API's own check lets this token in."""
    try:
        authenticate(db, token)
    except ApiError as error:
        assert error.status_code == 401
        return False
    return True


# --- 1. encrypted, private, no key in the folder --------------------------------------------


def test_a_backup_holds_no_personal_data_in_clear_no_key_and_private_files(
    database: Database, tmp_path: Path
):
    settings = settings_for(tmp_path, url_of(database), backup_keys={})  # the key file
    keyring = backup_keyring(settings, create=True)
    key_file = settings.resolved_backup_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert backup_keyring(settings) == keyring  # made once, then read back

    dev_server = tmp_path / "temporal.db"  # stands in for the dev server's file: same data
    if database.is_sqlite:
        sqlite_copy(Path(database.url.database or ""), dev_server)
        assert PERSONAL[0] in dev_server.read_bytes()  # the plaintext does hold it
    folder, manifest, _ = make_backup(
        database,
        settings.resolved_backup_dir,
        keyring=keyring,
        keep=3,
        temporal_db_file=dev_server if database.is_sqlite else None,
    )

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert {f.name for f in files} == {MANIFEST} | {f.name for f in manifest.files}
    key_material = [k for key in keyring.keys.values() for k in (key, key.hex().encode())] + [
        s.encode() for s in keyring.to_strings().values()
    ]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        data = path.read_bytes()
        for secret in PERSONAL + key_material:
            assert secret not in data, (path.name, secret)
    assert not key_file.resolve().is_relative_to(folder.resolve())

    # The key brings the data back: the same rows, the personal data in them.
    plain = tmp_path / "plain"
    decrypt_file(folder, manifest.read_model, plain, keyring)
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    if database.is_sqlite:
        assert PERSONAL[0] in plain.read_bytes()
        check = Database(f"sqlite:///{plain}")
        with check.read() as conn:
            assert table_digests(conn) == manifest.tables
        check.dispose()
    else:
        assert plain.read_bytes().startswith(b"PGDMP")  # a pg_dump custom archive


def test_the_backup_key_file_is_made_private_once_and_never_on_the_backup_volume(
    tmp_path: Path,
):
    settings = settings_for(tmp_path, "", backup_keys={})
    first = backup_keyring(settings, create=True)
    assert backup_keyring(settings, create=True) == first  # never replaced
    rotated, path = new_backup_key(settings)
    assert rotated.active != first.active and first.keys.items() <= rotated.keys.items()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    os.chmod(path, 0o644)
    with pytest.raises(BackupError, match="readable by others"):
        backup_keyring(settings)
    on_volume = settings.model_copy(
        update={"backup_key_file": settings.resolved_backup_dir / "keys.json"}
    )
    with pytest.raises(BackupError, match="inside the backup directory"):
        backup_keyring(on_volume, create=True)
    assert not (settings.resolved_backup_dir / "keys.json").exists()
    with pytest.raises(BackupError, match="no backup key"):
        backup_keyring(settings.model_copy(update={"var_dir": tmp_path / "elsewhere"}))


def test_backups_made_before_a_key_rotation_still_restore(tmp_path: Path):
    settings = settings_for(tmp_path, "", backup_keys={})
    db = filled_sqlite(tmp_path)
    old, _, _ = make_backup(
        db, tmp_path / "b", keyring=backup_keyring(settings, create=True), keep=5
    )
    keyring, _ = new_backup_key(settings)
    new, _, _ = make_backup(db, tmp_path / "b", keyring=keyring, keep=5)
    assert verify_files(old, keyring).key_id != verify_files(new, keyring).key_id == keyring.active
    restored = restore_backup(old, f"sqlite:///{tmp_path / 'r' / 'oms.db'}", keyring)
    assert restored["orders"].rows == ORDERS
    with pytest.raises(BackupError, match="not among the backup keys"):
        verify_files(new, Keyring.generate())
    db.dispose()


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 48, 100])
def test_the_chunked_format_round_trips_and_refuses_a_reordered_cut_or_extended_file(size: int):
    data = os.urandom(size)
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(data), sealed, KEYRING, "b/f", chunk_bytes=16)
    blob = sealed.getvalue()

    def opened(blob: bytes, context: str = "b/f") -> bytes:
        out = io.BytesIO()
        decrypt_stream(io.BytesIO(blob), out, KEYRING, key_id=KEYRING.active, context=context)
        return out.getvalue()

    assert opened(blob) == data
    block = 12 + 16 + 16  # nonce, 16 bytes of plaintext, tag
    chunks = max(-(-size // 16), 1)  # an empty file is one empty final chunk
    header = len(blob) - (chunks * (12 + 16) + size)
    body = blob[header:]
    with pytest.raises(BackupError):
        opened(blob, "b/other")  # another file's name or backup
    with pytest.raises(BackupError):
        opened(blob + body[-block:])  # a chunk too many
    with pytest.raises(BackupError):
        opened(blob[:-1])
    if chunks > 1:
        with pytest.raises(BackupError):
            opened(blob[: header + block])  # cut at a chunk boundary
        swapped = blob[:header] + body[block : 2 * block] + body[:block] + body[2 * block :]
        with pytest.raises(BackupError):
            opened(swapped)


# --- 2. altered backups are refused, nothing changed -----------------------------------------


def test_an_altered_backup_is_refused_and_the_target_is_left_alone(
    database: Database, tmp_path: Path
):
    folder, manifest, _ = make_backup(database, tmp_path / "backups", keyring=KEYRING, keep=3)
    dump = folder / manifest.read_model
    good_dump, good_manifest = dump.read_bytes(), (folder / MANIFEST).read_bytes()

    def restore_refused(match: str) -> None:
        with pytest.raises(BackupError, match=match):
            verify_files(folder, KEYRING)
        with occupied_target(database, tmp_path) as target:
            before = digests(target)
            target.dispose()
            with pytest.raises(BackupError, match=match):
                restore_backup(folder, url_of(target), KEYRING, force=True)
            assert digests(target) == before
        dump.unlink()
        dump.write_bytes(good_dump)
        (folder / MANIFEST).write_bytes(good_manifest)

    # A flipped byte in the dump.
    flipped = bytearray(good_dump)
    flipped[len(flipped) // 2] ^= 0x01
    dump.write_bytes(bytes(flipped))
    restore_refused("checksum mismatch")

    # A row count edited in the manifest.
    body = manifest_body(folder)
    body["tables"]["orders"]["rows"] += 1
    write_manifest(folder, body)
    restore_refused("signature mismatch")

    # The dump replaced by another, encrypted under a key of the attacker's with our key's
    # id, and its checksum and size updated consistently; the signature kept...
    forged = io.BytesIO()
    attacker = Keyring({KEYRING.active: os.urandom(32)}, KEYRING.active)
    plain = b"SQLite format 3\x00" if database.is_sqlite else b"PGDMP"
    encrypt_stream(io.BytesIO(plain * 100), forged, attacker, f"{folder.name}/{dump.name}")
    dump.write_bytes(forged.getvalue())
    body = manifest_body(folder)
    [entry] = [f for f in body["files"] if f["name"] == dump.name]
    entry["sha256"] = hashlib.sha256(forged.getvalue()).hexdigest()
    entry["bytes"] = len(forged.getvalue())
    write_manifest(folder, body)
    restore_refused("signature mismatch")
    # ... or signed again with the attacker's key under our key's id ...
    dump.write_bytes(forged.getvalue())
    body.pop("signature")
    write_manifest(
        folder, {**body, "signature": manifest_signature(body, attacker, KEYRING.active)}
    )
    restore_refused("signature mismatch")
    # ... or with no signature at all.
    dump.write_bytes(forged.getvalue())
    write_manifest(folder, body)
    restore_refused("not signed")

    # The dump swapped for the same file of another backup (both ours, both signed).
    other_folder, _, _ = make_backup(database, tmp_path / "other", keyring=KEYRING, keep=3)
    dump.write_bytes((other_folder / manifest.read_model).read_bytes())
    restore_refused("checksum mismatch")

    # A symbolic link instead of the file: never followed.
    dump.unlink()
    dump.symlink_to(other_folder / manifest.read_model)
    restore_refused("cannot be opened")

    # Untouched, it still restores.
    assert verify_files(folder, KEYRING) == manifest


async def test_oms_backup_verify_and_oms_restore_refuse_an_altered_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    db = filled_sqlite(tmp_path)
    settings = settings_for(tmp_path, url_of(db))
    assert await oms(settings, "backup", "--no-temporal-db") == 0
    [(folder, _)] = list_backups(settings.resolved_backup_dir)
    assert await oms(settings, "backup", "verify", str(folder)) == 0
    body = manifest_body(folder)
    body["tables"]["orders"]["rows"] = 0
    write_manifest(folder, body)
    capsys.readouterr()
    assert await oms(settings, "backup", "verify", str(folder)) == 1
    assert "signature mismatch" in capsys.readouterr().err

    target = tmp_path / "restored" / "oms.db"
    code = await oms(
        settings, "restore", str(folder), "--database-url", f"sqlite:///{target}", "--force"
    )
    assert code == 1 and "signature mismatch" in capsys.readouterr().err
    assert not target.exists()
    db.dispose()


def test_old_unencrypted_backups_are_refused_and_pruned_in_their_turn(tmp_path: Path):
    root = tmp_path / "backups"
    old = root / "oms-backup-20200101T000000Z-abcdef"
    old.mkdir(parents=True)
    (old / "read-model.sqlite").write_bytes(b"SQLite format 3\x00")
    (old / MANIFEST).write_text(json.dumps({"backup_id": old.name, "files": []}))
    with pytest.raises(BackupError, match="format 1"):
        verify_files(old, KEYRING)
    db = sqlite_read_model(tmp_path)
    folder, _, pruned = make_backup(db, root, keyring=KEYRING, keep=1)
    assert pruned == [old] and not old.exists()
    assert [f for f, _ in list_backups(root)] == [folder]
    db.dispose()


# --- 3. plain file names only ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("files", "../x"),
        ("files", "/etc/passwd"),
        ("read_model", "/etc/passwd"),
        ("read_model", "../x"),
        ("temporal_db", "../../var/temporal.db"),
        ("files", "read-model.sqlite"),  # plain, but not a file a backup holds
    ],
)
def test_a_manifest_naming_anything_but_a_plain_backup_file_is_refused(
    tmp_path: Path, field: str, name: str
):
    db = filled_sqlite(tmp_path)
    folder, _, _ = make_backup(db, tmp_path / "backups", keyring=KEYRING, keep=3)
    (tmp_path / "backups" / "x").write_bytes((folder / SQLITE_COPY).read_bytes())
    body = manifest_body(folder)
    body.pop("signature")
    if field == "files":
        body["files"][0]["name"] = name
        body["read_model"] = name
    else:
        body[field] = name
    # Signed with the right key (a mistake, or an insider): still refused, by name.
    write_manifest(folder, {**body, "signature": manifest_signature(body, KEYRING, KEYRING.active)})
    expected = "not a plain file name" if "/" in name else "not a file a backup holds"
    with pytest.raises(BackupError, match=expected):
        verify_files(folder, KEYRING)
    target = tmp_path / "restored.db"
    with pytest.raises(BackupError, match=expected):
        restore_backup(folder, f"sqlite:///{target}", KEYRING)
    assert not target.exists()
    write_manifest(folder, body)  # and unsigned, all the more
    with pytest.raises(BackupError, match=expected):
        verify_files(folder, KEYRING)
    db.dispose()


# --- 4. a restore refuses while the system runs ------------------------------------------------


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def something_on_a_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


async def test_restore_refuses_while_something_answers_on_the_api_port_before_any_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    db = filled_sqlite(tmp_path)
    folder, _, _ = make_backup(db, tmp_path / "backups", keyring=KEYRING, keep=3)
    with db.write() as conn:  # the live database moves on after the backup
        apply_changes(conn, changes_for("AFTER-BACKUP"))
    before = digests(db)
    log = tmp_path / "var" / "revocations.log"
    with something_on_a_port() as port:
        settings = settings_for(tmp_path, url_of(db), api_port=port, revocation_log=log)
        code = await oms(settings, "restore", str(folder), "--force", "--temporal-db")
    assert code == 1
    err = capsys.readouterr().err
    assert f"API's port 127.0.0.1:{port}" in err and "stop the API" in err
    assert "200" in err
    assert digests(db) == before
    db.dispose()


async def test_restore_needs_force_when_temporal_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    db = filled_sqlite(tmp_path)
    folder, manifest, _ = make_backup(db, tmp_path / "backups", keyring=KEYRING, keep=3)
    target = tmp_path / "restored" / "oms.db"
    settings = settings_for(tmp_path, f"sqlite:///{target}")
    assert await oms(settings, "restore", str(folder)) == 1
    err = capsys.readouterr().err
    assert "cannot reach Temporal" in err and "--force" in err
    assert not target.exists()

    assert await oms(settings, "restore", str(folder), "--force") == 0
    out = capsys.readouterr().out
    assert "row counts and checksums match" in out
    restored = Database(f"sqlite:///{target}")
    assert digests(restored) == manifest.tables
    restored.dispose()
    db.dispose()


async def test_restore_refuses_while_workers_poll_the_task_queue(
    system: System, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    db = filled_sqlite(tmp_path)
    folder, manifest, _ = make_backup(db, tmp_path / "backups", keyring=KEYRING, keep=3)
    target = tmp_path / "restored" / "oms.db"
    running = settings_for(
        tmp_path,
        f"sqlite:///{target}",
        temporal_address=system.settings.temporal_address,
        temporal_namespace=system.settings.temporal_namespace,
        task_queue=system.settings.task_queue,  # the test system's worker polls it
    )
    # --force does not override running workers.
    assert await oms(running, "restore", str(folder), "--force") == 1
    err = capsys.readouterr().err
    assert "polled the task queue" in err and "stop the workers" in err
    assert not target.exists()

    # Temporal up, nobody on this queue: proved stopped, no --force needed...
    idle = running.model_copy(update={"task_queue": f"nobody-{os.urandom(4).hex()}"})
    # ... except to replace the dev server's database, which needs the server stopped.
    assert await oms(idle, "restore", str(folder), "--temporal-db") == 1
    assert "stop the dev server" in capsys.readouterr().err
    assert not target.exists()
    assert await oms(idle, "restore", str(folder)) == 0
    assert "none polled" in capsys.readouterr().err
    restored = Database(f"sqlite:///{target}")
    assert digests(restored) == manifest.tables
    restored.dispose()
    db.dispose()


# --- 5. revocations survive a restore --------------------------------------------------------


async def test_a_token_revoked_or_rotated_after_the_backup_stays_refused_after_the_restore(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    settings = settings_for(tmp_path, url_of(database))
    log = settings.resolved_revocation_log
    now = datetime.now(UTC)
    with database.write() as conn:
        early, early_token = staff_store.add_staff(conn, "Early Leaver", Department.SALES, now)
        staff_store.revoke(conn, early.staff_id, now, log=log)  # before the backup
        leaver, leaver_token = staff_store.add_staff(conn, "Leaver", Department.SALES, now)
        mover, mover_token = staff_store.add_staff(conn, "Mover", Department.FINANCE, now)
        _, stayer_token = staff_store.add_staff(conn, "Stayer", Department.WAREHOUSE, now)
    folder, manifest, _ = make_backup(
        database, settings.resolved_backup_dir, keyring=KEYRING, keep=3
    )

    later = now + timedelta(minutes=5)
    with database.write() as conn:
        assert staff_store.revoke(conn, leaver.staff_id, later, log=log)
        new_mover_token = staff_store.rotate(conn, mover.staff_id, now=later, log=log)
    assert new_mover_token is not None
    assert not accepted(database, leaver_token) and not accepted(database, mover_token)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["action"], e["staff_id"]) for e in lines] == [
        ("revoke", early.staff_id),
        ("revoke", leaver.staff_id),
        ("rotate", mover.staff_id),
    ]
    assert staff_store.hash_token(mover_token) == lines[2]["token_hash"]
    assert all(b"oms_" not in line.encode() for line in log.read_text().splitlines())

    # The hole: the backup alone brings the dead tokens back.
    with occupied_target(database, tmp_path) as plain:
        plain.dispose()
        restore_backup(folder, url_of(plain), KEYRING, force=True)
        assert accepted(plain, leaver_token) and accepted(plain, mover_token)

    # `oms restore` re-applies the log: the restored system refuses them.
    database.dispose()  # offline: nothing holds the database open
    assert await oms(settings, "restore", str(folder), "--force") == 0
    out = capsys.readouterr().out
    assert "re-applied 3 token revocation(s) and rotation(s)" in out
    assert "(2 changed the restored staff table)" in out
    assert not accepted(database, early_token)
    assert not accepted(database, leaver_token)
    assert not accepted(database, mover_token)
    assert accepted(database, new_mover_token)  # issued after the backup, and still good
    assert accepted(database, stayer_token)
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == ORDERS
        assert table_digests(conn)["orders"] == manifest.tables["orders"]

    # Restoring again changes nothing more, and still refuses them.
    database.dispose()
    assert await oms(settings, "restore", str(folder), "--force") == 0
    assert "(2 changed the restored staff table)" in capsys.readouterr().out
    assert not accepted(database, leaver_token) and not accepted(database, mover_token)


async def test_an_unreadable_revocation_log_stops_the_restore_before_it_begins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    db = filled_sqlite(tmp_path)
    folder, _, _ = make_backup(db, tmp_path / "backups", keyring=KEYRING, keep=3)
    target = tmp_path / "restored" / "oms.db"
    settings = settings_for(tmp_path, f"sqlite:///{target}")
    log = settings.resolved_revocation_log
    log.parent.mkdir(parents=True)
    log.write_text('{"at": "2026-01-01T00:00:00Z", "action": "revoke"\n')
    assert await oms(settings, "restore", str(folder), "--force") == 1
    assert f"{log}:1: not a revocation" in capsys.readouterr().err
    assert not target.exists()

    on_volume = settings.model_copy(
        update={"revocation_log": settings.resolved_backup_dir / "revocations.log"}
    )
    assert await oms(on_volume, "restore", str(folder), "--force") == 1
    assert "on the backup volume" in capsys.readouterr().err
    assert not target.exists()
    db.dispose()


def test_pg_dump_never_lands_in_clear_on_the_backup_volume(tmp_path: Path):
    """The dump streams from pg_dump into the encrypted file: only `.enc` files, ever."""
    with read_model("postgresql", tmp_path) as db:
        fill(db)
        folder, manifest, _ = make_backup(db, tmp_path / "backups", keyring=KEYRING, keep=3)
        assert manifest.read_model == PG_DUMP
        assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, PG_DUMP]
        assert not (folder / PG_DUMP).read_bytes().startswith(b"PGDMP")
