"""Customer-service training over HTTP (P7.1): supervision records sessions (topic, day,
trainer) and who attended; a member of customer service whose last session is older than
the setting (30 days here, `OMS_TRAINING__MAX_AGE_DAYS`), or who never trained, is due."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from db import staff as staff_store
from db.training import last_training_by_staff
from domain.actors import Department
from domain.reports import local_today
from tests.conftest import TEST_POLICY
from tests.support.system import System, running_system

SESSIONS = "/api/v1/training/sessions"
DUE = "/api/v1/training/due"


@pytest_asyncio.fixture(scope="module")
async def training(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    path: Path = tmp_path_factory.mktemp("training") / "oms.db"
    async with running_system(
        client, f"sqlite:///{path}", TEST_POLICY, training={"max_age_days": 30}
    ) as running:
        yield running


def today(system: System) -> date:
    return local_today(datetime.now(UTC), system.settings.reports.utc_offset_hours)


async def record(
    system: System, body: dict[str, Any], *, key: str | None = None, who="supervision"
):
    return await system.post(who, SESSIONS, body, key=key)


async def attend(system: System, session_id: str, staff_ids: list[str], who: str = "supervision"):
    return await system.post(who, f"{SESSIONS}/{session_id}/attendance", {"staff_ids": staff_ids})


async def test_sessions_and_attendance_are_recorded_and_who_is_due_is_flagged(training: System):
    system = training
    now = datetime.now(UTC)
    with system.db.write() as conn:
        newcomer, _ = staff_store.add_staff(conn, "Newcomer", Department.CUSTOMER_SERVICE, now)
        leaver, _ = staff_store.add_staff(conn, "Leaver", Department.CUSTOMER_SERVICE, now)
        staff_store.revoke(conn, leaver.staff_id, now)
    member = system.staff_ids[Department.CUSTOMER_SERVICE]
    lead = system.leads[Department.CUSTOMER_SERVICE][0]
    recent_day, old_day = today(system) - timedelta(days=10), today(system) - timedelta(days=45)

    # Supervision records two sessions; the same Idempotency-Key records one.
    body = {
        "topic": "Handling complaints (P7.3)",
        "held_on": recent_day.isoformat(),
        "trainer": "Wang Fang",
    }
    created = await record(system, body, key="session-recent")
    assert created.status_code == 201, created.text
    recent = created.json()
    assert (recent["topic"], recent["held_on"], recent["trainer"], recent["attendees"]) == (
        body["topic"],
        body["held_on"],
        "Wang Fang",
        [],
    )
    assert recent["recorded_by"] == system.staff_ids[Department.SUPERVISION]
    again = await record(system, body, key="session-recent")
    assert again.status_code == 200 and again.json()["session_id"] == recent["session_id"]
    reused = await record(system, body | {"topic": "Another"}, key="session-recent")
    assert reused.status_code == 409 and reused.json()["refusal"] == "training_session_key_reused"
    old = await record(
        system, {"topic": "Hotline etiquette", "held_on": old_day.isoformat(), "trainer": "Li Na"}
    )
    assert old.status_code == 201, old.text
    old_id = old.json()["session_id"]

    # Refused: a day to come, an empty topic, customer service recording, an unknown session.
    tomorrow = (today(system) + timedelta(days=1)).isoformat()
    future = await record(system, body | {"held_on": tomorrow})
    assert future.status_code == 422 and future.json()["field"] == "held_on"
    blank = await record(system, body | {"topic": "  "})
    assert blank.status_code == 422 and blank.json()["field"] == "topic"
    assert (await record(system, body, who="customer_service")).status_code == 403
    assert (await attend(system, "TS-0000000000000000", [member])).status_code == 404

    # Attendance: an unknown member refuses the whole request; a repeat adds nobody.
    unknown = await attend(system, recent["session_id"], [member, "nobody-000"])
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["field"] == "staff_ids" and unknown.json()["unknown"] == ["nobody-000"]
    listed = (await system.get("supervision", f"{SESSIONS}/{recent['session_id']}")).json()
    assert listed["attendees"] == []
    attended = await attend(system, recent["session_id"], [member, member])
    assert attended.status_code == 200, attended.text
    assert attended.json()["added"] == [member]
    assert [a["staff_id"] for a in attended.json()["attendees"]] == [member]
    assert attended.json()["attendees"][0]["department"] == "customer_service"
    repeat = await attend(system, recent["session_id"], [member])
    assert repeat.json()["added"] == [] and len(repeat.json()["attendees"]) == 1
    assert (await attend(system, old_id, [lead])).json()["added"] == [lead]
    assert (await attend(system, old_id, [lead], who="customer_service")).status_code == 403

    # Who is due: the lead (45 days > 30) and the newcomer (never); not the member (10
    # days), not the leaver (revoked).
    due = await system.get("customer_service", DUE)
    assert due.status_code == 200, due.text
    answer = due.json()
    assert (answer["max_age_days"], answer["today"]) == (30, today(system).isoformat())
    flagged = {i["staff_id"]: i for i in answer["items"]}
    assert set(flagged) == {lead, newcomer.staff_id}
    assert (flagged[lead]["last_trained_on"], flagged[lead]["days_since"]) == (
        old_day.isoformat(),
        45,
    )
    assert flagged[lead]["role"] == "lead" and flagged[lead]["overdue"] is True
    assert (
        flagged[newcomer.staff_id]["last_trained_on"],
        flagged[newcomer.staff_id]["days_since"],
    ) == (
        None,
        None,
    )
    everyone = (await system.get("supervision", DUE, all="true")).json()["items"]
    assert {i["staff_id"]: i["overdue"] for i in everyone} == {
        member: False,
        lead: True,
        newcomer.staff_id: True,
    }
    assert (await system.get("warehouse", DUE)).status_code == 403

    # The lead attends the recent session too: no longer due.
    await attend(system, recent["session_id"], [lead])
    flagged = {i["staff_id"] for i in (await system.get("supervision", DUE)).json()["items"]}
    assert flagged == {newcomer.staff_id}

    # What the scorecards read: every current member's last session day.
    with system.db.read() as conn:
        assert last_training_by_staff(conn) == {
            member: recent_day,
            lead: recent_day,
            newcomer.staff_id: None,
        }
        # A month judged after its end counts the sessions held by then only.
        assert last_training_by_staff(conn, held_by=old_day + timedelta(days=1)) == {
            member: None,
            lead: old_day,
            newcomer.staff_id: None,
        }

    # Sessions, most recent first, with who attended; customer service reads them.
    sessions = await system.get("customer_service", SESSIONS)
    assert sessions.status_code == 200
    items = [
        s for s in sessions.json()["items"] if s["session_id"] in (recent["session_id"], old_id)
    ]
    assert [s["session_id"] for s in items] == [recent["session_id"], old_id]
    assert {a["staff_id"] for a in items[0]["attendees"]} == {member, lead}
    window = await system.get(
        "supervision", SESSIONS, **{"from": old_day.isoformat(), "to": old_day.isoformat()}
    )
    assert [s["session_id"] for s in window.json()["items"]] == [old_id]
    assert (await system.get("sales", SESSIONS)).status_code == 403
