"""The conformance audit (P8.1): read the histories, apply the rules, record what was found."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.converter import DataConverter

from audit.rules import Finding, check_order
from db.engine import Database
from db.rectification import open_items
from workers.history import HistoryError, SourcedHistory, decode_history


@dataclass
class AuditResult:
    orders_checked: int = 0
    #: Histories of other workflow types (restocks, backups): nothing to check there.
    skipped: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Histories or steps that could not be read: an auditor must look at them by hand.
    unreadable: list[str] = field(default_factory=list)


async def check_histories(
    histories: AsyncIterator[SourcedHistory],
    converter: DataConverter,
    *,
    on_history: Callable[[SourcedHistory], None] | None = None,
) -> AuditResult:
    result = AuditResult()
    async for item in histories:
        if on_history is not None:
            on_history(item)
        try:
            decoded = await decode_history(item.history, converter)
        except HistoryError as error:
            result.unreadable.append(f"{item.source}: {error}")
            continue
        result.unreadable += [f"{item.source}: {problem}" for problem in decoded.unreadable]
        if not decoded.is_order:
            result.skipped += 1
            continue
        result.orders_checked += 1
        result.findings += check_order(decoded.order_id or decoded.workflow_id, decoded.events)
    result.findings.sort(key=lambda f: (f.order_id, f.seq, f.rule.value))
    return result


def rectification_row(finding: Finding, found_at: datetime, allowed: timedelta) -> dict[str, Any]:
    return {
        "order_id": finding.order_id,
        "rule": finding.rule.value,
        "event_seq": finding.seq,
        "clause": finding.clause,
        "department": finding.department.value,
        "message": finding.message[:500],
        "event_at": finding.at,
        "found_at": found_at,
        "due_at": found_at + allowed,
        "state": "open",
    }


def record_findings(
    db: Database, findings: Sequence[Finding], found_at: datetime, allowed: timedelta
) -> int:
    """A rectification request per finding, due `allowed` after it was found (P8.1)."""
    rows = [rectification_row(f, found_at, allowed) for f in findings]
    with db.write() as conn:
        return open_items(conn, rows)
