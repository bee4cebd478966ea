"""Reports (P6.3) and KPIs (P8.2) in SQL, on SQLite and PostgreSQL, against hand-worked answers.

The figures are `tests/support/seed.py`'s: read its comments to check each number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from db import reports
from db.engine import Database
from db.tables import ledger_entries, orders
from domain.reports import GroupBy, ReportWindow
from tests.support.seed import D1, D2, at, ledger_row, order_row, seed_department_figures

WINDOW = ReportWindow(date(2024, 3, 4), date(2024, 3, 5))
LATER = datetime(2024, 6, 1, tzinfo=UTC)


def kpi(rows: list[dict], name: str, period: str, department: str = "all") -> tuple:
    [row] = [
        r
        for r in rows
        if r["kpi"] == name and r["period"] == period and r["department"] == department
    ]
    return row["numerator"], row["denominator"], row["value"]


def test_the_on_time_rate_counts_each_departments_tasks_by_their_deadline(database: Database):
    seed_department_figures(database)
    with database.read() as conn:
        rows = reports.kpis(conn, WINDOW, GroupBy.DAY, LATER)
    name = "order_processing_on_time_rate"
    # sales D1: T1 on time; T2 closed late; T3 still open past its deadline; T4 cancelled.
    assert kpi(rows, name, D1, "sales") == (1, 3, 0.3333)
    # warehouse: closed exactly at the deadline counts as on time.
    assert kpi(rows, name, D1, "warehouse") == (1, 1, 1.0)
    assert kpi(rows, name, D2, "warehouse") == (1, 1, 1.0)
    # logistics: the late DELIVER task is not a person's step; the dispatch was late.
    assert kpi(rows, name, D1, "logistics") == (0, 0, None)
    assert kpi(rows, name, D2, "logistics") == (0, 1, 0.0)
    # customer service answered feedback of no order on time.
    assert kpi(rows, name, D1, "customer_service") == (1, 1, 1.0)
    assert kpi(rows, name, D1, "finance") == (0, 0, None)


def test_an_open_task_not_yet_due_is_not_counted_yet(database: Database):
    seed_department_figures(database)
    with database.read() as conn:
        rows = reports.kpis(conn, WINDOW, GroupBy.DAY, at(D1, "15:00"))
    # At 15:00 T3 (due 16:00) may still be closed in time; T1 and T2 are decided.
    assert kpi(rows, "order_processing_on_time_rate", D1, "sales") == (1, 2, 0.5)


def test_order_accuracy_counts_corrections_wrong_items_and_changes_caused_by_errors(
    database: Database,
):
    seed_department_figures(database)
    with database.read() as conn:
        rows = reports.kpis(conn, WINDOW, GroupBy.DAY, LATER)
    # D1: O2 corrected, O3 wrong item (found later), O5 change caused by an error;
    # O4's quality return and O6's customer change are not our errors.
    assert kpi(rows, "order_accuracy_rate", D1) == (3, 6, 0.5)
    # D2: O9's exchange for a wrong item. O0 (created before the window) is not counted.
    assert kpi(rows, "order_accuracy_rate", D2) == (2, 3, 0.6667)


def test_customer_satisfaction_is_the_mean_rating_and_the_share_of_fours_and_fives(
    database: Database,
):
    seed_department_figures(database)
    with database.read() as conn:
        rows = reports.kpis(conn, WINDOW, GroupBy.DAY, LATER)
    assert kpi(rows, "customer_satisfaction_mean", D1) == (11, 3, 3.6667)
    assert kpi(rows, "customer_satisfaction_share_4_5", D1) == (2, 3, 0.6667)
    assert kpi(rows, "customer_satisfaction_mean", D2) == (3, 1, 3.0)
    assert kpi(rows, "customer_satisfaction_share_4_5", D2) == (0, 1, 0.0)


def test_logistics_on_time_delivery_is_counted_by_the_promised_date(database: Database):
    seed_department_figures(database)
    with database.read() as conn:
        later = reports.kpis(conn, WINDOW, GroupBy.DAY, LATER)
        during = reports.kpis(conn, WINDOW, GroupBy.DAY, at(D2, "14:00"))
    name = "logistics_on_time_delivery_rate"
    assert kpi(later, name, D1, "logistics") == (1, 2, 0.5)  # O1 on time, O2 late
    # O4 on time to the second, O5 early, O6 never delivered.
    assert kpi(later, name, D2, "logistics") == (2, 3, 0.6667)
    # At 14:00 on D2, O6's promise (15:00) has not passed: it is not counted yet.
    assert kpi(during, name, D2, "logistics") == (2, 2, 1.0)


def test_the_whole_window_is_one_period_and_a_department_filter_keeps_its_rows(
    database: Database,
):
    seed_department_figures(database)
    with database.read() as conn:
        rows = reports.kpis(conn, WINDOW, GroupBy.ALL, LATER, department="warehouse")
    assert rows == [
        {
            "period": "2024-03-04/2024-03-05",
            "kpi": "order_processing_on_time_rate",
            "department": "warehouse",
            "numerator": 2,
            "denominator": 2,
            "value": 1.0,
        }
    ]


def test_revenue_is_net_of_refunds_with_compensation_and_adjustments_apart(database: Database):
    seed_department_figures(database)
    with database.read() as conn:
        rows = reports.revenue_report(conn, WINDOW, GroupBy.DAY)
    assert rows == [
        {
            "period": D1,
            "payments": "350.50",
            "refunds": "-50.00",
            "net_revenue": "300.50",
            "cash_on_delivery": "0.00",
            "compensation": "-10.00",
            "adjustments": "0.00",
            "net_cash": "290.50",
            "entries": 4,
        },
        {
            "period": D2,
            "payments": "80.00",
            "refunds": "-80.00",
            "net_revenue": "0.00",
            "cash_on_delivery": "0.00",
            "compensation": "0.00",
            "adjustments": "5.00",
            "net_cash": "5.00",
            "entries": 3,
        },
    ]


def test_p2_1_revenue_shows_what_the_carriers_remitted_for_cash_on_delivery(database: Database):
    cod = order_row("COD-1", at(D1, "08:00"), total="70.00") | {
        "payment_method": "cash_on_delivery"
    }
    online = order_row("ONL-1", at(D1, "08:00"), total="30.00")
    with database.write() as conn:
        conn.execute(orders.insert(), [cod, online])
        conn.execute(
            ledger_entries.insert(),
            [
                ledger_row("COD-1", "payment", "70.00", at(D1, "16:00")),
                ledger_row("ONL-1", "payment", "30.00", at(D1, "08:00")),
            ],
        )
    with database.read() as conn:
        [row] = reports.revenue_report(conn, WINDOW, GroupBy.ALL)
    assert (row["payments"], row["cash_on_delivery"], row["net_revenue"]) == (
        "100.00",
        "70.00",
        "100.00",
    )


def test_order_volume_counts_orders_by_arrival_with_where_they_stand(database: Database):
    seed_department_figures(database)
    with database.read() as conn:
        rows = reports.orders_report(conn, WINDOW, GroupBy.DAY)
    assert rows == [
        {
            "period": D1,
            "orders": 6,
            "goods": 5,
            "service": 1,
            "open": 1,
            "completed": 3,
            "cancelled": 0,
            "rejected": 0,
            "returned": 1,
            "refunded": 1,
            "gross_amount": "520.49",
        },
        {
            "period": D2,
            "orders": 3,
            "goods": 3,
            "service": 0,
            "open": 1,
            "completed": 1,
            "cancelled": 1,
            "rejected": 0,
            "returned": 0,
            "refunded": 0,
            "gross_amount": "60.00",
        },
    ]


def test_satisfaction_report_per_channel_adds_feedback_and_first_replies(database: Database):
    seed_department_figures(database)
    with database.read() as conn:
        whole = reports.satisfaction_report(conn, WINDOW, GroupBy.ALL)
        per_channel = reports.satisfaction_report(conn, WINDOW, GroupBy.DAY, by_channel=True)
    [total] = whole
    assert total["ratings"] == 4 and total["mean_rating"] == 3.5  # (5 + 4 + 2 + 3) / 4
    assert (total["satisfied"], total["share_satisfied"]) == (2, 0.5)
    assert (total["feedback"], total["answered"], total["answered_on_time"]) == (3, 2, 1)
    assert (total["inquiries"], total["complaints"], total["praise"], total["resolved"]) == (
        1,
        1,
        1,
        1,
    )
    assert len(per_channel) == 2 * 3  # every day, every channel, quiet ones as zeros
    hotline_d1 = next(r for r in per_channel if r["period"] == D1 and r["channel"] == "hotline")
    assert (hotline_d1["ratings"], hotline_d1["score_4"], hotline_d1["feedback"]) == (1, 1, 1)
    assert (hotline_d1["answered"], hotline_d1["answered_on_time"]) == (1, 0)
    email_d1 = next(r for r in per_channel if r["period"] == D1 and r["channel"] == "email")
    assert email_d1["ratings"] == 0 and email_d1["mean_rating"] is None


def test_weeks_and_months_begin_on_monday_and_the_first_and_quiet_periods_show_as_zero(
    database: Database,
):
    seed_department_figures(database)
    window = ReportWindow(date(2024, 2, 20), date(2024, 3, 10))
    with database.read() as conn:
        weeks = reports.orders_report(conn, window, GroupBy.WEEK)
        months = reports.orders_report(conn, window, GroupBy.MONTH)
    assert [(r["period"], r["orders"]) for r in weeks] == [
        ("2024-02-19", 0),
        ("2024-02-26", 1),  # O0, Sunday 3 March
        ("2024-03-04", 9),
    ]
    assert [(r["period"], r["orders"]) for r in months] == [("2024-02-01", 0), ("2024-03-01", 10)]


def test_days_begin_at_local_midnight_with_a_utc_offset(database: Database):
    with database.write() as conn:
        # 23:30 UTC on 4 March is 07:30 on 5 March in Beijing (UTC+8).
        conn.execute(orders.insert(), [order_row("TZ-1", at(D1, "23:30"))])
    beijing = ReportWindow(date(2024, 3, 5), date(2024, 3, 5), utc_offset_hours=8)
    utc = ReportWindow(date(2024, 3, 5), date(2024, 3, 5))
    with database.read() as conn:
        assert reports.orders_report(conn, beijing, GroupBy.DAY)[0]["orders"] == 1
        assert reports.orders_report(conn, utc, GroupBy.DAY)[0]["orders"] == 0
        assert reports.orders_report(conn, beijing, GroupBy.WEEK)[0]["orders"] == 1


def test_a_days_snapshot_is_one_row_that_a_second_run_replaces(database: Database):
    day = date(2024, 3, 4)
    with database.write() as conn:
        reports.store_snapshot(conn, day, 0, {"orders": {"orders": 1}}, "run-1", LATER)
        reports.store_snapshot(conn, day, 0, {"orders": {"orders": 2}}, "run-2", LATER)
    with database.read() as conn:
        [row] = reports.list_snapshots(conn, day, day)
    assert (row["workflow_id"], row["content"]["orders"]["orders"]) == ("run-2", 2)
