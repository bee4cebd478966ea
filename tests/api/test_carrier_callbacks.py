"""P3.4 carrier callbacks over HTTP: signed with the carrier's secret, fresh, taken once.

A refused callback (401) changes nothing; a good one reaches the order as a tracking
event; the same event re-signed and sent again is recorded once."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from config.carrier_secrets import carrier_secret, signature, signed_headers
from tests.support.flows import act, create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import System

EVENTS = "/api/v1/carriers/sim/events"


async def dispatched_with_sim(system: System) -> tuple[str, str]:
    """An order in transit with the carrier `sim`, its number typed by logistics."""
    sku = f"SKU-CB-{new_order_id()}"
    system.set_stock(sku, 5)
    order_id = await create(system, order_body(lines=[(sku, 1, "99.00")]))
    await drive_to(system, order_id, "awaiting_dispatch")
    number = f"SIMT{uuid.uuid4().hex[:10].upper()}"
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "sim", "method": "standard", "tracking_number": number},
    )
    await system.wait_for(order_id, "in_transit")
    return order_id, number


def event_body(number: str, event: str, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "event_id": event_id or f"E-{uuid.uuid4().hex[:8]}",
            "tracking_number": number,
            "event": event,
            "location": "Beijing hub",
            "occurred_at": "2026-12-01T08:00:00+08:00",
        }
    ).encode()


async def post(
    system: System, body: bytes, headers: dict[str, str], path: str = EVENTS
) -> httpx.Response:
    return await system.http.post(path, content=body, headers=headers)


def signed(system: System, body: bytes, at: int | None = None) -> dict[str, str]:
    return signed_headers(carrier_secret(system.settings, "sim"), at or int(time.time()), body)


async def tracking_events(system: System, order_id: str) -> list[dict[str, Any]]:
    order = await system.order(order_id)
    return [e for e in order["events"] if e["kind"] == "tracking"]


async def test_a_badly_signed_stale_or_replayed_callback_is_refused_and_changes_nothing(
    system: System,
):
    order_id, number = await dispatched_with_sim(system)
    body = event_body(number, "delivered")
    now = int(time.time())
    good = signed(system, body, now)

    wrong = {**good, "X-Carrier-Signature": signature("not-the-secret", now, body)}
    missing = {k: v for k, v in good.items() if k != "X-Carrier-Signature"}
    no_time = {k: v for k, v in good.items() if k != "X-Carrier-Timestamp"}
    other_body = signed(system, event_body(number, "lost"), now)  # signs another body
    stale = signed(system, body, now - system.settings.carrier_callback_tolerance_seconds - 60)
    future = signed(system, body, now + system.settings.carrier_callback_tolerance_seconds + 60)
    for headers in (wrong, missing, no_time, other_body, stale, future):
        refused = await post(system, body, headers)
        assert refused.status_code == 401, refused.text

    # A tampered body under a good signature is refused too.
    tampered = body.replace(b"delivered", b"lost")
    assert (await post(system, tampered, good)).status_code == 401

    assert await tracking_events(system, order_id) == []
    assert (await system.order(order_id))["status"] == "in_transit"

    # The good one is taken; the very same request again is a replay.
    in_transit = event_body(number, "in_transit")
    headers = signed(system, in_transit, now)
    first = await post(system, in_transit, headers)
    assert first.status_code == 202, first.text
    assert first.json()["accepted"] is True
    await system.wait_until(order_id, lambda o: any(e["kind"] == "tracking" for e in o["events"]))
    replay = await post(system, in_transit, headers)
    assert replay.status_code == 401, replay.text
    assert "replay" in replay.json()["detail"]
    assert len(await tracking_events(system, order_id)) == 1


async def test_a_good_delivered_callback_delivers_the_order_once_however_often_it_comes(
    system: System,
):
    order_id, number = await dispatched_with_sim(system)
    moving = event_body(number, "in_transit", "SCAN-1")
    now = int(time.time())
    for n in range(3):  # re-signed each time: three different requests of one event
        response = await post(system, moving, signed(system, moving, now - n))
        assert response.status_code == 202, response.text
        assert response.json()["event_id"] == "sim:SCAN-1"

    delivered = event_body(number, "delivered", "SCAN-2")
    response = await post(system, delivered, signed(system, delivered))
    assert response.status_code == 202, response.text
    assert response.json()["order_id"] == order_id

    order = await system.wait_for(order_id, "delivered", "completed")
    events = [e for e in order["events"] if e["kind"] == "tracking"]
    assert [e["data"]["event"] for e in events] == ["in_transit", "delivered"]
    assert [e["data"]["event_id"] for e in events] == ["sim:SCAN-1", "sim:SCAN-2"]
    assert (events[0]["actor_id"], events[0]["actor_department"]) == ("carrier:sim", "platform")


async def test_unknown_carriers_numbers_and_bad_bodies_are_told_apart(system: System):
    order_id, number = await dispatched_with_sim(system)
    body = event_body(number, "in_transit")
    unknown = await post(system, body, signed(system, body), "/api/v1/carriers/nobody/events")
    assert unknown.status_code == 404

    stranger = event_body("SIM-NOT-OURS", "in_transit")
    assert (await post(system, stranger, signed(system, stranger))).status_code == 404

    bad = json.dumps({"event_id": "E1", "tracking_number": number, "event": "teleported"}).encode()
    invalid = await post(system, bad, signed(system, bad))
    assert invalid.status_code == 422, invalid.text
    assert invalid.json()["field"].startswith("event")
    # Unsigned, a bad body is a 401 first: nothing is read from an unproven sender.
    assert (await post(system, bad, {"Content-Type": "application/json"})).status_code == 401
    assert await tracking_events(system, order_id) == []
