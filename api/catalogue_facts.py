"""The facts an order command carries from the read model: the catalogue's products
(domain/catalogue.py) and the customer's standing (domain/review_checklist.py). Read by
the API and signed with the command, so the workflow checks the order against what the
catalogue and the customer list said when the order, its correction or its change
arrived (P3.1, P3.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool

from api.deps import AppState
from api.errors import ApiError
from db import catalogue, customers, queries
from domain.catalogue import Product
from domain.order.details import NewOrder
from domain.review_checklist import CustomerStanding

T = TypeVar("T")


async def products_for(state: AppState, skus: Iterable[str]) -> list[Product]:
    """The catalogue's products among `skus` (an unknown sku is simply absent)."""
    wanted = list(skus)

    def read() -> list[Product]:
        with state.db.read() as conn:
            return catalogue.products_of(conn, wanted)

    return await run_in_threadpool(read)


async def facts_for(state: AppState, order: NewOrder) -> tuple[list[Product], CustomerStanding]:
    """What intake and review need to know of a new order's products and customer."""
    skus = list(order.quantities())

    def read() -> tuple[list[Product], CustomerStanding]:
        with state.db.read() as conn:
            return catalogue.products_of(conn, skus), customers.standing(conn, order.customer.id)

    return await run_in_threadpool(read)


async def recorded_products(state: AppState, order_id: str) -> list[Product]:
    """The catalogue's products among the order's lines as the read model last recorded them."""

    def read() -> list[Product]:
        with state.db.read() as conn:
            return catalogue.products_of(conn, queries.order_skus(conn, order_id))

    return await run_in_threadpool(read)


async def with_earlier_release_fallback(
    send: Callable[[bool], Awaitable[T]],
) -> T:
    """Send a command with the catalogue's facts; an order of an earlier release (which
    knows no catalogue, workflows/releases.py) gets it without them."""
    try:
        return await send(True)
    except ApiError as error:
        if error.extra.get("refusal") != "earlier_release_field":
            raise
    return await send(False)
