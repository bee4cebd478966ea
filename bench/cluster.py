"""One benchmark system: its own dev server, worker process(es) and API process, on free ports.

Every part is a subprocess, as in production, so that the CPU each one spends can
be read from /proc. The read model is a throwaway SQLite file (or a throwaway
PostgreSQL database); the after-sales windows are seconds, so orders complete.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.procs import Usage, machine_cpu_seconds, rss_bytes, usage
from config.command_keys import CommandKeys
from config.keys import Keyring
from config.settings import Settings
from domain.policy import PolicySettings
from workers.client import connect_when_up
from workers.deployment import is_current
from workers.devserver import dev_server_command, free_port

#: The settings that shape performance, reported with every result.
TUNING = (
    "worker_processes",
    "activity_threads",
    "max_cached_workflows",
    "max_concurrent_workflow_tasks",
    "workflow_task_pollers",
    "activity_task_pollers",
    "workflow_sandbox",
    "workflow_bytecode_cache",
    "sqlite_serialize_writes",
    "api_workers",
    "api_token_cache_seconds",
)


@dataclass(frozen=True)
class ClusterConfig:
    """What a benchmark system runs with. `env` holds `OMS_*` settings for worker and API."""

    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    server_args: tuple[str, ...] = ()
    #: A file for the dev server's own store; None keeps it in memory.
    server_db: Path | None = None
    #: P5.3 return and exchange windows: the order completes this long after delivery.
    after_sales_seconds: float = 2.0
    #: Run worker and API from this source tree (another commit's code) instead of this
    #: one; they are then plain `oms worker` processes, without the baseline workflow.
    code_dir: Path | None = None

    @property
    def worker_processes(self) -> int:
        default = Settings.model_fields["worker_processes"].default
        return int(self.env.get("OMS_WORKER_PROCESSES", default))


class Cluster:
    """`async with Cluster(workdir, config) as cluster:` a running system; stopped on exit."""

    def __init__(self, workdir: Path, config: ClusterConfig, *, name: str = "bench") -> None:
        self.workdir = workdir
        self.config = config
        self.name = name
        self.port = free_port()
        self.api_port = free_port()
        self.task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        window = timedelta(seconds=config.after_sales_seconds)
        # Payloads are encrypted as in production (its cost is part of what is measured).
        self.keyring = Keyring.generate()
        # Commands are signed and checked as in production (workers/signing.py).
        self.command_keys = CommandKeys.generate()
        self.customer_ref_key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.settings = Settings(
            customer_ref_key=self.customer_ref_key,
            codec_keys=self.keyring.to_strings(),
            codec_active_key=self.keyring.active,
            command_keys=self.command_keys.public_strings(),
            command_signing_key=self.command_keys.signing_string(),
            var_dir=workdir,
            database_url=config.database_url,
            temporal_address=f"127.0.0.1:{self.port}",
            task_queue=self.task_queue,
            api_host="127.0.0.1",
            api_port=self.api_port,
            policy=PolicySettings(return_window=window, exchange_window=window),
        )
        self.processes: dict[str, list[subprocess.Popen[bytes]]] = {}
        self._logs: list[IO[bytes]] = []
        self.client: Client | None = None

    # --- environment -----------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The parent's environment without its own OMS_* settings, plus this system's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
        seconds = f"PT{self.config.after_sales_seconds:g}S"  # ISO 8601, as settings take it
        env.update(
            {
                "OMS_VAR_DIR": str(self.workdir),
                "OMS_CODEC_KEYS": json.dumps(self.keyring.to_strings()),
                "OMS_CODEC_ACTIVE_KEY": self.keyring.active,
                "OMS_COMMAND_KEYS": json.dumps(self.command_keys.public_strings()),
                "OMS_COMMAND_SIGNING_KEY": self.command_keys.signing_string(),
                "OMS_CUSTOMER_REF_KEY": self.customer_ref_key,
                "OMS_DATABASE_URL": self.config.database_url,
                "OMS_TEMPORAL_ADDRESS": self.settings.temporal_address,
                "OMS_TASK_QUEUE": self.task_queue,
                "OMS_API_HOST": "127.0.0.1",
                "OMS_API_PORT": str(self.api_port),
                "OMS_POLICY__RETURN_WINDOW": seconds,
                "OMS_POLICY__EXCHANGE_WINDOW": seconds,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.config.env)
        if self.config.code_dir is not None:
            env["PYTHONPATH"] = str(self.config.code_dir)
        return env

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    # --- lifecycle -------------------------------------------------------------------------

    def _start(self, role: str, command: list[str]) -> None:
        index = len(self.processes.get(role, []))
        log = (self.workdir / f"{self.name}-{role}-{index}.log").open("wb")
        self._logs.append(log)
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.environment(),
            cwd=self.config.code_dir if role != "server" else None,
            start_new_session=True,
        )
        self.processes.setdefault(role, []).append(process)

    async def __aenter__(self) -> Cluster:
        try:
            await self.start()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = dev_server_command(self.config.server_db, port=self.port, ui_port=free_port())
        self._start("server", [*command, "--http-port", str(free_port()), *self.config.server_args])
        self.client = await self._wait_for_temporal()
        worker = "oms worker" if self.config.code_dir else "bench.worker"
        for _ in range(self.config.worker_processes):
            self._start("worker", [sys.executable, "-m", *worker.split()])
        self._start("api", [sys.executable, "-m", "oms", "api"])
        await self._wait_for_api()
        await self._wait_for_workers()

    async def _wait_for_temporal(self, timeout: float = 60) -> Client:
        return await connect_when_up(self.settings, timeout, alive=self._check_alive)

    async def _wait_for_api(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.api_url, timeout=5) as http:
            while True:
                self._check_alive()
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not come up; see {self.workdir}")
                await asyncio.sleep(0.3)

    async def _wait_for_workers(self, timeout: float = 60) -> None:
        """Every worker process polls the task queue (each has its own identity), and their
        build is the current version of the deployment (orders start on it). A tree of
        another commit (`--compare-code`) from before Worker Versioning polls unversioned."""
        assert self.client is not None
        request = DescribeTaskQueueRequest(
            namespace=self.settings.temporal_namespace,
            task_queue=TaskQueue(name=self.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            described = await self.client.workflow_service.describe_task_queue(request)
            polling = len({p.identity for p in described.pollers}) >= self.config.worker_processes
            versioned = any(p.HasField("deployment_options") for p in described.pollers)
            if polling and (not versioned or await is_current(self.client, self.settings)):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not poll the task queue in time")
            await asyncio.sleep(0.3)

    def _check_alive(self) -> None:
        for role, processes in self.processes.items():
            for index, process in enumerate(processes):
                if process.poll() is not None:
                    log = self.workdir / f"{self.name}-{role}-{index}.log"
                    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                    raise RuntimeError(
                        f"the {role} process exited with {process.returncode}:\n{tail}"
                    )

    def stop(self) -> None:
        """API first, then the workers, then the server; each gets 20 s to stop."""
        for role in ("api", "worker", "server"):
            processes = self.processes.get(role, [])
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def tuning(self) -> dict[str, object]:
        """The worker and API settings this system runs with (defaults unless overridden)."""
        env = self.environment()
        return {
            name: env.get(f"OMS_{name.upper()}", Settings.model_fields[name].default)
            for name in TUNING
        }

    # --- measurements ----------------------------------------------------------------------

    def pids(self, role: str) -> list[int]:
        return [p.pid for p in self.processes.get(role, [])]

    def usage(self) -> dict[str, Usage]:
        """CPU and memory now, per role; `driver` is this process (the load generator) and
        `machine` every process of the machine (others' test suites included)."""
        roles = {role: usage(self.pids(role)) for role in ("server", "worker", "api")}
        me = os.times()
        roles["driver"] = Usage(me.user + me.system, rss_bytes(os.getpid()))
        busy, _ = machine_cpu_seconds()
        roles["machine"] = Usage(busy, 0)
        return roles
