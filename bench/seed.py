"""A throwaway read model for one benchmark system: its database, staff with real tokens,
the catalogue, stock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine

from bench.drivers import StaffMember, bench_product
from db import catalogue
from db import inventory as stock
from db import staff as staff_store
from db.engine import Database
from db.throwaway import throwaway_database
from domain.actors import Department
from domain.catalogue import ProductDetails

#: Enough units that no order of any run is ever short; several skus spread the row locks.
SKUS = [f"BENCH-SKU-{n}" for n in range(1, 11)]
UNITS = 100_000_000

POSTGRES_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@contextmanager
def database_url(workdir: Path, *, postgres: bool) -> Iterator[str]:
    """A fresh SQLite file in `workdir`, or a fresh PostgreSQL database dropped afterwards."""
    if not postgres:
        yield f"sqlite:///{workdir / 'oms.db'}"
        return
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with throwaway_database(admin, POSTGRES_ADMIN.rsplit("/", 1)[0], "oms_bench") as url:
            yield url
    finally:
        admin.dispose()


def seed(url: str) -> dict[Department, StaffMember]:
    """Create the schema, one member of staff per department (real tokens) and the stock."""
    db = Database(url)
    try:
        db.create_schema()
        now = datetime.now(UTC)
        staff: dict[Department, StaffMember] = {}
        with db.write() as conn:
            for department in Department:
                member, token = staff_store.add_staff(
                    conn, f"Bench {department.value}", department, now
                )
                staff[department] = StaffMember(member.staff_id, department, token)
            staff_store.add_leads(conn, now)  # P8.1: the API starts with leads only
            for sku in SKUS:
                product = bench_product(sku)
                details = ProductDetails(**product.model_dump(exclude={"sku"}))
                catalogue.put(conn, sku, details, now, "bench")
                stock.set_on_hand(conn, sku, UNITS, now, sku.lower())
        return staff
    finally:
        db.dispose()
