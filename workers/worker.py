"""The worker: runs the order workflows and their activities against the read model."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client
from temporalio.worker import (
    PollerBehaviorSimpleMaximum,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.adapters import build_adapter
from activities.backup import BackupActivities
from activities.channels import NotificationChannel
from activities.faults import NO_FAULTS, FaultPlan
from activities.feedback import FeedbackActivities
from activities.inventory import InventoryActivities
from activities.notifications import NotificationActivities
from activities.payment_gateway import PaymentGateway
from activities.payments import PaymentActivities
from activities.read_model import ReadModelActivities
from activities.rectification import RectificationActivities
from activities.reporting import ReportingActivities
from activities.scorecards import ScorecardActivities
from activities.shipping import ShippingActivities, carriers_from
from activities.supervision import SupervisionActivities
from config.settings import Settings
from db.engine import Database
from workers.client import connect
from workers.deployment import deployment_config, promote
from workers.shared_code import share_workflow_code
from workers.telemetry import worker_runtime
from workers.tracing import setup_tracing
from workflows.backup import BackupWorkflow
from workflows.feedback import FeedbackWorkflow
from workflows.order import OrderWorkflow
from workflows.rectification import RectificationWorkflow
from workflows.releases import BUILD_ID
from workflows.reporting import ReportingWorkflow
from workflows.restock import RestockWorkflow
from workflows.scorecards import ScorecardWorkflow
from workflows.supervision import SupervisionWorkflow
from workflows.trust import CommandTrust

log = logging.getLogger("oms.worker")

WORKFLOWS = [
    OrderWorkflow,
    RestockWorkflow,
    FeedbackWorkflow,
    ReportingWorkflow,
    BackupWorkflow,
    SupervisionWorkflow,
    RectificationWorkflow,
    ScorecardWorkflow,
]

#: Modules loaded once outside the sandbox: pure, deterministic, and costly to re-import
#: for every workflow run (pydantic models especially). `cryptography` (the signatures of
#: commands, domain/trust.py) must never be imported afresh: its Rust core cannot be
#: initialised twice in a process, and the first InvalidSignature raised in a sandbox
#: imported it there and aborted the worker (a forged command was a way to kill workers).
#: `opentelemetry`: the tracing interceptor's workflow side (workers/tracing.py) uses the
#: process's context and propagators; a fresh copy in the sandbox would load its context
#: implementation through entry points, which the sandbox forbids (Temporal's own
#: OpenTelemetry plugin passes it through for the same reason).
PASSTHROUGH = ("domain", "pydantic", "pydantic_core", "cryptography", "opentelemetry")


#: The short names of the adapters that ship with the project (stand-ins, named as such).
PAYMENT_GATEWAYS = {"simulated": "activities.payment_gateway:SimulatedPaymentGateway"}
NOTIFICATION_CHANNELS = {"simulated": "activities.channels:SimulatedChannel"}


def _adapter(
    setting: str,
    spec: str,
    db: Database,
    options: dict[str, Any],
    aliases: dict[str, str],
    methods: tuple[str, ...],
) -> Any:
    """The adapter `setting` names, or a SystemExit that says what is wrong with it."""
    try:
        adapter = build_adapter(spec, db, options, aliases)
    except ValueError as error:
        cause = error.__context__
        if isinstance(cause, TypeError):
            # Name the options' keys only: their values may be credentials.
            detail = (
                f"it cannot be built with the options in {setting}_OPTIONS "
                f"(keys {sorted(options)}): {cause}"
            )
        else:
            detail = str(error)
        raise SystemExit(
            f"{setting}={spec!r} cannot be used: {detail} (docs/integrations.md)"
        ) from None
    lacking = [name for name in methods if not callable(getattr(adapter, name, None))]
    if lacking:
        raise SystemExit(
            f"{setting}={spec!r} cannot be used: {type(adapter).__name__} lacks "
            f"{', '.join(lacking)} (docs/integrations.md)"
        )
    return adapter


def payment_gateway(settings: Settings, db: Database) -> PaymentGateway:
    """The gateway `OMS_PAYMENT_GATEWAY` names, built with `OMS_PAYMENT_GATEWAY_OPTIONS`."""
    spec = settings.payment_gateway
    options = dict(settings.payment_gateway_options)
    if PAYMENT_GATEWAYS.get(spec, spec) == PAYMENT_GATEWAYS["simulated"]:
        options.setdefault("decline_prefix", settings.simulated_gateway_decline_prefix)
    gateway: PaymentGateway = _adapter(
        "OMS_PAYMENT_GATEWAY", spec, db, options, PAYMENT_GATEWAYS, ("captured", "refund")
    )
    return gateway


def notification_channel(settings: Settings, db: Database) -> NotificationChannel:
    """The channel `OMS_NOTIFICATION_CHANNEL` names, built with its `_OPTIONS`."""
    channel: NotificationChannel = _adapter(
        "OMS_NOTIFICATION_CHANNEL",
        settings.notification_channel,
        db,
        dict(settings.notification_channel_options),
        NOTIFICATION_CHANNELS,
        ("send",),
    )
    return channel


def activities_for(
    db: Database, settings: Settings, faults: FaultPlan = NO_FAULTS
) -> list[Callable[..., Any]]:
    read_model = ReadModelActivities(db)
    inventory = InventoryActivities(db)
    payments = PaymentActivities(db, payment_gateway(settings, db), faults)
    shipping = ShippingActivities(db, carriers_from(settings, db))
    channel = notification_channel(settings, db)
    notices = NotificationActivities(db, channel, settings.notification_attempts)
    return [
        notices.send_notifications,
        payments.issue_refund,
        payments.find_capture,
        shipping.book_shipment,
        shipping.cancel_shipment,
        read_model.apply_order_changes,
        inventory.reserve_stock,
        inventory.receive_stock,
        inventory.list_backordered_orders,
        inventory.get_level,
        FeedbackActivities(db).apply_feedback_changes,
        ReportingActivities(db).store_daily_snapshot,
        BackupActivities(db, settings).back_up_read_model,
        SupervisionActivities(db, settings.rectification_deadline).run_supervision_checks,
        RectificationActivities(db).apply_rectification_changes,
        ScorecardActivities(db, settings).evaluate_scorecards,
    ]


def workflow_runner(settings: Settings | None = None) -> WorkflowRunner:
    """The sandbox (the default, and always for replays), or plain execution when the
    settings turn `workflow_sandbox` off."""
    if settings is not None and not settings.workflow_sandbox:
        return UnsandboxedWorkflowRunner()
    share_workflow_code()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def build_worker(
    client: Client,
    settings: Settings,
    db: Database,
    *,
    task_queue: str | None = None,
    executor: ThreadPoolExecutor | None = None,
    faults: FaultPlan = NO_FAULTS,
    extra_workflows: Sequence[type] = (),
    extra_activities: Sequence[Callable[..., Any]] = (),
) -> Worker:
    """The order worker; `extra_*` lets a tool (the benchmark) run more on the same worker."""
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[*WORKFLOWS, *extra_workflows],
        activities=[*activities_for(db, settings, faults), *extra_activities],
        activity_executor=executor or ThreadPoolExecutor(max_workers=settings.activity_threads),
        max_concurrent_activities=settings.activity_threads,
        max_concurrent_local_activities=settings.activity_threads,
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.workflow_task_pollers),
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.activity_task_pollers),
        workflow_runner=workflow_runner(settings),
        deployment_config=deployment_config(settings),
        interceptors=[command_trust(settings)],
    )


def command_trust(settings: Settings) -> CommandTrust:
    """The interceptor that checks every command's signature (workflows/trust.py)."""
    return CommandTrust(settings.command_key_set().verifiers(), settings.command_window)


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, db: Database, **options: Any
) -> AsyncIterator[Worker]:
    """A worker polling, and its build made the current version where the settings say so."""
    async with build_worker(client, settings, db, **options) as worker:
        if settings.worker_promote:
            await promote(client, settings)
        yield worker


def keep_bytecode(settings: Settings) -> None:
    """Let the sandbox's fresh imports of workflow modules load compiled code.

    Under PYTHONDONTWRITEBYTECODE (usual in containers) nothing is ever cached,
    and the sandbox compiles the workflow module's source again for every
    workflow it starts (12 ms for workflows/order.py). The cache goes under
    `var_dir`, so the source tree stays as clean as the setting wants it.
    """
    if settings.workflow_bytecode_cache and sys.dont_write_bytecode:
        sys.pycache_prefix = sys.pycache_prefix or str((settings.var_dir / "pycache").resolve())
        sys.dont_write_bytecode = False


async def run_worker(
    settings: Settings,
    *,
    extra_workflows: Sequence[type] = (),
    extra_activities: Sequence[Callable[..., Any]] = (),
) -> None:
    keep_bytecode(settings)
    setup_tracing(settings, "oms-worker")  # before connect: the client carries the interceptor
    db = Database(settings.resolved_database_url, serialize_writes=settings.sqlite_serialize_writes)
    db.prepare_schema(migrate=settings.migrate_on_start)
    client = await connect(settings, runtime=worker_runtime(settings))
    worker = running_worker(
        client,
        settings,
        db,
        extra_workflows=extra_workflows,
        extra_activities=extra_activities,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        log.info(
            "worker %s:%s polling task queue %s on %s",
            settings.worker_deployment_name,
            BUILD_ID,
            settings.task_queue,
            settings.temporal_address,
        )
        await stop.wait()
        log.info("worker stopping: finishing tasks in flight")
    db.dispose()
