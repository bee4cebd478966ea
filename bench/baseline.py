"""The yardstick: the smallest workflow that does what an order does, five activities in a row.

It runs on the same dev server and in the same worker process as the orders, so
the ratio of the two rates says how much of Temporal's own capacity the order
system keeps. Its module imports nothing but temporalio, so the sandbox loads it
cheaply, as any minimal workflow would be loaded.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

#: How many activities one baseline workflow runs, one after another.
STEPS = 5


@activity.defn
def baseline_step(step: int) -> int:
    """A trivial activity: what is left is Temporal's own cost of running one."""
    return step + 1


@workflow.defn
class BaselineWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        done = 0
        for _ in range(steps):
            done = await workflow.execute_activity(
                baseline_step,
                done,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        return done
