"""`oms up`'s process loop (oms/supervisor.py) with small real processes: what crashes is
restarted and logged, a crash loop and the dev server's exit stop everything, and stopping
takes the dev server last."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from oms.restart_policy import RestartPolicy
from oms.supervisor import Supervisor

FAST = RestartPolicy(initial_delay=0.1, max_delay=0.4, max_restarts=3, window=60)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def exits_after(seconds: float, code: int) -> list[str]:
    return python(f"import sys, time; time.sleep({seconds}); sys.exit({code})")


#: Runs until SIGTERM, then writes its name into the file of argv[1] after `linger` seconds.
SERVICE = """
import signal, sys, time
def stop(*_):
    time.sleep(float(sys.argv[3]))
    with open(sys.argv[1], "a") as f:
        f.write(sys.argv[2] + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(sys.argv[1] + "." + sys.argv[2] + ".ready", "w").close()
while True:
    time.sleep(0.05)
"""


def service(record: Path, name: str, linger: float = 0) -> list[str]:
    return [*python(SERVICE), str(record), name, str(linger)]


def wait_ready(record: Path, *names: str) -> None:
    """Until each service has its SIGTERM handler in place."""
    deadline = time.monotonic() + 30
    while not all(Path(f"{record}.{name}.ready").exists() for name in names):
        assert time.monotonic() < deadline, names
        time.sleep(0.02)


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def matching(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


def run_until(supervisor: Supervisor, done: Callable[[], bool], timeout: float = 30) -> int:
    """`Supervisor.run` until `done()` (or, the machine being slow, `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    return supervisor.run(lambda: done() or time.monotonic() > deadline, interval=0.02)


def test_a_crashing_process_is_restarted_with_a_line_naming_it_its_exit_and_the_delay(
    tmp_path: Path,
):
    said = Lines()
    supervisor = Supervisor(
        tmp_path, RestartPolicy(initial_delay=0.1, max_restarts=50), report=said
    )
    record = tmp_path / "stopped.txt"
    supervisor.start("api", service(record, "api"))
    supervisor.start("worker", exits_after(0.3, 3))
    try:
        worker = supervisor.children[1]
        assert run_until(supervisor, lambda: len(worker.pids) >= 3) == 0
        assert len(worker.pids) >= 3, said.lines
        first = said.matching("worker exited")[0]
        assert "worker exited with 3; restarting it in 0.1 s (restart 1 of at most 50" in first
        assert str(tmp_path / "worker.log") in first
        second = said.matching("worker exited")[1]
        assert "worker exited with 3; restarting it in 0.2 s (restart 2" in second
        assert len(said.matching("restarted worker (pid")) == len(worker.pids) - 1
        # The rest kept running, never restarted.
        api = supervisor.children[0]
        assert api.pids == [api.process.pid] and api.process.poll() is None  # type: ignore[union-attr]
        log = (tmp_path / "worker.log").read_text()
        assert "--- oms up: worker exited with 3 ---" in log
        assert "--- oms up: restarting worker ---" in log
    finally:
        supervisor.stop_all()
    assert supervisor.failure is None


def test_a_process_that_exits_0_of_its_own_is_a_crash_and_restarted(tmp_path: Path):
    said = Lines()
    supervisor = Supervisor(tmp_path, FAST, report=said)
    supervisor.start("codec-server", exits_after(0.1, 0))
    try:
        run_until(supervisor, lambda: len(supervisor.children[0].pids) >= 2)
    finally:
        supervisor.stop_all()
    assert said.matching("codec-server exited with 0 (on its own, not asked to stop); restart")


def test_a_crash_loop_gives_the_process_up_and_stops_everything_with_its_log(tmp_path: Path):
    said = Lines()
    supervisor = Supervisor(tmp_path, FAST, report=said)
    record = tmp_path / "stopped.txt"
    supervisor.start("temporal", service(record, "temporal"), holds_state=True)
    supervisor.start("worker", exits_after(0, 1))
    wait_ready(record, "temporal")
    try:
        assert run_until(supervisor, lambda: False) == 1
    finally:
        supervisor.stop_all()
    assert len(said.matching("restarted worker")) == 3
    failure = supervisor.failure or ""
    assert failure.startswith("worker crash-looped: it exited 4 times within 60 s"), failure
    assert "more than the 3 restarts allowed (OMS_SUPERVISOR__MAX_RESTARTS" in failure
    assert failure.endswith(f"Its log: {tmp_path / 'worker.log'}")
    assert said.lines[-1] == failure
    # Everything stopped: the dev server too.
    assert record.read_text().split() == ["temporal"]


def test_the_dev_server_exiting_stops_everything_and_is_never_restarted(tmp_path: Path):
    said = Lines()
    supervisor = Supervisor(tmp_path, FAST, report=said)
    record = tmp_path / "stopped.txt"
    supervisor.start("temporal", exits_after(0.2, 0), holds_state=True)
    supervisor.start("worker", service(record, "worker"))
    wait_ready(record, "worker")
    try:
        assert run_until(supervisor, lambda: False) == 1
    finally:
        supervisor.stop_all()
    assert not said.matching("restart")
    failure = supervisor.failure or ""
    assert failure.startswith("temporal (the Temporal dev server) exited with 0"), failure
    assert "so everything stops" in failure
    assert failure.endswith(f"Its log: {tmp_path / 'temporal.log'}")
    assert record.read_text().split() == ["worker"]


def test_stopping_takes_the_others_down_before_the_dev_server_and_restarts_nothing(
    tmp_path: Path,
):
    said = Lines()
    supervisor = Supervisor(tmp_path, FAST, report=said)
    record = tmp_path / "stopped.txt"
    supervisor.start("temporal", service(record, "temporal"), holds_state=True)
    supervisor.start("worker", service(record, "worker", linger=0.3))
    crashing = supervisor.start("crashing", exits_after(0, 1))
    supervisor.start("api", service(record, "api", linger=0.2))
    crashing.wait(timeout=30)
    wait_ready(record, "temporal", "worker", "api")
    supervisor.tend()  # `crashing` exited: its restart is due in 0.1 s
    assert said.matching("crashing exited with 1; restarting it in 0.1 s")
    supervisor.stop_all()
    time.sleep(0.2)
    assert supervisor.tend()
    assert not said.matching("restarted")
    # The dev server is asked to stop only once the workers and the API are down.
    assert record.read_text().split() == ["api", "worker", "temporal"]
