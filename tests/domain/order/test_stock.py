"""P3.2 stock confirmation: reserved goods are packed, short ones wait for restock with the
warehouse's reason on record, as plain functions of the order aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from domain.actors import Department
from domain.commands import BackorderCommand
from domain.errors import ActionNotAllowed, NotPermitted, OrderError
from domain.events import EventKind
from domain.inventory import Reservation
from domain.states import OrderStatus
from domain.tasks import TaskKind, TaskState
from tests.domain.order.builders import Story, actor, in_stock, new_order, short_of

S = OrderStatus
D = Department
TWO_LINES = [("SKU-1", 2, "10.00"), ("SKU-2", 3, "5.00")]


# --- helpers ---------------------------------------------------------------------------------


def out_of_stock(**missing: int) -> Story:
    """An approved order the inventory could not cover (SKU-1 x2 short unless told)."""
    options: dict[str, Any] = {"lines": TWO_LINES} if "SKU_2" in missing else {}
    story = Story(new_order(**options), stock=short_of(**(missing or {"SKU_1": 2})))
    story.approve()
    assert story.status is S.OUT_OF_STOCK
    return story


def refused(story: Story, attempt: Callable[[], Any], error: type[OrderError]) -> OrderError:
    """The attempt is refused with `error` and leaves the order as it was."""
    before = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    with pytest.raises(error) as caught:
        attempt()
    after = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    assert after == before
    return caught.value


def tasks_of(story: Story, kind: TaskKind) -> list[Any]:
    return [t for t in story.state.tasks.tasks.values() if t.kind is kind]


# --- reserved: shippable -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "quantities"),
    [(None, {"SKU-1": 2}), (TWO_LINES, {"SKU-1": 2, "SKU-2": 3})],
)
def test_p3_2_reserved_goods_make_the_order_ready_to_pack(lines, quantities):
    story = Story(new_order(lines=lines))
    decision = story.approve()
    assert story.status is S.READY_TO_PACK
    assert decision.kinds == [EventKind.REVIEWED, EventKind.STOCK_RESERVED]
    reserved = decision.events[-1]
    assert reserved.data == {"reservation": "JD1:R1", "quantities": quantities}
    assert story.state.reservation_key == "JD1:R1"
    assert story.state.reserved == quantities
    assert story.state.reserving is None
    assert story.state.backorder is None
    [task] = decision.opened
    assert (task.kind, task.department) == (TaskKind.PACK, D.WAREHOUSE)


# --- short: out of stock -------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [{"SKU_1": 2}, {"SKU_1": 1, "SKU_2": 3}])
def test_p3_2_short_goods_put_the_order_out_of_stock_with_the_shortage_on_record(missing):
    story = out_of_stock(**missing)
    short = {sku.replace("_", "-"): n for sku, n in missing.items()}
    assert story.state.backorder is not None
    assert story.state.backorder.short == short
    assert story.state.backorder.reason is None
    assert story.state.reservation_key is None
    assert story.state.reserved == {}
    [task] = tasks_of(story, TaskKind.RECORD_BACKORDER)
    assert task.department is D.WAREHOUSE
    assert task.is_open


def test_p3_2_the_shortage_is_recorded_as_an_event_with_a_task_for_the_warehouse():
    story = Story(stock=short_of(SKU_1=2))
    decision = story.approve()
    assert decision.kinds == [EventKind.REVIEWED, EventKind.OUT_OF_STOCK]
    assert decision.events[-1].data == {"short": {"SKU-1": 2}}
    assert decision.opened_kinds() == [TaskKind.RECORD_BACKORDER]
    assert decision.opened[0].summary == "short: SKU-1 x2"


@pytest.mark.parametrize("recorded_first", [False, True], ids=["task open", "task done"])
def test_p3_2_a_second_shortage_after_a_restock_opens_no_second_record_task(recorded_first):
    story = out_of_stock()
    if recorded_first:
        story.record_backorder()
    decision = story.restock()
    assert story.status is S.OUT_OF_STOCK
    assert decision.kinds == [EventKind.STOCK_REPLENISHED, EventKind.OUT_OF_STOCK]
    assert decision.opened == []
    assert len(tasks_of(story, TaskKind.RECORD_BACKORDER)) == 1
    assert story.state.backorder is not None
    assert story.state.backorder.short == {"SKU-1": 2}


def test_p3_2_a_second_shortage_keeps_the_reason_and_eta_already_recorded():
    story = out_of_stock()
    eta = story.now + timedelta(days=5)
    story.record_backorder(eta)
    story.stock = short_of(SKU_1=1)
    story.restock()
    backorder = story.state.backorder
    assert backorder is not None
    assert (backorder.short, backorder.reason, backorder.restock_eta) == (
        {"SKU-1": 1},
        "supplier late",
        eta,
    )


# --- restock -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sku", ["SKU-1", "SKU-2"])
def test_p3_2_a_restock_of_a_sku_the_order_waits_for_retries_the_reservation(sku):
    story = out_of_stock(SKU_1=1, SKU_2=3)
    story.stock = in_stock
    decision = story.restock(sku)
    assert decision.kinds == [EventKind.STOCK_REPLENISHED, EventKind.STOCK_RESERVED]
    [reservation] = decision.reservations
    assert reservation.reservation_key == "JD1:R2"
    assert reservation.quantities == {"SKU-1": 2, "SKU-2": 3}
    assert story.status is S.READY_TO_PACK
    assert story.state.reservation_key == "JD1:R2"
    assert story.state.backorder is None
    assert decision.opened_kinds() == [TaskKind.PACK]


def test_p3_2_each_retry_asks_with_a_new_reservation_key():
    story = out_of_stock()
    story.restock()
    story.restock()
    keys = [r.reservation_key for r in story.requests]
    assert keys == ["JD1:R1", "JD1:R2", "JD1:R3"]
    assert story.status is S.OUT_OF_STOCK


@pytest.mark.parametrize(
    ("status", "sku"),
    [
        (S.OUT_OF_STOCK, "SKU-9"),
        (S.UNDER_REVIEW, "SKU-1"),
        (S.READY_TO_PACK, "SKU-1"),
        (S.AWAITING_DISPATCH, "SKU-1"),
        (S.IN_TRANSIT, "SKU-1"),
    ],
    ids=["another sku", "under review", "ready to pack", "awaiting dispatch", "in transit"],
)
def test_p3_2_a_restock_the_order_does_not_wait_for_changes_nothing(status, sku):
    story = out_of_stock() if status is S.OUT_OF_STOCK else Story.at(status)
    seq, asked = story.state.seq, len(story.requests)
    decision = story.restock(sku)
    assert decision.kinds == []
    assert decision.requests == []
    assert (story.status, story.state.seq, len(story.requests)) == (status, seq, asked)


def test_p3_2_a_restock_while_a_reservation_is_under_way_asks_nothing_more():
    story = Story(stock=short_of(SKU_1=2), auto=False)
    story.approve()
    story.order.stock_answer(short_of(SKU_1=2)(story.requests[0]), story.tick())
    story.restock()
    assert story.state.reserving == "JD1:R2"
    decision = story.restock()
    assert decision.kinds == []
    assert decision.requests == []
    assert [r.reservation_key for r in story.requests] == ["JD1:R1", "JD1:R2"]


# --- answers the order no longer waits for -----------------------------------------------------


@pytest.mark.parametrize("reserved", [True, False])
def test_p3_2_an_answer_for_a_reservation_the_order_does_not_wait_for_is_ignored(reserved):
    story = Story(auto=False)
    story.approve()
    assert story.state.reserving == "JD1:R1"
    seq, status = story.state.seq, story.status
    stray = Reservation(reservation_key="JD1:R9", reserved=reserved, short={"SKU-1": 2})
    decision = story.order.stock_answer(stray, story.tick())
    assert decision.kinds == []
    assert decision.opened == []
    assert (story.status, story.state.seq) == (status, seq)
    assert story.state.reserving == "JD1:R1"
    assert story.state.reservation_key is None
    # The answer it waits for still counts.
    story.order.stock_answer(in_stock(story.requests[0]), story.tick())
    assert story.status is S.READY_TO_PACK


@pytest.mark.parametrize("reserved", [True, False])
def test_p3_2_a_repeated_answer_for_a_reservation_already_answered_is_ignored(reserved):
    story = Story.at(S.READY_TO_PACK)
    seq = story.state.seq
    again = Reservation(reservation_key="JD1:R1", reserved=reserved, short={"SKU-1": 2})
    decision = story.order.stock_answer(again, story.tick())
    assert decision.kinds == []
    assert (story.status, story.state.seq) == (S.READY_TO_PACK, seq)
    assert story.state.backorder is None
    assert story.open_kinds() == [TaskKind.PACK]


# --- the warehouse records why and until when ----------------------------------------------------


def test_p3_2_recording_the_backorder_closes_the_warehouse_task_and_tells_sales():
    story = out_of_stock()
    record = story.open_task(TaskKind.RECORD_BACKORDER)
    eta = story.now + timedelta(days=3)
    decision = story.record_backorder(eta)
    assert story.status is S.OUT_OF_STOCK
    assert decision.kinds == [EventKind.BACKORDER_RECORDED]
    event = decision.events[0]
    assert event.data["restock_eta"] == eta.isoformat()
    assert event.task_id == record.task_id
    assert decision.closed == [record]
    assert (record.state, record.outcome) == (TaskState.DONE, "recorded")
    [inform] = decision.opened
    assert (inform.kind, inform.department) == (TaskKind.INFORM_BACKORDER, D.SALES)
    assert decision.reply.task_id == inform.task_id
    backorder = story.state.backorder
    assert backorder is not None
    assert (backorder.short, backorder.reason, backorder.restock_eta) == (
        {"SKU-1": 2},
        "supplier late",
        eta,
    )


def test_p3_2_recording_again_updates_the_eta_and_tells_sales_once():
    story = out_of_stock()
    first = story.record_backorder()
    later = story.now + timedelta(days=10)
    second = story.record_backorder(later)
    assert second.opened == []
    assert second.closed == []
    assert second.reply.task_id == first.reply.task_id
    assert len(tasks_of(story, TaskKind.INFORM_BACKORDER)) == 1
    assert story.state.backorder is not None
    assert story.state.backorder.restock_eta == later


@pytest.mark.parametrize(
    "department",
    ["sales", "logistics", "customer_service", "finance", "supervision", "platform", "admin"],
)
def test_p3_2_only_the_warehouse_records_a_backorder(department):
    story = out_of_stock()
    command = BackorderCommand(actor=actor(department), reason="late", restock_eta=story.now)
    refusal = refused(story, lambda: story.act(story.order.record_backorder, command), NotPermitted)
    assert refusal.code == "action_not_for_department"


@pytest.mark.parametrize("status", [S.UNDER_REVIEW, S.READY_TO_PACK, S.AWAITING_DISPATCH])
def test_p3_2_a_backorder_is_recorded_only_while_out_of_stock(status):
    story = Story.at(status)
    refusal = refused(story, story.record_backorder, ActionNotAllowed)
    assert refusal.code == "action_not_now"


# --- stock arrives -----------------------------------------------------------------------------


def test_p3_2_when_stock_arrives_the_record_task_still_open_is_cancelled():
    story = out_of_stock()
    record = story.open_task(TaskKind.RECORD_BACKORDER)
    story.stock = in_stock
    decision = story.restock()
    assert story.status is S.READY_TO_PACK
    assert record in decision.closed
    assert (record.state, record.outcome) == (TaskState.CANCELLED, "stock arrived")
    assert story.open_kinds() == [TaskKind.PACK]


def test_p3_2_when_stock_arrives_after_the_record_only_the_pack_task_is_new():
    story = out_of_stock()
    story.record_backorder()
    story.stock = in_stock
    decision = story.restock()
    assert decision.closed == []
    assert decision.opened_kinds() == [TaskKind.PACK]
    # Sales still tells the customer (their task is theirs to close).
    assert story.open_kinds() == [TaskKind.INFORM_BACKORDER, TaskKind.PACK]
