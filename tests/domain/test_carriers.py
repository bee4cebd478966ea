"""P3.4: how the parcel reaches the carrier (courier pick-up or the distribution centre)."""

from __future__ import annotations

import pytest

from domain.carriers import Handover, choose_handover

PICKUP, CENTRE = Handover.COURIER_PICKUP, Handover.DISTRIBUTION_CENTRE


@pytest.mark.parametrize(
    ("address", "wish", "sizes", "expected"),
    [
        # Without a wish the courier collects: the quicker way.
        ("1 Chaoyang Rd, Beijing", None, ["small"], PICKUP),
        # The customer's choice stands where nothing rules it out.
        ("1 Chaoyang Rd, Beijing", CENTRE, ["small", "medium"], CENTRE),
        ("1 Chaoyang Rd, Beijing", PICKUP, ["large"], PICKUP),
        # Bulky goods travel as freight from the distribution centre, whatever is wished.
        ("1 Chaoyang Rd, Beijing", PICKUP, ["small", "bulky"], CENTRE),
        # Remote places couriers do not collect for start at the distribution centre.
        ("乌鲁木齐市 新疆", PICKUP, ["small"], CENTRE),
        ("Lhasa, Tibet", None, ["small"], CENTRE),
        ("12 Harbour Rd, Changxing island", None, [], CENTRE),
        # No address (yet) and nothing bulky: the default.
        (None, None, [], PICKUP),
    ],
)
def test_the_handover_follows_the_address_the_wish_and_the_sizes(address, wish, sizes, expected):
    handover, why = choose_handover(address, wish, sizes)
    assert handover is expected
    assert why


def test_bulky_goods_are_said_to_travel_as_freight_even_to_a_remote_address():
    assert choose_handover("Lhasa, Tibet", PICKUP, ["bulky"]) == (
        CENTRE,
        "bulky goods travel as freight",
    )


def test_the_customers_wish_is_named_as_the_reason():
    assert choose_handover("Beijing", CENTRE, ["small"]) == (CENTRE, "the customer's choice")
