"""Replaying recorded histories with the current code (architecture rule 6: change safety).

Each history is fed to `temporalio.worker.Replayer` with the workflows, data
converter and sandbox the workers use. A history replays cleanly when today's
code issues the same commands the recorded run did; if not, the run is
*nondeterministic* (its running orders would fail their next workflow task) and
the first event where the code and the history part ways is reported. Any other
failure (an exception in workflow code, an unknown workflow type) is *failed*.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from config.settings import Settings
from workers.client import data_converter, settings_converter
from workers.history import SourcedHistory, public_command_keys_beside, workflow_type_of
from workers.release_code import (
    ReleaseCodeUnavailable,
    oms_command,
    release_environment,
    release_tree,
)
from workers.worker import WORKFLOWS, command_trust, workflow_runner
from workflows.releases import BUILD_ID, Release, UnknownRelease, release, release_of


class Verdict(StrEnum):
    REPLAYED = "replayed"
    NONDETERMINISTIC = "nondeterministic"
    FAILED = "failed"


@dataclass(frozen=True)
class ReplayOutcome:
    source: str
    workflow_id: str
    run_id: str
    workflow_type: str
    verdict: Verdict
    message: str = ""
    #: The first event where the code and the history part ways (nondeterminism only).
    diverging_event_id: int | None = None
    diverging_event_type: str | None = None
    #: The release whose code replayed it (`workflows.releases`).
    release: str = ""

    @property
    def diverging_event(self) -> str:
        if self.diverging_event_id is None:
            return ""
        return f"event {self.diverging_event_id} {self.diverging_event_type or ''}".strip()


@dataclass
class ReplaySummary:
    outcomes: list[ReplayOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, verdict: Verdict) -> int:
        return sum(1 for o in self.outcomes if o.verdict is verdict)

    @property
    def replayed(self) -> int:
        return self.count(Verdict.REPLAYED)

    @property
    def nondeterministic(self) -> int:
        return self.count(Verdict.NONDETERMINISTIC)

    @property
    def failed(self) -> int:
        return self.count(Verdict.FAILED)

    @property
    def rate(self) -> float:
        """Histories replayed per second of wall time."""
        return len(self.outcomes) / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.nondeterministic == 0 and self.failed == 0


#: Where the SDK core names the event it could not match ("HistoryEvent(id: 9, ...").
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)")


def _event_type(history: WorkflowHistory, event_id: int) -> str | None:
    for event in history.events:
        if event.event_id == event_id:
            return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return None


def _truncated(history: WorkflowHistory, end: int) -> WorkflowHistory:
    return WorkflowHistory(history.workflow_id, list(history.events[: end + 1]))


async def _replays(replay: Replayer, history: WorkflowHistory) -> bool:
    result = await replay.replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure is None


async def locate_divergence(replay: Replayer, history: WorkflowHistory, message: str) -> int | None:
    """The first event where today's code and the recorded run part ways.

    The SDK names the event in some messages; otherwise the history is cut at
    each workflow task start in turn (bisecting): a cut replays as long as every
    workflow task before it issued the recorded commands. The first task whose
    commands differ is found, and its first recorded command event is the answer.
    """
    named = _EVENT_ID.search(message)
    if named is not None:
        return int(named.group(1))
    events = history.events
    task_starts = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    # Invariant: the cut at task_starts[good] replays; at task_starts[bad] (or the end) it does not.
    good, bad = 0, len(task_starts)
    if not task_starts or not await _replays(replay, _truncated(history, task_starts[0])):
        return int(events[0].event_id) if events else None
    while bad - good > 1:
        middle = (good + bad) // 2
        if await _replays(replay, _truncated(history, task_starts[middle])):
            good = middle
        else:
            bad = middle
    # Workflow task `good` is the last one replayed without being checked: its commands differ.
    for event in events[task_starts[good] + 1 :]:
        if event.event_type not in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        ):
            return int(event.event_id)
    return None


#: What the SDK core prints around its own message; the message itself is what people read.
_CORE_MESSAGE = re.compile(r'message: "(.*?)", source')


def _readable(failure: Exception) -> str:
    text = str(failure)
    found = _CORE_MESSAGE.search(text)
    return found.group(1) if found else text


def _outcome(
    item: SourcedHistory,
    verdict: Verdict,
    message: str = "",
    event_id: int | None = None,
) -> ReplayOutcome:
    history = item.history
    return ReplayOutcome(
        source=item.source,
        workflow_id=history.workflow_id,
        run_id=history.run_id if history.events else "",
        workflow_type=workflow_type_of(history),
        verdict=verdict,
        message=message,
        diverging_event_id=event_id,
        diverging_event_type=_event_type(history, event_id) if event_id else None,
        release=BUILD_ID,
    )


async def _explain(replay: Replayer, item: SourcedHistory, failure: Exception) -> ReplayOutcome:
    message = _readable(failure)
    if not isinstance(failure, NondeterminismError):
        return _outcome(item, Verdict.FAILED, message)
    event_id = await locate_divergence(replay, item.history, str(failure))
    return _outcome(item, Verdict.NONDETERMINISTIC, message, event_id)


@lru_cache(maxsize=1)
def _quiet_runtime() -> Runtime:
    """A runtime whose core logs only errors: a nondeterminism is our finding, not a warning."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


def replayer(
    workflows: Sequence[type] = WORKFLOWS,
    converter: DataConverter | None = None,
    settings: Settings | None = None,
) -> Replayer:
    """A replayer set up like the workers: same workflows, data converter, sandbox, and the
    check of every command's signature (with the public keys of the settings: a history
    replays to the same verdicts only with the keys that signed its commands).

    Encrypted histories need the converter with the keys (`settings_converter`); the
    plaintext default reads the recorded test fixtures."""
    return Replayer(
        workflows=list(workflows),
        data_converter=converter or data_converter(None),
        workflow_runner=workflow_runner(),
        runtime=_quiet_runtime(),
        interceptors=[command_trust(settings or Settings())],
    )


def with_keys_beside(settings: Settings, files: Sequence[Path]) -> Settings:
    """The settings with the public command keys kept beside these history files added:
    exported histories replay with the keys that signed them, wherever they were run."""
    found = public_command_keys_beside(files)
    if not found:
        return settings
    merged = {**settings.command_key_set().public_strings(), **found}
    return settings.model_copy(update={"command_keys": merged})


def release_of_history(history: WorkflowHistory) -> Release:
    """The release that ran this history: the build its workflow tasks were completed by
    (none for a run from before Worker Versioning)."""
    for event in history.events:
        if event.HasField("workflow_task_completed_event_attributes"):
            build_id = event.workflow_task_completed_event_attributes.deployment_version.build_id
            if build_id:
                return release(build_id)
    return release_of(None)


async def replay_by_release(
    histories: AsyncIterator[SourcedHistory],
    settings: Settings,
    *,
    on_outcome: Callable[[ReplayOutcome], None] | None = None,
    converter: DataConverter | None = None,
) -> ReplaySummary:
    """Replay each history with the code of the release that ran it (architecture rule 6):
    this checkout's for its own release, an earlier release's tree for its histories
    (`workers.release_code`). A history of no known release is failed."""
    started = time.perf_counter()
    converter = converter or settings_converter(settings)
    groups: dict[str, list[SourcedHistory]] = {}
    summary = ReplaySummary()

    def report(outcome: ReplayOutcome) -> None:
        summary.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    async for item in histories:
        try:
            groups.setdefault(release_of_history(item.history).build_id, []).append(item)
        except UnknownRelease as unknown:
            report(_outcome(item, Verdict.FAILED, str(unknown)))
    for build_id, items in groups.items():
        if build_id == BUILD_ID:
            here = await replay_histories(
                _each(items), on_outcome=report, converter=converter, settings=settings
            )
            del here  # its outcomes were reported one by one
        else:
            for outcome in await _replay_elsewhere(release(build_id), items, settings):
                report(outcome)
    summary.seconds = time.perf_counter() - started
    return summary


async def _each(items: list[SourcedHistory]) -> AsyncIterator[SourcedHistory]:
    for item in items:
        yield item


async def _replay_elsewhere(
    earlier: Release, items: list[SourcedHistory], settings: Settings
) -> list[ReplayOutcome]:
    """Replay with an earlier release's own `oms audit replay`, in its own tree."""
    try:
        tree = release_tree(earlier, settings.var_dir / "releases")
    except ReleaseCodeUnavailable as missing:
        return [_outcome(item, Verdict.FAILED, str(missing)) for item in items]
    with tempfile.TemporaryDirectory(prefix=f"oms-replay-{earlier.build_id}-") as folder:
        by_name: dict[str, SourcedHistory] = {}
        for n, item in enumerate(items):
            path = Path(folder) / f"{n:06d}.json"
            path.write_text(item.history.to_json())
            by_name[path.name] = item
        process = await asyncio.create_subprocess_exec(
            *oms_command("audit", "replay", "--json", folder),
            cwd=tree,
            env=release_environment(earlier, settings, tree),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    try:
        answered = json.loads(out)["outcomes"]
    except (ValueError, KeyError):
        why = f"release {earlier.build_id} could not replay: {err.decode(errors='replace')[-500:]}"
        return [_outcome(item, Verdict.FAILED, why) for item in items]
    outcomes = []
    for found in answered:
        item = by_name[Path(found["source"]).name]
        outcomes.append(
            replace(
                _outcome(item, Verdict(found["verdict"]), found.get("message", "")),
                diverging_event_id=found.get("diverging_event_id"),
                diverging_event_type=found.get("diverging_event_type"),
                release=earlier.build_id,
            )
        )
    return outcomes


async def replay_histories(
    histories: AsyncIterator[SourcedHistory],
    *,
    workflows: Sequence[type] = WORKFLOWS,
    on_outcome: Callable[[ReplayOutcome], None] | None = None,
    converter: DataConverter | None = None,
    settings: Settings | None = None,
) -> ReplaySummary:
    """Replay every history with the given workflow code (today's by default)."""
    summary = ReplaySummary()
    pending: list[SourcedHistory] = []
    replay = replayer(workflows, converter, settings)

    async def feed() -> AsyncIterator[WorkflowHistory]:
        async for item in histories:
            pending.append(item)
            yield item.history

    started = time.perf_counter()

    def report(outcome: ReplayOutcome) -> None:
        summary.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    failures: list[tuple[SourcedHistory, Exception]] = []
    async with replay.workflow_replay_iterator(feed()) as results:
        async for result in results:
            item = pending.pop(0)  # the replayer answers in the order it was fed
            if result.replay_failure is None:
                report(_outcome(item, Verdict.REPLAYED))
            else:  # explained after this pass: locating a divergence replays again
                failures.append((item, result.replay_failure))
    for item, failure in failures:
        report(await _explain(replay, item, failure))
    summary.seconds = time.perf_counter() - started
    return summary
