"""`oms temporal setup`: the namespace and search attributes a production cluster needs.

The dev server gets them from `oms up` (start-up flags). A cluster of our own
(temporal-docker/, the Helm chart) gets them from this command or from the
compose setup job; on Temporal Cloud the namespace is created in the Cloud UI or
`tcld`, and this command adds the search attributes when the API key or
certificate may (otherwise add them in the Cloud UI with the types below).
Running it again changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from config.settings import Settings
from workers.client import connect
from workflows import search_attributes as sa


async def ensure_namespace(client: Client, namespace: str, retention: timedelta) -> bool:
    """Register the namespace unless it exists; True when it was created."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
        return False
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    period = Duration()
    period.FromTimedelta(retention)
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=period)
    )
    return True


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the order search attributes missing from the namespace; returns the ones added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in sa.ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        client = await connect(settings)
        namespace = settings.temporal_namespace
        if not args.skip_namespace:
            retention = timedelta(days=args.retention_days)
            if await ensure_namespace(client, namespace, retention):
                print(f"registered namespace {namespace} (retention {args.retention_days} days)")
                # The namespace is cached by the frontend for a moment before it answers for it.
                client = await _when_ready(settings)
        added = await ensure_search_attributes(client, namespace)
        print(f"search attributes added to {namespace}: {', '.join(added) or 'none needed'}")

    asyncio.run(run())
    return 0


async def _when_ready(settings: Settings, attempts: int = 30) -> Client:
    for _ in range(attempts):
        client = await connect(settings)
        try:
            await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=settings.temporal_namespace)
            )
            return client
        except RPCError:
            await asyncio.sleep(1)
    return await connect(settings)


def register(subparsers: Any) -> None:
    temporal = subparsers.add_parser("temporal", help="Temporal cluster setup")
    sub = temporal.add_subparsers(dest="temporal_command", required=True)
    setup = sub.add_parser("setup", help="create the namespace and the order search attributes")
    setup.add_argument("--retention-days", type=int, default=30, help="history retention")
    setup.add_argument(
        "--skip-namespace", action="store_true", help="the namespace exists (Temporal Cloud)"
    )
    setup.set_defaults(fn=cmd_setup)
