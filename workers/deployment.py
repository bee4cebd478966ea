"""The worker's Worker Deployment version, and making it the one new workflows start on.

Every worker of this code polls as version `<OMS_WORKER_DEPLOYMENT_NAME>:<BUILD_ID>`
(`workflows.releases`), and its workflows are pinned to the version they started
on (`VersioningBehavior.PINNED`): a release never takes over a running order.
`promote` makes this build the deployment's current version once its workers
poll, so that new orders start on it; `oms up` and the worker do that by default
(`OMS_WORKER_PROMOTE`), a rollout that wants to ramp leaves it to
`temporal worker deployment set-current-version` (docs/ops.md).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable
from typing import TypeVar

from temporalio.api.enums.v1 import RoutingConfigUpdateState
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from config.settings import Settings
from workflows.releases import BUILD_ID, RELEASES

T = TypeVar("T")


class DeploymentError(Exception):
    pass


def deployment_version(settings: Settings) -> WorkerDeploymentVersion:
    return WorkerDeploymentVersion(
        deployment_name=settings.worker_deployment_name, build_id=BUILD_ID
    )


def deployment_config(settings: Settings) -> WorkerDeploymentConfig:
    """Versioned polling, workflows pinned to the version they start on."""
    check_task_queue(settings.task_queue)
    return WorkerDeploymentConfig(
        version=deployment_version(settings),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


def check_task_queue(task_queue: str) -> None:
    """A versioned worker must never poll the queue of a release from before versioning:
    it would be handed that release's orders, which its code cannot replay."""
    for release in RELEASES:
        if release.unversioned_task_queue == task_queue:
            raise DeploymentError(
                f"task queue {task_queue!r} belongs to release {release.build_id}, which "
                f"predates Worker Versioning; its orders are finished by its own workers. "
                f"Set OMS_TASK_QUEUE to another queue (the default is 'oms-orders')."
            )


async def promote(client: Client, settings: Settings, timeout: float = 30) -> None:
    """Make this build the current version of the deployment, once its workers poll;
    return when new workflows are routed to it. Nothing happens if it already is."""
    deadline = time.monotonic() + timeout
    pause = 0.2
    while not await is_current(client, settings):
        await _answered(
            client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=settings.worker_deployment_name,
                    build_id=BUILD_ID,
                    identity=f"oms {BUILD_ID}",
                )
            ),
            default=None,
        )
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"build {BUILD_ID} did not become the current version of deployment "
                f"{settings.worker_deployment_name!r} within {timeout:.0f}s: are its workers up?"
            )
        # Several workers of one version start together: spread their requests out.
        await asyncio.sleep(pause + random.uniform(0, pause))
        pause = min(pause * 2, 2.0)


#: Answers that mean "not yet": the deployment or version is not known until the first poll
#: reaches the server, and the server limits how fast one deployment may be changed.
NOT_YET = (
    RPCStatusCode.NOT_FOUND,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.UNAVAILABLE,
)


async def _answered(call: Awaitable[T], *, default: T) -> T:
    try:
        return await call
    except RPCError as error:
        if error.status in NOT_YET:
            return default
        raise


async def is_current(client: Client, settings: Settings) -> bool:
    """This build is the deployment's current version and new workflows are routed to it."""
    try:
        described = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(
                namespace=client.namespace, deployment_name=settings.worker_deployment_name
            )
        )
    except RPCError as error:
        if error.status in NOT_YET:
            return False
        raise
    info = described.worker_deployment_info
    current = info.routing_config.current_deployment_version
    done = info.routing_config_update_state in (
        RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED,
        RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_UNSPECIFIED,
    )
    return current.build_id == BUILD_ID and done
