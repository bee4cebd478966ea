"""Feedback analysis in the read model (P7.3.2): the cause list, the tags, and the report's counts.

The API writes these (no workflow: a resolved feedback's workflow has ended, and a tag
changes nothing of the feedback). Tagging is last-write-wins on `feedback_cause_tags`
(who and when with it) and every tagging is appended to `feedback_cause_tag_history`;
the same tag again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from db.feedback_analysis_tables import (
    feedback_cause_tag_history,
    feedback_cause_tags,
    feedback_causes,
)
from db.feedback_tables import feedback
from db.upsert import insert_ignore, upsert
from domain.feedback_analysis import DEFAULT_CAUSES, CauseLabel, Counts
from domain.reports import ReportWindow

#: Who wrote the default list (the API on its first start).
SYSTEM = "system"


@dataclass(frozen=True)
class Cause:
    code: str
    label_zh: str
    label_en: str
    active: bool
    changed_by: str
    changed_at: datetime

    @property
    def label(self) -> CauseLabel:
        return CauseLabel(self.code, self.label_zh, self.label_en, self.active)


def _cause(row: Any) -> Cause:
    m = row._mapping
    return Cause(
        m["code"], m["label_zh"], m["label_en"], bool(m["active"]), m["changed_by"], m["changed_at"]
    )


def seed_default_causes(conn: Connection, now: datetime) -> int:
    """Write the default list when the list is empty (never written, or emptied by hand);
    a list supervision has kept, even all retired, is left as it is. Returns rows written."""
    if conn.execute(select(feedback_causes.c.code).limit(1)).first() is not None:
        return 0
    rows = [
        {
            "code": c.code,
            "label_zh": c.label_zh,
            "label_en": c.label_en,
            "active": True,
            "changed_by": SYSTEM,
            "changed_at": now,
        }
        for c in DEFAULT_CAUSES
    ]
    return insert_ignore(conn, feedback_causes, rows)


def list_causes(conn: Connection, *, active: bool | None = None) -> list[Cause]:
    """The list in code order; only the active (or retired) ones when asked."""
    query = select(feedback_causes).order_by(feedback_causes.c.code)
    if active is not None:
        query = query.where(feedback_causes.c.active == active)
    return [_cause(r) for r in conn.execute(query)]


def find_cause(conn: Connection, code: str) -> Cause | None:
    row = conn.execute(select(feedback_causes).where(feedback_causes.c.code == code)).first()
    return _cause(row) if row else None


def put_cause(
    conn: Connection,
    code: str,
    label_zh: str,
    label_en: str,
    active: bool,
    actor_id: str,
    now: datetime,
) -> Cause:
    """Add a cause or change its labels or whether it is in use."""
    upsert(
        conn,
        feedback_causes,
        {
            "code": code,
            "label_zh": label_zh,
            "label_en": label_en,
            "active": active,
            "changed_by": actor_id,
            "changed_at": now,
        },
        keys=["code"],
    )
    found = find_cause(conn, code)
    assert found is not None
    return found


def retire_cause(conn: Connection, code: str, actor_id: str, now: datetime) -> Cause | None:
    """Take a cause out of use (kept for the tags that name it); None if there is none.
    Retiring a retired cause changes nothing, not even who changed it last."""
    found = find_cause(conn, code)
    if found is None or not found.active:
        return found
    conn.execute(
        feedback_causes.update()
        .where(feedback_causes.c.code == code)
        .values(active=False, changed_by=actor_id, changed_at=now)
    )
    return find_cause(conn, code)


# --- tags --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CauseTag:
    feedback_id: str
    cause: str
    department: str
    step: str | None
    note: str
    tagged_by: str
    tagged_at: datetime
    resolved_at: datetime
    revision: int


def _tag(row: Any) -> CauseTag:
    m = row._mapping
    return CauseTag(
        m["feedback_id"],
        m["cause"],
        m["department"],
        m["step"],
        m["note"],
        m["tagged_by"],
        m["tagged_at"],
        m["resolved_at"],
        m["revision"],
    )


def tag_of(conn: Connection, feedback_id: str) -> CauseTag | None:
    row = conn.execute(
        select(feedback_cause_tags).where(feedback_cause_tags.c.feedback_id == feedback_id)
    ).first()
    return _tag(row) if row else None


def tag_history(conn: Connection, feedback_id: str) -> list[dict[str, Any]]:
    """Every tagging of the feedback, oldest first."""
    rows = conn.execute(
        select(feedback_cause_tag_history)
        .where(feedback_cause_tag_history.c.feedback_id == feedback_id)
        .order_by(feedback_cause_tag_history.c.seq)
    ).mappings()
    return [dict(r) for r in rows]


def tag_feedback(
    conn: Connection,
    feedback_id: str,
    *,
    cause: str,
    department: str,
    step: str | None,
    note: str,
    resolved_at: datetime,
    actor_id: str,
    now: datetime,
) -> tuple[CauseTag, bool]:
    """Tag (or re-tag) a resolved feedback; (the tag in force, whether anything changed).
    The same cause, department, step and note again is no new tagging."""
    current = tag_of(conn, feedback_id)
    if current is not None and (current.cause, current.department, current.step, current.note) == (
        cause,
        department,
        step,
        note,
    ):
        return current, False
    revision = 1 if current is None else current.revision + 1
    tag = {
        "feedback_id": feedback_id,
        "cause": cause,
        "department": department,
        "step": step,
        "note": note,
        "tagged_by": actor_id,
        "tagged_at": now,
    }
    upsert(
        conn,
        feedback_cause_tags,
        tag | {"resolved_at": resolved_at, "revision": revision},
        keys=["feedback_id"],
    )
    insert_ignore(conn, feedback_cause_tag_history, [tag | {"seq": revision}])
    found = tag_of(conn, feedback_id)
    assert found is not None
    return found, True


# --- the report ---------------------------------------------------------------------------------


def tag_counts(conn: Connection, window: ReportWindow) -> Counts:
    """Tags of feedback resolved in the window, by (cause, department)."""
    rows = conn.execute(
        select(feedback_cause_tags.c.cause, feedback_cause_tags.c.department, func.count())
        .where(
            feedback_cause_tags.c.resolved_at >= window.start,
            feedback_cause_tags.c.resolved_at < window.end,
        )
        .group_by(feedback_cause_tags.c.cause, feedback_cause_tags.c.department)
    )
    return {(cause, department): int(n) for cause, department, n in rows}


def resolved_count(conn: Connection, window: ReportWindow) -> int:
    """Feedback resolved in the window, tagged or not (how much of it the tags cover)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(feedback)
            .where(
                feedback.c.state == "resolved",
                feedback.c.resolved_at >= window.start,
                feedback.c.resolved_at < window.end,
            )
        ).scalar_one()
    )


def feedback_resolution(conn: Connection, feedback_id: str) -> tuple[str, datetime | None] | None:
    """The feedback's state and when it was resolved; None when there is no such feedback."""
    row = conn.execute(
        select(feedback.c.state, feedback.c.resolved_at).where(
            feedback.c.feedback_id == feedback_id
        )
    ).first()
    return (row[0], row[1]) if row else None
