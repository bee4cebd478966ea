"""Rectification items (P8.1): one per finding, written idempotently, read per department."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from audit.check import record_findings
from audit.rules import Finding, Rule
from db.engine import Database
from db.rectification import list_items
from domain.actors import Department

FOUND = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def finding(order_id: str, rule: Rule, seq: int, department: Department) -> Finding:
    return Finding(
        order_id=order_id,
        rule=rule,
        clause="P3.1",
        department=department,
        seq=seq,
        at=FOUND - timedelta(days=1),
        message=f"{rule} on {order_id}",
    )


def test_findings_become_items_due_after_the_allowed_time_and_a_rerun_adds_nothing(
    database: Database,
):
    findings = [
        finding("A1", Rule.RISKY_APPROVED_UNVERIFIED, 2, Department.SALES),
        finding("A1", Rule.ACTOR_NOT_PERMITTED, 2, Department.SALES),
        finding("B2", Rule.PACK_BEFORE_APPROVAL, 4, Department.WAREHOUSE),
    ]
    assert record_findings(database, findings, FOUND, timedelta(days=14)) == 3
    later = FOUND + timedelta(days=3)
    assert record_findings(database, findings, later, timedelta(days=14)) == 0

    with database.read() as conn:
        sales = list_items(conn, department="sales")
        everything = list_items(conn, state=None)
    assert [(i["order_id"], i["rule"], i["event_seq"]) for i in sales] == [
        ("A1", "actor_not_permitted", 2),
        ("A1", "risky_approved_unverified", 2),
    ]
    assert {i["due_at"] for i in everything} == {FOUND + timedelta(days=14)}  # the first audit's
    assert {i["state"] for i in everything} == {"open"}
    assert len(everything) == 3
