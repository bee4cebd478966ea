"""A running order system for tests: a worker on its own task queue and the real API over HTTP.

The worker runs in the test's event loop; the API runs in uvicorn on a thread of
its own with its own Temporal client, exactly as `oms api` does. Staff with real
tokens exist for every department.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import ValidationError
from temporalio.client import Client

from activities.faults import NO_FAULTS, FaultPlan
from activities.payment_gateway import SimulatedPaymentGateway
from api.app import create_app
from config.keys import Keyring
from config.settings import Settings
from db import catalogue, customers
from db import inventory as stock
from db import staff as staff_store
from db.engine import Database
from domain.actors import Actor, Department
from domain.catalogue import Product, ProductDetails
from domain.contracts import OrderWorkflowInput
from domain.ids import fingerprint, order_workflow_id
from domain.order.details import NewOrder
from domain.policy import PolicySettings
from domain.review_checklist import CustomerStanding
from domain.supervision import SupervisionSettings
from tests.support.catalogue import TEST_CATALOGUE, any_price
from workers.codec import EncryptionCodec
from workers.devserver import free_port
from workers.worker import running_worker
from workflows.order import OrderWorkflow


class ApiServer:
    """An ASGI app (the API by default) served by uvicorn on a free port, in a thread."""

    def __init__(self, settings: Settings, app: Any = None) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app or create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class System:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        client: Client,
        http: httpx.AsyncClient,
        tokens: dict[Department, str],
        staff_ids: dict[Department, str],
        leads: dict[Department, tuple[str, str]] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.client = client
        self.http = http
        self.tokens = tokens
        self.staff_ids = staff_ids
        #: The lead of each department that receives tasks: (staff id, token). The members
        #: of `tokens` are plain members (P8.1: escalations go to the leads).
        self.leads = leads or {}

    def auth(self, department: Department | str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[Department(department)]}"}

    async def post(
        self, who: Department | str, path: str, body: Any = None, *, key: str | None = None
    ) -> httpx.Response:
        """POST as a member of the department `who`, with an optional Idempotency-Key."""
        headers = self.auth(who)
        if key:
            headers["Idempotency-Key"] = key
        if path == "/api/v1/orders":
            self.customer_paid(body)
        return await self.http.post(path, json=body, headers=headers)

    def customer_paid(self, body: Any) -> None:
        """The customer paid at the (simulated) provider before the platform handed the order
        over: the gateway's books hold the capture its payment names, so the money can go
        back (activities/payments.py pays back only what the gateway confirms). A test of
        an unverified payment posts with `self.http` itself."""
        try:
            order = NewOrder.model_validate(body)
        except ValidationError:
            return  # a malformed body: the API refuses it
        # One transaction is one capture, of one order: a test reusing a transaction id
        # would see its refunds refused for a reason it does not test.
        txn = order.payment.transaction_id
        held = SimulatedPaymentGateway(self.db).record_paid_order(order)
        assert held, f"transaction {txn} is another order's capture already"

    async def get(self, who: Department | str, path: str, **params: Any) -> httpx.Response:
        """GET as a member of the department `who`; keyword arguments are query parameters."""
        clean = {k: v for k, v in params.items() if v is not None}
        return await self.http.get(path, params=clean, headers=self.auth(who))

    async def order(
        self, order_id: str, department: Department | str = "customer_service"
    ) -> dict[str, Any]:
        response = await self.get(department, f"/api/v1/orders/{order_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait_until(
        self,
        order_id: str,
        check: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 20,
        what: str = "the condition",
    ) -> dict[str, Any]:
        """Poll the order (as the API shows it) until `check` holds; signals land asynchronously."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = await self.order(order_id)
            if check(last):
                return last
            await asyncio.sleep(0.1)
        raise AssertionError(f"{order_id} never met {what}; last status {last.get('status')}")

    async def wait_for(self, order_id: str, *statuses: str, timeout: float = 20) -> dict[str, Any]:
        """Poll the order until its status is one of `statuses`."""
        return await self.wait_until(
            order_id,
            lambda o: o["status"] in statuses,
            timeout=timeout,
            what=f"status in {statuses}",
        )

    async def start_directly(self, body: dict[str, Any], **policy_changes: Any) -> str:
        """Start an order through the Temporal client with its own (shortened) policy.

        The API starts orders with the system's policy; tests of deadlines and windows
        need seconds instead, for one order only. Staff then act over HTTP as usual.
        """
        self.customer_paid(body)
        await self.client.start_workflow(
            OrderWorkflow.run,
            self.order_input(body, **policy_changes),
            id=order_workflow_id(body["order_id"]),
            task_queue=self.settings.task_queue,
        )
        await self.wait_for(
            body["order_id"], "under_review", "needs_correction", "awaiting_payment"
        )
        return str(body["order_id"])

    def order_input(self, body: dict[str, Any], **policy_changes: Any) -> OrderWorkflowInput:
        """The order's workflow input as the API makes it, with its own policy."""
        return OrderWorkflowInput(
            order=NewOrder.model_validate(body),
            # Validated, not model_copy(update=): a change of the wrong type fails here.
            policy=self.settings.policy.model_validate(
                {**self.settings.policy.model_dump(), **policy_changes}
            ),
            submitted_by=self.actor(Department.PLATFORM),
            fingerprint=fingerprint(body),
            products=self.products_of(body),
            customer=self.standing_of(body),
        )

    def actor(self, department: Department) -> Actor:
        """The department's member of staff, as a command names them."""
        return Actor(staff_id=self.staff_ids[department], department=department)

    def products_of(self, body: dict[str, Any]) -> list[Product]:
        """What the API would read from the catalogue for this order's lines."""
        with self.db.read() as conn:
            return catalogue.products_of(conn, [line["sku"] for line in body["items"]])

    def standing_of(self, body: dict[str, Any]) -> CustomerStanding:
        """What the API would read of the order's customer (P3.1)."""
        with self.db.read() as conn:
            return customers.standing(conn, body["customer"]["id"])

    def gateway_captured(self, transaction_id: str, order_id: str, amount: str) -> None:
        """The (simulated) payment gateway charged the customer: its own books, P5.1."""
        SimulatedPaymentGateway(self.db).record_capture(transaction_id, order_id, Decimal(amount))

    def set_stock(self, sku: str, on_hand: int) -> None:
        """Stock of a sku, which the catalogue lists (any price) if it did not yet."""
        with self.db.write() as conn:
            if catalogue.product(conn, sku) is None:
                catalogue.put(conn, sku, any_price(sku), datetime.now(UTC), "test")
            stock.set_on_hand(conn, sku, on_hand, datetime.now(UTC), sku.lower())

    def put_product(self, sku: str, **details: Any) -> None:
        """List a product in the catalogue (P3.1) as sales would, straight in the database."""
        with self.db.write() as conn:
            catalogue.put(conn, sku, ProductDetails(**details), datetime.now(UTC), "test")

    def stock(self, sku: str) -> tuple[int, int]:
        with self.db.read() as conn:
            level = stock.level(conn, sku)
        assert level is not None
        return level.on_hand, level.reserved


#: The test systems' var/ (key files the worker makes, the revocation log): the session's
#: own folder, never the checkout's.
SESSION_VAR = Path(tempfile.mkdtemp(prefix="oms-test-var-"))
atexit.register(shutil.rmtree, SESSION_VAR, ignore_errors=True)


def test_settings(
    database_url: str, temporal_address: str, policy: PolicySettings, keyring: Keyring | None
) -> Settings:
    codec: dict[str, Any] = (
        {"codec_keys": keyring.to_strings(), "codec_active_key": keyring.active}
        if keyring
        else {"codec_disabled": True}
    )
    return Settings(
        database_url=database_url,
        temporal_address=temporal_address,
        task_queue=f"orders-{uuid.uuid4().hex[:8]}",
        # Each test system is a Worker Deployment of its own, its version made current.
        worker_deployment_name=f"oms-test-{uuid.uuid4().hex[:8]}",
        policy=policy,
        activity_threads=16,
        # Tests drive many requests per token; the limit itself is tested on its own.
        rate_limit_per_second=10_000,
        rate_limit_burst=10_000,
        # Every console test signs in through the public pages from the same address.
        public_rate_limit_per_second=10_000,
        public_rate_limit_burst=10_000,
        api_token_cache_seconds=0,  # a revoked token is refused at once in tests
        var_dir=SESSION_VAR,
        **codec,
    )


def keyring_of(client: Client) -> Keyring | None:
    """The encryption keys the client's data converter uses; the system uses the same."""
    codec = client.data_converter.payload_codec
    return codec.keyring if isinstance(codec, EncryptionCodec) else None


@asynccontextmanager
async def running_system(
    client: Client,
    database_url: str,
    policy: PolicySettings,
    *,
    max_cached_workflows: int | None = None,
    faults: FaultPlan = NO_FAULTS,
    supervision: SupervisionSettings | None = None,
    **changes: Any,
) -> AsyncIterator[System]:
    """The whole system on `database_url`; `changes` set settings of their own (the
    notification channel's attempts, the carriers...)."""
    if max_cached_workflows is None and os.environ.get("OMS_TEST_MAX_CACHED_WORKFLOWS"):
        # `make test` runs the workflow suites a second time with no sticky cache, so that
        # every step of every order replays its history: nondeterminism cannot hide.
        max_cached_workflows = int(os.environ["OMS_TEST_MAX_CACHED_WORKFLOWS"])
    address = client.service_client.config.target_host
    settings = test_settings(database_url, address, policy, keyring_of(client))
    if supervision is not None:
        settings = settings.model_copy(update={"supervision": supervision})
    if changes:
        settings = Settings.model_validate(settings.model_dump() | changes)
    if max_cached_workflows is not None:
        # No cache: workflow tasks one at a time (config.settings says why).
        tasks = settings.max_concurrent_workflow_tasks if max_cached_workflows else 1
        settings = Settings.model_validate(
            settings.model_dump()
            | {"max_cached_workflows": max_cached_workflows, "max_concurrent_workflow_tasks": tasks}
        )
    db = Database(database_url)
    db.create_schema()
    tokens: dict[Department, str] = {}
    staff_ids: dict[Department, str] = {}
    with db.write() as conn:
        for department in Department:
            member, token = staff_store.add_staff(
                conn, f"Test {department.value}", department, datetime.now(UTC)
            )
            tokens[department] = token
            staff_ids[department] = member.staff_id
        # P8.1: the API starts only when every department that receives tasks has a lead.
        leads = {
            department: (lead.staff_id, token)
            for department, (lead, token) in staff_store.add_leads(conn, datetime.now(UTC)).items()
        }
    server = ApiServer(settings)
    server.start()
    try:
        async with (
            running_worker(client, settings, db, faults=faults),
            httpx.AsyncClient(base_url=server.url, timeout=120) as http,
        ):
            with db.write() as conn:
                for sku, details in TEST_CATALOGUE.items():
                    catalogue.put(conn, sku, details, datetime.now(UTC), "test")
            yield System(settings, db, client, http, tokens, staff_ids, leads)
    finally:
        server.stop()
        db.dispose()
