"""What answers without a token is limited per client address, and a bad sign-in writes
nothing (no write transaction: SQLite's write lock stays with the workers).

The API here is a second one, on a database of its own with no worker writing to it,
so that every write transaction it opens can be counted, and with a small limit for
requests without a token. Client addresses other than 127.0.0.1 are what uvicorn
takes from `X-Forwarded-For` of a trusted proxy (127.0.0.1 by default), as behind a
reverse proxy.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event

from api.app import create_app
from api.deps import AppState
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department
from tests.support.console import ConsoleBrowser
from tests.support.system import ApiServer, System

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class GuardedApi:
    server: ApiServer
    state: AppState
    token: str
    #: An outside connection to the API's SQLite file, open for the whole test.
    observer: sqlite3.Connection
    #: Write transactions the API opened (`BEGIN IMMEDIATE` on its writer engine).
    writes: list[str] = field(default_factory=list)

    def committed_elsewhere(self) -> int:
        """SQLite's own count: `PRAGMA data_version` of one connection changes when any
        other connection has committed a change to the file since it last asked."""
        return int(self.observer.execute("PRAGMA data_version").fetchone()[0])


@pytest_asyncio.fixture
async def guarded(system: System, tmp_path) -> AsyncIterator[GuardedApi]:
    path = tmp_path / "guarded.db"
    url = f"sqlite:///{path}"
    db = Database(url)
    db.create_schema()
    with db.write() as conn:
        _, token = staff_store.add_staff(conn, "Guard", Department.SUPERVISION, datetime.now(UTC))
        staff_store.add_leads(conn, datetime.now(UTC))  # P8.1: the API starts with leads only
    db.dispose()
    settings = system.settings.model_copy(
        update={
            "database_url": url,
            "public_rate_limit_per_second": 0.05,  # one more every 20 s
            "public_rate_limit_burst": 5,
        }
    )
    app = create_app(settings)
    server = ApiServer(settings, app=app)
    server.start()
    state: AppState = app.state.oms
    guarded = GuardedApi(server, state, token, sqlite3.connect(path))

    def count(conn: Any) -> None:
        guarded.writes.append("begin")

    event.listen(state.db.writer, "begin", count)
    try:
        yield guarded
    finally:
        event.remove(state.db.writer, "begin", count)
        server.stop()
        guarded.observer.close()


async def test_a_sign_in_flood_is_limited_and_bad_attempts_write_nothing(
    system: System, guarded: GuardedApi, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="oms.api.access")
    version = guarded.committed_elsewhere()
    async with ConsoleBrowser(system, base_url=guarded.server.url) as browser:
        await browser.get("/console/sign-in")  # 1 of the burst of 5
        statuses = []
        retry_after = []
        for n in range(12):
            attempt = await browser.post("/console/sign-in", {"token": f"oms_guess-{n}"})
            statuses.append(attempt.status_code)
            if attempt.status_code == 429:
                retry_after.append(int(attempt.headers["retry-after"]))
        # Four bad tokens were looked up and refused; then the address is cut off.
        assert statuses == [401] * 4 + [429] * 8
        assert all(1 <= seconds <= 20 for seconds in retry_after)
        assert guarded.writes == []  # not one write transaction was opened
        assert guarded.committed_elsewhere() == version

        # Every route without a token shares the address's allowance: /healthz too.
        health = await browser.http.get("/healthz")
        assert health.status_code == 429 and int(health.headers["retry-after"]) >= 1
        assert (await browser.http.get("/metrics")).status_code == 429
        # Work with a token is limited per member, not per address: it goes on.
        work = await browser.http.get(
            "/api/v1/tasks", headers={"Authorization": f"Bearer {guarded.token}"}
        )
        assert work.status_code == 200

        # Another client address has its own allowance; a valid token writes its session.
        elsewhere = {"X-Forwarded-For": "10.9.8.7"}
        assert (await browser.http.get("/healthz", headers=elsewhere)).status_code == 200
        signed_in = await browser.http.post(
            "/console/sign-in",
            content=urlencode({"token": guarded.token, "csrf_token": browser.csrf}),
            headers={**FORM, **elsewhere},
        )
        assert signed_in.status_code == 303, signed_in.text
    # The counters see a write when there is one: exactly the one session.
    assert guarded.writes == ["begin"]
    assert guarded.committed_elsewhere() != version

    clients = {getattr(r, "client", None) for r in caplog.records if r.name == "oms.api.access"}
    assert {"127.0.0.1", "10.9.8.7"} <= clients


async def test_the_api_refuses_a_flood_of_health_checks_with_retry_after(guarded: GuardedApi):
    async with httpx.AsyncClient(base_url=guarded.server.url) as http:
        answers = [(await http.get("/healthz")).status_code for _ in range(7)]
        refused = await http.get("/healthz")
    assert answers[:5] == [200] * 5 and answers[5:] == [429, 429]
    assert refused.status_code == 429
    assert refused.json()["detail"] == "too many requests from this address"
    assert 1 <= int(refused.headers["retry-after"]) <= 20
