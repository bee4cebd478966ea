"""The read model of feedback analysis (P7.3.2) and training (P7.1), on SQLite and PostgreSQL:
the default causes written once, tags kept with their history and counted by window, each
customer-service member's last session."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from db import feedback_causes as causes
from db import staff as staff_store
from db import training
from db.engine import Database
from domain.actors import Department
from domain.feedback_analysis import DEFAULT_CAUSES, previous_window
from domain.reports import ReportWindow

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def test_the_default_causes_are_written_once_and_a_kept_list_is_left_alone(database: Database):
    with database.write() as conn:
        assert causes.seed_default_causes(conn, NOW) == len(DEFAULT_CAUSES)
        assert causes.seed_default_causes(conn, NOW) == 0
        for cause in causes.list_causes(conn):
            causes.retire_cause(conn, cause.code, "sup-1", NOW)
        assert causes.seed_default_causes(conn, NOW) == 0  # all retired is still a list
    with database.read() as conn:
        assert causes.list_causes(conn, active=True) == []
        other = causes.find_cause(conn, "other")
    assert other is not None and (other.active, other.changed_by) == (False, "sup-1")


def tag(conn, feedback_id: str, cause: str, department: str, resolved: datetime, **kw):
    return causes.tag_feedback(
        conn,
        feedback_id,
        cause=cause,
        department=department,
        step=kw.get("step"),
        note=kw.get("note", ""),
        resolved_at=resolved,
        actor_id=kw.get("actor", "cs-1"),
        now=NOW,
    )


def test_tags_keep_their_history_and_are_counted_by_the_day_resolved(database: Database):
    window = ReportWindow(date(2026, 11, 29), date(2026, 12, 5))
    before = previous_window(window)
    inside, earlier = datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 11, 28, 23, tzinfo=UTC)
    with database.write() as conn:
        first, changed = tag(conn, "F1", "other", "sales", inside)
        assert (first.revision, changed) == (1, True)
        same, changed = tag(conn, "F1", "other", "sales", inside)
        assert (same, changed) == (first, False)
        retagged, _ = tag(conn, "F1", "late_dispatch", "logistics", inside, step="dispatch")
        assert retagged.revision == 2 and retagged.step == "dispatch"
        tag(conn, "F2", "late_dispatch", "warehouse", inside)
        tag(conn, "F3", "late_dispatch", "logistics", earlier)
        tag(conn, "F4", "wrong_item", "warehouse", window.end)  # the first instant after it
    with database.read() as conn:
        assert [h["cause"] for h in causes.tag_history(conn, "F1")] == ["other", "late_dispatch"]
        assert causes.tag_counts(conn, window) == {
            ("late_dispatch", "logistics"): 1,
            ("late_dispatch", "warehouse"): 1,
        }
        assert causes.tag_counts(conn, before) == {("late_dispatch", "logistics"): 1}
        assert causes.resolved_count(conn, window) == 0  # no feedback rows in this database


def test_each_current_customer_service_member_has_their_last_session(database: Database):
    with database.write() as conn:
        member, _ = staff_store.add_staff(conn, "Ann", Department.CUSTOMER_SERVICE, NOW)
        never, _ = staff_store.add_staff(conn, "Bo", Department.CUSTOMER_SERVICE, NOW)
        gone, _ = staff_store.add_staff(
            conn,
            "Cy",
            Department.CUSTOMER_SERVICE,
            NOW,
            expires_at=NOW - timedelta(days=1),
        )
        sales, _ = staff_store.add_staff(conn, "Di", Department.SALES, NOW)
        for session_id, day in (("TS-a", date(2026, 9, 1)), ("TS-b", date(2026, 11, 2))):
            made, new = training.record_session(
                conn,
                session_id,
                topic="Complaints",
                held_on=day,
                trainer="Wang",
                recorded_by="sup-1",
                now=NOW,
                fingerprint=session_id,
            )
            assert new and made.held_on == day
            added = training.record_attendance(
                conn, session_id, [member.staff_id, sales.staff_id, gone.staff_id], "sup-1", NOW
            )
            assert len(added) == 3
        assert training.record_attendance(conn, "TS-a", [member.staff_id], "sup-1", NOW) == []
        _, new = training.record_session(
            conn,
            "TS-a",
            topic="x",
            held_on=date(2026, 1, 1),
            trainer="y",
            recorded_by="sup-1",
            now=NOW,
            fingerprint="other",
        )
        assert new is False
        assert training.unknown_staff(conn, [member.staff_id, "nobody"]) == ["nobody"]
    with database.read() as conn:
        assert training.last_training_by_staff(conn, NOW) == {
            member.staff_id: date(2026, 11, 2),
            never.staff_id: None,
        }
        assert training.last_training_by_staff(conn, NOW, held_by=date(2026, 10, 31)) == {
            member.staff_id: date(2026, 9, 1),
            never.staff_id: None,
        }
        sessions = training.list_sessions(conn, first_day=date(2026, 10, 1))
        assert [s.session_id for s in sessions] == ["TS-b"]
        assert set(sessions[0].attendees) == {member.staff_id, sales.staff_id, gone.staff_id}
