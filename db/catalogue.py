"""Reading and keeping the product catalogue (domain/catalogue.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from db.catalogue_tables import products
from db.upsert import upsert
from domain.catalogue import Product, ProductDetails


def _product(row: Any) -> Product:
    return Product(
        sku=row["sku"],
        name=row["name"],
        kind=row["kind"],
        list_price=row["list_price"],
        floor_price=row["floor_price"],
        accessories=list(row["accessories"]),
        restricted=row["restricted"],
        required_check=row["required_check"],
        size_class=row["size_class"],
    )


def product(conn: Connection, sku: str) -> Product | None:
    row = conn.execute(select(products).where(products.c.sku == sku)).mappings().first()
    return None if row is None else _product(row)


def products_of(conn: Connection, skus: Iterable[str]) -> list[Product]:
    """The catalogue's products among `skus` (those it has), by sku: what an order names."""
    wanted = sorted(set(skus))
    if not wanted:
        return []
    rows = conn.execute(select(products).where(products.c.sku.in_(wanted)).order_by(products.c.sku))
    return [_product(row) for row in rows.mappings()]


def page(conn: Connection, *, after: str | None, limit: int) -> list[Product]:
    """Products in sku order after `after`: a page of the catalogue."""
    query = select(products).order_by(products.c.sku).limit(limit)
    if after is not None:
        query = query.where(products.c.sku > after)
    return [_product(row) for row in conn.execute(query).mappings()]


def put(conn: Connection, sku: str, details: ProductDetails, now: datetime, by: str) -> Product:
    """Add the product or replace what the catalogue says of it (idempotent)."""
    row = {
        "sku": sku,
        **details.model_dump(mode="python"),
        "size_class": details.size_class.value,
        "kind": details.kind.value,
        "updated_at": now,
        "updated_by": by,
    }
    upsert(conn, products, row, keys=("sku",))
    return Product(sku=sku, **details.model_dump())
