"""Reports and KPIs at scale: seed N orders with their record, then time every endpoint.

    python -m bench.reports --backend sqlite --orders 100000
    python -m bench.reports --backend postgresql --orders 100000

Seeds a throwaway read model (a SQLite file in a temporary folder, or a fresh
PostgreSQL database on 127.0.0.1:5432, dropped afterwards) with orders spread
over `--days` days: their lines, events (with the corrections and error cases the
accuracy KPI looks for), tasks (some late, some still open), ledger entries,
ratings and feedback. Then it starts a Temporal dev server and `oms api` (uvicorn)
on free ports, and times every report and KPI endpoint over HTTP: one warm-up,
then `--runs` timed requests each; the table shows the median and the slowest.
Goal (issue 4): every endpoint under 1 s over 100,000 orders on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, create_engine

from config.keys import Keyring
from db import staff as staff_store
from db.engine import Database
from db.feedback_tables import feedback, satisfaction_ratings
from db.tables import ledger_entries, order_events, order_lines, orders, tasks
from db.throwaway import throwaway_database
from domain.actors import Department
from workers.devserver import dev_server_command

POSTGRES_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
BATCH = 20_000

# --- the throwaway database -------------------------------------------------------------------


@contextmanager
def bench_database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh SQLite file in `workdir`, or a fresh PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'oms.db'}"
        return
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with throwaway_database(
            admin, POSTGRES_ADMIN.rsplit("/", 1)[0], "oms_bench_reports"
        ) as url:
            yield url
    finally:
        admin.dispose()


# --- synthetic department figures -------------------------------------------------------------


class Progress:
    """One line, rewritten in place: orders written, rows written, rows per second."""

    def __init__(self, orders: int) -> None:
        self.orders_total = orders
        self.started = time.perf_counter()

    def show(self, counts: dict[str, int]) -> None:
        rows = sum(counts.values())
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(
            f"\r  orders {counts.get('orders', 0):>9,} / {self.orders_total:,}"
            f"   rows {rows:>10,}   {rows / max(elapsed, 1e-9):>8,.0f} rows/s"
            f"   {elapsed:6.1f} s"
        )
        sys.stderr.flush()

    def end(self) -> None:
        sys.stderr.write("\n")


class Writer:
    """Collects rows per table and inserts them in batches (executemany; multi-VALUES on PG)."""

    def __init__(self, db: Database, orders: int) -> None:
        self.db = db
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.tables: dict[str, Table] = {}
        self.progress = Progress(orders)
        self.counts: dict[str, int] = {}

    def add(self, table: Table, row: dict[str, Any]) -> None:
        rows = self.pending.setdefault(table.name, [])
        self.tables[table.name] = table
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush(table.name)

    def flush(self, name: str) -> None:
        rows = self.pending.get(name)
        if not rows:
            return
        with self.db.write() as conn:
            conn.execute(self.tables[name].insert(), rows)
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        self.pending[name] = []
        self.progress.show(self.counts)

    def flush_all(self) -> None:
        for name in list(self.pending):
            self.flush(name)
        self.progress.end()


#: What a real order row carries besides its columns: the workflow's whole view (~1.5 KB).
SNAPSHOT_TEMPLATE: dict[str, Any] = {
    "order": {
        "kind": "goods",
        "customer": {"id": "C0", "name": "Li Lei", "phone": "13800138000", "new_customer": False},
        "items": [
            {"sku": f"SKU-{n}", "name": "Electric kettle 1.7 L", "quantity": 1, "unit_price": "129"}
            for n in range(3)
        ],
        "shipping": {
            "address": "1 Chaoyang Rd, Chaoyang District, Beijing 100020",
            "contact_name": "Li Lei",
            "contact_phone": "13800138000",
        },
        "payment": {"method": "online", "status": "paid", "amount": "387.00"},
    },
    "risk_reasons": [],
    "intake_problems": [],
    "open_tasks": [],
    "pending_departments": [],
    "shipment": {
        "carrier": "SF Express",
        "method": "express",
        "tracking_number": "SF1234567890",
        "packages": 1,
    },
    "notes": "x" * 600,
}

STEP_KINDS = [
    ("review", "sales", timedelta(hours=2)),
    ("pack", "warehouse", timedelta(hours=24)),
    ("dispatch", "logistics", timedelta(hours=12)),
]


def recorder(
    record: list[tuple[str, datetime, dict[str, Any]]],
) -> Callable[..., None]:
    """Appends (kind, at, data) to one order's record; seq numbers are given when written."""

    def event(kind: str, at: datetime, data: dict[str, Any] | None = None) -> None:
        record.append((kind, at, data or {}))

    return event


def task_row(
    task_id: str,
    order_id: str,
    kind: str,
    department: str,
    opened: datetime,
    due: datetime,
    closed: datetime | None,
    now: datetime,
    case_id: str | None = None,
) -> dict[str, Any]:
    late = closed > due if closed else due < now
    return {
        "task_id": task_id,
        "order_id": order_id,
        "kind": kind,
        "department": department,
        "state": "done" if closed else "open",
        "opened_at": opened,
        "due_at": due,
        "remind_at": opened + (due - opened) * 0.75,
        "reminded": late,
        "overdue": late,
        "escalated": late,
        "closed_at": closed,
        "case_id": case_id,
        "revision": 1,
    }


@dataclass
class Shape:
    orders: int
    days: int
    end: datetime  # the instant after the last seeded day


def generate(db: Database, shape: Shape, rng: random.Random) -> dict[str, int]:
    """Insert `shape.orders` orders with their record; returns rows per table."""
    n = shape.orders
    writer = Writer(db, n)
    end = shape.end
    start = end - timedelta(days=shape.days)
    span = (shape.end - start).total_seconds()
    statuses = ["completed"] * 70 + ["cancelled"] * 6 + ["rejected"] * 3 + ["returned"] * 3
    statuses += ["delivered"] * 8 + ["in_transit"] * 4 + ["under_review"] * 3
    statuses += ["ready_to_pack"] * 2 + ["refunded"]
    for i in range(n):
        order_id = f"B{i:09d}"
        created = start + timedelta(seconds=rng.random() * span)
        status = rng.choice(statuses)
        kind = "service" if rng.random() < 0.1 else "goods"
        lines = rng.randint(1, 3)
        total = Decimal(rng.randint(500, 200_000)) / 100
        shipped = status in {"completed", "delivered", "returned", "in_transit", "refunded"}
        dispatched = created + timedelta(hours=rng.uniform(2, 40)) if shipped else None
        promised = dispatched + timedelta(days=2) if dispatched else None
        delivered = None
        if dispatched and status not in {"in_transit", "refunded"}:
            delivered = dispatched + timedelta(hours=rng.uniform(6, 60))  # ~1 in 5 late
        writer.add(
            orders,
            {
                "order_id": order_id,
                "kind": kind,
                "status": status,
                "customer_id": f"C{rng.randint(1, n // 3 + 1)}",
                "customer_name": "Li Lei",
                "payment_method": "online",
                "payment_status": "paid",
                "total_amount": total,
                "paid_amount": total,
                "refunded_amount": Decimal("0.00"),
                "pending_departments": "",
                "overdue": False,
                "created_at": created,
                "updated_at": delivered or created,
                "dispatched_at": dispatched,
                "promised_delivery_at": promised,
                "delivered_at": delivered,
                "intake_fingerprint": "bench",
                "last_seq": 12,
                "revision": 12,
                "snapshot": SNAPSHOT_TEMPLATE,
            },
        )
        for line_no in range(1, lines + 1):
            writer.add(
                order_lines,
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "sku": f"SKU-{rng.randint(1, 500)}",
                    "name": "item",
                    "quantity": rng.randint(1, 3),
                    "unit_price": total / lines,
                },
            )
        record: list[tuple[str, datetime, dict[str, Any]]] = []
        event = recorder(record)
        event("received", created, {"lines": lines, "total": str(total), "payment": "paid"})
        if rng.random() < 0.03:
            event("corrected", created + timedelta(minutes=20), {"fields": ["shipping"]})
        # The main-line tasks: each due by its SLA, most closed in time, some late, a few open.
        opened = created
        steps = STEP_KINDS if kind == "goods" else STEP_KINDS[::2]
        for number, (task_kind, department, sla) in enumerate(steps, start=1):
            due = opened + sla
            still_open = not shipped and number == len(steps)
            closed = None if still_open else opened + sla * rng.uniform(0.1, 1.3)
            writer.add(
                tasks,
                task_row(
                    f"{order_id}-T{number}",
                    order_id,
                    task_kind,
                    department,
                    opened,
                    due,
                    closed,
                    end,
                ),
            )
            event(task_kind + "ed", closed or opened)
            if closed is None:
                break
            opened = closed
        if dispatched and promised:
            writer.add(
                tasks,
                task_row(
                    f"{order_id}-T9",
                    order_id,
                    "deliver",
                    "logistics",
                    dispatched,
                    promised,
                    delivered,
                    end,
                ),
            )
            event("stock_shipped", dispatched, {"reservation": f"{order_id}:R1"})
            event("tracking", dispatched + timedelta(hours=3), {"event": "in_transit"})
            event("tracking", dispatched + timedelta(hours=20), {"event": "out_for_delivery"})
        if delivered:
            event("delivered", delivered, {"on_time": delivered <= (promised or delivered)})
            event("completed", delivered + timedelta(days=15))
            if rng.random() < 0.06:
                case = rng.choice(
                    [
                        {"kind": "return", "reason_code": "wrong_item"},
                        {"kind": "return", "reason_code": "quality"},
                        {"kind": "exchange", "reason_code": "wrong_item"},
                        {"kind": "change", "caused_by_error": True},
                        {"kind": "change", "caused_by_error": False},
                    ]
                )
                event("case_opened", delivered + timedelta(days=2), case)
            if rng.random() < 0.4:
                writer.add(
                    satisfaction_ratings,
                    {
                        "order_id": order_id,
                        "score": rng.choice([1, 2, 3, 4, 4, 5, 5, 5]),
                        "channel": rng.choice(["online", "online", "hotline", "email"]),
                        "rated_at": delivered + timedelta(hours=rng.uniform(1, 72)),
                        "actor_id": "bench",
                        "actor_department": "platform",
                        "fingerprint": "bench",
                    },
                )
        for seq, (kind_, at, data) in enumerate(record, start=1):
            writer.add(
                order_events,
                {
                    "order_id": order_id,
                    "seq": seq,
                    "at": at,
                    "kind": kind_,
                    "status": status,
                    "actor_id": "bench",
                    "actor_department": "sales",
                    "note": "",
                    "data": data,
                },
            )
        if status not in {"rejected", "under_review"}:
            writer.add(
                ledger_entries,
                {
                    "entry_id": f"{order_id}:payment",
                    "order_id": order_id,
                    "kind": "payment",
                    "amount": total,
                    "at": created,
                },
            )
        if status in {"cancelled", "returned", "refunded"}:
            writer.add(
                ledger_entries,
                {
                    "entry_id": f"{order_id}:refund",
                    "order_id": order_id,
                    "kind": "refund",
                    "amount": -total,
                    "at": created + timedelta(days=rng.uniform(0.1, 10)),
                },
            )
        if rng.random() < 0.1:
            received = created + timedelta(hours=rng.uniform(1, 100))
            due = received + timedelta(hours=24)
            answered = received + timedelta(hours=rng.uniform(0.2, 30))
            feedback_id = f"BF{i:09d}"
            writer.add(
                feedback,
                {
                    "feedback_id": feedback_id,
                    "kind": rng.choice(["inquiry", "complaint", "praise"]),
                    "channel": rng.choice(["online", "hotline", "email"]),
                    "customer_id": "C1",
                    "order_id": order_id,
                    "message": "Where is my parcel?",
                    "state": "resolved",
                    "received_at": received,
                    "received_by": "bench",
                    "received_department": "platform",
                    "first_reply_due_at": due,
                    "first_reply_at": answered,
                    "replies": 1,
                    "task_id": f"feedback:{feedback_id}-T1",
                    "intake_fingerprint": "bench",
                    "revision": 3,
                    "snapshot": {"message": "Where is my parcel?"},
                },
            )
            writer.add(
                tasks,
                task_row(
                    f"feedback:{feedback_id}-T1",
                    order_id,
                    "reply_feedback",
                    "customer_service",
                    received,
                    due,
                    answered,
                    end,
                    case_id=feedback_id,
                ),
            )
    writer.flush_all()
    return writer.counts


def analyze(db: Database) -> None:
    """Fresh planner statistics, as a database that has lived would have them."""
    if db.is_sqlite:
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    with db.writer.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


# --- the running API --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.3)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up on port {port}")


@contextmanager
def running_api(url: str, workdir: Path) -> Iterator[str]:
    """A Temporal dev server (in memory) and `oms api` on free ports; yields the API's base URL."""
    temporal_port, ui_port, api_port = free_port(), free_port(), free_port()
    log = (workdir / "servers.log").open("ab")
    temporal = subprocess.Popen(
        dev_server_command(None, port=temporal_port, ui_port=ui_port),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api: subprocess.Popen[bytes] | None = None
    try:
        wait_for_port(temporal_port, "the Temporal dev server")
        keyring = Keyring.generate()  # the API encrypts personal data: a key of its own
        env = os.environ | {
            "OMS_DATABASE_URL": url,
            "OMS_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
            "OMS_API_PORT": str(api_port),
            "OMS_VAR_DIR": str(workdir),
            "OMS_CODEC_KEYS": json.dumps(keyring.to_strings()),
            "OMS_CODEC_ACTIVE_KEY": keyring.active,
        }
        api = subprocess.Popen(
            [sys.executable, "-m", "oms", "api"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(api_port, "the API")
        yield f"http://127.0.0.1:{api_port}"
    finally:
        for process in (api, temporal):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


@dataclass
class Timing:
    name: str
    path: str
    status: int
    rows: int
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def time_endpoint(
    http: httpx.Client, name: str, path: str, params: dict[str, str], runs: int
) -> Timing:
    http.get(path, params=params)  # warm-up: the first call pays for cold caches
    seconds: list[float] = []
    status, rows = 0, 0
    for _ in range(runs):
        started = time.perf_counter()
        response = http.get(path, params=params)
        seconds.append(time.perf_counter() - started)
        status = response.status_code
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            rows = len(body.get("rows", body.get("items", [])))
        else:
            rows = response.text.count("\n") - 1
    return Timing(name, path, status, rows, seconds)


def endpoints(first: date, last: date) -> list[tuple[str, str, dict[str, str]]]:
    whole = {"from": first.isoformat(), "to": last.isoformat()}
    month = {"from": (last - timedelta(days=29)).isoformat(), "to": last.isoformat()}
    return [
        ("orders, by day", "/api/v1/reports/orders", whole | {"group_by": "day"}),
        ("orders, by month, csv", "/api/v1/reports/orders", whole | {"group_by": "month"}),
        ("revenue, by day", "/api/v1/reports/revenue", whole | {"group_by": "day"}),
        ("revenue, by week, csv", "/api/v1/reports/revenue", whole | {"group_by": "week"}),
        (
            "satisfaction, by day+channel",
            "/api/v1/reports/satisfaction",
            whole | {"group_by": "day", "by": "channel"},
        ),
        ("satisfaction, by month", "/api/v1/reports/satisfaction", whole | {"group_by": "month"}),
        ("kpis, whole window", "/api/v1/kpis", whole),
        ("kpis, by day", "/api/v1/kpis", whole | {"group_by": "day"}),
        ("kpis, by week, csv", "/api/v1/kpis", whole | {"group_by": "week"}),
        ("kpis, last 30 days, sales", "/api/v1/kpis", month | {"department": "sales"}),
        ("snapshots", "/api/v1/reports/snapshots", whole),
        ("inbox: overdue tasks", "/api/v1/tasks", {"overdue": "true"}),
        ("escalations: logistics", "/api/v1/escalations", {"department": "logistics"}),
    ]


def with_csv(name: str, params: dict[str, str]) -> dict[str, str]:
    return params | {"format": "csv"} if name.endswith("csv") else params


# --- main -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    today = datetime.now(UTC).date()
    end = datetime.combine(today, datetime.min.time(), UTC)
    shape = Shape(orders=args.orders, days=args.days, end=end)
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-reports-"))
    try:
        with bench_database(args.backend, workdir) as url:
            db = Database(url)
            db.create_schema()
            with db.write() as conn:
                _, token = staff_store.add_staff(
                    conn, "Bench supervisor", Department.SUPERVISION, datetime.now(UTC)
                )
                staff_store.add_leads(conn, datetime.now(UTC))  # P8.1: the API needs leads
            print(f"seeding {args.orders:,} orders over {args.days} days into {args.backend}")
            started = time.perf_counter()
            counts = generate(db, shape, rng)
            analyze(db)
            seeded = time.perf_counter() - started
            db.dispose()
            print(f"seeded {sum(counts.values()):,} rows in {seeded:.1f} s")
            first, last = today - timedelta(days=args.days), today - timedelta(days=1)
            with (
                running_api(url, workdir) as base,
                httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
                ) as http,
            ):
                timings = [
                    time_endpoint(http, name, path, with_csv(name, params), args.runs)
                    for name, path, params in endpoints(first, last)
                ]
        print_table(args, counts, timings)
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "backend": args.backend,
                        "orders": args.orders,
                        "days": args.days,
                        "rows": counts,
                        "timings": [
                            {
                                "endpoint": t.name,
                                "path": t.path,
                                "status": t.status,
                                "rows": t.rows,
                                "median_s": round(t.median, 4),
                                "max_s": round(max(t.runs), 4),
                            }
                            for t in timings
                        ],
                    },
                    indent=2,
                )
            )
        slow = [t for t in timings if t.median >= 1.0 or t.status != 200]
        return 1 if slow else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_table(args: argparse.Namespace, counts: dict[str, int], timings: list[Timing]) -> None:
    print()
    print(
        f"{args.backend}: {counts.get('orders', 0):,} orders, "
        f"{counts.get('order_events', 0):,} events, {counts.get('tasks', 0):,} tasks, "
        f"{counts.get('ledger_entries', 0):,} ledger rows, "
        f"{counts.get('satisfaction_ratings', 0):,} ratings, {counts.get('feedback', 0):,} feedback"
    )
    print(
        f"{'endpoint':<30} {'status':>6} {'rows':>6} {'median':>9} {'max':>9}  ({args.runs} runs)"
    )
    for t in timings:
        flag = "" if t.median < 1.0 and t.status == 200 else "  <-- over 1 s or failed"
        print(
            f"{t.name:<30} {t.status:>6} {t.rows:>6} "
            f"{t.median * 1000:>7.0f}ms {max(t.runs) * 1000:>7.0f}ms{flag}"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--days", type=int, default=180, help="orders spread over this many days")
    p.add_argument("--runs", type=int, default=5, help="timed requests per endpoint")
    p.add_argument("--seed", type=int, default=20261127, help="random seed of the figures")
    p.add_argument("--json", default=None, help="also write the figures to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
