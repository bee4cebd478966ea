"""`oms temporal setup`: a new namespace gets the search attributes ops filter orders by."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from oms.cli import parser
from workflows import search_attributes as sa


async def listed_search_attributes(client: Client, namespace: str) -> Any:
    """The namespace's search attributes. A namespace registered a moment ago may be
    answered with CANCELLED while the server's caches learn of it (seen once in a full
    run): asked again, as an operator would."""
    for _ in range(20):
        try:
            return await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace)
            )
        except RPCError as error:
            if error.status not in (RPCStatusCode.CANCELLED, RPCStatusCode.UNAVAILABLE):
                raise
            await asyncio.sleep(0.5)
    raise AssertionError(f"the search attributes of {namespace} could not be listed")


async def test_setup_registers_the_namespace_and_every_search_attribute_once(
    client: Client, capsys
):
    namespace = f"oms-setup-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        temporal_address=client.service_client.config.target_host, temporal_namespace=namespace
    )
    args = parser().parse_args(["temporal", "setup", "--retention-days", "3"])
    assert await asyncio.to_thread(args.fn, args, settings) == 0
    first = capsys.readouterr().out
    assert f"registered namespace {namespace}" in first

    listed = await listed_search_attributes(client, namespace)
    registered = {
        name: IndexedValueType.Name(kind).removeprefix("INDEXED_VALUE_TYPE_")
        for name, kind in listed.custom_attributes.items()
    }
    assert {name: registered.get(name) for name in sa.CLI_TYPES} == {
        name: kind.upper() for name, kind in sa.CLI_TYPES.items()
    }

    again = parser().parse_args(["temporal", "setup"])
    assert await asyncio.to_thread(again.fn, again, settings) == 0
    assert "none needed" in capsys.readouterr().out
