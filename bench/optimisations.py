"""The changes measured before/after in one run (`--compare NAME`), each as settings.

"after" is the system as it now ships (or as `after` says); "before" undoes the
one change. Both run the same saturating phase, each on a fresh system.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Setup:
    env: dict[str, str] = field(default_factory=dict)
    server_args: tuple[str, ...] = ()
    #: A git revision whose code the worker and API run; None is the working tree.
    code: str | None = None


@dataclass(frozen=True)
class Optimisation:
    name: str
    what: str
    #: "update" (Temporal client) or "http" (API): the path whose phase shows the effect.
    path: str
    before: Setup
    after: Setup = Setup()


OPTIMISATIONS: dict[str, Optimisation] = {
    o.name: o
    for o in [
        Optimisation(
            "sqlite-write-lock",
            "SQLite: worker writers queue on a lock in the process, not in SQLite's busy handler",
            "update",
            before=Setup({"OMS_SQLITE_SERIALIZE_WRITES": "false"}),
        ),
        Optimisation(
            "bytecode-cache",
            "worker: compiled workflow modules kept under PYTHONDONTWRITEBYTECODE",
            "update",
            before=Setup({"OMS_WORKFLOW_BYTECODE_CACHE": "false"}),
        ),
        Optimisation(
            "token-cache",
            "API: trust a looked-up token for a few seconds instead of a database read per request",
            "http",
            before=Setup({"OMS_API_TOKEN_CACHE_SECONDS": "0"}),
        ),
        Optimisation(
            "two-workers",
            "two worker processes on the task queue instead of one",
            "update",
            before=Setup({"OMS_WORKER_PROCESSES": "1"}),
        ),
        Optimisation(
            "no-sandbox",
            "workflows run without the import sandbox",
            "update",
            before=Setup({"OMS_WORKFLOW_SANDBOX": "true"}),
            after=Setup({"OMS_WORKFLOW_SANDBOX": "false"}),
        ),
        Optimisation(
            "api-workers",
            "two API processes (uvicorn workers) instead of one",
            "http",
            before=Setup({"OMS_API_WORKERS": "1"}),
            after=Setup({"OMS_API_WORKERS": "2"}),
        ),
        Optimisation(
            "one-partition",
            "dev server: one task-queue partition instead of four",
            "update",
            before=Setup(
                server_args=(
                    "--dynamic-config-value",
                    "matching.numTaskqueueReadPartitions=4",
                    "--dynamic-config-value",
                    "matching.numTaskqueueWritePartitions=4",
                )
            ),
        ),
    ]
}


def code_comparison(spec: str) -> Optimisation:
    """`BEFORE[:AFTER]` git revisions (AFTER defaults to the working tree) as a comparison."""
    before, _, after = spec.partition(":")
    return Optimisation(
        f"code {before}..{after or 'working tree'}",
        f"the code of {after or 'the working tree'} against the code of {before}",
        "update",
        before=Setup(code=before),
        after=Setup(code=after or None),
    )
