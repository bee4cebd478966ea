"""`oms up`'s restart policy (oms/restart_policy.py), as plain functions: when a process that
exited is restarted, after how long, and when it is given up."""

from __future__ import annotations

import pytest

from config.settings import Settings
from oms.restart_policy import (
    Decision,
    GiveUp,
    LeaveStopped,
    Restart,
    RestartPolicy,
    StopEverything,
    decide,
    describe_exit,
)
from oms.up import restart_policy

POLICY = RestartPolicy(initial_delay=1, max_delay=30, max_restarts=6, window=300)


@pytest.mark.parametrize(
    ("earlier_exits", "now", "expected"),
    [
        # The first crash waits the initial delay; each further one within the window doubles it.
        ((), 1000, Restart(1, (1000,))),
        ((990,), 1000, Restart(2, (990, 1000))),
        ((980, 990), 1000, Restart(4, (980, 990, 1000))),
        ((970, 980, 990), 1000, Restart(8, (970, 980, 990, 1000))),
        ((960, 970, 980, 990), 1000, Restart(16, (960, 970, 980, 990, 1000))),
        # ... up to the maximum.
        ((950, 960, 970, 980, 990), 1000, Restart(30, (950, 960, 970, 980, 990, 1000))),
        # A seventh exit within the window: more than six restarts, a crash loop.
        (
            (940, 950, 960, 970, 980, 990),
            1000,
            GiveUp((940, 950, 960, 970, 980, 990, 1000)),
        ),
        # Exits older than the window are forgotten: a process that crashes now and then
        # is restarted for ever, and soon again.
        ((100, 200, 300, 400, 500, 600), 1000, Restart(1, (1000,))),
        ((600, 800, 900), 1000, Restart(4, (800, 900, 1000))),
        # Exactly a window ago is outside it.
        ((700,), 1000, Restart(1, (1000,))),
    ],
)
def test_a_crashed_process_is_restarted_with_backoff_until_it_crash_loops(
    earlier_exits: tuple[float, ...], now: float, expected: Decision
):
    decision = decide(
        POLICY, asked_to_stop=False, holds_state=False, earlier_exits=earlier_exits, now=now
    )
    assert decision == expected


@pytest.mark.parametrize(
    ("asked_to_stop", "holds_state", "expected"),
    [
        # Stopping: nothing is restarted, and a dev server stopping is no failure.
        (True, False, LeaveStopped()),
        (True, True, LeaveStopped()),
        # The dev server holds the state: its exit stops everything, never a restart.
        (False, True, StopEverything()),
        (False, False, Restart(1, (5,))),
    ],
)
def test_what_was_asked_to_stop_stays_stopped_and_the_dev_server_stops_everything(
    asked_to_stop: bool, holds_state: bool, expected: Decision
):
    decision = decide(
        POLICY, asked_to_stop=asked_to_stop, holds_state=holds_state, earlier_exits=(), now=5
    )
    assert decision == expected


def test_the_delay_never_passes_the_maximum_however_many_restarts_are_allowed():
    policy = RestartPolicy(initial_delay=0.5, max_delay=3, max_restarts=100, window=1e9)
    exits: tuple[float, ...] = ()
    delays = []
    for now in range(10):
        decision = decide(
            policy, asked_to_stop=False, holds_state=False, earlier_exits=exits, now=now
        )
        assert isinstance(decision, Restart)
        delays.append(decision.delay)
        exits = decision.exits
    assert delays == [0.5, 1, 2, 3, 3, 3, 3, 3, 3, 3]
    assert decision.attempt == 10


def test_no_restarts_allowed_gives_up_at_the_first_crash():
    policy = RestartPolicy(max_restarts=0)
    decision = decide(policy, asked_to_stop=False, holds_state=False, earlier_exits=(), now=1)
    assert decision == GiveUp((1,))


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (-9, "-9 (SIGKILL)"),
        (-15, "-15 (SIGTERM)"),
        (0, "0 (on its own, not asked to stop)"),
        (3, "3"),
        (-999, "-999"),
    ],
)
def test_an_exit_code_is_described_as_people_read_it(code: int, text: str):
    assert describe_exit(code) == text


def test_the_policy_comes_from_the_supervisor_settings(monkeypatch: pytest.MonkeyPatch):
    assert restart_policy(Settings()) == RestartPolicy(1, 30, 6, 300)
    monkeypatch.setenv("OMS_SUPERVISOR__INITIAL_DELAY_SECONDS", "0.2")
    monkeypatch.setenv("OMS_SUPERVISOR__MAX_DELAY_SECONDS", "2")
    monkeypatch.setenv("OMS_SUPERVISOR__MAX_RESTARTS", "3")
    monkeypatch.setenv("OMS_SUPERVISOR__WINDOW_SECONDS", "60")
    assert restart_policy(Settings()) == RestartPolicy(0.2, 2, 3, 60)


def test_a_maximum_delay_below_the_initial_one_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMS_SUPERVISOR__INITIAL_DELAY_SECONDS", "10")
    monkeypatch.setenv("OMS_SUPERVISOR__MAX_DELAY_SECONDS", "5")
    with pytest.raises(ValueError, match="max_delay_seconds"):
        Settings()
