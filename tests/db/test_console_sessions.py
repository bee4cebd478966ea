"""Console sessions in the read model: only hashes stored; dead tokens and old sessions end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db import console_sessions
from db import staff as staff_store
from db.console_tables import console_sessions as table
from db.engine import Database
from domain.actors import Department

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def add_member(db: Database, department: Department = Department.SALES) -> tuple[str, str]:
    with db.write() as conn:
        member, token = staff_store.add_staff(conn, "Wang Fang", department, NOW)
    return member.staff_id, token


def test_a_session_opens_for_a_live_token_and_stores_only_hashes(database: Database):
    staff_id, token = add_member(database)
    with database.write() as conn:
        session_id = console_sessions.open_session(conn, token, NOW, HOUR)
    assert session_id is not None
    with database.read() as conn:
        rows = [dict(r) for r in conn.execute(select(table)).mappings()]
        member = console_sessions.staff_of(conn, session_id, NOW + timedelta(minutes=5))
    assert member is not None and member.staff_id == staff_id
    [row] = rows
    assert row["session_hash"] == console_sessions.session_hash(session_id)
    assert session_id not in row.values() and token not in row.values()
    assert row["token_hash"] == staff_store.hash_token(token)


def test_an_unknown_or_revoked_token_opens_no_session(database: Database):
    staff_id, token = add_member(database)
    with database.write() as conn:
        assert console_sessions.open_session(conn, "oms_not-a-token", NOW, HOUR) is None
        staff_store.revoke(conn, staff_id, NOW)
        assert console_sessions.open_session(conn, token, NOW, HOUR) is None


def test_a_session_ends_when_it_expires_or_its_token_is_rotated_or_revoked(database: Database):
    staff_id, token = add_member(database)
    with database.write() as conn:
        first = console_sessions.open_session(conn, token, NOW, HOUR)
    assert first is not None
    with database.read() as conn:
        assert console_sessions.staff_of(conn, first, NOW + HOUR) is None  # expired

    with database.write() as conn:
        second = console_sessions.open_session(conn, token, NOW, HOUR)
        assert second is not None
        new_token = staff_store.rotate(conn, staff_id)
    with database.read() as conn:
        assert console_sessions.staff_of(conn, second, NOW) is None  # the old token is gone

    assert new_token is not None
    with database.write() as conn:
        third = console_sessions.open_session(conn, new_token, NOW, HOUR)
        assert third is not None
        assert console_sessions.staff_of(conn, third, NOW) is not None
        staff_store.revoke(conn, staff_id, NOW)
        assert console_sessions.staff_of(conn, third, NOW) is None


def test_signing_out_ends_the_session_and_expired_ones_are_swept(database: Database):
    _, token = add_member(database)
    with database.write() as conn:
        old = console_sessions.open_session(conn, token, NOW - 2 * HOUR, HOUR)
        current = console_sessions.open_session(conn, token, NOW, HOUR)
        assert old is not None and current is not None
        console_sessions.end_session(conn, current)
    with database.read() as conn:
        assert console_sessions.staff_of(conn, current, NOW) is None
        assert conn.execute(select(table)).first() is None  # the expired one was swept too
