"""Shared fixtures: one Temporal dev server per test session, and a running system on SQLite."""

from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config.command_keys import CommandKeys
from config.keys import Keyring
from domain.policy import PolicySettings
from tests.support.system import System, running_system
from workers.client import data_converter
from workers.devserver import temporal_binary
from workers.signing import CommandSigner
from workflows import search_attributes as sa

#: The policy of the shared system: real deadlines (nothing goes overdue by accident),
#: an after-sales window of seconds so that delivered orders complete within a test.
#: Histories in tests are encrypted like in production, with a key made for the session.
TEST_KEYRING = Keyring.generate()
# Commands run in-process or as child processes (oms audit, oms worker...) find the
# same keys in their settings, as a deployment's processes would.
os.environ["OMS_CODEC_KEYS"] = json.dumps(TEST_KEYRING.to_strings())
os.environ["OMS_CODEC_ACTIVE_KEY"] = TEST_KEYRING.active
#: Commands are signed and checked as in production (domain/trust.py): the session's client
#: and every API the tests start sign with this key; the workers check with its public half.
TEST_COMMAND_KEYS = CommandKeys.generate()
os.environ["OMS_COMMAND_KEYS"] = json.dumps(TEST_COMMAND_KEYS.public_strings())
os.environ["OMS_COMMAND_SIGNING_KEY"] = TEST_COMMAND_KEYS.signing_string()

#: Customer refs (the opaque CustomerId search attribute) are keyed with the session's key.
os.environ["OMS_CUSTOMER_REF_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
#: Revocations are logged to a file the session throws away (never the checkout's var/).
_SESSION_FILES = Path(tempfile.mkdtemp(prefix="oms-test-session-"))
atexit.register(shutil.rmtree, _SESSION_FILES, ignore_errors=True)
os.environ["OMS_REVOCATION_LOG"] = str(_SESSION_FILES / "revocations.log")

TEST_POLICY = PolicySettings(
    return_window=timedelta(seconds=3), exchange_window=timedelta(seconds=3)
)


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=data_converter(TEST_KEYRING),
        interceptors=[CommandSigner.of(TEST_COMMAND_KEYS)],
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
