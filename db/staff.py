"""Staff accounts and their bearer tokens. Only a SHA-256 of a token is stored.

Tokens are 32 random bytes, so a plain hash is enough to make a leaked table
useless; the token itself is shown once, when it is issued.

Each member has a role in their department, `member` or `lead` (db/staff_tables.py);
a department's breached tasks are escalated to its active leads (P8.1), and the API does
not start while a department that receives tasks has none (`require_leads`).

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Select, select, update

from config.settings import get_settings
from db.staff_tables import staff_roles
from db.tables import staff
from db.upsert import upsert
from domain.actors import Actor, Department, StaffRole
from domain.escalation import DEPARTMENTS_WITH_TASKS


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    name: str
    department: Department
    expires_at: datetime | None
    revoked_at: datetime | None
    #: The role in the department (db/staff_tables.py); leads receive escalations (P8.1).
    role: StaffRole = StaffRole.MEMBER

    @property
    def is_lead(self) -> bool:
        return self.role is StaffRole.LEAD

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
        role=StaffRole(m.get("role") or StaffRole.MEMBER),
    )


def _with_role() -> Select[Any]:
    """Staff rows with their role (None for a member who never had one set)."""
    return select(staff, staff_roles.c.role).select_from(
        staff.outerjoin(staff_roles, staff_roles.c.staff_id == staff.c.staff_id)
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
    role: StaffRole = StaffRole.MEMBER,
) -> tuple[StaffMember, str]:
    """Create a member of staff in the role (a `member` unless told); returns it with its
    token (the only time the token is known)."""
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
    conn.execute(staff_roles.insert().values(staff_id=staff_id, role=role.value, changed_at=now))
    return StaffMember(staff_id, name, department, expires_at, None, role), token


def find_by_token(conn: Connection, token: str) -> StaffMember | None:
    return find_by_token_hash(conn, hash_token(token))


def find_by_token_hash(conn: Connection, token_hash: str) -> StaffMember | None:
    row = conn.execute(_with_role().where(staff.c.token_hash == token_hash)).first()
    return _member(row) if row else None


def find(conn: Connection, staff_id: str) -> StaffMember | None:
    row = conn.execute(_with_role().where(staff.c.staff_id == staff_id)).first()
    return _member(row) if row else None


def find_by_name(conn: Connection, name: str) -> list[StaffMember]:
    """Everyone of that name (names are not unique; staff ids are)."""
    rows = conn.execute(_with_role().where(staff.c.name == name).order_by(staff.c.staff_id))
    return [_member(r) for r in rows]


def list_staff(conn: Connection) -> list[StaffMember]:
    return [_member(r) for r in conn.execute(_with_role().order_by(staff.c.staff_id))]


# --- roles and leads (P8.1: escalations go to the department's leads) ------------------------


def set_role(conn: Connection, staff_id: str, role: StaffRole, now: datetime) -> StaffMember | None:
    """Make the member a lead or a member of their department; None if there is no such
    member of staff."""
    if find(conn, staff_id) is None:
        return None
    upsert(
        conn,
        staff_roles,
        {"staff_id": staff_id, "role": role.value, "changed_at": now},
        keys=["staff_id"],
    )
    return find(conn, staff_id)


def leads_of(
    conn: Connection, departments: Iterable[Department], now: datetime
) -> dict[Department, list[StaffMember]]:
    """The active leads (token neither revoked nor expired) of each department, by name."""
    wanted = [d.value for d in departments]
    rows = conn.execute(
        _with_role()
        .where(staff_roles.c.role == StaffRole.LEAD.value, staff.c.department.in_(wanted))
        .order_by(staff.c.name, staff.c.staff_id)
    )
    leads: dict[Department, list[StaffMember]] = {Department(d): [] for d in wanted}
    for member in map(_member, rows):
        if member.is_valid(now):
            leads[member.department].append(member)
    return leads


def departments_without_lead(conn: Connection, now: datetime) -> list[Department]:
    """The departments that receive tasks but have no active lead to escalate to."""
    leads = leads_of(conn, DEPARTMENTS_WITH_TASKS, now)
    return [d for d in DEPARTMENTS_WITH_TASKS if not leads[d]]


class NoLead(SystemExit):
    """A department that receives tasks has no active lead: its breached tasks would be
    escalated to no one (P8.1). A `SystemExit`, like `db.schema.SchemaOutOfDate`: the API
    and `oms up` stop with the message instead of serving."""


def no_lead_message(departments: Iterable[Department]) -> str:
    names = [d.value for d in departments]
    example = names[0] if names else "DEPARTMENT"
    return (
        f"no active lead in {', '.join(names)}: a task breached past its deadline is escalated "
        "to its department's leads (P8.1), and would reach no one. Add a lead to each, e.g. "
        f"`oms staff add NAME --department {example} --role lead`, or make a member lead: "
        "`oms staff role STAFF_ID lead` (`oms staff list` shows who is who)."
    )


def require_leads(conn: Connection, now: datetime) -> None:
    """Refuse (`NoLead`) unless every department that receives tasks has an active lead."""
    missing = departments_without_lead(conn, now)
    if missing:
        raise NoLead(no_lead_message(missing))


def add_leads(
    conn: Connection, now: datetime, *, name: str = "Lead {department}"
) -> dict[Department, tuple[StaffMember, str]]:
    """Add a lead to every department that receives tasks and has none (fresh systems of
    tests and benchmarks); returns each new lead with its token."""
    return {
        department: add_staff(
            conn,
            name.format(department=department.value),
            department,
            now,
            role=StaffRole.LEAD,
        )
        for department in departments_without_lead(conn, now)
    }


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
