"""Personal data never stands in clear in workflow histories (issue 6), yet auditors and the
Temporal UI can read it through the codec with the key."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from google.protobuf.json_format import MessageToDict
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from config.keys import Keyring
from domain.ids import order_workflow_id
from tests.support.flows import act, create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import ApiServer, System
from workers.codec import EncryptionCodec
from workers.codec_server import create_codec_app, ui_secret

NAME = "Markername Zhaoqian"
PHONE = "13912345678"
ADDRESS = "42 Marker Hutong, Dongcheng"
NEW_ADDRESS = "7 Secondmarker Lane, Xicheng"
MARKERS = [NAME, PHONE, ADDRESS, NEW_ADDRESS, "Markername", "Marker Hutong", "Secondmarker"]


async def raw_history(client: Client, workflow_id: str) -> bytes:
    """The history exactly as the server stores and serves it: no data converter at all."""
    response = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace,
            execution={"workflow_id": workflow_id},
            maximum_page_size=1000,
        )
    )
    return bytes(response.SerializeToString())


@pytest_asyncio.fixture
async def marked_order(system: System, caplog: pytest.LogCaptureFixture) -> AsyncIterator[str]:
    caplog.set_level(logging.DEBUG)
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "30.00")], name=NAME, phone=PHONE, address=ADDRESS)
    order_id = await create(system, body)
    await drive_to(system, order_id, "awaiting_dispatch")
    change = await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes",
        {
            "shipping": {"address": NEW_ADDRESS, "contact_name": NAME, "contact_phone": PHONE},
            "reason": "moved",
        },
    )
    await act(
        system,
        "customer_service",
        f"/api/v1/orders/{order_id}/changes/{change['case_id']}/decision",
        {"approved": True},
    )
    await act(
        system,
        "logistics",
        f"/api/v1/orders/{order_id}/dispatch",
        {"carrier": "SF", "method": "express", "tracking_number": "SF-PII"},
    )
    order = await system.order(order_id)
    assert order["customer"]["name"] == NAME  # staff with a token see it through the API
    assert order["shipping"]["address"] == NEW_ADDRESS
    yield order_id
    for record in caplog.records:
        text = record.getMessage() + json.dumps(record.__dict__, default=str)
        assert not any(marker in text for marker in MARKERS), f"personal data logged: {text}"


async def test_raw_histories_hold_no_names_phones_or_addresses(system: System, marked_order):
    raw = await raw_history(system.client, order_workflow_id(marked_order))
    assert len(raw) > 5_000  # a real history with payloads
    for marker in MARKERS:
        assert marker.encode() not in raw, f"{marker!r} in clear in the history"
    # Search attributes and the summary are in clear by design: they carry none of it.
    assert marked_order.encode() in raw


async def test_the_history_decrypts_with_the_key_and_not_without(system: System, marked_order):
    handle = system.client.get_workflow_handle(order_workflow_id(marked_order))
    history = await handle.fetch_history()  # the client's converter holds the key
    decoded_start = history.events[0].workflow_execution_started_event_attributes.input
    codec = system.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    [plain] = await codec.decode(list(decoded_start.payloads))
    assert NAME.encode() in plain.data
    stranger = EncryptionCodec(Keyring.generate())
    with pytest.raises(Exception, match="unknown key"):
        await stranger.decode(list(decoded_start.payloads))


async def test_a_rotated_keyring_still_reads_old_histories(system: System, marked_order):
    codec = system.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    rotated = EncryptionCodec(codec.keyring.rotated())
    handle = system.client.get_workflow_handle(order_workflow_id(marked_order))
    history = await handle.fetch_history()
    payloads = list(history.events[0].workflow_execution_started_event_attributes.input.payloads)
    [plain] = await rotated.decode(payloads)
    assert NAME.encode() in plain.data
    [fresh] = await rotated.encode([plain])
    assert fresh.metadata["encryption-key-id"].decode() == rotated.keyring.active


async def test_the_ui_path_through_the_codec_server_decodes_and_strangers_are_refused(
    system: System, marked_order, tmp_path
):
    settings = system.settings.model_copy(update={"var_dir": tmp_path})
    server = ApiServer(settings, app=create_codec_app(settings, db=system.db))
    server.start()
    try:
        handle = system.client.get_workflow_handle(order_workflow_id(marked_order))
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        body = {"payloads": [MessageToDict(p) for p in started.input.payloads]}
        secret = ui_secret(settings)
        async with httpx.AsyncClient(base_url=server.url) as http:
            # What the Temporal UI does: a CORS preflight, then POST <endpoint>/decode.
            origin = {"Origin": settings.temporal_ui_url}
            preflight = await http.options(
                f"/ui/{secret}/decode",
                headers={
                    **origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-namespace",
                },
            )
            assert preflight.status_code == 200
            decoded = await http.post(
                f"/ui/{secret}/decode", json=body, headers={**origin, "X-Namespace": "default"}
            )
            assert decoded.status_code == 200
            data = base64.b64decode(decoded.json()["payloads"][0]["data"])
            assert NAME.encode() in data and PHONE.encode() in data

            # Without the secret, or with a token of a department that may not read it: 401.
            assert (await http.post("/ui/guess/decode", json=body)).status_code == 401
            assert (await http.post("/decode", json=body)).status_code == 401
            sales = {"Authorization": f"Bearer {system.tokens['sales']}"}
            assert (await http.post("/decode", json=body, headers=sales)).status_code == 401
            auditor = {"Authorization": f"Bearer {system.tokens['supervision']}"}
            by_auditor = await http.post("/decode", json=body, headers=auditor)
            assert by_auditor.status_code == 200
            assert NAME.encode() in base64.b64decode(by_auditor.json()["payloads"][0]["data"])
    finally:
        server.stop()
