"""Releases of the workflow code, and which code runs which orders (architecture rule 6).

Orders live for weeks, so the code that runs them changes while they are open.
An order finishes on the code it started on: every release is a Worker
Deployment version (deployment `OMS_WORKER_DEPLOYMENT_NAME`, build id below),
every workflow is pinned to the version it started on
(`VersioningBehavior.PINNED`), and a new version becomes current only once its
workers poll (`workers.deployment.promote`). The previous versions' workers keep
running until no workflow is pinned to them (`oms up` starts them from the
release's commit; in production they are the previous image).

Within one release, a change must replay every recorded history of that release
(`tests/histories/<build>/`); a change that cannot is a new release: add it here
with a new build id, fill in the commit of the release it replaces, and record its
histories (`python -m audit.record_histories`).

r1 (782a8d4) predates Worker Versioning: its workers poll the task queue
`orders` unversioned. Its orders stay there and are finished by an r1 worker;
the versioned releases poll a task queue of their own (`OMS_TASK_QUEUE`), so no
r1 order can be routed to them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    build_id: str
    #: The package version, and the tag of the release's image (temporal-docker/).
    version: str
    #: The last commit of this release, whose tree holds its code. None for the release
    #: of this checkout.
    commit: str | None
    #: The task queue of a release from before Worker Versioning; None for a versioned
    #: release (its workers poll the settings' task queue as a deployment version).
    unversioned_task_queue: str | None = None

    @property
    def versioned(self) -> bool:
        return self.unversioned_task_queue is None

    def running_query(self, deployment_name: str) -> str:
        """The visibility query for the workflows still running on this release's code."""
        if self.unversioned_task_queue is not None:
            where = f'TaskQueue = "{self.unversioned_task_queue}"'
        else:
            where = f'BuildIds = "pinned:{deployment_name}:{self.build_id}"'
        return f'{where} AND ExecutionStatus = "Running"'


RELEASES: tuple[Release, ...] = (
    Release(
        "r1",
        "0.1.0",
        commit="782a8d4abd6b66e024dba1debbcb1b808957c5c3",
        unversioned_task_queue="orders",
    ),
    # The first versioned release: the order as an aggregate, signed commands (issue 16).
    Release("r2", "0.2.0", commit="4d46c6db2e0f0b9cbf12b91c1191fc58630e926d"),
    # P2.1: an order paid before it ships waits for its payment (awaiting_payment).
    Release("r3", "0.3.0", commit=None),
)
CURRENT = RELEASES[-1]
#: The Worker Deployment build id of the code checked out here.
BUILD_ID = CURRENT.build_id
PREVIOUS: tuple[Release, ...] = RELEASES[:-1]


class UnknownRelease(LookupError):
    pass


def release(build_id: str) -> Release:
    for known in RELEASES:
        if known.build_id == build_id:
            return known
    raise UnknownRelease(f"no release with build id {build_id!r}")


def release_of(build_id: str | None) -> Release:
    """The release that runs (or ran) a workflow, by the build id its workflow tasks were
    completed with. A workflow without one is from before Worker Versioning: every release
    since is versioned, so it is the last unversioned release's."""
    if build_id:
        return release(build_id)
    unversioned = [known for known in RELEASES if not known.versioned]
    if not unversioned:
        raise UnknownRelease("an unversioned workflow, and no release before Worker Versioning")
    return unversioned[-1]
