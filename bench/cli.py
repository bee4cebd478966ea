"""`python -m bench run|scale|scans` and `oms bench ...`: the arguments, and what they start."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bench.optimisations import OPTIMISATIONS
from bench.options import PHASES, RunOptions, ScaleOptions, ScansOptions
from config.settings import Settings


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("OMS_"):
        raise argparse.ArgumentTypeError(f"expected OMS_NAME=value, got {text!r}")
    return key, value


def _phases(text: str) -> tuple[str, ...]:
    chosen = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = set(chosen) - {*PHASES, "none"}
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown phase(s) {sorted(unknown)}; known: {PHASES}")
    return chosen


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="env",
        type=_setting,
        action="append",
        default=[],
        metavar="OMS_NAME=VALUE",
        help="a setting for the worker and API processes, e.g. OMS_WORKFLOW_SANDBOX=false",
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra `temporal server start-dev` argument (repeat for each word)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="read model in a throwaway PostgreSQL database on 127.0.0.1:5432 (default SQLite)",
    )
    parser.add_argument(
        "--server-db", type=Path, default=None, help="persistent dev-server store (default memory)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="results folder")
    parser.add_argument("--label", default="", help="a word added to the results' file names")


def _common_options(args: argparse.Namespace) -> dict[str, Any]:
    """What every benchmark takes from the options `_common` declares."""
    return {
        "env": dict(args.env),
        "server_args": tuple(args.server_arg),
        "postgres": args.postgres,
        "server_db": args.server_db,
        "out_dir": args.out,
        "label": args.label,
    }


def cmd_run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from bench.results import markdown, write
    from bench.run import run

    options = RunOptions(
        orders=args.orders,
        warmup=args.warmup,
        concurrency=args.concurrency,
        baseline=args.baseline,
        phases=args.phases,
        half_orders=args.half_orders,
        scans=args.tracking_events,
        history_sample=args.history_sample,
        compare=tuple(args.compare),
        compare_code=tuple(args.compare_code),
        compare_orders=args.compare_orders,
        after_sales_seconds=args.after_sales,
        **_common_options(args),
    )
    results = asyncio.run(run(options))
    json_path, md_path = write(results, options.out_dir)
    print(markdown(results))
    print(f"results: {json_path} and {md_path}", file=sys.stderr)
    return 0


def cmd_scale(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from bench.scale import scale

    options = ScaleOptions(
        open_orders=args.open,
        concurrency=args.concurrency,
        samples=args.samples,
        **_common_options(args),
    )
    return asyncio.run(scale(options))


def cmd_scans(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from bench.scans import scans

    options = ScansOptions(
        scans=args.scans,
        after_sales_seconds=args.after_sales,
        **_common_options(args),
    )
    asyncio.run(scans(options))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = sub.add_parser(
        "run", help="baseline, orders via client and HTTP, half load, histories, replay"
    )
    run.add_argument("--orders", type=int, default=300, help="measured orders per phase")
    run.add_argument("--warmup", type=int, default=30, help="unmeasured items first, per phase")
    run.add_argument("--concurrency", type=int, default=50, help="items in flight when saturating")
    run.add_argument("--baseline", type=int, default=None, help="baseline workflows (= --orders)")
    run.add_argument(
        "--phases",
        type=_phases,
        default=PHASES,
        help=f"comma-separated, from {','.join(PHASES)} (or none)",
    )
    run.add_argument("--half-orders", type=int, default=None, help="orders at half load")
    run.add_argument("--tracking-events", type=int, default=1, help="carrier scans per order")
    run.add_argument("--history-sample", type=int, default=200, help="histories fetched")
    run.add_argument(
        "--compare",
        action="append",
        default=[],
        choices=sorted(OPTIMISATIONS),
        help="measure this change before/after on fresh systems (repeatable)",
    )
    run.add_argument(
        "--compare-code",
        action="append",
        default=[],
        metavar="BEFORE[:AFTER]",
        help="worker and API at git revision BEFORE against AFTER (default: working tree)",
    )
    run.add_argument("--compare-orders", type=int, default=200, help="orders per comparison side")
    run.add_argument(
        "--after-sales", type=float, default=2.0, help="return/exchange window in seconds"
    )
    _common(run)
    run.set_defaults(fn=cmd_run)

    scale = sub.add_parser("scale", help="many open orders at review: worker memory, latency")
    scale.add_argument("--open", type=int, default=10_000, help="orders left waiting at review")
    scale.add_argument("--concurrency", type=int, default=100, help="order starts in flight")
    scale.add_argument(
        "--samples", type=int, default=20, help="reviews timed per cache state (cached, evicted)"
    )
    _common(scale)
    scale.set_defaults(fn=cmd_scale)

    scans = sub.add_parser(
        "scans", help="one order's history with N carrier scans, against Temporal's limits"
    )
    scans.add_argument("--scans", type=int, default=50, help="carrier scans, the last delivered")
    scans.add_argument(
        "--after-sales", type=float, default=2.0, help="return/exchange window in seconds"
    )
    _common(scans)
    scans.set_defaults(fn=cmd_scans)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_commands(top.add_subparsers(dest="command", required=True))
    return top


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`oms bench ...` (oms/cli.py COMMAND_MODULES)."""
    bench = subparsers.add_parser("bench", help="the load generator (docs/performance.md)")
    add_commands(bench.add_subparsers(dest="bench", required=True))
