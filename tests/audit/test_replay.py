"""Replay in CI (architecture rule 6): every recorded history replays with the code that
would run it.

`tests/histories/<build id>/` holds one or more histories per scenario of
`audit.scenarios`, recorded by that release's workers (this release's: `python -m
audit.record_histories`). Each is replayed with the code of its release: this
checkout's for this release, the previous release's tree (from git) for its own
(`audit.replay.replay_by_release`). The canary proves the check can fail: a reordered
copy of RestockWorkflow does not replay a history recorded with the original, and the
same change behind `workflow.patched` does.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

from temporalio.client import Client

from audit.record_histories import record
from audit.replay import (
    Verdict,
    release_of_history,
    replay_by_release,
    replay_histories,
    with_keys_beside,
)
from audit.scenarios import SCENARIOS
from config.settings import Settings
from oms.cli import parser
from tests.audit.canary_workflows import PatchedRestockWorkflow, ReorderedRestockWorkflow
from workers.history import histories_from_files, history_files, load_history_file, workflow_type_of
from workers.worker import WORKFLOWS
from workflows.order import OrderWorkflow
from workflows.releases import BUILD_ID

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RESTOCK_WITH_RECEIPT = HISTORIES / BUILD_ID / "out-of-stock-restock.restock.json"


def recorded() -> list[Path]:
    return history_files([HISTORIES])


async def test_every_recorded_history_replays_with_the_code_of_the_release_that_ran_it(
    tmp_path: Path,
):
    files = recorded()
    settings = with_keys_beside(Settings(var_dir=tmp_path, codec_disabled=True), files)
    summary = await replay_by_release(histories_from_files(files), settings)
    problems = [
        (o.source, o.verdict, o.message) for o in summary.outcomes if o.verdict != "replayed"
    ]
    assert problems == []
    assert summary.replayed == len(files) > 0
    # Each earlier release's histories with its own code (from git); this one's with ours.
    by_release = Counter((Path(o.source).parent.name, o.release) for o in summary.outcomes)
    assert by_release == {(folder, folder): n for folder, n in FILES_PER_RELEASE.items()}
    assert by_release[("r1", "r1")] == 23
    assert by_release[(BUILD_ID, BUILD_ID)] == len(SCENARIO_FILES)


SCENARIO_FILES = history_files([HISTORIES / BUILD_ID])
FILES_PER_RELEASE = Counter(path.parent.name for path in recorded())


def test_this_releases_histories_cover_every_scenario_and_every_workflow_type():
    scenarios = {path.name.split(".")[0] for path in SCENARIO_FILES}
    assert scenarios == set(SCENARIOS)
    types = {workflow_type_of(load_history_file(path)) for path in SCENARIO_FILES}
    assert types == {w.__name__ for w in WORKFLOWS}


def test_a_history_is_attributed_to_the_release_whose_workers_ran_it():
    for path in recorded():
        assert release_of_history(load_history_file(path)).build_id == path.parent.name


async def test_a_reordered_workflow_fails_replay_at_the_first_step_it_changed():
    summary = await replay_histories(
        histories_from_files([RESTOCK_WITH_RECEIPT]),
        workflows=[ReorderedRestockWorkflow, OrderWorkflow],
        settings=with_keys_beside(Settings(), [RESTOCK_WITH_RECEIPT]),
    )
    [outcome] = summary.outcomes
    assert outcome.verdict is Verdict.NONDETERMINISTIC
    # The recorded run booked the receipt first: its first activity is where the copy differs.
    first_activity = next(
        event
        for event in json.loads(RESTOCK_WITH_RECEIPT.read_text())["events"]
        if event["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    )
    assert outcome.diverging_event_id == int(first_activity["eventId"])
    assert outcome.diverging_event_type == "ACTIVITY_TASK_SCHEDULED"
    assert "receive_stock" in outcome.message


async def test_the_same_change_behind_workflow_patched_replays_the_old_history():
    summary = await replay_histories(
        histories_from_files([RESTOCK_WITH_RECEIPT]),
        workflows=[PatchedRestockWorkflow, OrderWorkflow],
        settings=with_keys_beside(Settings(), [RESTOCK_WITH_RECEIPT]),
    )
    assert [o.verdict for o in summary.outcomes] == [Verdict.REPLAYED]


async def test_the_recording_script_writes_histories_that_replay(client: Client, tmp_path: Path):
    written = await record(
        client, tmp_path / "h", ["rejection"], database_url=f"sqlite:///{tmp_path / 'oms.db'}"
    )
    assert [p.name for p in written] == ["rejection.order.json"]
    exported = json.loads(written[0].read_text())
    assert exported["events"][-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    # Recorded through the session's client: encrypted, so replayed with its converter.
    assert (tmp_path / "h" / "command-keys.pub").exists()  # the recording's own signing key
    summary = await replay_histories(
        histories_from_files(written),
        converter=client.data_converter,
        settings=with_keys_beside(Settings(), written),
    )
    assert summary.replayed == 1
    # Without the key that signed them, the recorded commands are not trusted on replay.
    unkeyed = await replay_histories(histories_from_files(written), converter=client.data_converter)
    assert unkeyed.replayed == 0


async def test_oms_audit_replay_exits_zero_on_the_recorded_folder_and_reports_the_rate(
    capsys, tmp_path: Path
):
    args = parser().parse_args(["audit", "replay", str(HISTORIES)])
    status = await asyncio.to_thread(args.fn, args, Settings(var_dir=tmp_path))
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"replayed {len(recorded())}, nondeterministic 0, failed 0" in out
    assert "histories/s" in out
    by_release = ", ".join(
        f"{n} with {build}'s code" for build, n in sorted(FILES_PER_RELEASE.items())
    )
    assert by_release in out


async def test_oms_audit_replay_refuses_a_file_that_is_not_a_history(tmp_path: Path, capsys):
    bogus = tmp_path / "not-a-history.json"
    bogus.write_text('{"hello": "world"}')
    args = parser().parse_args(["audit", "replay", str(bogus)])
    assert await asyncio.to_thread(args.fn, args, Settings()) == 2
    assert "no `events` list" in capsys.readouterr().err


async def test_a_history_of_a_workflow_the_code_no_longer_has_is_failed_not_nondeterministic():
    summary = await replay_histories(
        histories_from_files([RESTOCK_WITH_RECEIPT]), workflows=[OrderWorkflow]
    )
    [outcome] = summary.outcomes
    assert outcome.verdict is Verdict.FAILED
    assert "RestockWorkflow is not registered" in outcome.message
    assert not summary.ok
