"""What one order records is bounded (issue 16, abuse limits): feeds and claims.

Every event an order records is an event of its workflow's history, which Temporal
ends at 51,200 events. Staff can send feed events (tracking, payment events) and
claims at will; past the policy's limits the order stops recording what would
change nothing, and refuses further claims of a task. What moves the order (a
delivery, the first anomaly in transit) is never dropped.
"""

from __future__ import annotations

import pytest

from domain.commands import PaymentEventKind, TrackingEventKind
from domain.errors import ActionNotAllowed
from domain.events import EventKind
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TaskKind
from tests.domain.order.builders import Story

S = OrderStatus
T = TrackingEventKind
E = EventKind
LIMITED = PolicySettings(feed_event_limit=3, claim_limit=2)


def flooded(n: int) -> Story:
    story = Story.at(S.IN_TRANSIT, policy=LIMITED)
    for i in range(n):
        story.track(T.IN_TRANSIT, event_id=f"flood-{i}")
    return story


def test_past_the_limit_tracking_that_changes_nothing_is_dropped_and_the_first_drop_recorded():
    story = flooded(3)
    assert len(story.state.tracking_seen) == 3
    first_drop = story.track(T.IN_TRANSIT, event_id="flood-3")
    assert first_drop.kinds == [E.FEED_LIMIT_REACHED]
    assert first_drop.events[0].data == {"feed": "tracking", "limit": 3}
    for i in range(4, 50):
        assert story.track(T.OUT_FOR_DELIVERY, event_id=f"flood-{i}").kinds == []
    # The state does not grow with the flood: no ids kept, one counter.
    assert len(story.state.tracking_seen) == 3
    assert story.state.feeds_over_limit == {"tracking": 47}


def test_the_delivery_is_recorded_whatever_the_flood_before_it():
    story = flooded(40)
    delivered = story.track(T.DELIVERED, event_id="real-delivery")
    assert E.DELIVERED in delivered.kinds
    assert story.status is S.DELIVERED


def test_the_first_anomaly_in_transit_opens_its_case_past_the_limit_and_no_flood_of_them_more():
    story = flooded(10)
    lost = story.track(T.LOST, event_id="lost-1")
    assert E.CASE_OPENED in lost.kinds
    cases = len(story.state.cases)
    for i in range(20):
        story.track(T.DELAYED, event_id=f"delayed-{i}")
    assert len(story.state.cases) == cases


def test_payment_events_past_the_limit_are_all_dropped():
    story = Story.at(S.UNDER_REVIEW, policy=LIMITED)
    for i in range(3):
        story.payment_event(PaymentEventKind.FAILED, event_id=f"P{i}")
    dropped = story.payment_event(PaymentEventKind.SUCCEEDED, event_id="P-late")
    assert dropped.kinds == [E.FEED_LIMIT_REACHED]
    assert dropped.ledger == []
    assert story.state.feeds_over_limit == {"payment_event": 1}


def test_a_task_claimed_as_often_as_the_limit_allows_refuses_the_next_claim():
    story = Story.at(S.READY_TO_PACK, policy=LIMITED)
    story.claim(TaskKind.PACK, "warehouse-1")
    story.claim(TaskKind.PACK, None)
    with pytest.raises(ActionNotAllowed) as refused:
        story.claim(TaskKind.PACK, "warehouse-2")
    assert refused.value.code == "claim_limit_reached"
    assert refused.value.params == {"task_id": story.open_task(TaskKind.PACK).task_id, "limit": "2"}
    # The work itself goes on: the task is still packed by its department.
    story.pack()
    assert story.status is S.AWAITING_DISPATCH
