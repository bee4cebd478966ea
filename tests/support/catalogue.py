"""The products the tests' orders name (P3.1): the catalogue every test system starts with.

Prices are the tests' own (`order_body` lines say 129.00, 6000.00 and so on), so the
floors are low; a test of price accuracy puts its own product with a real floor.
"""

from __future__ import annotations

from decimal import Decimal

from domain.catalogue import ProductDetails

ACCESSORIES = ["manual", "warranty_card"]


def any_price(sku: str, kind: str = "goods") -> ProductDetails:
    """A product sold at any price from 0.01 up: for tests that are not about prices."""
    return ProductDetails(
        name=sku.lower(),
        kind=kind,
        list_price=Decimal("9999999.99"),
        floor_price=Decimal("0.01"),
        accessories=ACCESSORIES if kind == "goods" else [],
    )


TEST_CATALOGUE: dict[str, ProductDetails] = {
    **{sku: any_price(sku) for sku in ("SKU-1", "SKU-2", "SKU-KETTLE", "SKU-HOT", "A")},
    **{sku: any_price(sku, "service") for sku in ("SVC-INSTALL", "SVC-REPAIR", "SVC-VISIT")},
}
