"""Staff accounts and their bearer tokens. Only a SHA-256 of a token is stored.

Tokens are 32 random bytes, so a plain hash is enough to make a leaked table
useless; the token itself is shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

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


def revoke(conn: Connection, staff_id: str, now: datetime) -> bool:
    result = conn.execute(
        update(staff)
        .where(staff.c.staff_id == staff_id, staff.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0


def rotate(conn: Connection, staff_id: str) -> str | None:
    """Issue a new token for the member; the old one stops working at once."""
    token = new_token()
    result = conn.execute(
        update(staff).where(staff.c.staff_id == staff_id).values(token_hash=hash_token(token))
    )
    return token if result.rowcount else None
