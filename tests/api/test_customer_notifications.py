"""Customer notifications over HTTP (P3.1, P3.4, P4.2, P5): each step that tells the customer
leaves a message in the outbox, written with its event and sent through the channel
(the simulated one, a stand-in named as such); a message the channel cannot deliver
ends as customer service's `notify_customer` task, and nothing is sent twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio.client import Client

from db.channel_tables import simulated_channel_messages
from tests.conftest import TEST_POLICY
from tests.support.flows import act, create, drive_to, open_tasks, task_id
from tests.support.orders import new_order_id, order_body
from tests.support.system import System, running_system

PACK = {"packages": 1, "accessories": ["manual", "warranty_card"]}


def stocked_order(system: System, **options: Any) -> dict[str, Any]:
    sku = f"SKU-N-{new_order_id()}"
    system.set_stock(sku, 5)
    return order_body(lines=[(sku, 1, "88.00")], **options)


async def notifications(system: System, order_id: str, who: str = "customer_service") -> list[Any]:
    response = await system.get(who, f"/api/v1/orders/{order_id}/notifications")
    assert response.status_code == 200, response.text
    return list(response.json()["notifications"])


async def settled(system: System, order_id: str, count: int) -> list[dict[str, Any]]:
    """The order's messages once `count` of them are no longer pending."""
    for _ in range(200):
        found = await notifications(system, order_id)
        if sum(1 for n in found if n["state"] != "pending") >= count:
            return found
        await system_sleep()
    raise AssertionError(f"messages still pending: {found}")


async def system_sleep() -> None:
    import asyncio

    await asyncio.sleep(0.1)


def delivered_times(system: System, notification_id: str) -> int:
    """How many times the channel delivered this message (the stand-in's own books)."""
    with system.db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    simulated_channel_messages.c.notification_id == notification_id
                )
            ).scalar_one()
        )


async def test_p3_1_p3_4_the_customer_is_told_of_the_review_and_the_dispatch_in_chinese(
    system: System,
):
    order_id = await create(system, stocked_order(system))
    await drive_to(system, order_id, "in_transit")
    sent = await settled(system, order_id, 2)
    assert [(n["template"], n["channel"], n["state"]) for n in sent] == [
        ("order_confirmed", "sms", "sent"),
        ("dispatched", "sms", "sent"),
    ]
    dispatched = sent[1]
    assert dispatched["language"] == "zh"
    assert "SF-1" in dispatched["text"] and order_id in dispatched["text"]
    assert dispatched["recipient"] == "13800138000"
    assert dispatched["sent_at"] is not None and dispatched["reference"]
    # The stand-in channel delivered each message once.
    assert [delivered_times(system, n["notification_id"]) for n in sent] == [1, 1]


async def test_p3_an_english_speaking_customer_is_written_to_in_english(system: System):
    body = stocked_order(system)
    body["customer"]["language"] = "en"
    order_id = await create(system, body)
    await drive_to(system, order_id, "ready_to_pack")
    [confirmed] = await settled(system, order_id, 1)
    assert (
        confirmed["text"]
        == f"Your order {order_id} has been confirmed; we are preparing your goods."
    )


async def test_p4_2_a_cancellation_and_its_refund_are_told_and_the_order_then_closes(
    system: System,
):
    order_id = await create(system, stocked_order(system))
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/cancel",
        {"reason": "customer changed their mind"},
    )
    await system.wait_until(order_id, lambda o: o["closed_at"] is not None, what="closed")
    sent = await settled(system, order_id, 2)
    assert [n["template"] for n in sent] == ["cancelled", "refunded"]
    assert "88.00" in sent[1]["text"]


async def test_the_recipient_is_masked_for_departments_that_do_not_call_customers(system: System):
    order_id = await create(system, stocked_order(system))
    await drive_to(system, order_id, "ready_to_pack")
    await settled(system, order_id, 1)
    [seen] = await notifications(system, order_id, who="warehouse")
    assert seen["recipient"] == "138****8000"


async def test_an_unknown_order_has_no_notifications(system: System):
    response = await system.get("customer_service", "/api/v1/orders/NO-SUCH-ORDER/notifications")
    assert response.status_code == 404


# --- a channel that does not deliver ------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def fragile(
    client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    """A system whose channel is tried twice before customer service takes a message over."""
    path: Path = tmp_path_factory.mktemp("fragile") / "oms.db"
    async with running_system(
        client, f"sqlite:///{path}", TEST_POLICY, notification_attempts=2
    ) as running:
        yield running


async def test_a_message_the_channel_keeps_failing_becomes_a_customer_service_task(
    fragile: System,
):
    # The stand-in channel fails for numbers starting 999 every time (a temporary failure).
    order_id = await create(fragile, stocked_order(fragile, phone="99912345678"))
    await drive_to(fragile, order_id, "ready_to_pack")
    order = await fragile.wait_until(
        order_id, lambda o: "notify_customer" in open_tasks(o), what="a notify_customer task"
    )
    assert open_tasks(order)["notify_customer"] == "customer_service"
    [message] = await notifications(fragile, order_id)
    assert (message["template"], message["state"], message["attempts"]) == (
        "order_confirmed",
        "handed_off",
        2,
    )
    assert "Temporary" in message["last_error"]
    assert delivered_times(fragile, message["notification_id"]) == 0
    handed = [e for e in order["events"] if e["kind"] == "notice_handed_off"]
    assert [e["data"]["notification_id"] for e in handed] == [message["notification_id"]]
    # Customer service tells the customer by phone and closes the task with a note.
    await act(
        fragile,
        "customer_service",
        f"/api/v1/tasks/{task_id(order, 'notify_customer')}/complete",
        {"note": "called the customer: order confirmed"},
    )


async def test_a_message_the_channel_refuses_is_handed_over_at_once_and_never_sent(
    fragile: System,
):
    # Numbers starting 000 are refused for good by the stand-in (a declined message).
    order_id = await create(fragile, stocked_order(fragile, phone="00012345678"))
    await drive_to(fragile, order_id, "ready_to_pack")
    await fragile.wait_until(
        order_id, lambda o: "notify_customer" in open_tasks(o), what="a notify_customer task"
    )
    [message] = await notifications(fragile, order_id)
    assert (message["state"], message["attempts"]) == ("handed_off", 1)
    assert message["last_error"].startswith("declined")


async def test_messages_that_were_sent_are_not_sent_again_when_the_order_moves_on(
    fragile: System,
):
    order_id = await create(fragile, stocked_order(fragile))
    await drive_to(fragile, order_id, "in_transit")
    sent = await settled(fragile, order_id, 2)
    assert {n["state"] for n in sent} == {"sent"}
    assert [delivered_times(fragile, n["notification_id"]) for n in sent] == [1, 1]
    assert "notify_customer" not in open_tasks(await fragile.order(order_id))


async def test_p7_2_a_reply_to_feedback_is_sent_to_the_customer_as_written(system: System):
    order_id = await create(system, stocked_order(system))
    feedback_id = f"FB-{new_order_id()}"
    created = await system.post(
        "platform",
        "/api/v1/feedback",
        {
            "feedback_id": feedback_id,
            "kind": "inquiry",
            "channel": "online",
            "customer_id": "C1001",
            "order_id": order_id,
            "message": "When does it ship?",
        },
    )
    assert created.status_code == 201, created.text
    reply = "It ships today; you will get the tracking number by text message."
    await act(
        system, "customer_service", f"/api/v1/feedback/{feedback_id}/replies", {"message": reply}
    )
    for _ in range(100):
        replies = [
            n for n in await notifications(system, order_id) if n["template"] == "feedback_reply"
        ]
        if replies and replies[0]["state"] == "sent":
            break
        await system_sleep()
    [sent] = replies
    assert (sent["channel"], sent["recipient"], sent["text"], sent["state"]) == (
        "chat",
        "C1001",
        reply,
        "sent",
    )
    assert sent["notification_id"] == f"feedback:{feedback_id}:R1"
    assert delivered_times(system, sent["notification_id"]) == 1
