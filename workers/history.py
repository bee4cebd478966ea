"""Reading workflow histories: from the server or from exported JSON files, and decoding them.

Where histories come from: every run matching a visibility query (all order
workflows by default, or a time range), or JSON files exported with
`temporal workflow show --output json`, the Web UI's download, or
`WorkflowHistory.to_json()`. What an auditor needs from a history is decoded
with the project's one data converter (`workers.client.data_converter`):

- the start input of an `OrderWorkflow` (the order, the policy in force, the submitter);
- the order's events: every read-model write is the local activity
  `apply_order_changes`, whose result (a `RecordedChanges`, kept in a
  `MarkerRecorded` event) lists the events of that step (docs/events.md);
- the staff actions as Updates: who asked for what, and the answer;
- how the run ended.

So the order's record survives the loss of the read model (P6.1).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, JsonValue
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from config.command_keys import CommandKeys
from domain.contracts import OrderWorkflowInput
from domain.events import OrderEvent
from domain.history import Closing, DecodedHistory, StaffRequest
from domain.order.writes import RecordedChanges

#: The marker the SDK records for a local activity, and the activity that writes the record.
LOCAL_ACTIVITY_MARKER = "core_local_activity"
RECORD_ACTIVITY = "apply_order_changes"

_CLOSE_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed_out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
}


class HistoryError(Exception):
    """A file or server answer that is not a workflow history we can read."""


@dataclass(frozen=True)
class SourcedHistory:
    """A history and where it came from (a file path, or `server`), for reports."""

    history: WorkflowHistory
    source: str

    @property
    def workflow_type(self) -> str:
        return workflow_type_of(self.history)


def workflow_type_of(history: WorkflowHistory) -> str:
    if not history.events:
        return ""
    first = history.events[0]
    if not first.HasField("workflow_execution_started_event_attributes"):
        return ""
    return str(first.workflow_execution_started_event_attributes.workflow_type.name)


# --- where histories come from ---------------------------------------------------------------


def history_files(paths: Iterable[Path]) -> list[Path]:
    """The JSON files named, folders expanded to the `*.json` files in and below them (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise HistoryError(f"{path}: no such file or folder")
    return found


#: Beside exported histories: the public keys that verify the commands they carry
#: (`{key id: base64}`), without which a replay would refuse those commands.
PUBLIC_COMMAND_KEYS = "command-keys.pub"


def save_public_command_keys(folder: Path, keys: CommandKeys) -> Path:
    path = folder / PUBLIC_COMMAND_KEYS
    path.write_text(json.dumps(keys.public_strings(), indent=2, sort_keys=True) + "\n")
    return path


def public_command_keys_beside(files: Iterable[Path]) -> dict[str, str]:
    """The public command keys found in the folders of these history files and above them
    (up to the first folder that has none), merged: base64 by key id."""
    found: dict[str, str] = {}
    seen: set[Path] = set()
    for file in files:
        for folder in file.resolve().parents:
            if folder in seen:
                break
            seen.add(folder)
            keys = folder / PUBLIC_COMMAND_KEYS
            if not keys.exists():
                break
            try:
                found.update(json.loads(keys.read_text()))
            except ValueError as error:
                raise HistoryError(f"{keys}: not a JSON key list ({error})") from None
    return found


def load_history_file(path: Path) -> WorkflowHistory:
    """A history exported by the CLI, the Web UI, or `WorkflowHistory.to_json()`."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HistoryError(f"{path}: not a JSON file ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list) or not raw["events"]:
        raise HistoryError(f"{path}: no `events` list; export with --output json")
    try:
        parsed = WorkflowHistory.from_json(path.stem, raw)
    except Exception as error:  # protobuf's parse errors have no common base worth naming
        raise HistoryError(f"{path}: not a workflow history ({error})") from None
    first = parsed.events[0]
    if not first.HasField("workflow_execution_started_event_attributes"):
        raise HistoryError(f"{path}: the first event is not the workflow's start")
    # Exports carry no workflow id of their own; recent servers record it in the start event.
    workflow_id = first.workflow_execution_started_event_attributes.workflow_id or path.stem
    return WorkflowHistory(workflow_id, parsed.events)


async def histories_from_files(paths: Sequence[Path]) -> AsyncIterator[SourcedHistory]:
    for path in paths:
        yield SourcedHistory(load_history_file(path), str(path))


def visibility_query(
    *,
    workflow_types: Sequence[str] = (),
    query: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """A list filter: the given types, the auditor's own query, and a start-time range."""
    clauses: list[str] = []
    if workflow_types:
        names = ", ".join(f'"{name}"' for name in workflow_types)
        clauses.append(f"WorkflowType IN ({names})")
    if query:
        clauses.append(f"({query})")
    if since is not None:
        clauses.append(f'StartTime >= "{since.isoformat()}"')
    if until is not None:
        clauses.append(f'StartTime < "{until.isoformat()}"')
    return " AND ".join(clauses)


async def count_histories(client: Client, query: str) -> int:
    return (await client.count_workflows(query or None)).count


async def histories_from_server(
    client: Client, query: str, *, limit: int | None = None
) -> AsyncIterator[SourcedHistory]:
    """Every run matching the query (newest first), its full history fetched one by one."""
    seen = 0
    async for execution in client.list_workflows(query or None):
        if limit is not None and seen >= limit:
            return
        seen += 1
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        yield SourcedHistory(await handle.fetch_history(), "server")


async def order_history_from_server(client: Client, order_workflow_id: str) -> WorkflowHistory:
    """The latest run of one order's workflow (RPCError NOT_FOUND when there is none)."""
    return await client.get_workflow_handle(order_workflow_id).fetch_history()


# --- what a history says ---------------------------------------------------------------------


def _at(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


async def _decode_one(converter: DataConverter, payloads: Payloads, hint: type | None) -> Any:
    if not payloads.payloads:
        return None
    values = await converter.decode(list(payloads.payloads), [hint] if hint else None)
    return values[0] if values else None


def _marker_activity_type(details: Payloads) -> str:
    """The local activity's type, from the SDK core's marker data (plain JSON, not encoded)."""
    if not details.payloads:
        return ""
    try:
        data = json.loads(details.payloads[0].data)
    except ValueError:
        return ""
    return str(data.get("activity_type", "")) if isinstance(data, dict) else ""


def _jsonable(value: Any) -> JsonValue:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    plain: JsonValue = json.loads(json.dumps(value, default=str))
    return plain


async def decode_history(history: WorkflowHistory, converter: DataConverter) -> DecodedHistory:
    """Decode a run's history; raises HistoryError when it does not start like a workflow run."""
    if not history.events or not history.events[0].HasField(
        "workflow_execution_started_event_attributes"
    ):
        raise HistoryError(
            f"{history.workflow_id}: the history does not start with the start event"
        )
    first = history.events[0]
    started = first.workflow_execution_started_event_attributes
    decoded = DecodedHistory(
        workflow_id=history.workflow_id,
        run_id=started.original_execution_run_id,
        workflow_type=started.workflow_type.name,
        started_at=_at(first),
    )
    if decoded.is_order:
        try:
            decoded.start = await _decode_one(converter, started.input, OrderWorkflowInput)
        except Exception as error:  # an input of an older shape is reported, not fatal
            decoded.unreadable.append(f"event 1: start input: {error}")
    events: dict[int, OrderEvent] = {}
    requests: dict[str, StaffRequest] = {}
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name != LOCAL_ACTIVITY_MARKER or not {"data", "result"} <= set(
                marker.details
            ):
                continue
            if _marker_activity_type(marker.details["data"]) != RECORD_ACTIVITY:
                continue
            try:
                recorded: RecordedChanges = await _decode_one(
                    converter, marker.details["result"], RecordedChanges
                )
            except Exception as error:
                decoded.unreadable.append(f"event {event.event_id}: {RECORD_ACTIVITY}: {error}")
                continue
            for order_event in recorded.events:
                events.setdefault(order_event.seq, order_event)
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            accepted = event.workflow_execution_update_accepted_event_attributes
            request = accepted.accepted_request
            argument: Any = None
            try:
                argument = await _decode_one(converter, request.input.args, None)
            except Exception as error:
                decoded.unreadable.append(
                    f"event {event.event_id}: update {request.input.name}: {error}"
                )
            requests[request.meta.update_id] = StaffRequest(
                update_id=request.meta.update_id,
                name=request.input.name,
                accepted_at=_at(event),
                input=_jsonable(argument),
            )
        elif event.HasField("workflow_execution_update_completed_event_attributes"):
            completed = event.workflow_execution_update_completed_event_attributes
            found = requests.get(completed.meta.update_id)
            if found is None:
                continue
            found.completed_at = _at(event)
            if completed.outcome.HasField("failure"):
                found.failure = completed.outcome.failure.message
            else:
                found.result = _jsonable(
                    await _decode_one(converter, completed.outcome.success, None)
                )
        elif event.event_type in _CLOSE_EVENTS:
            decoded.closing = await _closing(event, converter)
    decoded.events = [events[seq] for seq in sorted(events)]
    decoded.requests = sorted(requests.values(), key=lambda r: r.accepted_at)
    return decoded


async def _closing(event: HistoryEvent, converter: DataConverter) -> Closing:
    how = _CLOSE_EVENTS[EventType.ValueType(event.event_type)]
    closing = Closing(how=how, at=_at(event))
    if event.HasField("workflow_execution_completed_event_attributes"):
        result = event.workflow_execution_completed_event_attributes.result
        closing.result = _jsonable(await _decode_one(converter, result, None))
    elif event.HasField("workflow_execution_failed_event_attributes"):
        closing.failure = event.workflow_execution_failed_event_attributes.failure.message
    elif event.HasField("workflow_execution_terminated_event_attributes"):
        closing.failure = event.workflow_execution_terminated_event_attributes.reason
    return closing
