"""P3.1 the review as a checklist: customer qualification, legality of the goods, price
accuracy; what the system found, the reviewer's answers and the phone call, as pure
decisions of the order aggregate."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.commands import ReviewCommand
from domain.errors import PolicyViolation
from domain.events import EventKind as E
from domain.review_checklist import (
    CallOutcome,
    CustomerStanding,
    PhoneCall,
    PointAnswer,
    ReviewPoint,
)
from domain.states import OrderStatus as S
from tests.domain.order.builders import START, Story, actor, new_order, product

CUSTOMER = ReviewPoint.CUSTOMER_QUALIFICATION
UNPAID_TWICE = CustomerStanding(earlier_orders=5, unpaid_orders=2)


def story(customer: CustomerStanding | None = None, **order: Any) -> Story:
    """An order under review, the customer as the read model knew them at hand-over."""
    return Story(new_order(**order), customer=customer)


def review(s: Story, approved: bool = True, **answers: Any) -> Any:
    command = ReviewCommand(actor=actor("sales"), approved=approved, **answers)
    return s.act(s.order.review, command)


def findings(s: Story) -> list[tuple[str, str, bool]]:
    return [(f.point.value, f.code, f.needs_answer) for f in s.state.review_findings]


# --- what the system finds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "order", "expected"),
    [
        (None, {}, [("price_accuracy", "list_price", False)]),
        (
            None,
            {"new_customer": True},
            [
                ("customer_qualification", "new_customer", False),
                ("price_accuracy", "list_price", False),
            ],
        ),
        (
            UNPAID_TWICE,
            {},
            [
                ("customer_qualification", "unpaid_history", True),
                ("price_accuracy", "list_price", False),
            ],
        ),
        (
            CustomerStanding(blocked=True, blocked_reason="chargebacks"),
            {},
            [
                ("customer_qualification", "blocked_customer", False),
                ("price_accuracy", "list_price", False),
            ],
        ),
    ],
    ids=["nothing", "new customer", "unpaid history", "blocked"],
)
def test_p3_1_the_review_finds_the_customers_qualification(customer, order, expected):
    s = story(customer, **order)
    assert s.status is S.UNDER_REVIEW
    assert findings(s) == expected


def test_p3_1_the_review_finds_restricted_goods_and_prices_below_the_list_price():
    order = new_order(lines=[("SKU-KNIFE", 1, "199.00"), ("SKU-KETTLE", 1, "109.00")])
    knife = product(
        "SKU-KNIFE", list_price=Decimal("199.00"), restricted=True, required_check="age"
    )
    s = Story(order, products=[knife, product("SKU-KETTLE")])
    assert [(f.point.value, f.code, f.params) for f in s.state.review_findings] == [
        ("legality", "restricted", {"sku": "SKU-KNIFE", "check": "age"}),
        ("price_accuracy", "list_price", {"sku": "SKU-KNIFE", "price": "199.00"}),
        (
            "price_accuracy",
            "discounted",
            {
                "sku": "SKU-KETTLE",
                "price": "109.00",
                "list_price": "129.00",
                "floor_price": "99.00",
            },
        ),
    ]
    # The order shows them (the read model mirrors the view).
    assert s.order.view().review_findings == s.state.review_findings


# --- the reviewer's answers ----------------------------------------------------------------


def test_p3_1_an_unpaid_history_must_be_answered_before_approval():
    s = story(UNPAID_TWICE)
    with pytest.raises(PolicyViolation) as refused:
        review(s)
    assert refused.value.code == "checklist_unanswered"
    assert refused.value.params == {"points": ["customer_qualification"]}
    answer = PointAnswer(point=CUSTOMER, ok=True, note="paid up front this time")
    decision = review(s, checklist=[answer])
    assert s.status is S.READY_TO_PACK
    [reviewed] = [e for e in decision.events if e.kind is E.REVIEWED]
    assert reviewed.data["checklist"] == [
        {"point": "customer_qualification", "ok": True, "note": "paid up front this time"}
    ]


def test_p3_1_an_approval_cannot_find_a_point_not_in_order_but_a_rejection_can():
    s = story()
    not_ok = [PointAnswer(point=ReviewPoint.PRICE_ACCURACY, ok=False, note="wrong price")]
    with pytest.raises(PolicyViolation) as refused:
        review(s, checklist=not_ok)
    assert refused.value.code == "checklist_point_not_ok"
    review(s, approved=False, checklist=not_ok)
    assert s.status is S.REJECTED


def test_p3_1_a_blocked_customers_order_is_not_approved():
    s = story(CustomerStanding(blocked=True, blocked_reason="fraud"))
    every_point = [PointAnswer(point=point, ok=True) for point in ReviewPoint]
    with pytest.raises(PolicyViolation) as refused:
        review(s, checklist=every_point)
    assert refused.value.code == "customer_blocked"
    review(s, approved=False, reason_code="customer_not_eligible")
    assert s.status is S.REJECTED


def test_p3_1_the_checklist_answers_each_point_once():
    with pytest.raises(ValueError):
        ReviewCommand(
            actor=actor("sales"),
            approved=True,
            checklist=[PointAnswer(point=CUSTOMER, ok=True), PointAnswer(point=CUSTOMER, ok=True)],
        )


# --- the phone verification ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "approved"),
    [(CallOutcome.CONFIRMED, True), (CallOutcome.NO_ANSWER, False), (CallOutcome.DECLINED, False)],
)
def test_p3_1_a_phone_verification_records_when_and_the_outcome(outcome, approved):
    s = story(new_customer=True)  # risky: it needs the call
    call = PhoneCall(called_at=START + timedelta(minutes=5), outcome=outcome, note="spoke to Li")
    if not approved:
        with pytest.raises(PolicyViolation) as refused:
            review(s, phone_call=call)
        assert refused.value.code == "phone_verification_required"
        return
    decision = review(s, phone_call=call)
    assert s.state.phone_verified
    [reviewed] = [e for e in decision.events if e.kind is E.REVIEWED]
    assert reviewed.actor.staff_id == "sales-1"  # who called: the reviewer
    assert reviewed.data["phone_call"] == {
        "called_at": (START + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "outcome": "confirmed",
        "note": "spoke to Li",
    }


def test_p3_1_a_change_of_goods_before_review_finds_again():
    s = story()
    s.request_change(items=new_order(lines=[("SKU-TOASTER", 1, "129.00")]).items)
    s.decide_change()
    assert [f.params.get("sku") for f in s.state.review_findings] == ["SKU-TOASTER"]
