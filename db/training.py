"""Customer-service training in the read model (P7.1): sessions, attendance, and each
member's last session.

`last_training_by_staff` is what the supervision dashboard, `GET /api/v1/training/due` and
the evaluation's scorecards read; `domain.training.training_overdue` judges each date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from db.staff_tables import staff_roles
from db.tables import staff
from db.training_tables import training_attendance, training_sessions
from db.upsert import insert_ignore
from domain.actors import Department, StaffRole


@dataclass(frozen=True)
class TrainingSession:
    session_id: str
    topic: str
    held_on: date
    trainer: str
    recorded_by: str
    recorded_at: datetime
    fingerprint: str
    #: Staff ids of those who attended, in order.
    attendees: tuple[str, ...] = ()


def _session(row: Any, attendees: Iterable[str] = ()) -> TrainingSession:
    m = row._mapping
    return TrainingSession(
        m["session_id"],
        m["topic"],
        m["held_on"],
        m["trainer"],
        m["recorded_by"],
        m["recorded_at"],
        m["fingerprint"],
        tuple(attendees),
    )


def record_session(
    conn: Connection,
    session_id: str,
    *,
    topic: str,
    held_on: date,
    trainer: str,
    recorded_by: str,
    now: datetime,
    fingerprint: str,
) -> tuple[TrainingSession, bool]:
    """Record a session held; (the session, whether it is new). A session of that id already
    recorded is returned as it is (the caller compares fingerprints)."""
    written = insert_ignore(
        conn,
        training_sessions,
        [
            {
                "session_id": session_id,
                "topic": topic,
                "held_on": held_on,
                "trainer": trainer,
                "recorded_by": recorded_by,
                "recorded_at": now,
                "fingerprint": fingerprint,
            }
        ],
    )
    found = find_session(conn, session_id)
    assert found is not None
    return found, bool(written)


def attendees_of(conn: Connection, session_id: str) -> list[str]:
    rows = conn.execute(
        select(training_attendance.c.staff_id)
        .where(training_attendance.c.session_id == session_id)
        .order_by(training_attendance.c.staff_id)
    )
    return [r[0] for r in rows]


def find_session(conn: Connection, session_id: str) -> TrainingSession | None:
    row = conn.execute(
        select(training_sessions).where(training_sessions.c.session_id == session_id)
    ).first()
    return _session(row, attendees_of(conn, session_id)) if row else None


def list_sessions(
    conn: Connection,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    limit: int = 100,
) -> list[TrainingSession]:
    """Sessions held in the days given (both included), most recent first, with attendees."""
    query = select(training_sessions)
    if first_day is not None:
        query = query.where(training_sessions.c.held_on >= first_day)
    if last_day is not None:
        query = query.where(training_sessions.c.held_on <= last_day)
    query = query.order_by(
        training_sessions.c.held_on.desc(), training_sessions.c.session_id.desc()
    ).limit(limit)
    rows = conn.execute(query).all()
    ids = [r._mapping["session_id"] for r in rows]
    attendance: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for session_id, staff_id in conn.execute(
            select(training_attendance.c.session_id, training_attendance.c.staff_id)
            .where(training_attendance.c.session_id.in_(ids))
            .order_by(training_attendance.c.staff_id)
        ):
            attendance[session_id].append(staff_id)
    return [_session(r, attendance[r._mapping["session_id"]]) for r in rows]


def unknown_staff(conn: Connection, staff_ids: Iterable[str]) -> list[str]:
    """Those of the ids that name no member of staff, in the order given."""
    wanted = list(dict.fromkeys(staff_ids))
    known = set(
        conn.execute(select(staff.c.staff_id).where(staff.c.staff_id.in_(wanted))).scalars()
    )
    return [s for s in wanted if s not in known]


def staff_of(conn: Connection, staff_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(name, department) of each of these members of staff that exists."""
    wanted = list(dict.fromkeys(staff_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(staff.c.staff_id, staff.c.name, staff.c.department).where(
            staff.c.staff_id.in_(wanted)
        )
    )
    return {r.staff_id: (r.name, r.department) for r in rows}


def record_attendance(
    conn: Connection, session_id: str, staff_ids: Iterable[str], recorded_by: str, now: datetime
) -> list[str]:
    """Record that these members attended; those already recorded stay as they were.
    Returns the ids newly recorded."""
    wanted = list(dict.fromkeys(staff_ids))
    already = set(attendees_of(conn, session_id))
    new = [s for s in wanted if s not in already]
    insert_ignore(
        conn,
        training_attendance,
        [
            {
                "session_id": session_id,
                "staff_id": s,
                "recorded_by": recorded_by,
                "recorded_at": now,
            }
            for s in new
        ],
    )
    return new


# --- who is due ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainedMember:
    staff_id: str
    name: str
    role: StaffRole
    last_trained_on: date | None


def customer_service_training(
    conn: Connection, now: datetime | None = None, *, held_by: date | None = None
) -> list[TrainedMember]:
    """Every current member of customer service (token neither revoked nor expired at `now`)
    with the day of their last session attended (None: never), by name; with `held_by`,
    of the sessions held on or before that day only (a month judged after its end)."""
    at = now or datetime.now(UTC)
    sessions = select(
        training_attendance.c.staff_id.label("staff_id"),
        func.max(training_sessions.c.held_on).label("last_trained_on"),
    ).select_from(
        training_attendance.join(
            training_sessions,
            training_sessions.c.session_id == training_attendance.c.session_id,
        )
    )
    if held_by is not None:
        sessions = sessions.where(training_sessions.c.held_on <= held_by)
    last = sessions.group_by(training_attendance.c.staff_id).subquery()
    rows = conn.execute(
        select(staff.c.staff_id, staff.c.name, staff_roles.c.role, last.c.last_trained_on)
        .select_from(
            staff.outerjoin(staff_roles, staff_roles.c.staff_id == staff.c.staff_id).outerjoin(
                last, last.c.staff_id == staff.c.staff_id
            )
        )
        .where(
            staff.c.department == Department.CUSTOMER_SERVICE.value,
            staff.c.revoked_at.is_(None),
            or_(staff.c.expires_at.is_(None), staff.c.expires_at > at),
        )
        .order_by(staff.c.name, staff.c.staff_id)
    ).all()
    return [
        TrainedMember(
            r.staff_id, r.name, StaffRole(r.role or StaffRole.MEMBER.value), r.last_trained_on
        )
        for r in rows
    ]


def last_training_by_staff(
    conn: Connection, now: datetime | None = None, *, held_by: date | None = None
) -> dict[str, date | None]:
    """Each current member of customer service's last session day (None: never trained),
    by staff id; with `held_by`, counting the sessions held on or before that day only.
    Judge each with `domain.training.training_overdue`."""
    return {
        m.staff_id: m.last_trained_on for m in customer_service_training(conn, now, held_by=held_by)
    }
