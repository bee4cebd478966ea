"""The benchmark's worker process: `oms worker` with the baseline workflow registered beside orders.

Run as `python -m bench.worker`; settings come from the `OMS_*` environment like
any worker's, so the baseline and the orders share every tuning knob.
"""

from __future__ import annotations

import asyncio
import logging

from bench.baseline import BaselineWorkflow, baseline_step
from config.settings import Settings
from workers.worker import run_worker


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(
        run_worker(Settings(), extra_workflows=[BaselineWorkflow], extra_activities=[baseline_step])
    )


if __name__ == "__main__":
    main()
