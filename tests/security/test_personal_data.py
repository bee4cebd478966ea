"""Personal data never stands in clear in workflow histories (issue 6), yet auditors and the
Temporal UI can read it through the codec with the key."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest
import pytest_asyncio
from google.protobuf.json_format import MessageToDict
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from api.console.sessions import SESSION_COOKIE
from config.keys import Keyring
from config.settings import Settings
from db import console_sessions
from domain.actors import Department
from domain.ids import order_workflow_id
from tests.support.console import ConsoleBrowser
from tests.support.flows import act, create, drive_to
from tests.support.orders import new_order_id, order_body
from tests.support.system import ApiServer, System
from workers.codec import EncryptionCodec
from workers.codec_server import create_codec_app, ui_endpoint

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


async def started_payloads(system: System, order_id: str) -> dict[str, object]:
    """The body the Temporal UI posts to decode an order's input: its encrypted payloads."""
    handle = system.client.get_workflow_handle(order_workflow_id(order_id))
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    return {"payloads": [MessageToDict(p) for p in started.input.payloads]}


def plaintext(response: httpx.Response) -> bytes:
    return base64.b64decode(response.json()["payloads"][0]["data"])


async def console_session(system: System, department: str) -> tuple[str, list[str]]:
    """Sign in to the console as the department: its session id, and the paths of the
    session cookies the console set."""
    async with ConsoleBrowser(system) as browser:
        await browser.get("/console/sign-in")
        signed_in = await browser.post(
            "/console/sign-in", {"token": system.tokens[Department(department)]}
        )
        assert signed_in.status_code == 303
        paths, session = [], ""
        for header in signed_in.headers.get_list("set-cookie"):
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            if SESSION_COOKIE in cookie:
                session = cookie[SESSION_COOKIE].value
                paths.append(cookie[SESSION_COOKIE]["path"])
        return session, paths


async def test_the_codec_server_decodes_for_supervision_and_admin_only(
    system: System, marked_order
):
    server = ApiServer(system.settings, app=create_codec_app(system.settings, db=system.db))
    server.start()
    try:
        body = await started_payloads(system, marked_order)
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.post("/decode", json=body)).status_code == 401
            assert (await http.post("/encode", json=body)).status_code == 401
            for department in ("warehouse", "sales", "finance", "platform"):
                refused = await http.post("/decode", json=body, headers=system.auth(department))
                assert refused.status_code == 403, department
                assert NAME not in refused.text
            for department in ("supervision", "admin"):
                decoded = await http.post("/decode", json=body, headers=system.auth(department))
                assert decoded.status_code == 200, department
                assert NAME.encode() in plaintext(decoded) and PHONE.encode() in plaintext(decoded)
            bad = {"Authorization": "Bearer oms_not-a-token"}
            assert (await http.post("/decode", json=body, headers=bad)).status_code == 401

            # The secret URL the Temporal UI used to be given is gone, whatever the secret.
            for path in ("/ui/guess/decode", "/ui/guess/encode"):
                gone = await http.post(path, json=body, headers=system.auth("supervision"))
                assert gone.status_code == 404
    finally:
        server.stop()


async def test_the_ui_decodes_with_a_supervisors_console_session_and_nobody_elses(
    system: System, marked_order
):
    """What the Temporal UI does with "include cross-origin credentials": a CORS preflight,
    then POST <endpoint>/decode with the browser's cookies for the codec's host."""
    settings = system.settings
    server = ApiServer(settings, app=create_codec_app(settings, db=system.db))
    server.start()
    try:
        body = await started_payloads(system, marked_order)
        ui = {"Origin": settings.temporal_ui_url}
        supervisor, supervisor_paths = await console_session(system, "supervision")
        warehouse, warehouse_paths = await console_session(system, "warehouse")
        # The console sends the session cookie to the codec's paths for supervision only.
        assert sorted(supervisor_paths) == ["/console", "/decode", "/encode"]
        assert warehouse_paths == ["/console"]
        async with httpx.AsyncClient(base_url=server.url) as http:
            preflight = await http.options(
                "/decode",
                headers={
                    **ui,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-namespace",
                },
            )
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == settings.temporal_ui_url
            assert preflight.headers["access-control-allow-credentials"] == "true"
            stranger = await http.options(
                "/decode",
                headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
            )
            assert "access-control-allow-origin" not in stranger.headers

            async def decode(session: str, origin: dict[str, str]) -> httpx.Response:
                cookie = {"Cookie": f"{SESSION_COOKIE}={session}", "X-Namespace": "default"}
                return await http.post("/decode", json=body, headers={**origin, **cookie})

            by_warehouse = await decode(warehouse, ui)
            assert by_warehouse.status_code == 403 and NAME not in by_warehouse.text
            by_supervisor = await decode(supervisor, ui)
            assert by_supervisor.status_code == 200
            assert by_supervisor.headers["access-control-allow-origin"] == settings.temporal_ui_url
            assert by_supervisor.headers["access-control-allow-credentials"] == "true"
            assert NAME.encode() in plaintext(by_supervisor)
            # The cookie counts from the Temporal UI's pages only, and while the session lives.
            assert (await decode(supervisor, {"Origin": "http://evil.example"})).status_code == 401
            assert (await decode(supervisor, {})).status_code == 401
            assert (await decode("not-a-session", ui)).status_code == 401
            with system.db.write() as conn:
                console_sessions.end_session(conn, supervisor)
            assert (await decode(supervisor, ui)).status_code == 401
    finally:
        server.stop()


def test_the_temporal_ui_is_given_the_codec_endpoint_without_a_secret(tmp_path):
    settings = Settings(var_dir=tmp_path, codec_server_port=8081)
    assert ui_endpoint(settings) == "http://localhost:8081"
    assert list(tmp_path.iterdir()) == []  # no secret file either
