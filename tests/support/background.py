"""A running system on an event loop of its own thread, for synchronous tests (hypothesis)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from temporalio.client import Client

from config.keys import Keyring
from domain.policy import PolicySettings
from tests.support.system import System, running_system
from workers.client import data_converter

T = TypeVar("T")


class BackgroundSystem:
    def __init__(
        self,
        temporal_address: str,
        database_url: str,
        policy: PolicySettings,
        keyring: Keyring | None,
    ) -> None:
        self.keyring = keyring
        self.temporal_address = temporal_address
        self.database_url = database_url
        self.policy = policy
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._context: AbstractAsyncContextManager[System] | None = None
        self.system: System

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> BackgroundSystem:
        self.thread.start()
        client = self.run(
            Client.connect(self.temporal_address, data_converter=data_converter(self.keyring))
        )
        self._context = running_system(client, self.database_url, self.policy)
        self.system = self.run(self._context.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self.run(self._context.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=15)
