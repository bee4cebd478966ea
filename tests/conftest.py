"""Shared fixtures: one Temporal dev server per test session, and a running system on SQLite."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config.keys import Keyring
from domain.policy import PolicySettings
from tests.support.system import System, running_system
from workers.client import data_converter
from workers.devserver import temporal_binary
from workflows import search_attributes as sa

#: The policy of the shared system: real deadlines (nothing goes overdue by accident),
#: an after-sales window of seconds so that delivered orders complete within a test.
#: Histories in tests are encrypted like in production, with a key made for the session.
TEST_KEYRING = Keyring.generate()
# Commands run in-process or as child processes (oms audit, oms worker...) find the
# same keys in their settings, as a deployment's processes would.
os.environ["OMS_CODEC_KEYS"] = json.dumps(TEST_KEYRING.to_strings())
os.environ["OMS_CODEC_ACTIVE_KEY"] = TEST_KEYRING.active

TEST_POLICY = PolicySettings(
    return_window=timedelta(seconds=3), exchange_window=timedelta(seconds=3)
)


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=data_converter(TEST_KEYRING),
        search_attributes=sa.ALL,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "history.transferProcessorMaxPollRPS=1000",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest_asyncio.fixture(scope="session")
async def system(client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """The whole system on the embedded default: SQLite read model, real HTTP, real tokens."""
    path: Path = tmp_path_factory.mktemp("oms") / "oms.db"
    async with running_system(client, f"sqlite:///{path}", TEST_POLICY) as running:
        yield running
