"""P3.3 pick and pack, P3.4 dispatch, delivery and tracking (and the P5.2 anomalies tracking
reports), as plain functions of the order aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from domain.actors import Department
from domain.cases import CaseKind
from domain.commands import DeliveryMethod, TrackingCommand, TrackingEventKind
from domain.errors import ActionNotAllowed, NotPermitted, OrderError, PolicyViolation
from domain.events import EventKind
from domain.order.writes import StockStep
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TaskKind, TaskState
from tests.domain.order.builders import ACCESSORIES, Story, actor, new_order, product

S = OrderStatus
D = Department
T = TrackingEventKind
OTHERS_THAN_WAREHOUSE = [
    "sales",
    "logistics",
    "customer_service",
    "finance",
    "supervision",
    "platform",
    "admin",
]
OTHERS_THAN_LOGISTICS = [
    "sales",
    "warehouse",
    "customer_service",
    "finance",
    "supervision",
    "platform",
    "admin",
]


# --- helpers ---------------------------------------------------------------------------------


def refused(story: Story, attempt: Callable[[], Any], error: type[OrderError]) -> OrderError:
    """The attempt is refused with `error` and leaves the order as it was."""
    before = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    with pytest.raises(error) as caught:
        attempt()
    after = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    assert after == before
    return caught.value


def track_at(story: Story, when: Any, event: TrackingEventKind, event_id: str = "E1") -> Any:
    """The carrier's event at exactly `when` (a step moves the clock on by a minute)."""
    story.now = when - timedelta(minutes=1)
    return story.track(event, event_id)


# --- P3.3 the package carries its accessories --------------------------------------------------


@pytest.mark.parametrize(
    ("accessories", "missing"),
    [
        ([], ["manual", "warranty_card"]),
        (["manual"], ["warranty_card"]),
        (["warranty_card"], ["manual"]),
        (["charger", "stickers"], ["manual", "warranty_card"]),
        (["Manual", "warranty_card"], ["manual"]),
    ],
    ids=["none", "no warranty card", "no manual", "only extras", "misspelt"],
)
def test_p3_3_a_package_without_its_required_accessories_is_refused(accessories, missing):
    story = Story.at(S.READY_TO_PACK)
    refusal = refused(story, lambda: story.pack(accessories), PolicyViolation)
    assert refusal.code == "accessories_missing"
    assert refusal.params == {"missing": missing}
    assert story.open_kinds() == [TaskKind.PACK]


@pytest.mark.parametrize(
    ("accessories", "recorded"),
    [
        (["manual", "warranty_card"], ["manual", "warranty_card"]),
        (["warranty_card", "manual"], ["manual", "warranty_card"]),
        (["warranty_card", "manual", "charger"], ["charger", "manual", "warranty_card"]),
    ],
    ids=["exact", "any order", "extras are fine"],
)
def test_p3_3_a_package_with_its_accessories_is_packed(accessories, recorded):
    story = Story.at(S.READY_TO_PACK)
    decision = story.pack(accessories)
    assert story.status is S.AWAITING_DISPATCH
    [packed] = decision.events
    assert packed.kind is EventKind.PACKED
    assert packed.data["accessories"] == recorded
    assert packed.data["packages"] == 1


@pytest.mark.parametrize(
    ("kettle", "charger", "accessories", "missing"),
    [
        (["manual", "warranty_card"], ["charger"], ACCESSORIES, ["charger"]),
        (["manual"], [], [], ["manual"]),
        ([], [], [], None),
        (["manual"], ["manual", "charger"], ["manual", "charger"], None),
    ],
    ids=["the second product's", "fewer", "none required", "shared"],
)
def test_p3_3_each_product_of_the_catalogue_names_the_accessories_its_package_carries(
    kettle, charger, accessories, missing
):
    order = new_order(lines=[("SKU-KETTLE", 1, "129.00"), ("SKU-PHONE", 1, "999.00")])
    products = [
        product("SKU-KETTLE", accessories=kettle),
        product("SKU-PHONE", accessories=charger),
    ]
    story = Story(order, products=products)
    story.advance_to(S.READY_TO_PACK)
    if missing is None:
        story.pack(accessories)
        assert story.status is S.AWAITING_DISPATCH
        return
    refusal = refused(story, lambda: story.pack(accessories), PolicyViolation)
    assert refusal.params == {"missing": missing}


def test_p3_3_packing_closes_the_pack_task_and_hands_the_order_to_logistics():
    story = Story.at(S.READY_TO_PACK)
    pack = story.open_task(TaskKind.PACK)
    decision = story.pack()
    assert decision.closed == [pack]
    assert (pack.state, pack.outcome) == (TaskState.DONE, "1 package(s)")
    assert decision.events[0].task_id == pack.task_id
    [dispatch] = decision.opened
    assert (dispatch.kind, dispatch.department) == (TaskKind.DISPATCH, D.LOGISTICS)
    assert story.open_kinds() == [TaskKind.DISPATCH]
    assert story.state.packages == 1
    # Packing moves no stock: it leaves with the dispatch.
    assert decision.stock == []
    assert story.state.reservation_key == "JD1:R1"


@pytest.mark.parametrize("department", OTHERS_THAN_WAREHOUSE)
def test_p3_3_only_the_warehouse_packs(department):
    story = Story.at(S.READY_TO_PACK)
    refusal = refused(story, lambda: story.pack(by=department), NotPermitted)
    assert refusal.code == "action_not_for_department"


@pytest.mark.parametrize("status", [S.UNDER_REVIEW, S.AWAITING_DISPATCH, S.IN_TRANSIT, S.DELIVERED])
def test_p3_3_only_an_order_ready_to_pack_is_packed(status):
    story = Story.at(status)
    refusal = refused(story, story.pack, ActionNotAllowed)
    assert refusal.code == "action_not_now"


# --- P3.4 dispatch -----------------------------------------------------------------------------


def test_p3_4_dispatch_ships_the_reserved_stock_before_the_order_leaves():
    story = Story.at(S.AWAITING_DISPATCH)
    decision = story.dispatch()
    assert story.status is S.IN_TRANSIT
    assert decision.stock == [StockStep(action="ship", reservation_key="JD1:R1")]
    assert decision.kinds == [EventKind.STOCK_SHIPPED, EventKind.DISPATCHED]
    shipped, dispatched = decision.events
    assert shipped.data == {"reservation": "JD1:R1", "quantities": {"SKU-1": 2}}
    assert dispatched.data["carrier"] == "SF Express"
    assert dispatched.data["method"] == "express"
    assert dispatched.data["tracking_number"] == "SF1"
    assert story.state.reservation_key is None
    assert decision.requests == []


def test_p3_4_dispatch_records_the_shipment_and_its_promised_date():
    story = Story.at(S.AWAITING_DISPATCH)
    dispatch = story.open_task(TaskKind.DISPATCH)
    decision = story.dispatch()
    shipment = story.state.shipment
    assert shipment is not None
    assert (shipment.carrier, shipment.method, shipment.tracking_number, shipment.packages) == (
        "SF Express",
        DeliveryMethod.EXPRESS,
        "SF1",
        1,
    )
    assert shipment.dispatched_at == story.now
    assert shipment.promised_by == story.now + timedelta(days=2)
    assert shipment.delivered_at is None
    assert story.state.shipments == [shipment]
    assert decision.closed == [dispatch]
    [deliver] = decision.opened
    assert (deliver.kind, deliver.department) == (TaskKind.DELIVER, D.LOGISTICS)
    assert deliver.due_at == shipment.promised_by
    assert story.open_kinds() == [TaskKind.DELIVER]


@pytest.mark.parametrize(
    "deadline", [timedelta(hours=6), timedelta(days=2), timedelta(days=5)], ids=str
)
def test_p3_4_the_promised_date_follows_the_delivery_deadline_setting(deadline):
    story = Story.at(S.AWAITING_DISPATCH, policy=PolicySettings(delivery_deadline=deadline))
    story.dispatch()
    shipment = story.state.shipment
    assert shipment.promised_by == shipment.dispatched_at + deadline
    assert story.open_task(TaskKind.DELIVER).due_at == shipment.promised_by


@pytest.mark.parametrize("department", OTHERS_THAN_LOGISTICS)
def test_p3_4_only_logistics_dispatches(department):
    story = Story.at(S.AWAITING_DISPATCH)
    refusal = refused(story, lambda: story.dispatch(by=department), NotPermitted)
    assert refusal.code == "action_not_for_department"
    assert story.state.reservation_key == "JD1:R1"


@pytest.mark.parametrize("status", [S.UNDER_REVIEW, S.READY_TO_PACK, S.IN_TRANSIT, S.DELIVERED])
def test_p3_4_only_an_order_awaiting_dispatch_is_dispatched(status):
    story = Story.at(status)
    refusal = refused(story, story.dispatch, ActionNotAllowed)
    assert refusal.code == "action_not_now"


# --- P3.4 delivery -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "on_time"),
    [
        (-timedelta(days=1), True),
        (-timedelta(minutes=1), True),
        (timedelta(0), True),
        (timedelta(minutes=1), False),
        (timedelta(days=3), False),
    ],
    ids=["a day early", "a minute early", "at the promise", "a minute late", "days late"],
)
def test_p3_4_a_delivery_is_on_time_when_it_arrives_by_the_promised_date(offset, on_time):
    story = Story.at(S.IN_TRANSIT)
    deliver = story.open_task(TaskKind.DELIVER)
    promised = story.state.shipment.promised_by
    decision = track_at(story, promised + offset, T.DELIVERED)
    assert story.status is S.DELIVERED
    assert decision.kinds == [EventKind.TRACKING, EventKind.DELIVERED]
    delivered = decision.events[-1]
    assert delivered.data["on_time"] is on_time
    assert delivered.task_id == deliver.task_id
    assert story.state.shipment.delivered_at == promised + offset
    assert decision.closed == [deliver]
    assert deliver.state is TaskState.DONE
    assert story.open_kinds() == []


def test_p3_4_the_tracking_event_is_recorded_with_its_id_and_place():
    story = Story.at(S.IN_TRANSIT)
    command = TrackingCommand(
        actor=actor("logistics"), event_id="E7", event=T.IN_TRANSIT, location="Langfang hub"
    )
    decision = story.act(story.order.tracking, command)
    [event] = decision.events
    assert event.kind is EventKind.TRACKING
    assert event.data == {"event_id": "E7", "event": "in_transit", "location": "Langfang hub"}
    assert "E7" in story.state.tracking_seen


@pytest.mark.parametrize("event", [T.IN_TRANSIT, T.OUT_FOR_DELIVERY])
def test_p3_4_progress_events_are_only_recorded(event):
    story = Story.at(S.IN_TRANSIT)
    decision = story.track(event)
    assert story.status is S.IN_TRANSIT
    assert decision.kinds == [EventKind.TRACKING]
    assert decision.opened == []
    assert decision.closed == []
    assert story.state.cases == {}
    assert story.open_kinds() == [TaskKind.DELIVER]


@pytest.mark.parametrize("first", [T.IN_TRANSIT, T.DELAYED])
@pytest.mark.parametrize("again", [T.IN_TRANSIT, T.DELIVERED, T.LOST])
def test_p3_4_an_event_id_seen_before_is_ignored_entirely(first, again):
    story = Story.at(S.IN_TRANSIT)
    story.track(first, "E1")
    seq, cases = story.state.seq, len(story.state.cases)
    decision = story.track(again, "E1")
    assert decision.kinds == []
    assert decision.opened == []
    assert (story.status, story.state.seq, len(story.state.cases)) == (S.IN_TRANSIT, seq, cases)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.READY_TO_PACK, T.IN_TRANSIT),
        (S.AWAITING_DISPATCH, T.DELIVERED),
        (S.AWAITING_DISPATCH, T.LOST),
        (S.DELIVERED, T.DELIVERED),
        (S.DELIVERED, T.DAMAGED),
        (S.DELIVERED, T.DELAYED),
    ],
)
def test_p3_4_tracking_while_not_in_transit_is_recorded_and_changes_nothing(status, event):
    story = Story.at(status)
    tasks, shipment = story.open_kinds(), story.state.shipment
    decision = story.track(event, "E9")
    assert decision.kinds == [EventKind.TRACKING]
    assert story.status is status
    assert story.open_kinds() == tasks
    assert story.state.cases == {}
    assert story.state.shipment == shipment


# --- P5.2 anomalies reported by tracking -------------------------------------------------------


@pytest.mark.parametrize("event", [T.LOST, T.DAMAGED, T.DELAYED])
def test_p5_2_a_parcel_anomaly_opens_a_case_for_customer_service_and_logistics(event):
    story = Story.at(S.IN_TRANSIT)
    decision = story.track(event)
    assert story.status is S.IN_TRANSIT
    assert decision.kinds == [EventKind.TRACKING, EventKind.CASE_OPENED]
    [case] = story.state.cases.values()
    assert case.kind is CaseKind.LOGISTICS_EXCEPTION
    assert case.data == {"event": event.value, "tracking_number": "SF1"}
    assert case.is_open
    handle, investigate = decision.opened
    assert (handle.kind, handle.department) == (
        TaskKind.HANDLE_LOGISTICS_EXCEPTION,
        D.CUSTOMER_SERVICE,
    )
    assert (investigate.kind, investigate.department) == (
        TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION,
        D.LOGISTICS,
    )
    assert handle.case_id == investigate.case_id == case.case_id
    # The delivery is still awaited.
    assert TaskKind.DELIVER in story.open_kinds()


def test_p5_2_each_anomaly_opens_its_own_case():
    story = Story.at(S.IN_TRANSIT)
    story.track(T.DELAYED, "E1")
    story.track(T.DAMAGED, "E2")
    kinds = [case.data["event"] for case in story.state.cases.values()]
    assert kinds == ["delayed", "damaged"]
    assert all(case.is_open for case in story.state.cases.values())
    handles = [k for k in story.open_kinds() if k is TaskKind.HANDLE_LOGISTICS_EXCEPTION]
    assert len(handles) == 2


def test_p3_4_a_delayed_parcel_can_still_be_delivered():
    story = Story.at(S.IN_TRANSIT)
    story.track(T.DELAYED, "E1")
    decision = story.track(T.DELIVERED, "E2")
    assert story.status is S.DELIVERED
    assert decision.kinds[-1] is EventKind.DELIVERED
