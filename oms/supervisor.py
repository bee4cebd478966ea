"""The child processes of `oms up`: started, watched, restarted, stopped.

What to do when one exits is `oms/restart_policy.py`'s to say; this module carries it
out. Each child runs in a session of its own (a Ctrl-C in the terminal reaches only
`oms up`, which stops the children in order) and writes to `<logs>/<name>.log`. A
restart keeps the child's place in the stopping order, and its log file, with a line
saying why it was restarted.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oms.restart_policy import (
    GiveUp,
    LeaveStopped,
    Restart,
    RestartPolicy,
    StopEverything,
    decide,
    describe_exit,
)

#: How long a child has to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 20.0
#: The same once the dev server is gone: a worker cannot finish its tasks without it, and
#: would wait for it the whole STOP_TIMEOUT.
STOP_TIMEOUT_WITHOUT_SERVER = 5.0


def say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Child:
    name: str
    command: list[str]
    cwd: Path | None
    env: dict[str, str] | None
    holds_state: bool
    log: Path
    process: subprocess.Popen[bytes] | None = None
    #: The times of its exits within the policy's window (restart_policy.decide keeps it).
    exits: tuple[float, ...] = ()
    #: When it is due to start again (monotonic), while it waits out a restart delay.
    restart_at: float | None = None
    pids: list[int] = field(default_factory=list)


class Supervisor:
    """Starts the children, restarts the ones that crash, and stops them all in order."""

    def __init__(
        self,
        logs: Path,
        policy: RestartPolicy,
        *,
        report: Callable[[str], None] = say,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logs = logs
        self.policy = policy
        self.report = report
        self.clock = clock
        self.children: list[Child] = []
        self.stopping = False
        #: Why everything stopped on its own (a crash loop, the dev server gone); None else.
        self.failure: str | None = None

    def start(
        self,
        name: str,
        command: list[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        holds_state: bool = False,
    ) -> subprocess.Popen[bytes]:
        """Start a child; `holds_state`: its exit stops everything (the dev server)."""
        child = Child(name, command, cwd, env, holds_state, self.logs / f"{name}.log")
        self.children.append(child)
        process = self._spawn(child)
        self.report(f"started {name} (pid {process.pid}, log {child.log})")
        return process

    def _spawn(self, child: Child) -> subprocess.Popen[bytes]:
        with child.log.open("ab") as log:
            child.process = subprocess.Popen(
                child.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=child.cwd,
                env=child.env,
            )
        child.pids.append(child.process.pid)
        child.restart_at = None
        return child.process

    def tend(self) -> bool:
        """One look at every child: restart what is due, decide about what exited.
        False once everything must stop (then `failure` says why)."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                self._note(child, f"oms up: restarting {child.name}")
                restarted = self._spawn(child)
                self.report(f"restarted {child.name} (pid {restarted.pid}, log {child.log})")
                continue
            process = child.process
            if process is None or child.restart_at is not None or process.poll() is None:
                continue
            if not self._exited(child, process.returncode, now):
                return False
        return True

    def _exited(self, child: Child, code: int, now: float) -> bool:
        decision = decide(
            self.policy,
            asked_to_stop=self.stopping,
            holds_state=child.holds_state,
            earlier_exits=child.exits,
            now=now,
        )
        exit_text = describe_exit(code)
        match decision:
            case LeaveStopped():
                return True
            case StopEverything():
                self.failure = (
                    f"{child.name} (the Temporal dev server) exited with {exit_text}: it holds "
                    f"every order's state, so everything stops. Its log: {child.log}"
                )
            case GiveUp(exits=exits):
                self.failure = (
                    f"{child.name} crash-looped: it exited {len(exits)} times within "
                    f"{self.policy.window:g} s, the last with {exit_text}, more than the "
                    f"{self.policy.max_restarts} restarts allowed (OMS_SUPERVISOR__MAX_RESTARTS "
                    f"within OMS_SUPERVISOR__WINDOW_SECONDS); giving it up, so everything "
                    f"stops. Its log: {child.log}"
                )
            case Restart(delay=delay, exits=exits):
                child.exits = exits
                child.restart_at = now + delay
                self.report(
                    f"{child.name} exited with {exit_text}; restarting it in {delay:g} s "
                    f"(restart {len(exits)} of at most {self.policy.max_restarts} within "
                    f"{self.policy.window:g} s; log {child.log}). The rest keeps running."
                )
                self._note(child, f"oms up: {child.name} exited with {exit_text}")
                return True
        child.exits = (*child.exits, now)
        return False

    def _note(self, child: Child, line: str) -> None:
        """A line in the child's own log, so that its log shows where each run begins."""
        with child.log.open("a") as log:
            log.write(f"--- {line} ---\n")

    def run(self, stop_requested: Callable[[], bool], interval: float = 0.2) -> int:
        """Watch the children until asked to stop (0) or until everything must stop (1)."""
        while not stop_requested():
            if not self.tend():
                self.report(self.failure or "stopping")
                return 1
            time.sleep(interval)
        return 0

    def stop_all(self) -> None:
        """SIGTERM in the reverse order of starting (API, codec server, workers), and the
        dev server last, once the others are down: workers finish their tasks against it."""
        self.stopping = True
        others = [c for c in reversed(self.children) if not c.holds_state]
        state = [c for c in reversed(self.children) if c.holds_state]
        server_gone = any(c.process is not None and c.process.poll() is not None for c in state)
        timeout = STOP_TIMEOUT_WITHOUT_SERVER if server_gone else STOP_TIMEOUT
        for group in (others, state):
            running = [c for c in group if c.process is not None and c.process.poll() is None]
            for child in running:
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
            for child in running:
                assert child.process is not None
                try:
                    child.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.report(f"{child.name} did not stop in time; killing it")
                    child.process.kill()
                    child.process.wait()
        self.children.clear()
