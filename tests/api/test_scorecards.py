"""Scorecards over HTTP (P8.2, P8.3): who sees which, targets kept with who set them,
the month evaluated on demand and by a monthly schedule, and supervision's decisions.

The figures of a hand-worked month are checked in tests/db/test_scorecards.py; here a
real order reviewed by a member of sales shows on that member's line of this month.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from db.tables import staff
from domain.actors import Department
from domain.scorecards import ScorecardSettings, period_of
from oms.schedules import ensure_scorecard_schedule
from tests.conftest import TEST_POLICY
from tests.support.flows import act, create
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system

SCORECARDS = "/api/v1/scorecards"
TARGETS = f"{SCORECARDS}/targets"
ON_TIME = "order_processing_on_time_rate"


@pytest_asyncio.fixture(scope="module")
async def scoring(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    path: Path = tmp_path_factory.mktemp("scorecards") / "oms.db"
    async with running_system(client, f"sqlite:///{path}", TEST_POLICY) as running:
        yield running


def this_month() -> str:
    return period_of(datetime.now(UTC).date())


def last_month() -> str:
    return period_of(datetime.now(UTC).date().replace(day=1) - timedelta(days=1))


async def as_lead(system: System, lead_of: Department, path: str, **params: Any) -> Any:
    _, token = system.leads[lead_of]
    return await system.http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def line_of(scorecards: dict[str, Any], department: str, staff_id: str | None = None) -> Any:
    [found] = [d for d in scorecards["departments"] if d["department"] == department]
    if staff_id is None:
        return found
    [member] = [m for m in found["members"] if m["staff_id"] == staff_id]
    return member


async def test_p8_2_supervision_sees_every_department_and_a_lead_only_their_own(
    scoring: System,
):
    system = scoring
    everything = await system.get("supervision", SCORECARDS, period=this_month())
    assert everything.status_code == 200, everything.text
    assert [d["department"] for d in everything.json()["departments"]] == [
        "sales",
        "warehouse",
        "logistics",
        "customer_service",
        "finance",
    ]
    own = await as_lead(system, Department.SALES, SCORECARDS, period=this_month())
    assert own.status_code == 200, own.text
    assert [d["department"] for d in own.json()["departments"]] == ["sales"]
    other = await as_lead(
        system, Department.SALES, SCORECARDS, period=this_month(), department="warehouse"
    )
    assert other.status_code == 403
    # A member who is not the lead, and a department that is not working, see none.
    assert (await system.get("sales", SCORECARDS, period=this_month())).status_code == 403
    assert (await system.get("platform", SCORECARDS, period=this_month())).status_code == 403
    bad = await system.get("supervision", SCORECARDS, period="2026-13")
    assert bad.status_code == 422


async def test_p8_2_a_review_done_in_time_counts_for_the_member_who_did_it(scoring: System):
    system = scoring
    sku = f"SKU-SC-{new_order_id()}"
    system.set_stock(sku, 5)
    order_id = await create(system, order_body(lines=[(sku, 1, "10.00")]))
    await act(system, "sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    await system.wait_for(order_id, "ready_to_pack")
    response = await system.get("supervision", SCORECARDS, period=this_month())
    body = response.json()
    assert body["provisional"] is True  # the month is not evaluated yet: figures as of now
    member = line_of(body, "sales", system.staff_ids[Department.SALES])
    assert (member["tasks_done"], member["tasks_on_time"], member["orders_handled"]) == (1, 1, 1)
    on_time = next(f for f in member["figures"] if f["kpi"] == ON_TIME)
    assert (on_time["numerator"], on_time["denominator"], on_time["actual"]) == (1, 1, 1.0)
    assert line_of(body, "sales")["tasks_done"] >= 1


async def test_p8_2_targets_are_set_by_supervision_and_kept_with_who_and_when(
    scoring: System,
):
    system = scoring
    path = f"{TARGETS}/sales/{ON_TIME}"
    first = await system.http.put(
        path, json={"target": 0.9, "note": "the year's plan"}, headers=system.auth("supervision")
    )
    assert first.status_code == 200, first.text
    again = await system.http.put(
        path, json={"target": 0.9, "note": "the year's plan"}, headers=system.auth("supervision")
    )
    assert again.json()["target_id"] == first.json()["target_id"]  # a retry sets it once
    raised = await system.http.put(
        path, json={"target": 0.95, "note": "raised"}, headers=system.auth("supervision")
    )
    assert raised.status_code == 200
    listed = await as_lead(system, Department.SALES, TARGETS, history="true")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [(t["kpi"], t["target"]) for t in body["targets"]] == [(ON_TIME, 0.95)]
    assert [(t["target"], t["set_by"]) for t in body["history"]] == [
        (0.95, system.staff_ids[Department.SUPERVISION]),
        (0.9, system.staff_ids[Department.SUPERVISION]),
    ]
    # The department cannot set its own target; a rate above 1 is no target.
    headers = system.auth("sales")
    assert (await system.http.put(path, json={"target": 0.5}, headers=headers)).status_code == 403
    wrong = await system.http.put(path, json={"target": 1.5}, headers=system.auth("supervision"))
    assert (wrong.status_code, wrong.json()["field"]) == (422, "target")
    scorecard = await system.get("supervision", SCORECARDS, period=this_month())
    figure = next(f for f in line_of(scorecard.json(), "sales")["figures"] if f["kpi"] == ON_TIME)
    assert figure["target"] == 0.95


async def test_p8_3_a_month_is_evaluated_and_its_standings_decided_with_a_note(
    scoring: System,
):
    system = scoring
    month = last_month()
    with system.db.write() as conn:  # the staff were on the books last month
        conn.execute(staff.update().values(created_at=datetime.now(UTC) - timedelta(days=62)))
    stored = await act(system, "supervision", f"{SCORECARDS}/evaluations", {"period": month})
    assert (stored["period"], stored["departments"]) == (month, 5)
    read = (await system.get("supervision", SCORECARDS, period=month)).json()
    assert read["provisional"] is False
    assert read["evaluated_at"].startswith(stored["evaluated_at"][:19])

    open_month = await system.post(
        "supervision",
        f"{SCORECARDS}/{this_month()}/standings",
        {"department": "sales", "standing": "meets", "note": "early"},
    )
    assert (open_month.status_code, open_month.json()["refusal"]) == (409, "scorecard_period_open")
    member = system.staff_ids[Department.SALES]
    decide = f"{SCORECARDS}/{month}/standings"
    body = {
        "department": "sales",
        "staff_id": member,
        "standing": "excellent",
        "note": "reward: a day off",
    }
    first = await act(system, "supervision", decide, body)
    assert await act(system, "supervision", decide, body) == first  # a retry decides once
    changed = await act(
        system, "supervision", decide, {**body, "standing": "meets", "note": "no reward"}
    )
    assert changed["decided_by"] == system.staff_ids[Department.SUPERVISION]
    line = line_of(
        (await system.get("supervision", SCORECARDS, period=month)).json(), "sales", member
    )
    assert line["decision"]["standing"] == "meets"
    assert [d["note"] for d in line["decisions"]] == ["no reward", "reward: a day off"]
    stranger = await system.post(
        "supervision", decide, {**body, "staff_id": system.staff_ids[Department.WAREHOUSE]}
    )
    assert (stranger.status_code, stranger.json()["field"]) == (422, "staff_id")
    lead = system.leads[Department.SALES][1]
    refused = await system.http.post(decide, json=body, headers={"Authorization": f"Bearer {lead}"})
    assert refused.status_code == 403  # P8.3: supervision decides, not the department


async def test_p8_2_the_evaluation_runs_monthly_on_a_schedule(scoring: System, client: Client):
    settings = scoring.settings.model_copy(
        update={"scorecards": ScorecardSettings(schedule_id=f"scorecards-{new_order_id()}")}
    )
    schedule_id = await ensure_scorecard_schedule(client, settings)
    handle = client.get_schedule_handle(schedule_id)
    try:
        times = (await handle.describe()).info.next_action_times
        assert len(times) > 1
        assert {(t.astimezone(UTC).day, t.astimezone(UTC).hour) for t in times} == {(1, 4)}
        # Run twice, the schedule is the same one (ensure is idempotent).
        assert await ensure_scorecard_schedule(client, settings) == schedule_id
    finally:
        await handle.delete()
