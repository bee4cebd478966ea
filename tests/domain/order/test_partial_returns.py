"""P5.3 returns per line and quantity: what comes back is refunded; the rest stays with the
customer, and the order is `returned` only once everything is back. Pure decisions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.commands import ReturnCommand, ReturnKind, ReturnLine
from domain.errors import PolicyViolation
from domain.events import EventKind as E
from domain.states import OrderStatus as S
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, actor

#: 2 kettles at 129.00 and 1 toaster at 80.00: 338.00 paid.
LINES = [("SKU-KETTLE", 2, "129.00"), ("SKU-TOASTER", 1, "80.00")]


def delivered() -> Story:
    return Story.at(S.DELIVERED, lines=LINES)


def refunded(story: Story) -> list[Decimal]:
    return [r.amount for r in story.state.refunds.values()]


def return_of(story: Story, lines: dict[str, int], restock: bool = True) -> None:
    story.request_return(lines=lines)
    story.decide_return()
    story.inspect(restock=restock)


def test_p5_3_a_partial_return_refunds_what_comes_back_and_the_order_stays_delivered():
    story = delivered()
    decision = story.request_return(lines={"SKU-KETTLE": 1})
    assert story.state.cases[story.case_id()].data["lines"] == {"SKU-KETTLE": 1}
    assert decision.opened[0].kind is TaskKind.REVIEW_RETURN
    story.decide_return()
    decision = story.inspect(restock=True)
    assert story.status is S.DELIVERED
    assert refunded(story) == [Decimal("129.00")]
    assert story.state.returned == {"SKU-KETTLE": 1}
    [partly] = [e for e in decision.events if e.kind is E.PARTLY_RETURNED]
    assert partly.data == {"lines": {"SKU-KETTLE": 1}, "value": "129.00"}
    # Only what came back goes back to stock.
    assert [(r.sku, r.quantity) for r in decision.receipts] == [("SKU-KETTLE", 1)]
    # Sales (the supplier) and finance (the accounts) are told, as for a whole return.
    assert {TaskKind.SUPPLIER_FOLLOW_UP, TaskKind.ADJUST_ACCOUNTS} <= set(story.open_kinds())


def test_p5_3_once_everything_is_back_the_order_is_returned_and_fully_refunded():
    story = delivered()
    return_of(story, {"SKU-TOASTER": 1})
    story.settle_claim()
    story.complete_task(TaskKind.ADJUST_ACCOUNTS)
    story.request_return()  # the rest: two kettles
    assert story.state.cases[story.case_id()].data.get("lines") is None
    story.decide_return()
    story.inspect()
    assert story.status is S.RETURNED
    assert refunded(story) == [Decimal("80.00"), Decimal("258.00")]
    assert sum(refunded(story)) == Decimal("338.00")


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ({"SKU-KETTLE": 3}, "return_more_than_delivered"),
        ({"SKU-OTHER": 1}, "return_more_than_delivered"),
    ],
    ids=["more than delivered", "not in the order"],
)
def test_p5_3_a_return_of_goods_not_delivered_is_refused(lines, code):
    story = delivered()
    with pytest.raises(PolicyViolation) as refused:
        story.request_return(lines=lines)
    assert refused.value.code == code
    assert story.state.cases == {}


def test_p5_3_units_already_returned_cannot_come_back_twice():
    story = delivered()
    return_of(story, {"SKU-KETTLE": 2})
    story.settle_claim()
    story.complete_task(TaskKind.ADJUST_ACCOUNTS)
    with pytest.raises(PolicyViolation) as refused:
        story.request_return(lines={"SKU-KETTLE": 1})
    assert refused.value.params == {"sku": "SKU-KETTLE", "returnable": "0"}


def test_p5_3_an_exchange_is_of_the_whole_order():
    story = delivered()
    command = ReturnCommand(
        actor=actor("customer_service"),
        kind=ReturnKind.EXCHANGE,
        reason="broken",
        lines=[ReturnLine(sku="SKU-KETTLE", quantity=1)],
    )
    with pytest.raises(PolicyViolation) as refused:
        story.act(story.order.request_return, command)
    assert refused.value.code == "exchange_is_whole"


def test_p5_3_a_return_names_each_sku_once():
    with pytest.raises(ValueError):
        ReturnCommand(
            actor=actor("customer_service"),
            kind=ReturnKind.RETURN,
            reason="broken",
            lines=[ReturnLine(sku="SKU-KETTLE", quantity=1)] * 2,
        )
