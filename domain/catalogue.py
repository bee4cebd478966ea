"""The product catalogue (P3.1, P3.3): what the retailer sells, at what price, with what.

Sales and the warehouse keep it (`PUT /api/v1/products/{sku}`), each its own facts
(`KEPT_BY`: a warehouse member cannot lower a floor price); the API reads the
products an order names when it hands the order, a correction or a change to the
workflow, which keeps them as the order's facts (the signature over the command
covers them, and a later change of the catalogue never alters a running order's
history). What the order is checked for here:

- P2.2/P3.1 price accuracy: every line names a product of the catalogue, of the
  order's kind, at no less than the lowest price sales may accept (`floor_price`);
- P3.1 legality: a restricted product names the check (a licence, an age check)
  the reviewer must confirm before approving;
- P3.3: each product names the accessories its package must carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.actors import Department
from domain.money import Money
from domain.order.details import SKU_PATTERN, OrderItem, OrderKind


class SizeClass(StrEnum):
    """How big a parcel the product makes, for the choice of delivery (P3.4)."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    BULKY = "bulky"


class ProductDetails(BaseModel):
    """The body of `PUT /api/v1/products/{sku}`: a product as sales and the warehouse keep it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    kind: OrderKind = OrderKind.GOODS
    list_price: Money
    #: The lowest unit price sales may accept (P3.1 price accuracy).
    floor_price: Money
    #: What its package must carry (P3.3); a service has none.
    accessories: list[str] = Field(default_factory=list, max_length=20)
    #: Restricted goods may be sold only after a check (P3.1 legality) ...
    restricted: bool = False
    #: ... which this names: the licence or check the reviewer confirms.
    required_check: str | None = Field(default=None, max_length=100)
    size_class: SizeClass = SizeClass.SMALL

    @model_validator(mode="after")
    def _consistent(self) -> ProductDetails:
        if self.floor_price > self.list_price:
            raise ValueError("floor_price is above list_price")
        if self.restricted and not (self.required_check or "").strip():
            raise ValueError("a restricted product names its required_check")
        if not self.restricted and self.required_check is not None:
            raise ValueError("required_check is for restricted products")
        if self.kind is OrderKind.SERVICE and self.accessories:
            raise ValueError("a service has no package, so no accessories")
        if any(not a.strip() or len(a) > 50 for a in self.accessories):
            raise ValueError("accessories are names of 1 to 50 characters")
        return self


#: Who keeps which facts of a product: sales its listing, prices and legality (P3.1), the
#: warehouse what its package carries and how big it is (P3.3). Admin keeps them all.
#: A department changes only its own; a new product is listed by sales (or admin).
SALES_KEEPS = frozenset(
    {"name", "kind", "list_price", "floor_price", "restricted", "required_check"}
)
WAREHOUSE_KEEPS = frozenset({"accessories", "size_class"})
KEPT_BY: Mapping[Department, frozenset[str]] = {
    Department.SALES: SALES_KEEPS,
    Department.WAREHOUSE: WAREHOUSE_KEEPS,
    Department.ADMIN: SALES_KEEPS | WAREHOUSE_KEEPS,
}


def not_theirs(
    department: Department, before: ProductDetails | None, after: ProductDetails
) -> list[str]:
    """The facts `department` may not set in putting `after` over `before` (empty: it
    may put it). Listing a new product sets its prices: that is sales' (or admin's) to do,
    its first package facts with it; the warehouse completes those afterwards."""
    kept = KEPT_BY.get(department, frozenset())
    if before is None:
        return sorted(SALES_KEEPS - kept)
    changed = [
        f for f in sorted(ProductDetails.model_fields) if getattr(before, f) != getattr(after, f)
    ]
    return [f for f in changed if f not in kept]


class Product(ProductDetails):
    """A product of the catalogue, as the order keeps it."""

    sku: str = Field(pattern=SKU_PATTERN)


class LineProblem(BaseModel):
    """What is wrong with one line against the catalogue."""

    model_config = ConfigDict(frozen=True)

    index: int
    sku: str
    #: `unknown_product`, `wrong_kind` or `price_below_floor`.
    code: str
    message: str

    @property
    def field(self) -> str:
        part = "unit_price" if self.code == "price_below_floor" else "sku"
        return f"items[{self.index}].{part}"


def line_problems(
    kind: OrderKind, items: Sequence[OrderItem], products: Mapping[str, Product]
) -> list[LineProblem]:
    """P3.1 price accuracy: each line against the catalogue, in line order."""
    problems: list[LineProblem] = []
    for index, line in enumerate(items):
        product = products.get(line.sku)
        if product is None:
            problems.append(
                LineProblem(
                    index=index,
                    sku=line.sku,
                    code="unknown_product",
                    message=f"{line.sku} is not in the catalogue",
                )
            )
        elif product.kind is not kind:
            problems.append(
                LineProblem(
                    index=index,
                    sku=line.sku,
                    code="wrong_kind",
                    message=f"{line.sku} is a {product.kind} product in a {kind} order",
                )
            )
        elif line.unit_price < product.floor_price:
            problems.append(
                LineProblem(
                    index=index,
                    sku=line.sku,
                    code="price_below_floor",
                    message=f"{line.unit_price} is below {line.sku}'s lowest price "
                    f"{product.floor_price}",
                )
            )
    return problems


def required_accessories(items: Sequence[OrderItem], products: Mapping[str, Product]) -> set[str]:
    """P3.3: everything the packages of these lines must carry, product by product."""
    return {
        accessory
        for line in items
        if (product := products.get(line.sku)) is not None
        for accessory in product.accessories
    }


def required_checks(items: Sequence[OrderItem], products: Mapping[str, Product]) -> dict[str, str]:
    """P3.1 legality: the check each restricted product of these lines needs, by sku."""
    return {
        line.sku: product.required_check or ""
        for line in items
        if (product := products.get(line.sku)) is not None and product.restricted
    }
