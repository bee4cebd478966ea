"""Staff accounts and their bearer tokens. Only a SHA-256 of a token is stored.

Tokens are 32 random bytes, so a plain hash is enough to make a leaked table
useless; the token itself is shown once, when it is issued.

Every revocation and rotation is also appended to the revocation log
(`OMS_REVOCATION_LOG`, default `var/revocations.log`), which lives outside the
read model and outside the backup volume: a restore brings back the staff table
as it was when the backup was taken, and `oms restore` then re-applies the log
(db/backup.py `reapply_revocations`), so a token that was dead before the restore
stays dead after it. One JSON object a line, file mode 0600 from its creation:

    {"at": "2026-11-27T10:00:00+00:00", "action": "revoke", "staff_id": "sales-1a2b3c",
     "token_hash": "<sha256 of the revoked token>"}
    {"at": "...", "action": "rotate", "staff_id": "...", "token_hash": "<old token's hash>",
     "new_token_hash": "<new token's hash>"}

The line is written (and synced) inside the database transaction, before it
commits: if the log cannot be written the revocation fails loudly, and a line
whose transaction then failed only revokes again what was meant to be revoked.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, select, update

from config.settings import get_settings
from db.tables import staff
from domain.actors import Actor, Department


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    name: str
    department: Department
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def actor(self) -> Actor:
        return Actor(staff_id=self.staff_id, department=self.department)

    def is_valid(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "oms_" + secrets.token_urlsafe(32)


def _member(row: object) -> StaffMember:
    m = row._mapping  # type: ignore[attr-defined]
    return StaffMember(
        staff_id=m["staff_id"],
        name=m["name"],
        department=Department(m["department"]),
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
    )


def add_staff(
    conn: Connection,
    name: str,
    department: Department,
    now: datetime,
    *,
    staff_id: str | None = None,
    token: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[StaffMember, str]:
    """Create a member; returns it with its token (the only time the token is known)."""
    token = token or new_token()
    staff_id = staff_id or f"{department.value}-{secrets.token_hex(3)}"
    conn.execute(
        staff.insert().values(
            staff_id=staff_id,
            name=name,
            department=department.value,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return StaffMember(staff_id, name, department, expires_at, None), token


def find_by_token(conn: Connection, token: str) -> StaffMember | None:
    return find_by_token_hash(conn, hash_token(token))


def find_by_token_hash(conn: Connection, token_hash: str) -> StaffMember | None:
    row = conn.execute(select(staff).where(staff.c.token_hash == token_hash)).first()
    return _member(row) if row else None


def find(conn: Connection, staff_id: str) -> StaffMember | None:
    row = conn.execute(select(staff).where(staff.c.staff_id == staff_id)).first()
    return _member(row) if row else None


def list_staff(conn: Connection) -> list[StaffMember]:
    return [_member(r) for r in conn.execute(select(staff).order_by(staff.c.staff_id))]


# --- the revocation log ----------------------------------------------------------------------


class Revocation(BaseModel):
    """One line of the revocation log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    action: Literal["revoke", "rotate"]
    staff_id: str
    #: The token that stopped working (its SHA-256, as the staff table keeps it).
    token_hash: str
    #: For a rotation: the hash of the token issued in its place.
    new_token_hash: str | None = None


def revocation_log_path(log: Path | None = None) -> Path:
    """`log`, or the settings' revocation log."""
    return log if log is not None else get_settings().resolved_revocation_log


def append_revocation(log: Path, entry: Revocation) -> None:
    """Append one line to the log, created with mode 0600 (never chmod after the fact)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    line = (entry.model_dump_json() + "\n").encode()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:  # an older file made by hand: close it up
            os.fchmod(fd, 0o600)
        os.write(fd, line)  # one write of one line: appends do not interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def revoke(conn: Connection, staff_id: str, now: datetime, *, log: Path | None = None) -> bool:
    """Revoke the member's token, and append the revocation to the log (`log`, or the
    settings' `revocation_log`)."""
    row = conn.execute(
        update(staff)
        .where(staff.c.staff_id == staff_id, staff.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(staff.c.token_hash)
    ).first()
    if row is None:
        return False
    append_revocation(
        revocation_log_path(log),
        Revocation(at=now, action="revoke", staff_id=staff_id, token_hash=row.token_hash),
    )
    return True


def rotate(
    conn: Connection, staff_id: str, *, now: datetime | None = None, log: Path | None = None
) -> str | None:
    """Issue a new token for the member; the old one stops working at once (and the
    rotation is appended to the revocation log)."""
    old = conn.execute(
        select(staff.c.token_hash).where(staff.c.staff_id == staff_id).with_for_update()
    ).scalar_one_or_none()
    if old is None:
        return None
    token = new_token()
    result = conn.execute(
        update(staff)
        .where(staff.c.staff_id == staff_id, staff.c.token_hash == old)
        .values(token_hash=hash_token(token))
    )
    if not result.rowcount:
        return None
    append_revocation(
        revocation_log_path(log),
        Revocation(
            at=now or datetime.now(UTC),
            action="rotate",
            staff_id=staff_id,
            token_hash=old,
            new_token_hash=hash_token(token),
        ),
    )
    return token
