"""The product catalogue (P3.1, P3.3): what intake, review and packing check orders against."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import CurrentStaff, State
from api.errors import forbidden, not_found
from db import catalogue
from domain.catalogue import Product, ProductDetails, not_theirs
from domain.order.details import SKU_PATTERN

router = APIRouter(prefix="/api/v1/products", tags=["products"])

Sku = Annotated[str, Path(pattern=SKU_PATTERN)]


class ProductList(BaseModel):
    items: list[Product]
    #: The last sku of this page: pass it as `after` for the next; None on the last page.
    next_after: str | None


@router.get("", response_model=ProductList)
async def list_products(
    staff: CurrentStaff,
    state: State,
    after: Annotated[str | None, Query(pattern=SKU_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ProductList:
    """The catalogue in sku order, a page at a time."""

    def read() -> list[Product]:
        with state.db.read() as conn:
            return catalogue.page(conn, after=after, limit=limit)

    items = await run_in_threadpool(read)
    return ProductList(items=items, next_after=items[-1].sku if len(items) == limit else None)


@router.get("/{sku}", response_model=Product)
async def get_product(sku: Sku, staff: CurrentStaff, state: State) -> Product:
    """One product: its prices, accessories and whether it is restricted."""

    def read() -> Product | None:
        with state.db.read() as conn:
            return catalogue.product(conn, sku)

    found = await run_in_threadpool(read)
    if found is None:
        raise not_found(f"product {sku}")
    return found


@router.put("/{sku}", response_model=Product)
async def put_product(sku: Sku, body: ProductDetails, staff: CurrentStaff, state: State) -> Product:
    """Add a product or change it (idempotent). Orders already handed over keep the
    facts they were checked against; orders, corrections and changes from now on get these.

    Each department changes only the facts it keeps (`domain.catalogue.KEPT_BY`): sales
    the listing, prices and legality (P3.1), the warehouse the package (P3.3); a new
    product is listed by sales. Anything else is a 403 naming the facts, nothing changed."""

    def write() -> Product:
        with state.db.write() as conn:
            before = catalogue.product(conn, sku)
            refused = not_theirs(staff.department, before, body)
            if refused:
                raise forbidden(
                    f"{', '.join(refused)} of a product {'are' if len(refused) > 1 else 'is'} "
                    f"not {staff.department.value}'s to "
                    f"{'set' if before is None else 'change'} (P3.1, P3.3)",
                    code="catalogue_facts_not_kept",
                    params={"fields": refused, "department": staff.department.value},
                )
            return catalogue.put(conn, sku, body, datetime.now(UTC), staff.staff_id)

    return await run_in_threadpool(write)
