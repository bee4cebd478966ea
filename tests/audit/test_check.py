"""`oms audit check` (P8.1) over real histories: seeded orders with one planted violation per rule.

Real orders (the real OrderWorkflow, driven by the recorded scenarios) cannot
break the policy; the planted ones are written by the test-only permissive
workflow of `tests/audit/planted.py` through the real `apply_order_changes`
local activity. The audit must find exactly the planted violations, record them
once as rectification items, and nothing on the real orders.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.read_model import ReadModelActivities
from audit.rules import Rule
from audit.scenarios import (
    PLATFORM,
    Recording,
    claim_and_unclaim,
    goods_order,
    happy_path,
    listed,
)
from db.rectification import list_items
from domain.actors import SYSTEM_ACTOR, Actor, Department
from domain.contracts import OrderWorkflowInput
from domain.events import EventKind, OrderEvent
from domain.ids import fingerprint, order_workflow_id
from domain.states import OrderStatus
from oms.cli import parser
from tests.audit.planted import PermissiveOrderWorkflow, PlantedSteps
from tests.conftest import TEST_POLICY
from tests.support.system import System
from workers.worker import workflow_runner

D = Department
E = EventKind
S = OrderStatus
SALES = Actor(staff_id="sales-audit", department=D.SALES)
WAREHOUSE = Actor(staff_id="warehouse-audit", department=D.WAREHOUSE)
LOGISTICS = Actor(staff_id="logistics-audit", department=D.LOGISTICS)
SERVICE = Actor(staff_id="service-audit", department=D.CUSTOMER_SERVICE)


def event(seq: int, kind: EventKind, status: OrderStatus, actor: Actor, **data: Any) -> OrderEvent:
    task_id = data.pop("task_id", None)
    return OrderEvent(
        seq=seq,
        at=datetime(2026, 11, 27, 9, seq, tzinfo=UTC),
        kind=kind,
        status=status,
        actor=actor,
        task_id=task_id,
        data=data,
    )


def received(paid: bool = True, total: str = "258.00") -> OrderEvent:
    return event(
        1,
        E.RECEIVED,
        S.RECEIVED,
        PLATFORM,
        lines=1,
        total=total,
        payment="paid" if paid else "unpaid",
    )


def approved(seq: int, risk: list[str] | None = None, actor: Actor = SALES) -> OrderEvent:
    return event(
        seq,
        E.REVIEWED,
        S.UNDER_REVIEW,
        actor,
        approved=True,
        phone_verified=False,
        risk_reasons=risk or [],
    )


#: One violation per rule: (rule, seq of the event that shows it, the steps as recorded).
PLANTED: list[tuple[Rule, int, list[list[OrderEvent]]]] = [
    (
        Rule.PACK_BEFORE_APPROVAL,
        2,
        [
            [received()],
            [event(2, E.PACKED, S.AWAITING_DISPATCH, WAREHOUSE, packages=1)],
            [approved(3)],
        ],
    ),
    (
        Rule.RISKY_APPROVED_UNVERIFIED,
        2,
        [[received()], [approved(2, risk=["new customer"])]],
    ),
    (
        Rule.SHIPMENT_AFTER_CANCELLATION,
        4,
        [
            [received()],
            [approved(2)],
            [event(3, E.CANCELLED, S.CANCELLED, SERVICE, paid=True)],
            [event(4, E.DISPATCHED, S.IN_TRANSIT, LOGISTICS, carrier="SF", method="express")],
        ],
    ),
    (
        Rule.REFUND_ABOVE_RECEIVED,
        3,
        [
            [received(total="258.00")],
            [
                event(2, E.CANCELLED, S.CANCELLED, SERVICE, paid=True),
                event(
                    3, E.REFUND_ISSUED, S.CANCELLED, SYSTEM_ACTOR, refund_id="F1", amount="300.00"
                ),
            ],
        ],
    ),
    (
        Rule.ACTOR_NOT_PERMITTED,
        2,
        [[received()], [approved(2, actor=WAREHOUSE)]],
    ),
    (
        Rule.OVERDUE_NOT_ESCALATED,
        2,
        [
            [received()],
            [event(2, E.TASK_OVERDUE, S.UNDER_REVIEW, SYSTEM_ACTOR, due_at="x", task_id="T-1")],
            [approved(3)],
        ],
    ),
]


async def plant(
    client: Client, task_queue: str, order_id: str, steps: list[list[OrderEvent]]
) -> str:
    order = goods_order(order_id)
    handle = await client.start_workflow(
        "OrderWorkflow",
        OrderWorkflowInput(
            order=order,
            policy=TEST_POLICY,
            submitted_by=PLATFORM,
            fingerprint=fingerprint(order.model_dump(mode="json")),
            products=listed(order),
        ),
        id=order_workflow_id(order_id),
        task_queue=task_queue,
        start_signal="plant",
        start_signal_args=[PlantedSteps(steps=steps)],
    )
    await handle.result()
    return handle.id


async def visible(client: Client, query: str, expected: int, timeout: float = 20) -> None:
    """Visibility lags the histories a little: wait until the audit will see every run."""
    deadline = time.monotonic() + timeout
    while (await client.count_workflows(query)).count < expected:
        assert time.monotonic() < deadline, f"only some of {expected} runs are visible"
        await asyncio.sleep(0.2)


async def test_the_audit_finds_exactly_the_planted_violations_and_records_them_once(
    system: System, client: Client, tmp_path: Path
):
    suffix = uuid.uuid4().hex[:6].upper()
    planted_queue = f"planted-{suffix}"
    expected: set[tuple[str, str, int]] = set()
    workflow_ids: list[str] = []
    async with Worker(
        client,
        task_queue=planted_queue,
        workflows=[PermissiveOrderWorkflow],
        activities=[ReadModelActivities(system.db).apply_order_changes],
        activity_executor=ThreadPoolExecutor(4),
        workflow_runner=workflow_runner(),
    ):
        for n, (rule, seq, steps) in enumerate(PLANTED):
            order_id = f"AUDIT-{suffix}-{n}"
            workflow_ids.append(await plant(client, planted_queue, order_id, steps))
            expected.add((order_id, rule.value, seq))
    # Real orders through the real workflow, clean by construction.
    for scenario in (happy_path, claim_and_unclaim):
        recording = Recording(client, system.settings.task_queue, system.db, suffix=suffix.lower())
        await scenario(recording)
        workflow_ids += [workflow_id for _, workflow_id in recording.workflows]

    query = "WorkflowId IN (" + ", ".join(f'"{w}"' for w in workflow_ids) + ")"
    await visible(client, query, len(workflow_ids))
    report = tmp_path / "findings.json"
    args = parser().parse_args(
        ["audit", "check", "--query", query, "--format", "json", "--output", str(report)]
    )
    status = await asyncio.to_thread(args.fn, args, system.settings)

    assert status == 1  # something was found
    found = json.loads(report.read_text())
    assert found["orders_checked"] == len(workflow_ids)
    assert found["unreadable"] == []
    assert {(f["order_id"], f["rule"], f["seq"]) for f in found["findings"]} == expected
    assert len(found["findings"]) == len(PLANTED)

    with system.db.read() as conn:
        items = [i for i in list_items(conn) if i["order_id"].startswith(f"AUDIT-{suffix}")]
    assert {(i["order_id"], i["rule"], i["event_seq"]) for i in items} == expected
    departments = {i["rule"]: i["department"] for i in items}
    assert departments == {
        "pack_before_approval": "warehouse",
        "risky_approved_unverified": "sales",
        "shipment_after_cancellation": "logistics",
        "refund_above_received": "finance",
        "actor_not_permitted": "sales",  # a review belongs to sales, whoever took it
        "overdue_not_escalated": "supervision",
    }
    deadline = system.settings.rectification_deadline
    assert all(i["due_at"] - i["found_at"] == deadline for i in items)

    # Auditing the same orders again finds the same and opens nothing new.
    again = parser().parse_args(["audit", "check", "--query", query, "--format", "csv"])
    assert await asyncio.to_thread(again.fn, again, system.settings) == 1
    with system.db.read() as conn:
        assert len(
            [i for i in list_items(conn) if i["order_id"].startswith(f"AUDIT-{suffix}")]
        ) == len(items)


async def test_an_audit_of_real_orders_alone_finds_nothing(system: System, client: Client):
    suffix = uuid.uuid4().hex[:6]
    recording = Recording(client, system.settings.task_queue, system.db, suffix=suffix)
    await happy_path(recording)
    [(_, workflow_id)] = recording.workflows
    query = f'WorkflowId = "{workflow_id}"'
    await visible(client, query, 1)
    args = parser().parse_args(["audit", "check", "--query", query, "--no-record"])
    assert await asyncio.to_thread(args.fn, args, system.settings) == 0
