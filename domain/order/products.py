"""The catalogue's facts the order keeps (domain/catalogue.py): price accuracy (P3.1),
the legality checks of restricted goods (P3.1) and the package's accessories (P3.3); and
what the review looks at, from them and the customer's standing (domain/review_checklist.py)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.catalogue import Product, line_problems, required_accessories, required_checks
from domain.errors import PolicyViolation
from domain.order.base import OrderBase
from domain.order.details import OrderItem
from domain.review_checklist import review_findings
from domain.risk import risk_reasons


class CatalogueFacts(OrderBase):
    def _learn_products(self, products: Sequence[Product] | None) -> None:
        """Products the API read for a correction or a change: newer facts replace older."""
        for product in products or ():
            self.state.products[product.sku] = product

    def _check_lines(self, items: Sequence[OrderItem], products: Sequence[Product] | None) -> None:
        """P3.1 price accuracy for new goods (a change, P4.1): refused, not corrected later."""
        known = {**self.state.products, **{p.sku: p for p in products or ()}}
        problems = line_problems(self.state.order.kind, items, known)
        if problems:
            first = problems[0]
            raise PolicyViolation(
                f"{first.message} (P3.1)",
                status=self.state.status,
                code=first.code,
                params={"sku": first.sku, "field": first.field},
            )

    def _accessories_due(self) -> set[str]:
        """P3.3: what the packages must carry, as the catalogue says of each product."""
        return required_accessories(self.state.order.items, self.state.products)

    def _assess_for_review(self) -> None:
        """P3.1: why the order needs a phone call, and what the review's checklist found."""
        state = self.state
        state.risk_reasons = risk_reasons(state.order, state.policy.risk_amount_threshold)
        state.review_findings = review_findings(
            state.order, state.products, state.customer_standing
        )

    def _checks_due(self) -> dict[str, str]:
        """P3.1 legality: the check each restricted product of the order needs, by sku."""
        return required_checks(self.state.order.items, self.state.products)
