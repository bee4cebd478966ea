"""How a workflow carries out what its aggregate decides: the machinery every shell shares.

The order and the feedback workflows are thin: a handler asks the aggregate
(`domain.order.aggregate.Order`, `domain.feedback_handling.Feedback`) for a
decision, and a `Shell` carries it out:

- one decision at a time (`decide`): a command waits for the one before it to be
  carried out, so the aggregate always decides on a settled state;
- each request of the decision is performed in order (a reservation, a refund)
  and its answer handed back to the aggregate, which decides again;
- what changed is written to the read model by one local activity (`flush`),
  then the Temporal UI's search attributes and details are brought in line;
- what the aggregate asks outside *after* the write and without keeping anyone
  waiting (`follow_ups`: the customer's messages) runs in the background; its
  answer is one more decision. The run ends only when none is out (`idle`);
- one timer, for the aggregate's next alarm (`_keep_time`): a task's reminder or
  deadline, a window closing. It is moved when the alarm moves, and when it
  rings the aggregate is asked what fell due;
- the run goes first (`run`): the opening decision is carried out and its timer's
  command issued before any command is decided; a command that arrives earlier
  waits. Without that, who goes first would depend on how the worker is handed
  its jobs. A command that comes with the start (update-with-start), or that a
  replaying worker finds after workflow tasks that only waited for a slow first
  write, arrives in the same activation as the start, and the SDK runs its
  handler before the run; the worker that made the history may have had them
  apart. The two then issue different commands in a different order and the
  replay fails (a nondeterminism error, seen as a 503 on the order's next action;
  tests/workflows/test_replay_order.py).

Imported as a pass-through module: the sandbox does not rebuild it per workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from domain.errors import OrderError
from workflows.metrics import alert_on
from workflows.refusals import as_failure
from workflows.retries import DB_RETRY, DB_TIMEOUT


class Decided(Protocol):
    """A decision as the shell sees it: the requests to perform, in order."""

    @property
    def requests(self) -> list[Any]: ...


D = TypeVar("D", bound=Decided)
C = TypeVar("C")
D_co = TypeVar("D_co", bound=Decided, covariant=True)


class Aggregate(Protocol[D_co]):
    """What a shell needs of the aggregate it carries out."""

    def next_alarm(self) -> datetime | None: ...

    def ring(self, now: datetime) -> D_co: ...

    def take_writes(self) -> Any | None: ...

    def written(self, changes: Any) -> None: ...

    def details(self) -> str: ...


#: Performs one request of a decision and returns the aggregate's decision on its answer.
Performer = Callable[[Any], Awaitable[Decided]]
#: Performs a follow-up in the background; it hands the answer to the aggregate itself.
Follower = Callable[[Any], Coroutine[Any, Any, None]]
#: The search attributes the UI filters by, as the aggregate stands now.
Wanted = Callable[[], Mapping[SearchAttributeKey[Any], Any]]


#: A search attribute not sent yet (None is a value: "unset").
_UNSENT = object()


class Shell(Generic[D]):
    def __init__(
        self,
        aggregate: Aggregate[D],
        *,
        write_activity: str,
        write_result: type,
        search: Wanted,
        performers: Mapping[type, Performer] | None = None,
        needs_writes_first: Callable[[], bool] = lambda: False,
        follow_ups: Callable[[], list[Any]] = list,
        followers: Mapping[type, Follower] | None = None,
    ) -> None:
        self.aggregate = aggregate
        self._write_activity = write_activity
        self._write_result = write_result
        self._search = search
        self._performers = dict(performers or {})
        self._needs_writes_first = needs_writes_first
        self._follow_ups = follow_ups
        self._followers = dict(followers or {})
        #: Follow-ups out in the background, not yet answered.
        self._following: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        #: Grows with every decision carried out: the clock plans again after each.
        self._decisions = 0
        #: Commands waiting for the lock; decisions taken, and how many of them are written.
        self._waiting = 0
        self._decided = 0
        self._written = 0
        self._sent: dict[str, Any] = {}
        #: The first write is done: the record exists (the platform's hand-over waits for it).
        self.recorded = False
        #: The opening is carried out and the clock set: commands may be decided (`run`).
        self._started = False
        self._clock = AlarmClock()

    @staticmethod
    def check(check: Callable[[C, datetime], None], command: C) -> None:
        """An update's validator: the aggregate's check, its refusal as the update's rejection."""
        try:
            check(command, workflow.now())
        except OrderError as refusal:
            raise as_failure(refusal) from None

    async def run(self, opening: D | None, is_closed: Callable[[], bool]) -> None:
        """The workflow's main line: carry out the opening decision (taken in the
        workflow's `__init__`, so that validators see the opened state), then keep time
        until the aggregate is closed. Commands wait until the first timer is set."""
        if opening is not None:
            await self._decide(lambda _: opening)
        await self._keep_time(is_closed)

    async def decide(self, decide: Callable[[datetime], D]) -> D:
        """A command's decision (an update, a signal, a follow-up's answer), taken once
        the run has started (the module's docstring says why it waits)."""
        if not self._ready_for_commands():
            await workflow.wait_condition(self._ready_for_commands)
        return await self._decide(decide)

    def _ready_for_commands(self) -> bool:
        """The opening is carried out and its timer's command issued (not merely planned)."""
        return self._started and self._clock.armed

    async def _decide(self, decide: Callable[[datetime], D]) -> D:
        """Ask the aggregate at the current time and carry the decision out; return once
        what it changed is written.

        Commands that arrive together (a burst of feed events in one workflow task) are
        decided one after the other and written together, by the last of them: one
        local activity for the burst, not one each, so that the workflow task stays
        short (Temporal fails a task during which too many signals pile up).

        A refusal found only now (another command changed the order while this one
        waited) fails the caller's update; it never fails the workflow.
        """
        self._waiting += 1
        async with self._lock:
            self._waiting -= 1
            try:
                decision = decide(workflow.now())
            except OrderError as refusal:
                await self._write_unless_others_wait()
                raise as_failure(refusal) from None
            self._decided += 1
            ticket = self._decided
            await self._carry_out(decision)
            self._decisions += 1
            await self._write_unless_others_wait()
        if self._written < ticket:
            await workflow.wait_condition(lambda: self._written >= ticket)
        return decision

    async def _carry_out(self, decision: D) -> None:
        pending = list(decision.requests)
        while pending:
            request = pending.pop(0)
            if self._needs_writes_first():
                await self.flush()
            answered = await self._performers[type(request)](request)
            pending += answered.requests

    async def _write_unless_others_wait(self) -> None:
        """The last command in line writes what every one before it decided."""
        if self._waiting == 0:
            await self.flush()

    async def flush(self) -> None:
        """Write what changed to the read model, then keep the Temporal UI's view current."""
        decided = self._decided
        changes = self.aggregate.take_writes()
        if changes is not None:
            await workflow.execute_local_activity(
                self._write_activity,
                changes,
                result_type=self._write_result,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
                summary=f"record {', '.join(e.kind.value for e in changes.events) or 'tasks'}",
            )
            self.aggregate.written(changes)
            self.recorded = True
            alert_on([event.kind for event in changes.events])
            for follow_up in self._follow_ups():
                following: asyncio.Task[None] = asyncio.create_task(
                    self._followers[type(follow_up)](follow_up)
                )
                self._following.add(following)
                following.add_done_callback(self._following.discard)
        self._written = decided
        self._sync_search_attributes()

    @property
    def idle(self) -> bool:
        """No follow-up is out: the run may end (or continue as new)."""
        return not self._following

    def _sync_search_attributes(self) -> None:
        """Send only the search attributes that changed (each upsert is an event)."""
        updates: list[SearchAttributeUpdate[Any]] = []
        for key, value in self._search().items():
            if self._sent.get(key.name, _UNSENT) != value:
                updates.append(key.value_unset() if value is None else key.value_set(value))
                self._sent[key.name] = value
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(self.aggregate.details())

    def mark_sent(self, initial: Mapping[SearchAttributeKey[Any], Any]) -> None:
        """The search attributes the workflow was started with (not sent again)."""
        self._sent.update({key.name: value for key, value in initial.items()})

    async def _keep_time(self, is_closed: Callable[[], bool]) -> None:
        """Keep one timer for the aggregate's next alarm until the aggregate is closed."""
        clock = self._clock
        while not is_closed():
            at = self.aggregate.next_alarm()
            if at is not None and at <= workflow.now():
                await self._decide(self.aggregate.ring)
                continue
            clock.set(at)
            self._started = True
            seen = self._decisions
            await workflow.wait_condition(partial(self._woken, seen, clock, is_closed))
            if clock.rang:
                clock.reset()
                await self._decide(self.aggregate.ring)
        clock.stop()
        self._started = True

    def _woken(self, seen: int, clock: AlarmClock, is_closed: Callable[[], bool]) -> bool:
        """Plan again after any decision; act when the alarm rings."""
        return self._decisions != seen or clock.rang or is_closed()


class AlarmClock:
    """One timer for the next alarm, moved (cancelled and started again) when it moves."""

    def __init__(self) -> None:
        self._timer: asyncio.Task[None] | None = None
        self._at: datetime | None = None
        #: The timer's command is issued: its task has taken its first step (or none is due).
        self.armed = True

    def set(self, at: datetime | None) -> None:
        if at == self._at:
            return
        self.stop()
        self._at = at
        if at is not None:
            self.armed = False
            self._timer = asyncio.create_task(self._sleep_until(at))

    @property
    def rang(self) -> bool:
        return self._timer is not None and self._timer.done()

    def reset(self) -> None:
        self._timer, self._at = None, None
        self.armed = True

    def stop(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self.reset()

    async def _sleep_until(self, at: datetime) -> None:
        wait = max(at - workflow.now(), timedelta(milliseconds=1))
        # Armed before the await: the sleep issues its command in this same step.
        self.armed = True
        await workflow.sleep(wait, summary=f"next deadline {at:%Y-%m-%d %H:%M:%S} UTC")
