"""`oms up`: the whole embedded system in one command (what `make run` runs).

Starts the Temporal dev server (persistent SQLite file under var/, Web UI,
search attributes registered), creates the read-model schema, seeds demo staff
(each department's demo member its lead) and stock, checks that every department
that receives tasks has a lead (P8.1), then runs the worker and the API as child
processes. Ctrl-C stops all three, API first, so that nothing is left half-done.

It supervises them (oms/supervisor.py, oms/restart_policy.py): a worker, the API or the
codec server that exits is restarted with backoff while the rest keeps serving; a crash
loop, or the dev server's exit (it holds the state), stops everything with exit code 1.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from datetime import UTC, datetime

from activities.shipping import is_simulated
from config.carrier_secrets import carrier_secret
from config.command_keys import CommandKeys, save_command_keys
from config.keys import Keyring, save_key_file
from config.settings import Settings
from db import staff as staff_store
from db.backup import new_backup_key
from db.engine import Database
from oms.demo import seed_demo
from oms.restart_policy import RestartPolicy
from oms.schedules import ensure_now
from oms.supervisor import Supervisor
from workers.client import connect, connect_when_up
from workers.codec_server import ui_endpoint
from workers.devserver import dev_server_command
from workers.release_code import (
    ReleaseCodeUnavailable,
    oms_command,
    release_environment,
    release_tree,
    running_on_earlier_releases,
)
from workflows.releases import BUILD_ID, Release


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "localhost", int(port)


async def _wait_for_temporal(settings: Settings, timeout: float = 60) -> None:
    try:
        await connect_when_up(settings, timeout)
    except Exception as error:
        raise SystemExit(
            f"the Temporal dev server did not come up in {timeout:.0f}s: {error}"
        ) from None


def _wait_for_http(host: str, port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return True
        time.sleep(0.2)
    return False


async def _earlier_releases_running(settings: Settings) -> dict[Release, int]:
    client = await connect(settings)
    return await running_on_earlier_releases(client, settings)


def _banner(settings: Settings, tokens: dict[str, str], draining: list[str]) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    lines = [
        "",
        "Order management is running.",
        f"  API          {api}/api/v1   (OpenAPI docs: {api}/docs)",
        f"  Health       {api}/healthz",
        f"  Web console  {api}/console   (sign in with a demo token below)",
        f"  Temporal UI  {settings.temporal_ui_url}   (payloads decrypted by the codec server "
        f"on :{settings.codec_server_port} for supervision and admin signed in to the console "
        "at http://localhost, not 127.0.0.1: the cookie's host)",
        f"  Read model   {settings.resolved_database_url}",
        f"  Workflows    release {BUILD_ID} (Worker Deployment "
        f"{settings.worker_deployment_name!r}, task queue {settings.task_queue})",
        *[f"  Draining     release {entry}" for entry in draining],
        "",
        "Demo tokens (Authorization: Bearer <token>):",
    ]
    lines += [f"  {department:<17} {token}" for department, token in tokens.items()]
    lines += [
        "",
        "Try:",
        f"  curl -s {api}/api/v1/tasks -H 'Authorization: Bearer {tokens.get('sales', '')}'",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def runs_simulated_carrier(settings: Settings) -> bool:
    """Whether `oms up` runs the simulated carrier: a carrier the settings book is it."""
    return any(is_simulated(spec) for spec in settings.carriers.values())


def restart_policy(settings: Settings) -> RestartPolicy:
    supervisor = settings.supervisor
    return RestartPolicy(
        initial_delay=supervisor.initial_delay_seconds,
        max_delay=supervisor.max_delay_seconds,
        max_restarts=supervisor.max_restarts,
        window=supervisor.window_seconds,
    )


def up(settings: Settings) -> int:
    var = settings.var_dir
    var.mkdir(parents=True, exist_ok=True)
    logs = var / "logs"
    logs.mkdir(exist_ok=True)
    host, port = _host_port(settings.temporal_address)
    draining: list[str] = []
    supervisor = Supervisor(logs, restart_policy(settings))
    start = supervisor.start

    try:
        if settings.keyring_missing():
            keyring = Keyring.generate()
            save_key_file(settings.codec_key_file, keyring)
            print(
                f"created the payload encryption key {keyring.active} in {settings.codec_key_file}",
                flush=True,
            )
        if not settings.command_key_set().public:
            # The API signs staff commands with it, the workers check (domain/trust.py).
            command_keys = CommandKeys.generate()
            save_command_keys(settings.command_key_file, command_keys)
            print(
                f"created the command signing key {command_keys.active} in "
                f"{settings.command_key_file}",
                flush=True,
            )
        # Made once here, before the processes that use it start (each would make its own).
        settings.customer_ref_secret()
        for carrier in settings.carriers:
            carrier_secret(settings, carrier)  # the API and the simulated carrier share it
        if not settings.backup_keys and not settings.resolved_backup_key_file.exists():
            # Backups are encrypted (db/backup.py): keep a copy of this file off the machine.
            backup_keys, path = new_backup_key(settings)
            print(
                f"created the backup key {backup_keys.active} in {path}: keep a copy elsewhere, "
                "backups cannot be restored without it",
                flush=True,
            )
        if _port_open(host, port):
            print(f"using the Temporal server already listening on {host}:{port}", flush=True)
        else:
            start(
                "temporal",
                dev_server_command(
                    var / "temporal.db",
                    port=port,
                    ui_port=settings.temporal_ui_port,
                    codec_endpoint=ui_endpoint(settings),
                ),
                holds_state=True,
            )
        asyncio.run(_wait_for_temporal(settings))
        print(
            f"schedules {', '.join(ensure_now(settings))} are in place (Temporal UI: Schedules)",
            flush=True,
        )

        db = Database(settings.resolved_database_url)
        # Migrated here, once, before the worker and the API start (OMS_MIGRATE_ON_START).
        db.prepare_schema(migrate=settings.migrate_on_start)
        tokens = seed_demo(db, var)
        with db.read() as conn:
            # P8.1: said here, before the API starts and stops with it in its log.
            staff_store.require_leads(conn, datetime.now(UTC))
        db.dispose()

        for n in range(settings.worker_processes):
            start(
                "worker" if n == 0 else f"worker-{n + 1}", [sys.executable, "-m", "oms", "worker"]
            )
        for release, count in asyncio.run(_earlier_releases_running(settings)).items():
            # Orders started on an earlier release finish on its code (workflows/releases.py).
            try:
                tree = release_tree(release, var / "releases")
            except ReleaseCodeUnavailable as missing:
                print(f"WARNING: {count} workflow(s) of release {release.build_id} wait: {missing}")
                continue
            name = f"worker-{release.build_id}"
            env = release_environment(release, settings, tree)
            start(name, oms_command("worker"), cwd=tree, env=env)
            draining.append(f"{release.build_id} ({count} running, {name})")
        start("codec-server", [sys.executable, "-m", "oms", "codec-server"])
        start("api", [sys.executable, "-m", "oms", "api"])
        if runs_simulated_carrier(settings):
            # Moves booked parcels along and posts their scans to the API's callback.
            start("carrier-sim", [sys.executable, "-m", "oms", "carrier-sim"])
        if settings.polled_carriers:
            # Carriers without callbacks: their scans are asked for and handed to the API.
            start("carrier-poll", [sys.executable, "-m", "oms", "carrier-poll"])
        if not _wait_for_http(settings.api_host, settings.api_port):
            print("the API did not come up; see var/logs/api.log", flush=True)
            return 1
        print(_banner(settings, tokens, draining), flush=True)

        stopping = False

        def request_stop(signum: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        code = supervisor.run(lambda: stopping)
        print("\nstopping: API, worker, Temporal ...", flush=True)
        return code
    finally:
        supervisor.stop_all()
        print("stopped.", flush=True)
        if supervisor.failure:
            # Said again last, where the eye lands after the stopping lines.
            print(f"oms up stopped because {supervisor.failure}", flush=True)
