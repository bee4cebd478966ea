"""The Temporal frontend is no back door: commands the API did not sign change nothing.

Anyone who reaches the frontend can send an update or a signal with any actor in its
payload. Every one of them must carry the API's signature (domain/trust.py): these
tests go straight to the dev server with the Temporal client, as such a caller
would: unsigned, signed with a key of their own, with another department's actor,
stale, and replayed. Each is refused (updates) or dropped and recorded (signals), and
the order keeps working through the API afterwards.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowUpdateInput,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError

from config.command_keys import CommandKeys
from domain.actors import Actor, Department
from domain.commands import (
    ClaimTaskCommand,
    PaymentEventCommand,
    PaymentEventKind,
    ReviewCommand,
    TrackingCommand,
    TrackingEventKind,
)
from domain.contracts import OrderWorkflowInput
from domain.ids import fingerprint, order_workflow_id
from domain.order.details import NewOrder
from domain.trust import SIGNATURE_HEADER, sign
from tests.conftest import TEST_COMMAND_KEYS
from tests.support.flows import create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import System
from workers.signing import CommandSigner
from workflows.order import OrderWorkflow
from workflows.trust import signature_header


async def client_like(system: System, *interceptors: Interceptor) -> Client:
    """A client of the same frontend, with the keys to read payloads but not the API's key."""
    config = system.client.config()
    config["interceptors"] = list(interceptors)
    return Client(**config)


async def order_under_review(system: System) -> str:
    sku = f"SKU-TRUST-{new_order_id()}"
    system.set_stock(sku, 5)
    return await create(system, order_body(lines=[(sku, 1, "99.00")]))


def sales(system: System) -> Actor:
    return Actor(staff_id=system.staff_ids[Department.SALES], department=Department.SALES)


def refusal_code(error: WorkflowUpdateFailedError) -> str:
    cause = error.cause
    assert isinstance(cause, ApplicationError), error
    details = cause.details[0] if cause.details else {}
    return str(details.get("code"))


async def review_directly(client: Client, order_id: str, actor: Actor) -> Any:
    handle = client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    return await handle.execute_update(
        OrderWorkflow.review, ReviewCommand(actor=actor, approved=True, note="back door")
    )


async def unchanged(system: System, order_id: str, status: str, events: int) -> None:
    order = await system.order(order_id)
    assert (order["status"], len(order["events"])) == (status, events)


async def test_an_unsigned_update_through_the_frontend_is_refused_and_changes_nothing(
    system: System,
):
    order_id = await order_under_review(system)
    before = await system.order(order_id)
    attacker = await client_like(system)  # no signer
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await review_directly(attacker, order_id, sales(system))
    assert refusal_code(refused.value) == "command_unsigned"
    await unchanged(system, order_id, "under_review", len(before["events"]))
    # The order keeps working through the API.
    assert (await drive_to(system, order_id, "ready_to_pack"))["status"] == "ready_to_pack"


async def test_an_update_signed_with_another_key_for_another_departments_actor_is_refused(
    system: System,
):
    order_id = await order_under_review(system)
    before = await system.order(order_id)
    own_key = CommandSigner.of(CommandKeys.generate())
    assert own_key is not None
    attacker = await client_like(system, own_key)
    # A warehouse member (or an outsider) claims to be sales.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await review_directly(attacker, order_id, sales(system))
    assert refusal_code(refused.value) == "command_forged"
    await unchanged(system, order_id, "under_review", len(before["events"]))


class _FixedHeader(Interceptor):
    """Sends every update and signal with the same, given signature header (a captured one)."""

    def __init__(self, header: Payload) -> None:
        self.header = header

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        header = self.header

        class _Replaying(OutboundInterceptor):
            async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
                input.headers = {**input.headers, SIGNATURE_HEADER: header}
                return await super().start_workflow_update(input)

            async def signal_workflow(self, input: SignalWorkflowInput) -> None:
                input.headers = {**input.headers, SIGNATURE_HEADER: header}
                await super().signal_workflow(input)

        return _Replaying(next)


def captured_signature(order_id: str, name: str, command: Any, at: datetime) -> Payload:
    """What a real API request's header looked like (as if taken off the wire)."""
    signer = TEST_COMMAND_KEYS.signer()
    assert signer is not None
    signature = sign(
        signer[1],
        signer[0],
        workflow_id=order_workflow_id(order_id),
        name=name,
        command=command,
        now=at,
        nonce="captured-nonce",
    )
    return signature_header(signature)


async def test_a_replayed_signed_update_acts_once(system: System):
    """A claim would be allowed again by the order's state: only the nonce refuses it."""
    order_id = await order_under_review(system)
    [task] = (await system.order(order_id))["open_tasks"]
    command = ClaimTaskCommand(actor=sales(system), task_id=task["task_id"], assignee="me")
    header = captured_signature(order_id, "claim_task", command, datetime.now(UTC))
    replayer = await client_like(system, _FixedHeader(header))
    handle = replayer.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    first = await handle.execute_update(OrderWorkflow.claim_task, command, id="first")
    assert first.task_id == task["task_id"]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.claim_task, command, id="second")
    assert refusal_code(refused.value) == "command_replayed"
    order = await system.order(order_id)
    assert [e["kind"] for e in order["events"]].count("task_claimed") == 1


async def test_a_stale_signature_is_refused(system: System):
    order_id = await order_under_review(system)
    command = ReviewCommand(actor=sales(system), approved=True)
    header = captured_signature(order_id, "review", command, datetime.now(UTC) - timedelta(hours=1))
    replayer = await client_like(system, _FixedHeader(header))
    handle = replayer.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(OrderWorkflow.review, command)
    assert refusal_code(refused.value) == "command_stale"


async def test_a_forged_duplicate_payment_signal_pays_nothing_out_and_is_recorded(
    system: System,
):
    """The review's exploit sketch: 9,999.00 "refunded" to a transaction of the caller's choice."""
    order_id = await order_under_review(system)
    attacker = await client_like(system)
    handle = attacker.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    platform = Actor(staff_id=system.staff_ids[Department.PLATFORM], department=Department.PLATFORM)
    await handle.signal(
        OrderWorkflow.payment_event,
        PaymentEventCommand(
            actor=platform,
            event_id="EVIL-1",
            kind=PaymentEventKind.DUPLICATE,
            amount=Decimal("9999.00"),
            transaction_id="ATTACKER-ACCOUNT",
        ),
    )
    order = await system.wait_until(
        order_id,
        lambda o: "feed_refused" in [e["kind"] for e in o["events"]],
        what="the forged signal recorded",
    )
    assert order["refunds"] == [] and order["refunded_amount"] == "0.00"
    assert [e["kind"] for e in order["ledger"]] == ["payment"]  # the intake payment only
    refused = next(e for e in order["events"] if e["kind"] == "feed_refused")
    assert refused["data"]["code"] == "command_unsigned"
    assert refused["data"]["claimed_department"] == "platform"
    assert (await drive_to(system, order_id, "ready_to_pack"))["status"] == "ready_to_pack"


async def test_a_signed_feed_from_a_department_that_may_not_send_it_is_dropped(system: System):
    """Signal handlers check the department like validators do (P3.4: platform, logistics)."""
    order_id = await order_under_review(system)
    await drive_to(system, order_id, "in_transit")
    warehouse = Actor(
        staff_id=system.staff_ids[Department.WAREHOUSE], department=Department.WAREHOUSE
    )
    handle = system.client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    await handle.signal(  # properly signed: the session's client holds the API's key
        OrderWorkflow.tracking,
        TrackingCommand(actor=warehouse, event_id="W-1", event=TrackingEventKind.DELIVERED),
    )
    order = await system.wait_until(
        order_id,
        lambda o: "feed_refused" in [e["kind"] for e in o["events"]],
        what="the refused tracking event recorded",
    )
    assert order["status"] == "in_transit"
    refused = next(e for e in order["events"] if e["kind"] == "feed_refused")
    assert refused["data"]["code"] == "action_not_for_department"


async def test_a_forged_order_hand_over_fails_its_workflow_before_it_writes_anything(
    system: System,
):
    body = order_body(new_order_id("FORGED"))
    attacker = await client_like(system)
    platform = Actor(staff_id="impostor", department=Department.PLATFORM)
    handle = await attacker.start_workflow(
        OrderWorkflow.run,
        OrderWorkflowInput(
            order=NewOrder.model_validate(body),
            policy=system.settings.policy,
            submitted_by=platform,
            fingerprint=fingerprint(body),
        ),
        id=order_workflow_id(body["order_id"]),
        task_queue=system.settings.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "not signed" in str(failed.value.cause)
    # Not in the read model, and the API does not show it either (its query is refused).
    found = await system.get("sales", f"/api/v1/orders/{body['order_id']}")
    assert found.status_code == 404, found.text
    listed = await system.get("sales", "/api/v1/orders", customer_id=body["customer"]["id"])
    assert body["order_id"] not in [o["order_id"] for o in listed.json()["items"]]


async def test_a_replayed_signed_feed_changes_nothing(system: System):
    """A captured, validly signed payment event sent again: feeds are idempotent on their
    event ids, so the copy books nothing (no nonce is kept for feeds, domain/trust.py)."""
    order_id = await order_under_review(system)
    platform = Actor(staff_id=system.staff_ids[Department.PLATFORM], department=Department.PLATFORM)
    command = PaymentEventCommand(
        actor=platform,
        event_id="PAY-REPLAY-1",
        kind=PaymentEventKind.FAILED,
        amount=Decimal("99.00"),
        transaction_id="TX-ORIGINAL",
    )
    header = captured_signature(order_id, "payment_event", command, datetime.now(UTC))
    replayer = await client_like(system, _FixedHeader(header))
    handle = replayer.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))
    for _ in range(3):
        await handle.signal(OrderWorkflow.payment_event, command)
    order = await system.wait_until(
        order_id,
        lambda o: "payment_event" in [e["kind"] for e in o["events"]],
        what="the payment event recorded",
    )
    await asyncio.sleep(0.5)  # the copies, had they counted, would be recorded by now
    order = await system.order(order_id)
    kinds = [e["kind"] for e in order["events"]]
    assert kinds.count("payment_event") == 1 and "feed_refused" not in kinds
    assert (await drive_to(system, order_id, "ready_to_pack"))["status"] == "ready_to_pack"


async def test_a_real_signature_on_another_body_is_forged_and_the_worker_lives_on(system: System):
    """The signature of a genuine claim, put on a review: checked, found not to match, refused.
    (This check once imported cryptography afresh inside the sandbox and aborted the worker.)"""
    order_id = await order_under_review(system)
    [task] = (await system.order(order_id))["open_tasks"]
    genuine = ClaimTaskCommand(actor=sales(system), task_id=task["task_id"], assignee="me")
    header = captured_signature(order_id, "review", genuine, datetime.now(UTC))
    attacker = await client_like(system, _FixedHeader(header))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await review_directly(attacker, order_id, sales(system))
    assert refusal_code(refused.value) == "command_forged"
    assert (await drive_to(system, order_id, "ready_to_pack"))["status"] == "ready_to_pack"
