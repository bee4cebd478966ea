"""Feedback analysis over HTTP (P7.3.2): supervision keeps the list of causes; customer
service tags each resolved feedback with a cause and the department or step responsible;
the report counts the causes of a window beside the window before it, by department.

The report's figures are checked against a set worked by hand. Feedback is received,
answered and resolved through the API; the days it was resolved on are moved back in the
read model for the earlier window (a test cannot wait a week), before it is tagged.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update
from temporalio.client import Client

from db.feedback_analysis_tables import feedback_cause_tags
from db.feedback_tables import feedback as feedback_table
from domain.feedback_analysis import CAUSE_COLUMNS
from domain.reports import local_today
from tests.conftest import TEST_POLICY
from tests.support.journeys import colleague
from tests.support.system import System, running_system

CAUSES = "/api/v1/feedback-causes"
REPORT = "/api/v1/reports/feedback-causes"


@pytest_asyncio.fixture(scope="module")
async def analysed(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    """A system of this module's own: the report counts only its feedback."""
    path: Path = tmp_path_factory.mktemp("feedback-causes") / "oms.db"
    async with running_system(client, f"sqlite:///{path}", TEST_POLICY) as running:
        yield running


async def new_feedback(system: System) -> str:
    feedback_id = f"FB{uuid.uuid4().hex[:12]}"
    created = await system.post(
        "platform",
        "/api/v1/feedback",
        {
            "feedback_id": feedback_id,
            "kind": "complaint",
            "channel": "hotline",
            "customer_id": "C-CAUSES",
            "subject": "late parcel",
            "message": "My parcel has not arrived.",
        },
    )
    assert created.status_code == 201, created.text
    return feedback_id


async def resolved_feedback(system: System, days_ago: int = 0) -> str:
    """Feedback received, resolved through the API, and (for an earlier window) resolved
    `days_ago` days before now as the read model has it."""
    feedback_id = await new_feedback(system)
    resolved = await system.post(
        "customer_service",
        f"/api/v1/feedback/{feedback_id}/resolve",
        {"outcome": "referred", "result": "passed on", "referred_to": ["logistics"]},
    )
    assert resolved.status_code == 200, resolved.text
    deadline = time.monotonic() + 20
    while True:
        with system.db.read() as conn:
            at = conn.execute(
                select(feedback_table.c.resolved_at).where(
                    feedback_table.c.feedback_id == feedback_id
                )
            ).scalar_one_or_none()
        if at is not None:
            break
        assert time.monotonic() < deadline, "the resolution never reached the read model"
        await asyncio.sleep(0.05)
    if days_ago:
        with system.db.write() as conn:
            conn.execute(
                update(feedback_table)
                .where(feedback_table.c.feedback_id == feedback_id)
                .values(resolved_at=at - timedelta(days=days_ago))
            )
    return feedback_id


async def tag(system: System, feedback_id: str, who: str = "customer_service", **body: Any):
    return await system.http.put(
        f"/api/v1/feedback/{feedback_id}/cause", json=body, headers=system.auth(who)
    )


async def tagged(
    system: System, feedback_id: str, who: str = "customer_service", **body: Any
) -> dict[str, Any]:
    response = await tag(system, feedback_id, who, **body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_default_causes_are_listed_to_any_staff_and_kept_by_supervision(
    analysed: System,
):
    system = analysed
    listed = await system.get("warehouse", CAUSES)
    assert listed.status_code == 200, listed.text
    codes = {c["code"]: c for c in listed.json()["items"]}
    assert {"late_dispatch", "wrong_item", "damaged_in_transit", "other"} <= set(codes)
    assert codes["late_dispatch"]["label_zh"] == "发货延迟"
    assert codes["late_dispatch"]["changed_by"] == "system"

    new = {"label_zh": "配件缺失", "label_en": "Missing accessory"}
    refused = await system.http.put(
        f"{CAUSES}/missing_accessory", json=new, headers=system.auth("customer_service")
    )
    assert refused.status_code == 403
    put = await system.http.put(
        f"{CAUSES}/missing_accessory", json=new, headers=system.auth("supervision")
    )
    assert put.status_code == 200, put.text
    assert put.json()["active"] is True
    assert put.json()["changed_by"] == system.staff_ids["supervision"]
    bad = await system.http.put(
        f"{CAUSES}/Missing-Accessory", json=new, headers=system.auth("admin")
    )
    assert bad.status_code == 422
    blank = await system.http.put(
        f"{CAUSES}/blank_label",
        json={"label_zh": " ", "label_en": "x"},
        headers=system.auth("admin"),
    )
    assert blank.status_code == 422

    # A resolved feedback tagged with it; then the cause is retired: the tag keeps it, new
    # tags may not name it.
    first = await resolved_feedback(system)
    kept = await tagged(system, first, cause="missing_accessory", step="pack")
    assert (kept["tag"]["department"], kept["tag"]["step"]) == ("warehouse", "pack")
    retired = await system.http.delete(
        f"{CAUSES}/missing_accessory", headers=system.auth("supervision")
    )
    assert retired.status_code == 200 and retired.json()["active"] is False
    again = await system.http.delete(f"{CAUSES}/missing_accessory", headers=system.auth("admin"))
    assert again.status_code == 200
    assert again.json()["changed_by"] == system.staff_ids["supervision"]  # nothing changed
    active = await system.get("sales", CAUSES, active="true")
    assert "missing_accessory" not in [c["code"] for c in active.json()["items"]]
    second = await resolved_feedback(system)
    refused = await tag(system, second, cause="missing_accessory", department="warehouse")
    assert refused.status_code == 422 and refused.json()["field"] == "cause"
    assert "retired" in refused.json()["detail"]
    still = await system.get("sales", f"/api/v1/feedback/{first}/cause")
    assert still.json()["tag"]["cause"] == "missing_accessory"
    assert still.json()["tag"]["label_en"] == "Missing accessory"
    missing = await system.http.delete(f"{CAUSES}/no_such_cause", headers=system.auth("admin"))
    assert missing.status_code == 404

    # Put back in use.
    back = await system.http.put(
        f"{CAUSES}/missing_accessory", json=new | {"active": True}, headers=system.auth("admin")
    )
    assert back.json()["active"] is True
    assert (await tag(system, second, cause="missing_accessory", step="pack")).status_code == 200


async def test_only_resolved_feedback_is_tagged_with_a_known_cause_and_a_responsible_department(
    analysed: System,
):
    system = analysed
    open_one = await new_feedback(system)
    refused = await tag(system, open_one, cause="late_dispatch", department="logistics")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert (body["refusal"], body["status"]) == ("feedback_not_resolved", "open")
    assert body["refusal_params"] == {"feedback_state": "open"}
    nothing = await system.get("customer_service", f"/api/v1/feedback/{open_one}/cause")
    assert nothing.json() == {"feedback_id": open_one, "tag": None, "history": []}

    resolved = await resolved_feedback(system)
    for body, field in (
        ({"cause": "no_such_cause", "department": "logistics"}, "cause"),
        ({"cause": "late_dispatch"}, "department"),  # neither department nor step
        ({"cause": "late_dispatch", "department": "supervision"}, "department"),
        ({"cause": "late_dispatch", "step": "teleport"}, "step"),
        ({"cause": "late_dispatch", "department": "logistics", "extra": 1}, "extra"),
    ):
        answer = await tag(system, resolved, **body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.json())
    assert (await tag(system, resolved, "warehouse", cause="other", step="pack")).status_code == 403
    assert (await tag(system, "NO-SUCH-FEEDBACK", cause="other", step="pack")).status_code == 404
    unknown = await system.get("customer_service", "/api/v1/feedback/NO-SUCH-FEEDBACK/cause")
    assert unknown.status_code == 404
    history = await system.get("customer_service", f"/api/v1/feedback/{resolved}/cause")
    assert history.json()["history"] == []  # no refused request left a trace


async def test_a_re_tag_replaces_the_tag_and_every_tagging_is_kept_with_who_and_when(
    analysed: System,
):
    system = analysed
    feedback_id = await resolved_feedback(system)
    first = await tagged(system, feedback_id, cause="other", department="sales", note="unclear")
    assert first["tag"]["revision"] == 1
    assert first["tag"]["tagged_by"] == system.staff_ids["customer_service"]
    same = await tagged(system, feedback_id, cause="other", department="sales", note="unclear")
    assert same == first  # the same tag again is no new tagging

    other_id, other = colleague(system, "customer_service")
    retag = await system.http.put(
        f"/api/v1/feedback/{feedback_id}/cause",
        json={"cause": "wrong_item", "step": "pack", "note": "checked the packing list"},
        headers=other,
    )
    assert retag.status_code == 200, retag.text
    corrected = await tagged(
        system,
        feedback_id,
        who="supervision",
        cause="wrong_item",
        department="warehouse",
        step="pack",
        note="checked the packing list; warehouse confirmed",
    )
    assert corrected["tag"]["revision"] == 3
    assert corrected["tag"]["tagged_by"] == system.staff_ids["supervision"]
    assert [
        (h["seq"], h["cause"], h["department"], h["step"], h["tagged_by"])
        for h in corrected["history"]
    ] == [
        (1, "other", "sales", None, system.staff_ids["customer_service"]),
        (2, "wrong_item", "warehouse", "pack", other_id),
        (3, "wrong_item", "warehouse", "pack", system.staff_ids["supervision"]),
    ]
    times = [h["tagged_at"] for h in corrected["history"]]
    assert times == sorted(times)
    # The workflow's record of the feedback is untouched by its tags.
    record = (await system.get("customer_service", f"/api/v1/feedback/{feedback_id}")).json()
    assert [e["kind"] for e in record["events"]][-1] == "resolved"


async def test_the_report_counts_causes_against_the_previous_window_by_department(
    analysed: System,
):
    """Worked by hand, for a week of its own long ago (days 200 to 206 before today, UTC
    days) and the week before it (days 207 to 213), where only this test's feedback lies:

    | feedback | resolved     | cause                      | responsible              |
    | -------- | ------------ | -------------------------- | ------------------------ |
    | week 1   | 200 days ago | late_dispatch              | step dispatch: logistics |
    | week 2   | 200 days ago | late_dispatch              | logistics                |
    | week 3   | 206 days ago | late_dispatch              | warehouse (step pack)    |
    | week 4   | 203 days ago | wrong_item (after `other`) | step pack: warehouse     |
    | week 5   | 201 days ago | (not tagged)               |                          |
    | before 1 | 207 days ago | late_dispatch              | logistics                |
    | before 2 | 213 days ago | damaged_in_transit         | step delivery: logistics |
    | outside  | 199 days ago | wrong_item                 | warehouse (in no window) |
    | outside  | 214 days ago | late_dispatch              | logistics (in no window) |

    late_dispatch 3 against 1: +2 (logistics 2, warehouse 1), share 3/4; wrong_item 1
    against 0: +1, share 1/4; damaged_in_transit 0 against 1: -1; every other cause 0.
    Logistics 2 against 2, warehouse 2 against 0, sales 0 (the re-tag moved it away).
    Resolved that week 5, tagged 4; the week before 2 and 2.
    """
    system = analysed
    today = local_today(datetime.now(UTC), system.settings.reports.utc_offset_hours)
    first_day, last_day = today - timedelta(days=206), today - timedelta(days=200)
    week = [await resolved_feedback(system, days_ago=d) for d in (200, 200, 206, 203, 201)]
    before = [await resolved_feedback(system, days_ago=d) for d in (207, 213)]
    outside = [await resolved_feedback(system, days_ago=d) for d in (199, 214)]
    await tagged(system, week[0], cause="late_dispatch", step="dispatch")
    await tagged(system, week[1], cause="late_dispatch", department="logistics")
    await tagged(system, week[2], cause="late_dispatch", department="warehouse", step="pack")
    await tagged(system, week[3], cause="other", department="sales")
    await tagged(system, week[3], cause="wrong_item", step="pack")  # re-tagged: counts once
    await tagged(system, before[0], cause="late_dispatch", department="logistics")
    await tagged(system, before[1], cause="damaged_in_transit", step="delivery")
    await tagged(system, outside[0], cause="wrong_item", department="warehouse")
    await tagged(system, outside[1], cause="late_dispatch", department="logistics")
    with system.db.read() as conn:
        kept = conn.execute(
            select(feedback_cause_tags.c.resolved_at).where(
                feedback_cause_tags.c.feedback_id == before[0]
            )
        ).scalar_one()
    assert kept.date() == today - timedelta(days=207)  # the tag keeps the day it was resolved

    params = {"from": first_day.isoformat(), "to": last_day.isoformat()}
    response = await system.get("customer_service", REPORT, **params)  # customer service reads it
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["report"], report["from"], report["to"], report["group_by"]) == (
        "feedback-causes",
        first_day.isoformat(),
        last_day.isoformat(),
        "all",
    )
    assert report["columns"] == list(CAUSE_COLUMNS)
    assert report["previous"] == {
        "from": (today - timedelta(days=213)).isoformat(),
        "to": (today - timedelta(days=207)).isoformat(),
        "resolved": 2,
        "tagged": 2,
    }
    assert (report["resolved"], report["tagged"]) == (5, 4)
    rows = {r["cause"]: r for r in report["rows"]}
    shown = {
        cause: (r["count"], r["previous_count"], r["change"], r["share"])
        for cause, r in rows.items()
        if r["count"] or r["previous_count"]
    }
    assert shown == {
        "late_dispatch": (3, 1, 2, 0.75),
        "wrong_item": (1, 0, 1, 0.25),
        "damaged_in_transit": (0, 1, -1, 0.0),
    }
    assert [r["cause"] for r in report["rows"][:2]] == ["late_dispatch", "wrong_item"]
    assert report["rows"][-1]["cause"] == "damaged_in_transit"  # the fall sorts last
    late = rows["late_dispatch"]
    assert {d: late[d] for d in ("sales", "warehouse", "logistics", "finance")} == {
        "sales": 0,
        "warehouse": 1,
        "logistics": 2,
        "finance": 0,
    }
    assert rows["wrong_item"]["warehouse"] == 1 and rows["other"]["sales"] == 0
    assert {
        d["department"]: (d["count"], d["previous_count"], d["change"])
        for d in report["departments"]
    } == {
        "sales": (0, 0, 0),
        "warehouse": (2, 0, 2),
        "logistics": (2, 2, 0),
        "customer_service": (0, 0, 0),
        "finance": (0, 0, 0),
    }

    # The same rows as CSV; supervision reads it, sales may not.
    as_csv = await system.get("supervision", REPORT, format="csv", **params)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert f"feedback-causes-{first_day}-{last_day}.csv" in as_csv.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(lines[0]) == list(CAUSE_COLUMNS)
    assert [r["cause"] for r in lines] == [r["cause"] for r in report["rows"]]
    assert {k: lines[0][k] for k in ("cause", "count", "previous_count", "change", "share")} == {
        "cause": "late_dispatch",
        "count": "3",
        "previous_count": "1",
        "change": "2",
        "share": "0.75",
    }
    assert (await system.get("sales", REPORT)).status_code == 403
    backwards = {"from": last_day.isoformat(), "to": first_day.isoformat()}
    bad = await system.get("supervision", REPORT, **backwards)
    assert bad.status_code == 422 and bad.json()["field"] == "from"
