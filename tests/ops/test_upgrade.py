"""Upgrading a running system: orders an earlier release left at every stage finish after
this release starts on the same Temporal store and read model (architecture rule 6).

Phase 1 runs an earlier release's own `oms up` (each of them: r1, 782a8d4, from before
Worker Versioning, and r2, the first versioned one; its tree taken from git) and leaves
orders under review, ready to pack, packed, in transit, delivered inside the return
window, and out of stock. Phase 2 stops it and runs this release's `oms up` on the same
var/ folder (Temporal's SQLite store, the keys, the read model): it starts a worker of
the earlier release for its orders beside its own. Staff then finish every old order
through the new API, and a new order runs on the new release. Each history is replayed
at the end with the code of the release that ran it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from audit.replay import replay_by_release
from config.command_keys import load_command_keys
from config.keys import load_key_file
from config.settings import Settings
from domain.ids import order_workflow_id
from oms.releases_cli import running_per_release
from tests.support.orders import new_order_id, order_body
from tests.support.postgres import temporary_database
from tests.support.system import free_port
from workers.client import connect
from workers.history import SourcedHistory
from workers.release_code import PROJECT, release_tree
from workflows.releases import BUILD_ID, PREVIOUS, RELEASES, Release

pytestmark = pytest.mark.load

#: Long enough to ask for a return after the restart, short enough to see orders complete.
WINDOW = "PT45S"
ACCESSORIES = ["manual", "warranty_card"]


@contextmanager
def backend(name: str, var: Path) -> Iterator[str]:
    if name == "postgresql":
        with temporary_database() as url:
            yield url
    else:
        yield f"sqlite:///{var / 'oms.db'}"


def environment(var: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env.update(
        {
            "OMS_VAR_DIR": str(var),
            "OMS_DATABASE_URL": database_url,
            "OMS_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "OMS_TEMPORAL_UI_PORT": str(free_port()),
            "OMS_API_PORT": str(free_port()),
            "OMS_CODEC_SERVER_PORT": str(free_port()),
            "OMS_WORKER_PROCESSES": "1",
            "OMS_POLICY__RETURN_WINDOW": WINDOW,
            "OMS_POLICY__EXCHANGE_WINDOW": WINDOW,
            "OMS_LOG_FORMAT": "text",
        }
    )
    return env


class Running:
    """One `oms up` of one release, and its API."""

    def __init__(
        self, process: subprocess.Popen[bytes], http: httpx.AsyncClient, log: Path, var: Path
    ):
        self.process = process
        self.http = http
        self.log = log
        #: The demo staff `oms up` seeds, one per department.
        self.tokens: dict[str, str] = json.loads((var / "demo-tokens.json").read_text())

    async def post(self, who: str, path: str, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        response = await self.http.post(f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code < 300, f"{path}: {response.status_code} {response.text}"
        return response.json()

    async def status(self, order_id: str) -> str:
        headers = {"Authorization": f"Bearer {self.tokens['customer_service']}"}
        response = await self.http.get(f"/api/v1/orders/{order_id}", headers=headers)
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    async def order(self, order_id: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens['customer_service']}"}
        response = await self.http.get(f"/api/v1/orders/{order_id}", headers=headers)
        return dict(response.json())

    async def wait_for(self, order_id: str, *statuses: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            last = await self.status(order_id)
            if last in statuses:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"{order_id} stayed {last}, never {statuses}; log: {self.log}")


@asynccontextmanager
async def oms_up(tree: Path, env: dict[str, str], log: Path) -> AsyncIterator[Running]:
    """`python -m oms up` from a release's tree, until the block ends (then Ctrl-C)."""
    run_env = {**env, "PYTHONPATH": str(tree)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "oms", "up"], cwd=tree, env=run_env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{env['OMS_API_PORT']}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, f"oms up exited: {log.read_text()[-3000:]}"
                # The API answers a moment before `oms up` prints its banner: wait for both.
                try:
                    healthy = (await http.get("/healthz")).status_code == 200
                except httpx.HTTPError:
                    healthy = False
                if healthy and "Ctrl-C stops everything." in log.read_text():
                    break
                assert time.monotonic() < deadline, f"no API: {log.read_text()[-3000:]}"
                await asyncio.sleep(0.5)
            yield Running(process, http, log, Path(env["OMS_VAR_DIR"]))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def create(running: Running, sku: str, quantity: int = 1) -> str:
    body = order_body(new_order_id("UP"), lines=[(sku, quantity, "129.00")])
    created = await running.post("platform", "/orders", body)
    assert created["status"] == "under_review", created
    return str(body["order_id"])


async def leave_orders_at_every_stage(old: Running) -> dict[str, str]:
    """The previous release's orders, one per stage: {stage: order id}."""
    await old.http.put(
        "/api/v1/inventory/SKU-UPGRADE",
        json={"on_hand": 50},
        headers={"Authorization": f"Bearer {old.tokens['warehouse']}"},
    )
    orders = {stage: await create(old, "SKU-UPGRADE") for stage in ("review", "pack", "dispatch")}
    orders["in_transit"] = await create(old, "SKU-UPGRADE")
    orders["delivered"] = await create(old, "SKU-UPGRADE")
    orders["out_of_stock"] = await create(old, "SKU-UPGRADE-SHORT")
    for stage in ("pack", "dispatch", "in_transit", "delivered", "out_of_stock"):
        await old.post("sales", f"/orders/{orders[stage]}/review", {"approved": True, "note": ""})
    for stage in ("dispatch", "in_transit", "delivered"):
        await old.post("warehouse", f"/orders/{orders[stage]}/pack", pack_body())
    for stage in ("in_transit", "delivered"):
        await old.post("logistics", f"/orders/{orders[stage]}/dispatch", dispatch_body(stage))
    await old.post("platform", f"/orders/{orders['delivered']}/tracking", delivered("old"))
    await old.wait_for(orders["delivered"], "delivered")
    await old.wait_for(orders["out_of_stock"], "out_of_stock")
    return orders


def pack_body() -> dict[str, Any]:
    return {"packages": 1, "accessories": ACCESSORIES}


def dispatch_body(tag: str) -> dict[str, Any]:
    return {"carrier": "SF Express", "method": "express", "tracking_number": f"SF-{tag}"}


def delivered(tag: str) -> dict[str, Any]:
    return {"event_id": f"E-{tag}", "event": "delivered"}


async def ship(new: Running, order_id: str, *, review: bool, pack: bool, dispatch: bool) -> None:
    if review:
        await new.post("sales", f"/orders/{order_id}/review", {"approved": True, "note": ""})
    if pack:
        await new.post("warehouse", f"/orders/{order_id}/pack", pack_body())
    if dispatch:
        await new.post("logistics", f"/orders/{order_id}/dispatch", dispatch_body(order_id))
    await new.post("platform", f"/orders/{order_id}/tracking", delivered(order_id))


async def finish_on_the_new_release(new: Running, orders: dict[str, str]) -> None:
    # Delivered before the upgrade, still inside its window: a return (P5.3), now.
    returned = orders["delivered"]
    case = await new.post(
        "customer_service", f"/orders/{returned}/returns", {"kind": "return", "reason": "broken"}
    )
    case_id = case["case_id"]
    await new.post(
        "customer_service", f"/orders/{returned}/returns/{case_id}/decision", {"approved": True}
    )
    await new.post(
        "warehouse",
        f"/orders/{returned}/returns/{case_id}/inspection",
        {"quality_confirmed": True, "restock": True},
    )
    # The stock the previous release's order waits for arrives through this release's API.
    await new.post("warehouse", "/inventory/SKU-UPGRADE-SHORT/receipts", {"quantity": 5})
    await new.wait_for(orders["out_of_stock"], "ready_to_pack")
    # A field added since (a rejection's reason code, r3) cannot reach an earlier
    # release's order: refused by name, and nothing changes; without it the review works.
    refused = await new.http.post(
        f"/api/v1/orders/{orders['review']}/review",
        json={"approved": False, "note": "", "reason_code": "price_inaccurate"},
        headers={"Authorization": f"Bearer {new.tokens['sales']}"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["refusal"] == "earlier_release_field"
    assert await new.status(orders["review"]) == "under_review"
    await ship(new, orders["review"], review=True, pack=True, dispatch=True)
    await ship(new, orders["pack"], review=False, pack=True, dispatch=True)
    await ship(new, orders["dispatch"], review=False, pack=False, dispatch=True)
    await ship(new, orders["out_of_stock"], review=False, pack=True, dispatch=True)
    await new.post("platform", f"/orders/{orders['in_transit']}/tracking", delivered("transit"))
    for task in (await new.order(returned))["open_tasks"]:
        department = task["department"]
        await new.post(department, f"/tasks/{task['task_id']}/complete", {"note": "done"})


async def orders_running_per_release(settings: Settings) -> dict[str, int]:
    """Order workflows running per release. Not every workflow: the system's schedules
    (the nightly backup at 02:30 UTC, the daily report) may start one during the test."""
    client = await connect(settings)
    counts: dict[str, int] = {}
    for release in RELEASES:
        query = release.running_query(settings.worker_deployment_name)
        found = await client.count_workflows(f'{query} AND WorkflowType = "OrderWorkflow"')
        counts[release.build_id] = found.count
    return counts


async def drained(settings: Settings, timeout: float = 15) -> dict[str, int]:
    """Orders running per release, once none is (visibility follows within moments)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await orders_running_per_release(settings)
        if not any(counts.values()) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.5)


def settings_of(env: dict[str, str], var: Path) -> Settings:
    """The upgraded system's settings, with the keys `oms up` made under var/ (not the test
    session's)."""
    keys = load_key_file(var / "codec-keys.json")
    command_keys = load_command_keys(var / "command-keys.json")
    assert keys is not None and command_keys is not None
    return Settings(
        temporal_address=env["OMS_TEMPORAL_ADDRESS"],
        var_dir=var,
        codec_keys=keys.to_strings(),
        codec_active_key=keys.active,
        command_keys=command_keys.public_strings(),
        command_signing_key=command_keys.signing_string(),
    )


async def histories(client: Client, order_ids: list[str]) -> AsyncIterator[SourcedHistory]:
    for order_id in order_ids:
        history = await client.get_workflow_handle(order_workflow_id(order_id)).fetch_history()
        yield SourcedHistory(history, order_id)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("earlier", PREVIOUS, ids=[r.build_id for r in PREVIOUS])
async def test_orders_left_at_every_stage_by_the_previous_release_finish_after_the_upgrade(
    earlier: Release, database: str, tmp_path: Path
):
    var = tmp_path / "var"
    var.mkdir()
    old_tree = release_tree(earlier, tmp_path / "releases")
    with backend(database, var) as url:
        env = environment(var, url)
        async with oms_up(old_tree, env, tmp_path / "r1-up.log") as old:
            orders = await leave_orders_at_every_stage(old)
        async with oms_up(PROJECT, env, tmp_path / "up.log") as new:
            banner = (tmp_path / "up.log").read_text()
            assert f"Draining     release {earlier.build_id} (6 running" in banner, banner
            running = await running_per_release(settings_of(env, var))
            assert running[earlier.build_id] == 6
            # Release r3 checks orders against the product catalogue (P3.1): sales lists
            # the product the earlier release sold without one.
            listed = await new.http.put(
                "/api/v1/products/SKU-UPGRADE",
                json={"name": "kettle", "list_price": "129.00", "floor_price": "99.00"},
                headers={"Authorization": f"Bearer {new.tokens['sales']}"},
            )
            assert listed.status_code == 200, listed.text
            fresh = await create(new, "SKU-UPGRADE")
            await ship(new, fresh, review=True, pack=True, dispatch=True)
            await finish_on_the_new_release(new, orders)
            for stage, order_id in orders.items():
                final = "returned" if stage == "delivered" else "completed"
                await new.wait_for(order_id, final, timeout=120)
            await new.wait_for(fresh, "completed", timeout=120)

            settings = settings_of(env, var)
            assert set((await drained(settings)).values()) == {0}
            client = await connect(settings)
            replayed = await replay_by_release(
                histories(client, [*orders.values(), fresh]), settings
            )
            ran_on = {o.source: (o.release, o.verdict.value) for o in replayed.outcomes}
            assert ran_on == {
                **{order_id: (earlier.build_id, "replayed") for order_id in orders.values()},
                fresh: (BUILD_ID, "replayed"),
            }
