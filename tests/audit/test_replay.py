"""Replay in CI (architecture rule 6): today's code replays every recorded history.

`tests/histories/` holds one or more histories per scenario of
`audit.scenarios` (regenerate with `python -m audit.record_histories`). The
canary proves the check can fail: a reordered copy of RestockWorkflow does not
replay a history recorded with the original, and the same change behind
`workflow.patched` does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio.client import Client

from audit.record_histories import record
from audit.replay import Verdict, replay_histories
from audit.scenarios import SCENARIOS
from config.settings import Settings
from oms.cli import parser
from tests.audit.canary_workflows import PatchedRestockWorkflow, ReorderedRestockWorkflow
from workers.history import histories_from_files, history_files, load_history_file, workflow_type_of
from workers.worker import WORKFLOWS
from workflows.order import OrderWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RESTOCK_WITH_RECEIPT = HISTORIES / "out-of-stock-restock.restock.json"


def recorded() -> list[Path]:
    return history_files([HISTORIES])


async def test_every_recorded_history_replays_with_todays_workflow_code():
    files = recorded()
    summary = await replay_histories(histories_from_files(files))
    problems = [
        (o.source, o.verdict, o.message) for o in summary.outcomes if o.verdict != "replayed"
    ]
    assert problems == []
    assert summary.replayed == len(files) > 0


def test_the_recorded_histories_cover_every_scenario_and_every_workflow_type():
    files = recorded()
    scenarios = {path.name.split(".")[0] for path in files}
    assert scenarios == set(SCENARIOS)
    types = {workflow_type_of(load_history_file(path)) for path in files}
    assert types == {w.__name__ for w in WORKFLOWS}


async def test_a_reordered_workflow_fails_replay_at_the_first_step_it_changed():
    summary = await replay_histories(
        histories_from_files([RESTOCK_WITH_RECEIPT]),
        workflows=[ReorderedRestockWorkflow, OrderWorkflow],
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
    summary = await replay_histories(histories_from_files(written), converter=client.data_converter)
    assert summary.replayed == 1


async def test_oms_audit_replay_exits_zero_on_the_recorded_folder_and_reports_the_rate(capsys):
    args = parser().parse_args(["audit", "replay", str(HISTORIES)])
    status = await asyncio.to_thread(args.fn, args, Settings())
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"replayed {len(recorded())}, nondeterministic 0, failed 0" in out
    assert "histories/s" in out


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
