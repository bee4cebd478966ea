"""Money: decimal amounts with two places, carried as strings in JSON (api.md)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")

#: What a request's Money is in the JSON schema (the OpenAPI document): exactly the values the
#: field takes, a number to the cent or the same as a string, at most ten digits before the
#: point. (Pydantic's own says any string and any number, which promises more.)
MONEY_INPUT_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 9999999999.99, "multipleOf": 0.01},
        {"type": "string", "pattern": r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$"},
    ]
}

#: A non-negative amount of money with at most two decimal places, serialised as "258.00".
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    PlainSerializer(lambda d: f"{d.quantize(CENT, rounding=ROUND_HALF_UP)}", return_type=str),
    WithJsonSchema(MONEY_INPUT_SCHEMA, mode="validation"),
]

#: A sum of amounts (paid, refunded, due): formatted like Money, not bounded by a field's
#: digits, so that no total the workflow computes can fail its own view.
Sum = Annotated[
    Decimal,
    PlainSerializer(lambda d: f"{d.quantize(CENT, rounding=ROUND_HALF_UP)}", return_type=str),
]

ZERO = Decimal("0.00")


def quantize(amount: Decimal) -> Decimal:
    """Round to cents, the unit every ledger figure is kept in."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
