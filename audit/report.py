"""How audit results are shown: terminal tables, JSON, CSV, and a progress bar."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from audit.check import AuditResult
from audit.replay import ReplayOutcome, ReplaySummary, Verdict
from audit.rules import RULES, Finding
from domain.timeline import OrderTimeline

FINDING_COLUMNS = ("order_id", "seq", "rule", "clause", "department", "at", "message")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain fixed-width table; the last column is left as long as it is."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers) - 1)]
    lines = []
    for n, row in enumerate(cells):
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append("  ".join(padded).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(row[-1]))
    return "\n".join(lines)


def _finding_row(finding: Finding) -> dict[str, Any]:
    row = finding.model_dump(mode="json")
    row["title"] = RULES[finding.rule].title
    return row


def findings_table(result: AuditResult) -> str:
    rows = [
        (
            f.order_id,
            f.seq,
            f.rule.value,
            f.clause,
            f.department.value,
            f"{f.at:%Y-%m-%d %H:%M}",
            f.message,
        )
        for f in result.findings
    ]
    lines = [table(rows, FINDING_COLUMNS)] if rows else []
    lines.append(_audit_summary(result))
    return "\n".join(lines)


def _audit_summary(result: AuditResult) -> str:
    by_rule: dict[str, int] = {}
    for f in result.findings:
        by_rule[f.rule.value] = by_rule.get(f.rule.value, 0) + 1
    counts = ", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items())) or "none"
    text = f"{result.orders_checked} order(s) checked, {len(result.findings)} finding(s) ({counts})"
    if result.unreadable:
        text += f"; {len(result.unreadable)} unreadable: " + "; ".join(result.unreadable[:5])
    return text


def findings_json(result: AuditResult) -> str:
    return json.dumps(
        {
            "orders_checked": result.orders_checked,
            "skipped": result.skipped,
            "unreadable": result.unreadable,
            "findings": [_finding_row(f) for f in result.findings],
        },
        indent=2,
    )


def findings_csv(result: AuditResult) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*FINDING_COLUMNS, "title"], extrasaction="ignore")
    writer.writeheader()
    for finding in result.findings:
        writer.writerow(_finding_row(finding))
    return out.getvalue()


def replay_table(summary: ReplaySummary) -> str:
    bad = [o for o in summary.outcomes if o.verdict is not Verdict.REPLAYED]
    lines: list[str] = []
    if bad:
        rows = [
            (
                o.verdict.value,
                o.release,
                o.workflow_id,
                o.workflow_type,
                o.diverging_event,
                o.message[:200],
            )
            for o in bad
        ]
        header = ("verdict", "release", "workflow_id", "type", "first diverging", "message")
        lines.append(table(rows, header))
    by_release: dict[str, int] = {}
    for outcome in summary.outcomes:
        by_release[outcome.release] = by_release.get(outcome.release, 0) + 1
    releases = ", ".join(
        f"{n} with {build or '?'}'s code" for build, n in sorted(by_release.items())
    )
    lines.append(
        f"replayed {summary.replayed}, nondeterministic {summary.nondeterministic}, "
        f"failed {summary.failed} of {len(summary.outcomes)} history(ies) in "
        f"{summary.seconds:.2f} s ({summary.rate:.1f} histories/s)"
        + (f"; {releases}" if releases else "")
    )
    return "\n".join(lines)


def replay_json(summary: ReplaySummary) -> str:
    return json.dumps(
        {
            "replayed": summary.replayed,
            "nondeterministic": summary.nondeterministic,
            "failed": summary.failed,
            "seconds": round(summary.seconds, 3),
            "histories_per_second": round(summary.rate, 2),
            "outcomes": [
                {
                    "source": o.source,
                    "workflow_id": o.workflow_id,
                    "run_id": o.run_id,
                    "workflow_type": o.workflow_type,
                    "verdict": o.verdict.value,
                    "diverging_event_id": o.diverging_event_id,
                    "diverging_event_type": o.diverging_event_type,
                    "release": o.release,
                    "message": o.message,
                }
                for o in summary.outcomes
            ],
        },
        indent=2,
    )


def timeline_table(timeline: OrderTimeline) -> str:
    rows = [
        (
            s.seq,
            f"{s.at:%Y-%m-%d %H:%M:%S}",
            s.kind.value,
            s.status.value,
            s.actor_id or "",
            s.department or "",
            s.outcome + (f" — {s.note}" if s.note else ""),
        )
        for s in timeline.steps
    ]
    state = f"closed {timeline.closed_at:%Y-%m-%d %H:%M:%S}" if timeline.closed else "running"
    header = (
        f"order {timeline.order_id} ({timeline.workflow_id}, {state}, status {timeline.status})"
    )
    return (
        header
        + "\n"
        + table(rows, ("seq", "at", "step", "status", "actor", "department", "outcome"))
    )


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.bad = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()

    def advance(self, outcome: ReplayOutcome | None = None) -> None:
        self.done += 1
        if outcome is not None and outcome.verdict is not Verdict.REPLAYED:
            self.bad += 1
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = 30
        if self.total:
            filled = min(width, width * self.done // self.total)
            bar = "#" * filled + "-" * (width - filled)
            text = f"\r{self.label} [{bar}] {self.done}/{self.total}"
        else:
            text = f"\r{self.label} {self.done}"
        if self.bad:
            text += f"  {self.bad} not replayed"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
