"""The run goes first: a command never overtakes the order's opening (workflows/shell.py).

A worker that replays a history (after a restart, an eviction, in an audit) must issue the
commands the first worker issued, in the same order. Whether a command's handler or the
workflow's run starts first depends on how the worker is handed its jobs: a command that
comes with the start (update-with-start) arrives in the same activation, and so does one
that a replaying worker finds after workflow tasks that only waited for a slow first write.
The SDK then runs the handler first. When that handler could decide before the opening was
carried out, a run that had the jobs apart and a replay that had them together wrote
different things in a different order: CI saw it as a nondeterminism error ("Timer machine
does not handle this event: ActivityTaskScheduled") and a 503 on the order's next action.
Now a command waits until the opening is written and its timer's command issued, however
the jobs came.
"""

from __future__ import annotations

import json

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy

from audit.replay import replayer
from domain.actors import Department
from domain.commands import ReviewCommand
from domain.ids import order_workflow_id
from tests.support.orders import new_order_id, order_body
from tests.support.system import System
from workflows.order import OrderWorkflow


async def local_activities(client: Client, history: WorkflowHistory) -> list[str]:
    """What each local activity of the history said it was for, in order (summaries are
    encrypted like payloads)."""
    codec = client.data_converter.payload_codec
    assert codec is not None
    said = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            (payload,) = await codec.decode([event.user_metadata.summary])
            said.append(str(json.loads(payload.data)))
    return said


async def test_a_review_that_comes_with_the_start_waits_for_the_opening(system: System):
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, 10)
    review = ReviewCommand(actor=system.actor(Department.SALES), approved=True, note="ok")

    # The review in the same activation as the start, as a replaying worker may get it.
    body = order_body(lines=[(sku, 1, "20.00")])
    start = WithStartWorkflowOperation(
        OrderWorkflow.run,
        system.order_input(body),
        id=order_workflow_id(body["order_id"]),
        task_queue=system.settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    result = await system.client.execute_update_with_start_workflow(
        OrderWorkflow.review, review, start_workflow_operation=start
    )
    assert result.status == "ready_to_pack"
    history = await (await start.workflow_handle()).fetch_history()

    # The opening's write alone first: the review waited for it (before the fix, the review
    # was decided first and written with it: "record received, ledger, reviewed").
    assert await local_activities(system.client, history) == [
        "record received, ledger",
        "reserve 1 unit(s) of 1 sku(s)",
        "record reviewed, stock_reserved",
    ]
    # And a worker that replays the history takes the same path.
    replay = replayer(converter=system.client.data_converter, settings=system.settings)
    await replay.replay_workflow(history)
