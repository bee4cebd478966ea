"""`oms audit`: replay histories, check conformance, show an order's timeline, list items.

    oms audit replay [FILE|DIR ...] [--query Q] [--since T] [--until T]
    oms audit check  [FILE|DIR ...] [--query Q] [--since T] [--until T] [--format table|json|csv]
    oms audit timeline ORDER_ID [--file FILE] [--json]
    oms audit items [--department D] [--state open|closed|all]

Without files, histories come from the Temporal server of the settings: every
run of our workflow types, narrowed by a visibility query (`--query
'OrderStatus = "cancelled"'`) and a start-time range. Exit status: replay 1 on
any nondeterminism (2 on other failures); check 1 when something was found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from audit.check import check_histories, record_findings
from audit.replay import ReplaySummary, replay_by_release, with_keys_beside
from audit.report import (
    ProgressBar,
    findings_csv,
    findings_json,
    findings_table,
    replay_json,
    replay_table,
    table,
    timeline_table,
)
from config.settings import Settings
from db.engine import Database
from db.rectification import list_items
from db.supervision import facts as supervision_facts
from domain.actors import Department
from domain.history import ORDER_WORKFLOW
from domain.ids import order_workflow_id
from domain.supervision import find_lapses
from domain.timeline import build_timeline
from workers.client import connect, settings_converter
from workers.history import (
    HistoryError,
    SourcedHistory,
    count_histories,
    decode_history,
    histories_from_files,
    histories_from_server,
    history_files,
    load_history_file,
    order_history_from_server,
    visibility_query,
)
from workers.worker import WORKFLOWS


def _when(text: str) -> datetime:
    """An ISO date or time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _add_sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", type=Path, help="exported history JSON files or folders of them"
    )
    parser.add_argument("--query", help="a visibility query, e.g. 'OrderStatus = \"completed\"'")
    parser.add_argument("--since", type=_when, help="runs started at or after (ISO, UTC)")
    parser.add_argument("--until", type=_when, help="runs started before (ISO, UTC)")
    parser.add_argument("--limit", type=int, help="at most this many runs from the server")


class Sources:
    """The histories an audit command reads, and how many there are (for the progress bar)."""

    def __init__(self, histories: AsyncIterator[SourcedHistory], total: int | None) -> None:
        self.histories = histories
        self.total = total


async def _sources(args: argparse.Namespace, settings: Settings, types: Sequence[str]) -> Sources:
    if args.paths:
        files = history_files(args.paths)
        return Sources(histories_from_files(files), len(files))
    client = await connect(settings)
    query = visibility_query(
        workflow_types=types, query=args.query, since=args.since, until=args.until
    )
    total = await count_histories(client, query)
    if args.limit is not None:
        total = min(total, args.limit)
    return Sources(histories_from_server(client, query, limit=args.limit), total)


# --- replay ---------------------------------------------------------------------------------


async def _replay(args: argparse.Namespace, settings: Settings) -> ReplaySummary:
    if args.paths:
        settings = with_keys_beside(settings, history_files(args.paths))
    sources = await _sources(args, settings, [w.__name__ for w in WORKFLOWS])
    progress = ProgressBar("replaying", sources.total)
    try:
        return await replay_by_release(
            sources.histories,
            settings,
            on_outcome=progress.advance,
            converter=settings_converter(settings),
        )
    finally:
        progress.close()


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    try:
        summary = asyncio.run(_replay(args, settings))
    except HistoryError as error:
        print(f"oms audit replay: {error}", file=sys.stderr)
        return 2
    print(replay_json(summary) if args.json else replay_table(summary))
    if summary.nondeterministic:
        return 1
    return 2 if summary.failed else 0


# --- check ----------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> Any:
        sources = await _sources(args, settings, [ORDER_WORKFLOW])
        progress = ProgressBar("checking", sources.total)
        try:
            return await check_histories(
                sources.histories,
                settings_converter(settings),
                on_history=lambda _: progress.advance(),
            )
        finally:
            progress.close()

    try:
        result = asyncio.run(run())
    except HistoryError as error:
        print(f"oms audit check: {error}", file=sys.stderr)
        return 2
    if args.record and result.findings:
        db = Database(settings.resolved_database_url)
        db.create_schema()
        try:
            new = record_findings(
                db, result.findings, datetime.now(UTC), settings.rectification_deadline
            )
        finally:
            db.dispose()
        print(f"{new} new rectification item(s) recorded", file=sys.stderr)
    rendered = {"table": findings_table, "json": findings_json, "csv": findings_csv}[args.format](
        result
    )
    if args.output:
        args.output.write_text(rendered if rendered.endswith("\n") else rendered + "\n")
    else:
        print(rendered)
    return 1 if result.findings else 0


# --- timeline -------------------------------------------------------------------------------


def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> Any:
        if args.file:
            history = load_history_file(args.file)
        else:
            client = await connect(settings)
            history = await order_history_from_server(client, order_workflow_id(args.order_id))
        return build_timeline(await decode_history(history, settings_converter(settings)))

    try:
        timeline = asyncio.run(run())
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            print(f"no order {args.order_id}", file=sys.stderr)
            return 1
        raise
    except HistoryError as error:
        print(f"oms audit timeline: {error}", file=sys.stderr)
        return 2
    print(timeline.model_dump_json(indent=2) if args.json else timeline_table(timeline))
    return 0


# --- rectification items --------------------------------------------------------------------


def cmd_items(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.resolved_database_url)
    db.create_schema()
    try:
        with db.read() as conn:
            items = list_items(
                conn,
                department=args.department,
                state=None if args.state == "all" else args.state,
            )
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(items, indent=2, default=str))
        return 0
    rows = [
        (
            i["department"],
            f"{i['due_at']:%Y-%m-%d}",
            i["state"],
            i["order_id"],
            i["event_seq"],
            i["rule"],
            i["message"],
        )
        for i in items
    ]
    print(table(rows, ("department", "due", "state", "order_id", "seq", "rule", "message")))
    return 0


# --- lapses in the read model (P8.1; domain/supervision.py) ------------------------------------


def cmd_lapses(args: argparse.Namespace, settings: Settings) -> int:
    """Every lapse the supervision rules find now (read only: runs are stored by the schedule
    or `POST /api/v1/supervision/runs`). Exit status 1 when anything was found."""
    db = Database(settings.resolved_database_url)
    db.create_schema()
    now = datetime.now(UTC)
    try:
        with db.read() as conn:
            lapses = find_lapses(supervision_facts(conn, now), now, settings.supervision)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps([lapse.model_dump(mode="json") for lapse in lapses], indent=2))
    else:
        rows = [
            (
                lapse.severity.value,
                lapse.department.value,
                lapse.order_id or "",
                lapse.rule.value,
                lapse.clause,
                f"{lapse.at:%Y-%m-%d %H:%M}",
                lapse.message,
            )
            for lapse in lapses
        ]
        headers = ("severity", "department", "order_id", "rule", "clause", "at", "message")
        print(table(rows, headers))
    return 1 if lapses else 0


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="replay histories, conformance audits (P8.1)")
    sub = audit.add_subparsers(dest="audit", required=True)

    replay = sub.add_parser("replay", help="replay histories with today's workflow code")
    _add_sources(replay)
    replay.add_argument("--json", action="store_true", help="the summary as JSON")
    replay.set_defaults(fn=cmd_replay)

    check = sub.add_parser("check", help="check that orders followed the policy")
    _add_sources(check)
    check.add_argument("--format", choices=("table", "json", "csv"), default="table")
    check.add_argument("--output", type=Path, help="write the report to this file")
    check.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="do not open rectification items in the database",
    )
    check.set_defaults(fn=cmd_check)

    timeline = sub.add_parser("timeline", help="an order's steps, from its workflow history")
    timeline.add_argument("order_id")
    timeline.add_argument("--file", type=Path, help="read an exported history instead")
    timeline.add_argument("--json", action="store_true")
    timeline.set_defaults(fn=cmd_timeline)

    lapses = sub.add_parser("lapses", help="lapses in the read model now (late tasks, ...)")
    lapses.add_argument("--json", action="store_true")
    lapses.set_defaults(fn=cmd_lapses)

    items = sub.add_parser("items", help="rectification items from past audits")
    items.add_argument("--department", choices=[d.value for d in Department])
    items.add_argument("--state", choices=("open", "closed", "all"), default="open")
    items.add_argument("--json", action="store_true")
    items.set_defaults(fn=cmd_items)
