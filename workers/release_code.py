"""The code of earlier releases, taken from the project's git history when it is needed.

A release's orders finish on that release's code (`workflows.releases`): `oms up`
runs a worker of each earlier release that still has running workflows, and
`oms audit replay` replays each history with the code of the release that ran it.
Both need that code: the tree of the release's commit, written once under
`var/releases/<build id>/` and run with this environment's Python and packages
(a release whose dependencies differ needs its own environment: in production
the previous image, docs/ops.md).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from temporalio.client import Client

from config.settings import Settings
from workflows.releases import PREVIOUS, Release

#: The checkout this code runs from; its git history holds the earlier releases.
PROJECT = Path(__file__).resolve().parents[1]
MARKER = ".release-commit"


class ReleaseCodeUnavailable(Exception):
    """The code of an earlier release cannot be had here (no git history with its commit)."""


def release_tree(release: Release, into: Path) -> Path:
    """The source tree of `release`, written under `into/<build id>` from git (once)."""
    if release.commit is None:
        return PROJECT
    target = into / release.build_id
    marker = target / MARKER
    if marker.exists() and marker.read_text().strip() == release.commit:
        return target
    archive = _git_archive(release)
    partial = into / f".{release.build_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(partial, filter="data")
    (partial / MARKER).write_text(release.commit + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def _git_archive(release: Release) -> bytes:
    assert release.commit is not None
    command = ["git", "-C", str(PROJECT), "archive", "--format=tar", release.commit]
    try:
        done = subprocess.run(command, capture_output=True, check=False)
    except FileNotFoundError:
        raise ReleaseCodeUnavailable(_unavailable(release, "git is not installed")) from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or "git archive failed"
        raise ReleaseCodeUnavailable(_unavailable(release, reason))
    return done.stdout


def _unavailable(release: Release, reason: str) -> str:
    return (
        f"the code of release {release.build_id} (commit {release.commit}) is needed and "
        f"cannot be taken from {PROJECT}: {reason}. Run from a git clone with its full history, "
        f"or run that release's own workers (its image) until its workflows have ended."
    )


def release_environment(release: Release, settings: Settings, tree: Path) -> dict[str, str]:
    """The environment a process of `release` runs with: this one's settings, the paths
    made absolute (it runs in another folder), its own code first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMS_CODEC_", "PYTHONPATH"))}
    env["PYTHONPATH"] = str(tree)
    env["OMS_VAR_DIR"] = str(settings.var_dir.resolve())
    env["OMS_DATABASE_URL"] = absolute_database_url(settings.resolved_database_url)
    env["OMS_TEMPORAL_ADDRESS"] = settings.temporal_address
    env["OMS_TEMPORAL_NAMESPACE"] = settings.temporal_namespace
    # The same payload keys as this process: from the settings, or else the key file in var/.
    if settings.codec_disabled:
        env["OMS_CODEC_DISABLED"] = "true"
    elif settings.codec_keys:
        env["OMS_CODEC_KEYS"] = json.dumps(settings.codec_keys)
        env["OMS_CODEC_ACTIVE_KEY"] = settings.codec_active_key
    # The public keys that verify signed commands, where this process was given them (a
    # replay of exported histories: their keys lie beside them); otherwise the release
    # reads the key file in var/ as this one does. Unverified, a command is refused.
    if settings.command_keys:
        env["OMS_COMMAND_KEYS"] = json.dumps(settings.command_keys)
    # An earlier release drains: it must never make itself the current version again.
    env["OMS_WORKER_PROMOTE"] = "false"
    if release.unversioned_task_queue is not None:
        env["OMS_TASK_QUEUE"] = release.unversioned_task_queue
    return env


async def running_on_earlier_releases(client: Client, settings: Settings) -> dict[Release, int]:
    """How many workflows each earlier release still runs (those with none are left out)."""
    running: dict[Release, int] = {}
    for earlier in PREVIOUS:
        query = earlier.running_query(settings.worker_deployment_name)
        count = (await client.count_workflows(query)).count
        if count:
            running[earlier] = count
    return running


def absolute_database_url(url: str) -> str:
    """A SQLite URL with a relative path, made absolute; any other URL as it is."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(Path(url.removeprefix(prefix)).resolve())
    return url


def oms_command(*args: str) -> list[str]:
    """`oms ARGS` of whichever release's tree the process runs in (its working folder)."""
    return [sys.executable, "-m", "oms", *args]
