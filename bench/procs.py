"""What the machine and each process cost: CPU seconds and memory read from /proc (Linux).

A role (the dev server, the workers, the API) is a set of process trees: uvicorn
with several workers forks children, and their CPU counts for the API too.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields start after the last ")".
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (0 once it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of the process now (0 once it is gone)."""
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except (OSError, IndexError):
        return 0
    return int(resident) * PAGE_SIZE


def process_tree(pid: int) -> list[int]:
    """The process and all its living descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_bytes: int


def usage(pids: list[int]) -> Usage:
    """CPU and memory of these processes and their descendants, added up."""
    everyone = {p for pid in pids for p in process_tree(pid)}
    return Usage(
        cpu_seconds=sum(cpu_seconds(p) for p in everyone),
        rss_bytes=sum(rss_bytes(p) for p in everyone),
    )


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores, all processes."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": _memory_total(),
        "kernel": platform.release(),
        "load_average": load_average(),
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(temporal: str) -> dict[str, str]:
    cli = subprocess.run([temporal, "--version"], capture_output=True, text=True, check=False)
    return {
        "python": sys.version.split()[0],
        "temporal_cli": cli.stdout.strip() or cli.stderr.strip(),
        **{
            name: _version(name)
            for name in (
                "temporalio",
                "pydantic",
                "fastapi",
                "uvicorn",
                "SQLAlchemy",
                "httpx",
                "psycopg2-binary",
            )
        },
    }
