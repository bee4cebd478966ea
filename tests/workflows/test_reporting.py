"""The daily report (P6.3, P8.2): a Temporal Schedule runs ReportingWorkflow, which stores
the day's reports and KPIs as a snapshot that the supervision group reads over HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from sqlalchemy import func, select

from db.feedback_tables import satisfaction_ratings
from db.tables import ledger_entries
from domain.reports import previous_day, rate
from oms.schedules import ensure_daily_report, trigger_daily_report
from tests.support.orders import new_order_id
from tests.support.system import System


async def test_the_schedule_is_ensured_once_and_a_trigger_stores_yesterdays_snapshot(
    system: System,
):
    settings = system.settings
    schedule_id = await ensure_daily_report(system.client, settings)
    assert schedule_id == "daily-report"
    assert await ensure_daily_report(system.client, settings) == schedule_id  # idempotent
    described = await system.client.get_schedule_handle(schedule_id).describe()
    [calendar] = described.schedule.spec.calendars
    assert (calendar.hour[0].start, calendar.minute[0].start) == (0, 10)

    # The workflow takes "yesterday" from its own clock when triggered: a test running
    # across midnight (UTC, the settings' offset) would seed one day and read another.
    now = datetime.now(UTC)
    to_midnight = (datetime.combine(now.date(), clock(0), UTC) - now).total_seconds() + 86_400
    if to_midnight < 60:
        await asyncio.sleep(to_midnight + 1)
    yesterday = previous_day(datetime.now(UTC))
    noon = datetime.combine(yesterday, clock(12), UTC)
    order_id = new_order_id("SNAP")
    with system.db.write() as conn:
        conn.execute(
            ledger_entries.insert(),
            [
                {
                    "entry_id": f"{order_id}:payment",
                    "order_id": order_id,
                    "kind": "payment",
                    "amount": Decimal("12.34"),
                    "at": noon,
                }
            ],
        )
        conn.execute(
            satisfaction_ratings.insert(),
            [
                {
                    "order_id": order_id,
                    "score": 5,
                    "channel": "online",
                    "rated_at": noon,
                    "actor_id": "test",
                    "actor_department": "platform",
                    "fingerprint": "test",
                }
            ],
        )

    await trigger_daily_report(system.client, settings)
    day = yesterday.isoformat()
    items: list[dict] = []
    deadline = time.monotonic() + 30
    while not items and time.monotonic() < deadline:
        response = await system.get("supervision", "/api/v1/reports/snapshots", to=day)
        assert response.status_code == 200, response.text
        items = [i for i in response.json()["items"] if i["day"] == day]
        await asyncio.sleep(0.3)
    [snapshot] = items
    assert snapshot["workflow_id"].startswith("daily-report-run-")
    # The day's payments: the one seeded here, and those of any order this session made
    # on that day (a session that ran across midnight made some "yesterday").
    start = datetime.combine(yesterday, clock(0), UTC)
    with system.db.read() as conn:
        that_day = conn.execute(
            select(ledger_entries.c.kind, func.sum(ledger_entries.c.amount))
            .where(ledger_entries.c.at >= start, ledger_entries.c.at < start + timedelta(days=1))
            .group_by(ledger_entries.c.kind)
        ).all()
    sums = {kind: Decimal(total) for kind, total in that_day}
    payments = sums.get("payment", Decimal("0"))
    assert payments >= Decimal("12.34")
    net = payments + sums.get("refund", Decimal("0"))
    assert (snapshot["revenue"]["payments"], snapshot["revenue"]["net_revenue"]) == (
        f"{payments:.2f}",
        f"{net:.2f}",
    )
    # The day's ratings likewise: the 5 seeded here and any this session gave that day.
    with system.db.read() as conn:
        scores = (
            conn.execute(
                select(satisfaction_ratings.c.score).where(
                    satisfaction_ratings.c.rated_at >= start,
                    satisfaction_ratings.c.rated_at < start + timedelta(days=1),
                )
            )
            .scalars()
            .all()
        )
    assert 5 in scores
    assert (snapshot["satisfaction"]["ratings"], snapshot["satisfaction"]["mean_rating"]) == (
        len(scores),
        rate(sum(scores), len(scores)),
    )
    kpis = {(k["kpi"], k["department"]) for k in snapshot["kpis"]}
    assert ("customer_satisfaction_mean", "all") in kpis
    assert ("order_processing_on_time_rate", "warehouse") in kpis
