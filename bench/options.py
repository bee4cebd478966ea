"""What a run or a scale measurement is asked to do (kept light: `oms` imports it at start)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PHASES = ("baseline", "client", "http", "half", "replay")


@dataclass
class RunOptions:
    orders: int = 300
    warmup: int = 30
    concurrency: int = 50
    #: Baseline workflows; None means as many as orders.
    baseline: int | None = None
    phases: tuple[str, ...] = PHASES
    #: Orders of each half-load phase; None means half of `orders` (at least 100).
    half_orders: int | None = None
    #: Carrier scans per order, the last one "delivered".
    scans: int = 1
    #: `OMS_*` settings for the worker and API processes.
    env: dict[str, str] = field(default_factory=dict)
    server_args: tuple[str, ...] = ()
    postgres: bool = False
    server_db: Path | None = None
    history_sample: int = 200
    compare: tuple[str, ...] = ()
    #: Code comparisons, `BEFORE[:AFTER]` git revisions.
    compare_code: tuple[str, ...] = ()
    compare_orders: int = 200
    after_sales_seconds: float = 2.0
    out_dir: Path = Path("bench/results")
    label: str = ""


@dataclass
class ScaleOptions:
    open_orders: int = 10_000
    concurrency: int = 100
    samples: int = 20
    env: dict[str, str] = field(default_factory=dict)
    server_args: tuple[str, ...] = ()
    postgres: bool = False
    server_db: Path | None = None
    out_dir: Path = Path("bench/results")
    label: str = ""


@dataclass
class ScansOptions:
    #: Carrier scans of the one order, the last one "delivered".
    scans: int = 50
    #: Return and exchange windows: the order completes this long after the delivery.
    after_sales_seconds: float = 2.0
    env: dict[str, str] = field(default_factory=dict)
    server_args: tuple[str, ...] = ()
    postgres: bool = False
    server_db: Path | None = None
    out_dir: Path = Path("bench/results")
    label: str = ""
