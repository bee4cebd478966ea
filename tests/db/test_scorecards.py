"""Scorecards for a hand-worked month (P8.2, P8.3), on SQLite and PostgreSQL.

October 2026, worked by hand from the comments below:

sales       Ann (lead): S1 on time (A1), S2 late (A2)
            Bob: S3 on time (A3), S4 closed 1 Oct late (A4, due in September),
                 S6 closed 31 Oct on time (A5, due in November)
            S5 (A5) still open past its October deadline: late for the department
            Dan joined in November, Eve left in September: neither is on the month's books
warehouse   Wu: W1 on time to the second (A1), W2 on time (A2)
cust. serv. Cai: C1, a feedback reply of no order, on time; training out of date (P7.1)

Errors in the record: A1 corrected, A4 returned as the wrong item (in October, for an
order of September). Ratings: A1 5, A2 4, A3 2.
"""

from __future__ import annotations

from datetime import UTC, datetime

from db import scorecards
from db import staff as staff_store
from db.engine import Database
from db.feedback_tables import satisfaction_ratings
from db.tables import order_events, orders, staff, tasks
from domain.actors import Department, StaffRole
from domain.reports import Kpi
from domain.scorecards import ScorecardSettings, Standing
from tests.support.seed import event_row, order_row, rating_row, task_row

PERIOD = "2026-10"
LATER = datetime(2026, 12, 1, tzinfo=UTC)
SETTINGS = ScorecardSettings()


def at(day: str, hhmm: str = "12:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=UTC)


def closed_by(row: dict, who: str | None) -> dict:
    return {**row, "closed_by": who}


def seed_month(db: Database) -> dict[str, str]:
    with db.write() as conn:
        people = {}
        for name, department in [
            ("Ann", Department.SALES),
            ("Bob", Department.SALES),
            ("Dan", Department.SALES),
            ("Eve", Department.SALES),
            ("Wu", Department.WAREHOUSE),
            ("Cai", Department.CUSTOMER_SERVICE),
        ]:
            member, _ = staff_store.add_staff(conn, name, department, at("2026-09-01"))
            people[name] = member.staff_id
        staff_store.set_role(conn, people["Ann"], StaffRole.LEAD, at("2026-09-01"))
        conn.execute(
            staff.update()
            .where(staff.c.staff_id == people["Dan"])
            .values(created_at=at("2026-11-05"))
        )
        conn.execute(
            staff.update()
            .where(staff.c.staff_id == people["Eve"])
            .values(revoked_at=at("2026-09-20"))
        )
        conn.execute(
            orders.insert(),
            [
                order_row("A1", at("2026-10-02", "09:00")),
                order_row("A2", at("2026-10-03", "09:00")),
                order_row("A3", at("2026-10-04", "09:00")),
                order_row("A4", at("2026-09-28", "09:00")),
                order_row("A5", at("2026-10-20", "09:00")),
            ],
        )
        conn.execute(
            order_events.insert(),
            [
                event_row("A1", 2, at("2026-10-02", "10:00"), "corrected", {"fields": ["x"]}),
                event_row(
                    "A4",
                    2,
                    at("2026-10-10"),
                    "case_opened",
                    {"kind": "return", "reason_code": "wrong_item"},
                ),
            ],
        )
        ann, bob, wu, cai = people["Ann"], people["Bob"], people["Wu"], people["Cai"]
        conn.execute(
            tasks.insert(),
            [
                closed_by(
                    task_row(
                        "S1",
                        "A1",
                        "sales",
                        "review",
                        at("2026-10-02"),
                        closed=at("2026-10-02", "11:00"),
                    ),
                    ann,
                ),
                closed_by(
                    task_row(
                        "S2",
                        "A2",
                        "sales",
                        "review",
                        at("2026-10-03"),
                        closed=at("2026-10-03", "13:00"),
                    ),
                    ann,
                ),
                closed_by(
                    task_row(
                        "S3",
                        "A3",
                        "sales",
                        "review",
                        at("2026-10-04"),
                        closed=at("2026-10-04", "10:00"),
                    ),
                    bob,
                ),
                closed_by(
                    task_row(
                        "S4",
                        "A4",
                        "sales",
                        "review",
                        at("2026-09-29"),
                        closed=at("2026-10-01", "09:00"),
                    ),
                    bob,
                ),
                closed_by(
                    task_row(
                        "S5", "A5", "sales", "review", at("2026-10-20", "18:00"), state="open"
                    ),
                    None,
                ),
                closed_by(
                    task_row(
                        "S6",
                        "A5",
                        "sales",
                        "review",
                        at("2026-11-01"),
                        closed=at("2026-10-31", "23:00"),
                    ),
                    bob,
                ),
                closed_by(
                    task_row(
                        "W1", "A1", "warehouse", "pack", at("2026-10-05"), closed=at("2026-10-05")
                    ),
                    wu,
                ),
                closed_by(
                    task_row(
                        "W2",
                        "A2",
                        "warehouse",
                        "pack",
                        at("2026-10-06"),
                        closed=at("2026-10-06", "08:00"),
                    ),
                    wu,
                ),
                closed_by(
                    task_row(
                        "C1",
                        None,
                        "customer_service",
                        "reply_feedback",
                        at("2026-10-07"),
                        closed=at("2026-10-07", "09:00"),
                    ),
                    cai,
                ),
            ],
        )
        conn.execute(
            satisfaction_ratings.insert(),
            [
                rating_row("A1", 5, at("2026-10-08")),
                rating_row("A2", 4, at("2026-10-09")),
                rating_row("A3", 2, at("2026-10-10")),
            ],
        )
        target = scorecards.set_target
        on_time, mean = Kpi.ORDER_PROCESSING_ON_TIME_RATE, Kpi.CUSTOMER_SATISFACTION_MEAN
        accuracy = Kpi.ORDER_ACCURACY_RATE
        for kpi, department, value, effective, set_at in [
            (on_time, "sales", 0.9, "2026-01", "2026-01-01"),
            (on_time, "sales", 0.5, "2026-10", "2026-09-30"),  # October's
            (on_time, "sales", 0.8, "2026-11", "2026-10-15"),  # from November on
            (mean, "sales", 3.5, "2026-01", "2026-01-01"),
            (on_time, "warehouse", 0.9, "2026-01", "2026-01-01"),
            (accuracy, "warehouse", 0.9, "2026-01", "2026-01-01"),
            (accuracy, "warehouse", None, "2026-10", "2026-09-30"),  # withdrawn
            (on_time, "customer_service", 0.95, "2026-01", "2026-01-01"),
        ]:
            target(
                conn,
                kpi=kpi,
                department=department,
                target=value,
                effective_from=effective,
                set_by="supervisor-1",
                now=at(set_at),
            )
    return people


def evaluate(db: Database, people: dict[str, str]) -> dict[tuple[str, str], dict]:
    with db.read() as conn:
        lines = scorecards.evaluate(
            conn, PERIOD, LATER, SETTINGS, training_overdue={people["Cai"]: True}
        )
    return {(line["department"], line["staff_id"]): line for line in lines}


def figure(line: dict, kpi: Kpi) -> tuple:
    [found] = [f for f in line["figures"] if f["kpi"] == kpi.value]
    return found["numerator"], found["denominator"], found["actual"], found["target"], found["met"]


ON_TIME = Kpi.ORDER_PROCESSING_ON_TIME_RATE
ACCURACY = Kpi.ORDER_ACCURACY_RATE
MEAN = Kpi.CUSTOMER_SATISFACTION_MEAN
SHARE = Kpi.CUSTOMER_SATISFACTION_SHARE_4_5


def test_each_member_is_scored_on_the_tasks_they_closed_and_the_orders_those_belonged_to(
    database: Database,
):
    people = seed_month(database)
    lines = evaluate(database, people)
    ann = lines[("sales", people["Ann"])]
    assert (ann["name"], ann["role"], ann["tasks_done"], ann["orders_handled"]) == (
        "Ann",
        "lead",
        2,
        2,
    )
    assert figure(ann, ON_TIME) == (1, 2, 0.5, 0.5, True)
    assert figure(ann, ACCURACY) == (1, 2, 0.5, None, None)
    assert figure(ann, MEAN) == (9, 2, 4.5, 3.5, True)
    assert figure(ann, SHARE) == (2, 2, 1.0, None, None)
    assert ann["proposed"] == Standing.MEETS  # met, but not by the margin

    bob = lines[("sales", people["Bob"])]
    assert (bob["tasks_done"], bob["tasks_on_time"], bob["orders_handled"]) == (3, 2, 3)
    assert figure(bob, ON_TIME) == (2, 3, 0.6667, 0.5, True)
    assert figure(bob, ACCURACY) == (2, 3, 0.6667, None, None)
    assert figure(bob, MEAN) == (2, 1, 2.0, 3.5, False)
    assert bob["proposed"] == Standing.NEEDS_IMPROVEMENT

    wu = lines[("warehouse", people["Wu"])]
    assert figure(wu, ON_TIME) == (2, 2, 1.0, 0.9, True)
    # The accuracy target was withdrawn from October on.
    assert figure(wu, ACCURACY) == (1, 2, 0.5, None, None)
    assert wu["proposed"] == Standing.EXCELLENT

    cai = lines[("customer_service", people["Cai"])]
    assert figure(cai, ON_TIME) == (1, 1, 1.0, 0.95, True)
    assert figure(cai, ACCURACY) == (0, 0, None, None, None)
    # P7.1: on time by the margin, but training out of date: meets, flagged.
    assert (cai["training_overdue"], cai["proposed"]) == (True, Standing.MEETS)
    assert ("sales", people["Dan"]) not in lines and ("sales", people["Eve"]) not in lines


def test_a_department_is_scored_on_its_kpi_and_on_the_orders_its_staff_handled(
    database: Database,
):
    people = seed_month(database)
    lines = evaluate(database, people)
    sales = lines[("sales", "")]
    # The KPI counts tasks due in October: S1, S3 on time; S2 late; S5 open past due.
    assert figure(sales, ON_TIME) == (2, 4, 0.5, 0.5, True)
    # Orders its staff handled in October: A1-A5, A1 and A4 with errors.
    assert figure(sales, ACCURACY) == (3, 5, 0.6, None, None)
    assert figure(sales, MEAN) == (11, 3, 3.67, 3.5, True)
    assert figure(sales, SHARE) == (2, 3, 0.6667, None, None)
    assert (sales["tasks_done"], sales["tasks_on_time"]) == (5, 3)
    assert sales["proposed"] == Standing.MEETS

    assert lines[("warehouse", "")]["proposed"] == Standing.EXCELLENT
    service = lines[("customer_service", "")]
    assert service["proposed"] == Standing.EXCELLENT  # 1.0 against 0.95: by the margin
    assert service["members_training_overdue"] == [people["Cai"]]
    logistics = lines[("logistics", "")]
    assert figure(logistics, Kpi.LOGISTICS_ON_TIME_DELIVERY_RATE) == (0, 0, None, None, None)
    assert logistics["proposed"] is None  # no target: nothing to judge
    assert [d for d, s in lines if s == ""] == [
        "sales",
        "warehouse",
        "logistics",
        "customer_service",
        "finance",
    ]


def test_targets_and_standings_are_kept_with_who_set_them_and_when(database: Database):
    people = seed_month(database)
    with database.write() as conn:
        history = scorecards.target_history(conn, department="sales", kpi=ON_TIME.value)
        assert [(r["target"], r["effective_from"], r["set_by"]) for r in history] == [
            (0.8, "2026-11", "supervisor-1"),
            (0.5, "2026-10", "supervisor-1"),
            (0.9, "2026-01", "supervisor-1"),
        ]
        in_force = scorecards.targets_in_force(conn, "2026-11")
        assert in_force[(ON_TIME.value, "sales")]["target"] == 0.8
        for standing, note, when in [
            (Standing.NEEDS_IMPROVEMENT, "as proposed", "2026-11-02"),
            (Standing.MEETS, "complaint mix was unusual; no penalty", "2026-11-03"),
        ]:
            scorecards.record_decision(
                conn,
                period=PERIOD,
                department="sales",
                staff_id=people["Bob"],
                standing=standing,
                note=note,
                decided_by="supervisor-2",
                now=at(when),
            )
        decided = scorecards.decisions(conn, PERIOD)[("sales", people["Bob"])]
    assert [(d["standing"], d["decided_by"], d["decided_at"]) for d in decided] == [
        ("meets", "supervisor-2", at("2026-11-03")),
        ("needs_improvement", "supervisor-2", at("2026-11-02")),
    ]


def test_a_stored_evaluation_reads_back_as_computed_and_a_rerun_replaces_it(
    database: Database,
):
    people = seed_month(database)
    with database.read() as conn:
        lines = scorecards.evaluate(conn, PERIOD, LATER, SETTINGS)
    with database.write() as conn:
        scorecards.store_evaluation(conn, PERIOD, lines, at("2026-11-01", "04:00"), "wf-1")
        scorecards.store_evaluation(conn, PERIOD, lines, at("2026-11-01", "05:00"), "wf-2")
    with database.read() as conn:
        stored = scorecards.stored_evaluation(conn, PERIOD)
        assert scorecards.stored_evaluation(conn, "2026-09") is None
    assert stored is not None
    evaluated_at, read_back = stored
    assert evaluated_at == at("2026-11-01", "05:00")
    assert read_back == lines
    assert people["Ann"] in {line["staff_id"] for line in read_back}
