"""`oms up` supervises what it starts (oms/supervisor.py), tried on the real thing: a worker
killed with SIGKILL is restarted while the API keeps answering, and orders go on; the
Temporal dev server killed stops everything with a non-zero exit and says why."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.orders import new_order_id, order_body
from tests.support.system import free_port

PROJECT = Path(__file__).resolve().parents[2]
SKU = "SKU-SUPERVISED"
#: Long enough to see the API answer while the worker is down, short enough for a test.
RESTART_DELAY = 2


def environment(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(
        {
            "OMS_VAR_DIR": str(var),
            "OMS_DATABASE_URL": f"sqlite:///{var / 'oms.db'}",
            "OMS_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "OMS_TEMPORAL_UI_PORT": str(free_port()),
            "OMS_API_PORT": str(free_port()),
            "OMS_CODEC_SERVER_PORT": str(free_port()),
            # One worker: an order processed after the restart was processed by the new one.
            "OMS_WORKER_PROCESSES": "1",
            "OMS_LOG_FORMAT": "text",
            "OMS_SUPERVISOR__INITIAL_DELAY_SECONDS": str(RESTART_DELAY),
        }
    )
    return env


@dataclass
class Up:
    """One running `oms up`: its process, what it prints, its API and the demo tokens."""

    process: subprocess.Popen[bytes]
    out: Path
    http: httpx.AsyncClient
    tokens: dict[str, str]

    def printed(self) -> str:
        return self.out.read_text()

    def pids(self, name: str) -> list[int]:
        """The pids `oms up` started `name` with, the first start then each restart."""
        found = re.findall(rf"(?:started|restarted) {re.escape(name)} \(pid (\d+)", self.printed())
        return [int(pid) for pid in found]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def send(self, method: str, who: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(
            method, f"/api/v1{path}", json=body, headers=self.headers(who)
        )
        assert response.status_code < 300, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def create(self) -> str:
        body = order_body(new_order_id("SUP"), lines=[(SKU, 1, "10.00")])
        created = await self.send("POST", "platform", "/orders", body)
        assert created["status"] == "under_review", created
        return str(body["order_id"])

    async def answers(self) -> None:
        """The API serves: health, and a read with a token (the read model)."""
        assert (await self.http.get("/healthz")).status_code == 200
        products = await self.http.get(f"/api/v1/products/{SKU}", headers=self.headers("sales"))
        assert products.status_code == 200, products.text


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by `oms up`) is gone too.
    with suppress(FileNotFoundError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    return False


@asynccontextmanager
async def oms_up(tmp_path: Path) -> AsyncIterator[Up]:
    """`python -m oms up` in a var/ of its own, until the block ends (then Ctrl-C)."""
    var = tmp_path / "var"
    env = environment(var)
    out = tmp_path / "oms-up.out"
    with out.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "oms", "up"], cwd=PROJECT, env=env, stdout=sink, stderr=sink
        )
    try:
        url = f"http://127.0.0.1:{env['OMS_API_PORT']}"
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            deadline = time.monotonic() + 120
            while "Ctrl-C stops everything." not in out.read_text():
                assert process.poll() is None, f"oms up exited: {out.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"no API: {out.read_text()[-3000:]}"
                await asyncio.sleep(0.3)
            tokens = json.loads((var / "demo-tokens.json").read_text())
            up = Up(process, out, http, tokens)
            await up.send("PUT", "sales", f"/products/{SKU}", product())
            await up.send("PUT", "warehouse", f"/inventory/{SKU}", {"on_hand": 50})
            yield up
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def product() -> dict[str, str]:
    return {"name": "x", "list_price": "10.00", "floor_price": "5.00"}


async def test_a_worker_killed_is_restarted_while_the_api_serves_and_orders_go_on(
    tmp_path: Path,
):
    async with oms_up(tmp_path) as up:
        started_before = await up.create()
        [worker] = up.pids("worker")
        [api] = up.pids("api")
        [temporal] = up.pids("temporal")
        [codec] = up.pids("codec-server")

        os.kill(worker, signal.SIGKILL)
        killed_at = time.monotonic()
        # An order handed over while no worker runs: it waits for the restarted one.
        in_flight = asyncio.create_task(up.create())
        answered_while_down = 0
        while len(up.pids("worker")) < 2:
            await up.answers()
            answered_while_down += 1
            assert time.monotonic() - killed_at < 60, up.printed()[-3000:]
            await asyncio.sleep(0.2)
        restarted_after = time.monotonic() - killed_at
        assert answered_while_down >= 3, answered_while_down

        printed = up.printed()
        assert (
            f"worker exited with -9 (SIGKILL); restarting it in {RESTART_DELAY} s "
            "(restart 1 of at most 6 within 300 s; log "
        ) in printed
        assert restarted_after >= RESTART_DELAY - 0.5
        [_, new_worker] = up.pids("worker")
        assert alive(new_worker) and not alive(worker)
        # Nothing else was restarted.
        assert printed.count("restarted ") == 1, printed
        assert up.pids("api") == [api] and up.pids("temporal") == [temporal]
        assert up.pids("codec-server") == [codec]
        assert all(alive(pid) for pid in (api, temporal, codec))
        log = (tmp_path / "var" / "logs" / "worker.log").read_text()
        assert "--- oms up: worker exited with -9 (SIGKILL) ---" in log

        # Orders go on: the one handed over during the outage, a new one, and one the
        # killed worker had started.
        assert (await asyncio.wait_for(in_flight, 60)).startswith("SUP")
        await up.create()
        reviewed = await up.send(
            "POST", "sales", f"/orders/{started_before}/review", {"approved": True, "note": ""}
        )
        assert reviewed["status"] == "ready_to_pack", reviewed
        await up.answers()

    assert up.process.returncode == 0, up.printed()[-3000:]
    assert "stopped." in up.printed()


async def test_the_dev_server_killed_stops_everything_with_a_non_zero_exit(tmp_path: Path):
    async with oms_up(tmp_path) as up:
        [temporal] = up.pids("temporal")
        others = [pid for name in ("worker", "api", "codec-server") for pid in up.pids(name)]
        os.kill(temporal, signal.SIGKILL)
        code = await asyncio.to_thread(up.process.wait, 90)

    printed = up.printed()
    assert code == 1, printed[-3000:]
    log = tmp_path / "var" / "logs" / "temporal.log"
    said = (
        "temporal (the Temporal dev server) exited with -9 (SIGKILL): it holds every order's "
        f"state, so everything stops. Its log: {log}"
    )
    assert said in printed
    assert printed.rstrip().endswith(f"oms up stopped because {said}"), printed[-2000:]
    assert "restarted" not in printed
    assert not any(alive(pid) for pid in others)
    async with httpx.AsyncClient(base_url=str(up.http.base_url), timeout=5) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/healthz")
