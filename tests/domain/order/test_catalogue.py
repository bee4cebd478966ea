"""P3.1 price accuracy and legality, P3.3 accessories: the order checked against the product
catalogue, as pure decisions of the aggregate (and the catalogue's own rules)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain.catalogue import ProductDetails, line_problems
from domain.commands import ChangeCommand, ReviewCommand
from domain.errors import PolicyViolation
from domain.events import EventKind as E
from domain.order.details import OrderItem, OrderKind
from domain.states import OrderStatus as S
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, actor, new_order, product

KETTLE = product("SKU-KETTLE")  # 129.00, down to 99.00
LICENCE = "age_verified"
KNIFE = product("SKU-KNIFE", restricted=True, required_check=LICENCE)


def line(sku: str = "SKU-KETTLE", price: str = "129.00") -> OrderItem:
    return OrderItem(sku=sku, quantity=1, unit_price=Decimal(price))


def ordered(*lines: tuple[str, int, str], products: list[Any] | None = None) -> Story:
    return Story(new_order(lines=list(lines)), products=[KETTLE] if products is None else products)


# --- the catalogue's own rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [
        {"list_price": "10.00", "floor_price": "12.00"},
        {"restricted": True},
        {"required_check": "licence"},
        {"kind": "service", "accessories": ["manual"]},
        {"accessories": [" "]},
    ],
    ids=[
        "floor above list",
        "restricted without its check",
        "a check unrestricted",
        "service",
        "blank",
    ],
)
def test_p3_1_a_product_the_catalogue_cannot_keep_is_refused(details: dict[str, Any]):
    body = {"name": "kettle", "list_price": "129.00", "floor_price": "99.00", **details}
    with pytest.raises(ValidationError):
        ProductDetails.model_validate(body)


@pytest.mark.parametrize(
    ("items", "kind", "codes"),
    [
        ([line()], OrderKind.GOODS, []),
        ([line(price="99.00")], OrderKind.GOODS, []),  # the floor itself is accepted
        ([line(price="98.99")], OrderKind.GOODS, [("items[0].unit_price", "price_below_floor")]),
        ([line("SKU-NONE")], OrderKind.GOODS, [("items[0].sku", "unknown_product")]),
        ([line()], OrderKind.SERVICE, [("items[0].sku", "wrong_kind")]),
        (
            [line(), line("SKU-NONE"), line(price="1.00")],
            OrderKind.GOODS,
            [("items[1].sku", "unknown_product"), ("items[2].unit_price", "price_below_floor")],
        ),
    ],
    ids=["list price", "floor", "below floor", "unknown", "wrong kind", "line by line"],
)
def test_p3_1_each_line_is_checked_against_the_catalogue(items, kind, codes):
    problems = line_problems(kind, items, {"SKU-KETTLE": KETTLE})
    assert [(p.field, p.code) for p in problems] == codes


# --- intake (P2.2): a correction for sales, not a backorder --------------------------------------


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([("SKU-NONE", 1, "129.00")], "items[0].sku"),
        ([("SKU-KETTLE", 2, "50.00")], "items[0].unit_price"),
    ],
    ids=["unknown sku", "below the floor"],
)
def test_p2_2_an_unknown_sku_or_a_price_below_the_floor_is_a_correction_for_sales(lines, field):
    story = ordered(*lines)
    assert story.status is S.NEEDS_CORRECTION
    task = story.open_task(TaskKind.CORRECT_ORDER)
    assert task.department.value == "sales"
    assert story.opening.reservations == []  # not a backorder: no stock was asked for
    [problems] = [e for e in story.opening.events if e.kind is E.INTAKE_PROBLEMS]
    assert [p["field"] for p in problems.data["problems"]] == [field]


def test_p2_2_an_order_handed_over_without_its_products_knows_none_of_them():
    story = ordered(("SKU-KETTLE", 1, "129.00"), products=[])
    assert story.status is S.NEEDS_CORRECTION
    assert [p.field for p in story.state.problems] == ["items[0].sku"]


def test_p2_2_a_correction_is_checked_against_the_products_it_brings():
    story = ordered(("SKU-NONE", 1, "129.00"))
    story.correct(by="sales", items=[line()], products=[KETTLE])
    assert story.status is S.UNDER_REVIEW


def test_p2_2_a_product_listed_since_clears_the_order_when_it_is_corrected_again():
    """Sales adds the missing product to the catalogue; the correction brings its facts."""
    story = ordered(("SKU-NEW", 1, "129.00"))
    story.correct(by="sales", products=[product("SKU-NEW")])
    assert story.status is S.UNDER_REVIEW
    assert "SKU-NEW" in story.state.products


def test_p2_2_a_correction_still_below_the_floor_stays_with_sales():
    story = ordered(("SKU-KETTLE", 1, "10.00"))
    story.correct(by="sales", items=[line(price="20.00")], products=[KETTLE])
    assert story.status is S.NEEDS_CORRECTION
    assert story.open_task(TaskKind.CORRECT_ORDER).department.value == "sales"


# --- P4.1 changes: new goods must be sold as the catalogue allows -------------------------------


@pytest.mark.parametrize(
    ("items", "products", "code"),
    [
        ([line("SKU-NONE")], [], "unknown_product"),
        ([line(price="9.00")], [KETTLE], "price_below_floor"),
    ],
    ids=["unknown", "below floor"],
)
def test_p4_1_a_change_to_goods_the_catalogue_does_not_allow_is_refused(items, products, code):
    story = ordered(("SKU-KETTLE", 1, "129.00"))
    before = story.state.seq
    command = ChangeCommand(
        actor=actor("customer_service"), items=items, reason="asked", products=products
    )
    with pytest.raises(PolicyViolation) as caught:
        story.act(story.order.request_change, command)
    assert caught.value.code == code
    assert story.state.seq == before


def test_p4_1_an_approved_change_keeps_the_new_products_facts():
    story = ordered(("SKU-KETTLE", 1, "129.00"))
    story.request_change(items=[line("SKU-TOASTER", "129.00")])
    story.decide_change()
    assert "SKU-TOASTER" in story.state.products


# --- P3.1 legality: restricted goods need their check ------------------------------------------


def review(story: Story, approved: bool = True, checks: list[str] | None = None) -> Any:
    command = ReviewCommand(actor=actor("sales"), approved=approved, checks_done=checks)
    return story.act(story.order.review, command)


@pytest.mark.parametrize("checks", [None, [], ["other_check"]])
def test_p3_1_a_restricted_product_cannot_be_approved_without_its_check(checks):
    story = ordered(("SKU-KNIFE", 1, "129.00"), products=[KNIFE])
    with pytest.raises(PolicyViolation) as caught:
        review(story, checks=checks)
    assert caught.value.code == "restricted_check_required"
    assert caught.value.params == {"skus": ["SKU-KNIFE"], "checks": [LICENCE]}
    assert story.status is S.UNDER_REVIEW


def test_p3_1_with_its_check_done_a_restricted_product_is_approved_and_the_check_recorded():
    story = ordered(("SKU-KNIFE", 1, "129.00"), products=[KNIFE])
    decision = review(story, checks=[LICENCE])
    assert story.status is S.READY_TO_PACK
    [reviewed] = [e for e in decision.events if e.kind is E.REVIEWED]
    assert reviewed.data["checks_done"] == [LICENCE]


def test_p3_1_a_rejection_needs_no_check():
    story = ordered(("SKU-KNIFE", 1, "129.00"), products=[KNIFE])
    review(story, approved=False)
    assert story.status is S.REJECTED


def test_p3_1_an_order_without_restricted_goods_needs_no_check():
    story = ordered(("SKU-KETTLE", 1, "129.00"))
    review(story)
    assert story.status is S.READY_TO_PACK
