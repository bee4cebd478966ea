"""P2.2 intake validation and the P3.1 risk rule, as plain functions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.intake import validate_intake
from domain.order.details import NewOrder
from domain.risk import needs_phone_verification, reason_parts, risk_reasons
from tests.domain.order.builders import catalogue_for
from tests.support.orders import order_body


def checked(body: dict) -> list:
    """Intake's problems with the order, its products all in the catalogue at any price."""
    order = NewOrder.model_validate(body)
    return validate_intake(order, {p.sku: p for p in catalogue_for(order.items)})


def problems_of(**changes) -> list[tuple[str, str]]:
    return [(p.field, p.department.value) for p in checked(order_body("JD1", **changes))]


def test_a_complete_consistent_order_has_no_problems():
    assert problems_of() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"amount": "1.00"}, [("payment.amount", "sales")]),
        ({"address": None}, [("shipping.address", "customer_service")]),
        ({"address": "   "}, [("shipping.address", "customer_service")]),
        (
            {"name": None},
            [("customer.name", "customer_service"), ("shipping.contact_name", "customer_service")],
        ),
        (
            {"phone": None},
            [
                ("customer.phone", "customer_service"),
                ("shipping.contact_phone", "customer_service"),
            ],
        ),
        ({"lines": [("SKU-1", 1, "10.00"), ("SKU-1", 1, "10.00")]}, [("items", "sales")]),
        # Price problems come first: they go to sales before customer data to customer service.
        (
            {"amount": "1.00", "address": None},
            [("payment.amount", "sales"), ("shipping.address", "customer_service")],
        ),
    ],
)
def test_missing_or_inconsistent_data_is_sent_to_the_department_that_owns_it(changes, expected):
    assert problems_of(**changes) == expected


def test_a_paid_order_needs_its_transaction_id():
    body = order_body("JD1")
    body["payment"]["transaction_id"] = None
    problems = checked(body)
    assert [(p.field, p.department.value) for p in problems] == [
        ("payment.transaction_id", "sales")
    ]


def test_problem_messages_carry_no_personal_data():
    body = order_body("JD1", amount="1.00", address=None, name="Marker Name")
    for problem in checked(body):
        assert "Marker" not in problem.message and "13800138000" not in problem.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("order_id", "has space"),
        ("order_id", ""),
        ("items", []),
        ("kind", "rental"),
    ],
)
def test_a_malformed_body_is_refused_before_intake(field, value):
    body = order_body("JD1")
    body[field] = value
    with pytest.raises(ValidationError):
        NewOrder.model_validate(body)


@pytest.mark.parametrize(
    "line_change",
    [
        {"quantity": 0},
        {"quantity": -1},
        {"unit_price": "1.001"},
        {"unit_price": "-1.00"},
        {"unit_price": "abc"},
        {"sku": "bad sku"},
        {"extra": 1},
    ],
)
def test_malformed_lines_are_refused(line_change):
    body = order_body("JD1")
    body["items"][0].update(line_change)
    with pytest.raises(ValidationError):
        NewOrder.model_validate(body)


def test_total_adds_up_the_lines():
    order = NewOrder.model_validate(order_body("JD1", lines=[("A", 2, "129.00"), ("B", 1, "0.50")]))
    assert order.total == Decimal("258.50")
    assert order.quantities() == {"A": 2, "B": 1}


@pytest.mark.parametrize(
    ("new_customer", "price", "reasons"),
    [
        (False, "100.00", []),
        (True, "100.00", ["new customer"]),
        (False, "5000.00", []),  # at the threshold: not over it
        (False, "5000.01", ["amount 5000.01 over 5000.00"]),
        (True, "6000.00", ["new customer", "amount 6000.00 over 5000.00"]),
    ],
)
def test_new_customers_and_large_amounts_need_phone_verification(new_customer, price, reasons):
    order = NewOrder.model_validate(
        order_body("JD1", lines=[("A", 1, price)], new_customer=new_customer)
    )
    assert risk_reasons(order, Decimal("5000.00")) == reasons
    assert needs_phone_verification(order, Decimal("5000.00")) is bool(reasons)
    # Every reason written can be read back as its kind and values (the console's words).
    assert all(reason_parts(r) is not None for r in reasons)


def test_a_risk_reason_reads_back_as_its_kind_and_values():
    assert reason_parts("new customer") == ("new_customer", {})
    assert reason_parts("amount 6000.00 over 5000.00") == (
        "amount_over",
        {"amount": "6000.00", "threshold": "5000.00"},
    )
    assert reason_parts("something else") is None


def test_lines_adding_up_beyond_what_money_can_hold_are_refused_at_the_boundary():
    """Found by schemathesis: such an order passed the API and then failed every task."""
    body = order_body("JD1", lines=[("SKU-1", 10000, "9999999999.99")], amount="1.00")
    with pytest.raises(ValidationError, match="add up to more than"):
        NewOrder.model_validate(body)
    from domain.commands import ChangeRequest, CorrectionRequest

    huge = [{"sku": "A", "quantity": 10000, "unit_price": "9999999999.99"}]
    with pytest.raises(ValidationError, match="add up to more than"):
        ChangeRequest.model_validate({"items": huge, "reason": "x"})
    with pytest.raises(ValidationError, match="add up to more than"):
        CorrectionRequest.model_validate({"items": huge})
