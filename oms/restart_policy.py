"""When `oms up` restarts a process that exited, after how long, and when it gives up.

Pure: no processes, no clock of its own, no I/O; `oms/supervisor.py` runs the
processes and asks `decide` each time one exits. The rules (docs/ops.md, "When a
process crashes under `oms up`"):

- A process `oms up` asked to stop is left stopped.
- A process that holds the system's state (the Temporal dev server: every order's
  history is in it) stops everything: nothing can run without it, and restarting it
  under running workers would hide the loss.
- Any other exit is a crash, whatever its code: the worker, the API and the codec
  server are meant to run until they are told to stop, so an exit 0 of their own is as
  wrong as a SIGKILL. It is restarted after `initial_delay`, doubled for each earlier
  exit within `window`, at most `max_delay`.
- More than `max_restarts` restarts within `window` is a crash loop: the process is
  given up, and with it `oms up` (a system without its worker or its API is not
  running; better a clear stop than a half system that looks alive).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    """Seconds throughout; `oms up` builds it from `OMS_SUPERVISOR__*` (config/settings.py)."""

    initial_delay: float = 1.0
    max_delay: float = 30.0
    #: Restarts allowed within `window`; one more exit within it is a crash loop.
    max_restarts: int = 6
    window: float = 300.0


@dataclass(frozen=True)
class LeaveStopped:
    """It was asked to stop: nothing to do."""


@dataclass(frozen=True)
class StopEverything:
    """It held the system's state: stop all the rest too, and fail."""


@dataclass(frozen=True)
class Restart:
    """Start it again after `delay` seconds; `exits` is the history to keep (this one last)."""

    delay: float
    exits: tuple[float, ...]

    @property
    def attempt(self) -> int:
        """Which restart within the window this is (1 for the first)."""
        return len(self.exits)


@dataclass(frozen=True)
class GiveUp:
    """A crash loop: `exits` within the window, more than the policy restarts."""

    exits: tuple[float, ...]


Decision = LeaveStopped | StopEverything | Restart | GiveUp


def decide(
    policy: RestartPolicy,
    *,
    asked_to_stop: bool,
    holds_state: bool,
    earlier_exits: Sequence[float],
    now: float,
) -> Decision:
    """What to do about a process that has just exited at `now`.

    Args:
        policy: the delays and the crash-loop limit.
        asked_to_stop: `oms up` itself asked it to stop (Ctrl-C, SIGTERM, stopping the rest).
        holds_state: it is the Temporal dev server, whose death stops everything.
        earlier_exits: the times of its earlier exits, as the last decision returned them.
        now: the time of this exit, on the same monotonic clock.
    """
    if asked_to_stop:
        return LeaveStopped()
    if holds_state:
        return StopEverything()
    exits = (*(t for t in earlier_exits if now - t < policy.window), now)
    if len(exits) > policy.max_restarts:
        return GiveUp(exits)
    delay = min(policy.max_delay, policy.initial_delay * 2 ** (len(exits) - 1))
    return Restart(delay, exits)


def describe_exit(code: int) -> str:
    """An exit code as people read it: `-9 (SIGKILL)`, `0 (on its own)`, `3`."""
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    if code == 0:
        return "0 (on its own, not asked to stop)"
    return str(code)
