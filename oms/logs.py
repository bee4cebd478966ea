"""One logging setup for every process: JSON lines with the order id and the actor where known.

Each line is one JSON object: `ts`, `level`, `logger`, `message`, and when the
record carries them `order_id`, `actor`, `department`, `workflow_id`, `run_id`,
`activity`, plus any other fields passed with `extra=`. Workflow and activity
log records of the Temporal SDK carry their workflow id, from which the order id
follows (`order-<order_id>`). When a span is current (tracing on, workers/tracing.py)
the line carries its `trace_id` and `span_id` (hex, as trace viewers show them).
`OMS_LOG_FORMAT=text` gives plain lines instead.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from domain.ids import order_id_from_workflow_id

#: Attributes every LogRecord has; anything else on a record came in through `extra=`
#: (uvicorn adds a copy of its message with terminal colours: not for a log file).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        # The SDK's workflow and activity loggers attach a dict of context: flatten what matters.
        for context_key in ("temporal_workflow", "temporal_activity"):
            context = entry.pop(context_key, None)
            if isinstance(context, dict):
                entry.setdefault("workflow_id", context.get("workflow_id"))
                entry.setdefault("run_id", context.get("run_id"))
                entry.setdefault("workflow_type", context.get("workflow_type"))
                if "activity_type" in context:
                    entry.setdefault("activity", context.get("activity_type"))
        if "order_id" not in entry and isinstance(entry.get("workflow_id"), str):
            order_id = order_id_from_workflow_id(entry["workflow_id"])
            if order_id:
                entry["order_id"] = order_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry.setdefault("trace_id", format(span.trace_id, "032x"))
            entry.setdefault("span_id", format(span.span_id, "016x"))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """Send every logger's records to stderr in the chosen format (replaces earlier handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
