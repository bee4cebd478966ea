"""`oms releases`: the releases of the workflow code, and how many workflows each still runs.

    oms releases           each release, the one this checkout is, and its running workflows

An earlier release's workers can stop once it runs none (docs/ops.md, "Deploying a new
version"); `oms up` starts them by itself while it does.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from config.settings import Settings
from workers.client import connect
from workflows.releases import BUILD_ID, RELEASES


async def running_per_release(settings: Settings) -> dict[str, int]:
    client = await connect(settings)
    counts: dict[str, int] = {}
    for release in RELEASES:
        query = release.running_query(settings.worker_deployment_name)
        counts[release.build_id] = (await client.count_workflows(query)).count
    return counts


def cmd_releases(args: argparse.Namespace, settings: Settings) -> int:
    counts = asyncio.run(running_per_release(settings))
    print(f"{'release':<8} {'version':<8} {'commit':<12} {'runs on':<34} running")
    for release in RELEASES:
        where = (
            f"task queue {release.unversioned_task_queue} (unversioned)"
            if release.unversioned_task_queue
            else f"{settings.worker_deployment_name}:{release.build_id} on {settings.task_queue}"
        )
        commit = (release.commit or "this checkout")[:12]
        mark = "  <- current" if release.build_id == BUILD_ID else ""
        print(
            f"{release.build_id:<8} {release.version:<8} {commit:<12} {where:<34} "
            f"{counts[release.build_id]}{mark}"
        )
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "releases", help="the workflow code's releases and the workflows each still runs"
    )
    parser.set_defaults(fn=cmd_releases)
