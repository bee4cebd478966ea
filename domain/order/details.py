"""An order as the platform hands it over (P2.1, P2.2): customer, items, shipping, payment."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.carriers import Handover
from domain.money import ZERO, Money, quantize

#: Order numbers travel in workflow ids and URLs, so they are kept to a safe alphabet.
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: Digits with an optional leading + and separators; whether it is *present* is P2.2's business.
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,19}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Strict(BaseModel):
    """Base for input models: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")


class OrderKind(StrEnum):
    GOODS = "goods"
    SERVICE = "service"


class PaymentStatus(StrEnum):
    PAID = "paid"
    UNPAID = "unpaid"


class PaymentMethod(StrEnum):
    ONLINE = "online"
    CASH_ON_DELIVERY = "cash_on_delivery"
    BANK_TRANSFER = "bank_transfer"


class Customer(Strict):
    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    new_customer: bool = False
    #: Where messages go when the order names no phone (domain/notices.py).
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    #: The language the customer is written to in (Chinese by default).
    language: Literal["zh", "en"] = "zh"


class OrderItem(Strict):
    sku: str = Field(pattern=SKU_PATTERN)
    name: str = Field(default="", max_length=200)
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Money

    @property
    def line_total(self) -> Decimal:
        return quantize(self.unit_price * self.quantity)


class Shipping(Strict):
    address: str | None = Field(default=None, max_length=500)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    #: P3.4: how the customer wishes the parcel to travel (the rule may overrule it).
    handover: Handover | None = None


class Payment(Strict):
    method: PaymentMethod = PaymentMethod.ONLINE
    status: PaymentStatus
    amount: Money
    transaction_id: str | None = Field(default=None, max_length=100)


#: The largest amount a money field holds (12 digits): an order's lines must add up to no more.
MAX_TOTAL = Decimal("9999999999.99")


def lines_total(items: list[OrderItem]) -> Decimal:
    return quantize(sum((line.line_total for line in items), ZERO))


def check_lines_fit(items: list[OrderItem]) -> list[OrderItem]:
    """Refuse lines whose total no money field can hold (a 422, not a stuck order)."""
    if lines_total(items) > MAX_TOTAL:
        raise ValueError(f"the lines add up to more than {MAX_TOTAL}")
    return items


class NewOrder(Strict):
    """The body of `POST /api/v1/orders`: what the payment system hands over (P2.2).

    Structure and formats are checked here (a malformed body is a 422); whether the
    data is complete and consistent is the intake validation of `domain.intake`,
    which sends the order to `needs_correction` instead of refusing it.
    """

    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    kind: OrderKind = OrderKind.GOODS
    customer: Customer
    items: Annotated[list[OrderItem], AfterValidator(check_lines_fit)] = Field(
        min_length=1, max_length=200
    )
    shipping: Shipping = Field(default_factory=Shipping)
    payment: Payment

    @property
    def total(self) -> Decimal:
        return lines_total(self.items)

    def quantities(self) -> dict[str, int]:
        """Units per sku, lines of the same sku added up: what stock must cover (P3.2)."""
        wanted: dict[str, int] = {}
        for line in self.items:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        return wanted
