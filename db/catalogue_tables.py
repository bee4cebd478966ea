"""The product catalogue (P3.1, P3.3): one row per sku, kept by sales and the warehouse."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, String, Table

from db.tables import metadata
from db.types import Cents, UTCDateTime

products = Table(
    "products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # goods | service
    Column("list_price", Cents, nullable=False),
    Column("floor_price", Cents, nullable=False),
    Column("accessories", JSON, nullable=False),
    Column("restricted", Boolean, nullable=False, default=False),
    Column("required_check", String(100)),
    Column("size_class", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
    # Sales may never be allowed to sell above the list price's own floor (P3.1).
    CheckConstraint("floor_price <= list_price", name="ck_products_floor"),
)
