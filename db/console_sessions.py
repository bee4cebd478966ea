"""Console sessions: open one for a valid token, find the staff member behind one, end it.

Like tokens, session ids are 32 random bytes and only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select

from db import staff as staff_store
from db.console_tables import console_sessions
from db.staff import StaffMember


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(conn: Connection, token: str, now: datetime, lifetime: timedelta) -> str | None:
    """A new session id for the holder of this token; None if the token is unknown or dead."""
    member = staff_store.find_by_token(conn, token)
    if member is None or not member.is_valid(now):
        return None
    conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        console_sessions.insert().values(
            session_hash=session_hash(session_id),
            staff_id=member.staff_id,
            token_hash=staff_store.hash_token(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return session_id


def staff_of(conn: Connection, session_id: str, now: datetime) -> StaffMember | None:
    """Who this session belongs to, while it and the token it began with are both alive."""
    row = conn.execute(
        select(console_sessions.c.token_hash, console_sessions.c.expires_at).where(
            console_sessions.c.session_hash == session_hash(session_id)
        )
    ).first()
    if row is None or row.expires_at <= now:
        return None
    member = staff_store.find_by_token_hash(conn, row.token_hash)
    if member is None or not member.is_valid(now):
        return None
    return member


def end_session(conn: Connection, session_id: str) -> None:
    conn.execute(
        delete(console_sessions).where(console_sessions.c.session_hash == session_hash(session_id))
    )
