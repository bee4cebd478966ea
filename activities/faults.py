"""Fault injection for tests (never configured in production).

Tests use it to prove that an activity whose first attempt dies *after* its commit
still has its effect exactly once: `FaultPlan({"issue_refund.after_commit": 1})` makes
the first attempt fail at that point, and Temporal's retry runs it again.
"""

from __future__ import annotations

from temporalio import activity


class InjectedFault(RuntimeError):
    pass


class FaultPlan:
    def __init__(self, failures: dict[str, int] | None = None) -> None:
        #: point name -> how many first attempts fail there
        self.failures = dict(failures or {})

    def check(self, point: str) -> None:
        attempts = self.failures.get(point, 0)
        if attempts and activity.info().attempt <= attempts:
            raise InjectedFault(f"injected fault at {point} (attempt {activity.info().attempt})")


NO_FAULTS = FaultPlan()
