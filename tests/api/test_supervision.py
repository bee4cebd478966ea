"""Supervision runs over HTTP (P8.1): real orders driven into each lapse, then found.

The system here is one of its own (its own read model), so that a run's findings are
exactly the lapses this module made: short deadlines in its policy and supervision
settings stand in for the hours and days of production.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from db.rectification import list_items
from db.tables import order_events, orders, tasks
from domain.states import OrderStatus
from domain.supervision import SupervisionSettings
from oms.cli import parser
from tests.conftest import TEST_POLICY
from tests.support.flows import act, create
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system

RUNS = "/api/v1/supervision/runs"

SUPERVISION = SupervisionSettings(
    refund_deadline=timedelta(seconds=2),
    escalation_grace=timedelta(seconds=30),
    gateway_grace=timedelta(0),
    stuck_after={OrderStatus.UNDER_REVIEW: timedelta(seconds=3)},
)


@pytest_asyncio.fixture(scope="module")
async def supervised(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    path: Path = tmp_path_factory.mktemp("supervision") / "oms.db"
    # P7.2 first replies due in 2 s, so a reply after 3 s is late.
    policy = TEST_POLICY.model_copy(update={"first_reply_deadline": timedelta(seconds=2)})
    async with running_system(
        client, f"sqlite:///{path}", policy, supervision=SUPERVISION
    ) as running:
        yield running


def stocked(system: System, units: int = 5) -> dict[str, Any]:
    sku = f"SKU-SUP-{new_order_id()}"
    system.set_stock(sku, units)
    return order_body(lines=[(sku, 1, "20.00")])


async def approved(system: System, body: dict[str, Any]) -> str:
    order_id = await create(system, body)
    await act(system, "sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    return order_id


def by_order(run: dict[str, Any]) -> dict[str | None, set[str]]:
    found: dict[str | None, set[str]] = {}
    for item in run["items"]:
        found.setdefault(item["order_id"], set()).add(item["rule"])
    return found


async def test_a_run_finds_exactly_the_lapses_real_orders_were_driven_into(supervised: System):
    system = supervised
    # A clean order: reviewed and packed in time, nothing to find.
    clean = await approved(system, stocked(system))

    # P8.1: a review left past its (1 s) deadline, escalated, then done late.
    late_review = await system.start_directly(stocked(system), review_deadline=timedelta(seconds=1))
    await system.wait_until(
        late_review,
        lambda o: "task_escalated" in [e["kind"] for e in o["events"]],
        what="the review escalated",
    )
    await act(system, "sales", f"/api/v1/orders/{late_review}/review", {"approved": True})

    # P2.2: an order whose amount had to be corrected by sales.
    body = stocked(system)
    # (an overstated amount: a correction may lower it, never raise it). The customer paid
    # the true amount at the provider; the platform's report of 999.00 was wrong.
    system.customer_paid(body)
    corrected = await create(system, dict(body, payment=dict(body["payment"], amount="999.00")))
    await act(
        system, "sales", f"/api/v1/orders/{corrected}/corrections", {"payment": body["payment"]}
    )
    await act(system, "sales", f"/api/v1/orders/{corrected}/review", {"approved": True})

    # P4.2, P5: a cancellation whose refund the gateway declined, paid by finance too late.
    body = stocked(system)
    body["payment"]["transaction_id"] = f"FAIL-{new_order_id()}"
    slow_refund = await create(system, body)
    await act(system, "customer_service", f"/api/v1/orders/{slow_refund}/cancel", {"reason": "x"})
    order = await system.wait_until(
        slow_refund, lambda o: bool(o["refunds"]), what="a refund attempt"
    )
    await asyncio.sleep(2.5)
    await act(
        system,
        "finance",
        f"/api/v1/orders/{slow_refund}/refunds/{order['refunds'][0]['refund_id']}/complete",
        {"reference": "BANK-1"},
    )

    # P3.2: a backorder whose expected restock time passes with no update.
    body = order_body(lines=[(f"SKU-SUP-{new_order_id()}", 1, "20.00")])
    system.set_stock(body["items"][0]["sku"], 0)
    backorder = await approved(system, body)
    await system.wait_for(backorder, "out_of_stock")
    eta = datetime.now(UTC) + timedelta(seconds=1)
    await act(
        system,
        "warehouse",
        f"/api/v1/orders/{backorder}/backorder",
        {"reason": "supplier", "restock_eta": eta.isoformat()},
    )
    told = await system.wait_until(
        backorder, lambda o: bool(o["open_tasks"]), what="sales told of the backorder"
    )
    await act(
        system,
        "sales",
        f"/api/v1/tasks/{told['open_tasks'][0]['task_id']}/complete",
        {"note": "told"},
    )

    # P5.1: the gateway captured a second payment that nobody reported: the ledger lacks it.
    unbooked = await approved(system, stocked(system))
    system.gateway_captured(f"TX-SUP-{new_order_id()}", unbooked, "20.00")

    # P5.1: the platform reported an order paid that the gateway never captured (sent past
    # the test platform, which would record the customer's capture).
    body = stocked(system)
    reported = await system.http.post("/api/v1/orders", json=body, headers=system.auth("platform"))
    assert reported.status_code == 201, reported.text
    uncaptured = body["order_id"]
    await act(system, "sales", f"/api/v1/orders/{uncaptured}/review", {"approved": True})

    # P8.1: an order left under review longer than the setting (3 s).
    stuck = await create(system, stocked(system))

    # P7.2: a complaint answered after its (2 s) first-reply deadline.
    feedback_id = f"FB{new_order_id()}"
    created = await system.post(
        "platform",
        "/api/v1/feedback",
        {
            "feedback_id": feedback_id,
            "kind": "complaint",
            "channel": "hotline",
            "customer_id": "C1001",
            "subject": "late",
            "message": "Where is it?",
        },
    )
    assert created.status_code == 201, created.text
    await asyncio.sleep(3.5)
    replied = await system.post(
        "customer_service", f"/api/v1/feedback/{feedback_id}/replies", {"message": "Sorry!"}
    )
    assert replied.status_code == 200, replied.text

    response = await system.post("supervision", RUNS)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["trigger"] == "on_demand" and run["created"] is True
    assert run["requested_by"] == system.staff_ids["supervision"]
    found = by_order(run)
    assert found == {
        late_review: {"late_task"},
        corrected: {"data_corrected"},
        slow_refund: {"slow_refund"},
        backorder: {"backorder_past_eta"},
        unbooked: {"ledger_gateway_mismatch"},
        uncaptured: {"ledger_gateway_mismatch"},
        stuck: {"stuck_in_status"},
        None: {"late_first_reply"},
    }
    assert clean not in found
    departments = {(i["rule"], i["clause"], i["department"]) for i in run["items"]}
    assert departments == {
        ("late_task", "P8.1", "sales"),
        ("data_corrected", "P2.2", "sales"),
        ("slow_refund", "P4.2, P5", "finance"),
        ("backorder_past_eta", "P3.2", "warehouse"),
        ("ledger_gateway_mismatch", "P5.1", "finance"),
        ("stuck_in_status", "P8.1", "sales"),
        ("late_first_reply", "P7.2", "customer_service"),
    }
    assert run["findings"] == len(run["items"]) == 8
    assert sum(run["by_severity"].values()) == 8

    # The stored run reads back the same; other departments may not run or read it.
    again = await system.get("admin", f"{RUNS}/{run['run_id']}")
    assert again.status_code == 200
    assert again.json()["items"] == run["items"]
    assert (await system.post("sales", RUNS)).status_code == 403
    assert (await system.get("finance", f"{RUNS}/{run['run_id']}")).status_code == 403
    assert (await system.get("supervision", f"{RUNS}/run-nothing-here")).status_code == 404

    # Each finding is a rectification request for its department (P8.1), once.
    with system.db.read() as conn:
        items = list_items(conn, state="open")
    assert {(i["rule"], i["department"]) for i in items} >= {
        ("late_task", "sales"),
        ("late_first_reply", "customer_service"),
        ("backorder_past_eta", "warehouse"),
    }


async def test_a_run_asked_for_twice_with_one_key_is_stored_once(supervised: System):
    headers = supervised.auth("supervision") | {"Idempotency-Key": f"k-{new_order_id()}"}
    first = await supervised.http.post(RUNS, headers=headers)
    second = await supervised.http.post(RUNS, headers=headers)
    assert first.status_code == second.status_code == 201, second.text
    assert first.json()["run_id"] == second.json()["run_id"]
    assert (first.json()["created"], second.json()["created"]) == (True, False)


async def test_lapses_no_workflow_lets_happen_are_found_in_the_read_model(supervised: System):
    """P6.1, P8.1: the workflow records every actor and escalates every overdue task, so no
    real order can be driven into these two: rows are planted in the read model, as a
    faulty import, a hand edit or a bug in an earlier release would leave them."""
    system = supervised
    order_id = await approved(system, stocked(system))
    now = datetime.now(UTC)
    with system.db.write() as conn:
        last = conn.execute(
            orders.select()
            .with_only_columns(orders.c.last_seq)
            .where(orders.c.order_id == order_id)
        ).scalar_one()
        conn.execute(
            order_events.insert().values(
                order_id=order_id,
                seq=last + 100,
                at=now,
                kind="packed",
                status="ready_to_pack",
                actor_id=None,
                note="",
                data={},
            )
        )
        conn.execute(
            tasks.insert().values(
                task_id=f"{order_id}-T99",
                order_id=order_id,
                kind="pack",
                department="warehouse",
                state="open",
                opened_at=now - timedelta(hours=3),
                due_at=now - timedelta(hours=2),
                remind_at=now - timedelta(hours=2, minutes=30),
                overdue=True,
                revision=1,
            )
        )
    run = (await system.post("supervision", RUNS)).json()
    rules = {
        (i["rule"], i["department"], i["severity"])
        for i in run["items"]
        if i["order_id"] == order_id
    }
    assert rules == {
        ("step_without_actor", "warehouse", "high"),
        ("overdue_task_not_escalated", "supervision", "high"),
    }


async def test_oms_audit_lapses_lists_what_the_rules_find_now_and_exits_one(
    supervised: System, capsys: pytest.CaptureFixture[str]
):
    """`oms audit lapses`: the same rules from the command line, read only."""
    args = parser().parse_args(["audit", "lapses", "--json"])
    status = await asyncio.to_thread(args.fn, args, supervised.settings)
    assert status == 1
    listed = json.loads(capsys.readouterr().out)
    rules = {item["rule"] for item in listed}
    assert {"late_task", "late_first_reply", "backorder_past_eta", "data_corrected"} <= rules
    assert all({"rule", "clause", "severity", "department", "order_id"} <= set(i) for i in listed)
