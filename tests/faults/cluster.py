"""Processes that can die: a dev server on a persistent database and worker processes.

Fault tests kill them (`kill -9`), restart them, and take the database away, while the
API (in this process) keeps serving and clients keep retrying.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from config.settings import Settings
from tests.support.system import free_port
from workers.client import connect_when_up
from workers.devserver import dev_server_command


class Cluster:
    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.port = int(settings.temporal_address.rsplit(":", 1)[1])

    # --- the Temporal dev server --------------------------------------------------------

    def start_server(self) -> None:
        command = dev_server_command(
            self.workdir / "temporal.db", port=self.port, ui_port=free_port()
        )
        command.append("--headless")
        log = (self.workdir / "temporal.log").open("ab")
        self.server = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    async def wait_for_server(self, timeout: float = 60) -> Client:
        return await connect_when_up(self.settings, timeout)

    def stop_server(self) -> None:
        """A clean stop (SIGTERM): the persistent database keeps every order."""
        assert self.server is not None
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(timeout=30)
        self.server = None

    # --- workers --------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update(
            {
                "OMS_DATABASE_URL": s.resolved_database_url,
                "OMS_TEMPORAL_ADDRESS": s.temporal_address,
                "OMS_TASK_QUEUE": s.task_queue,
                "OMS_VAR_DIR": str(self.workdir),
                "OMS_CODEC_KEYS": json.dumps(s.codec_keys),
                "OMS_CODEC_ACTIVE_KEY": s.codec_active_key,
                "OMS_POLICY": s.policy.model_dump_json(),
            }
        )
        return env

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"worker-{len(self.workers)}.log").open("ab")
        worker = subprocess.Popen(
            [sys.executable, "-m", "oms", "worker"],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def kill_workers(self) -> None:
        """kill -9: no chance to finish anything in flight."""
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
