"""Stock reservations (P3.2): all-or-nothing, idempotent, and no oversell under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from db import inventory as stock
from db.engine import Database
from db.tables import inventory_receipts, reservations

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def level(db: Database, sku: str) -> tuple[int, int]:
    with db.read() as conn:
        current = stock.level(conn, sku)
    assert current is not None
    return current.on_hand, current.reserved


def put(db: Database, **on_hand: int) -> None:
    with db.write() as conn:
        for sku, quantity in on_hand.items():
            stock.set_on_hand(conn, sku, quantity, NOW)


def reserve(db: Database, order_id: str, key: str, quantities: dict[str, int]) -> dict[str, int]:
    try:
        with db.write() as conn:
            stock.reserve(conn, order_id, key, quantities, NOW)
    except stock.StockShort as short:
        return short.short
    return {}


def test_a_reservation_holds_units_and_a_retry_holds_them_once(database):
    put(database, A=5)
    assert reserve(database, "O1", "O1:R1", {"A": 2}) == {}
    assert reserve(database, "O1", "O1:R1", {"A": 2}) == {}  # the activity ran twice
    assert level(database, "A") == (5, 2)


def test_a_short_order_reserves_nothing_of_any_line(database):
    put(database, A=5, B=1)
    assert reserve(database, "O1", "O1:R1", {"A": 2, "B": 3}) == {"B": 2}
    assert level(database, "A") == (5, 0)
    assert level(database, "B") == (1, 0)
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(reservations)).scalar() == 0


def test_an_unknown_sku_is_short_by_the_whole_quantity(database):
    assert reserve(database, "O1", "O1:R1", {"NEW": 4}) == {"NEW": 4}


def test_release_gives_units_back_once(database):
    put(database, A=5)
    reserve(database, "O1", "O1:R1", {"A": 3})
    with database.write() as conn:
        assert stock.release(conn, "O1:R1", NOW) == {"A": 3}
    with database.write() as conn:
        assert stock.release(conn, "O1:R1", NOW) == {}
    assert level(database, "A") == (5, 0)


def test_shipping_takes_units_off_the_shelf_once(database):
    put(database, A=5)
    reserve(database, "O1", "O1:R1", {"A": 3})
    with database.write() as conn:
        assert stock.ship(conn, "O1:R1", NOW) == {"A": 3}
    with database.write() as conn:
        assert stock.ship(conn, "O1:R1", NOW) == {}
        assert stock.release(conn, "O1:R1", NOW) == {}  # shipped units are not released
    assert level(database, "A") == (2, 0)


def test_a_receipt_is_booked_once_per_receipt_id(database):
    put(database, A=1)
    for _ in range(3):
        with database.write() as conn:
            stock.receive(conn, "RCPT-1", "A", 10, "pallet 7", "w1", NOW)
    assert level(database, "A") == (11, 0)
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(inventory_receipts)).scalar() == 1


def test_a_stock_count_below_what_is_reserved_is_refused(database):
    put(database, A=5)
    reserve(database, "O1", "O1:R1", {"A": 4})
    with pytest.raises(IntegrityError), database.write() as conn:
        stock.set_on_hand(conn, "A", 3, NOW)
    assert level(database, "A") == (5, 4)


def test_concurrent_reservations_never_oversell(database):
    """20 threads race for 7 units, two at a time: exactly 3 win, 1 unit stays free."""
    put(database, A=7, B=100)
    start = threading.Barrier(20)

    def attempt(n: int) -> bool:
        start.wait()
        return reserve(database, f"O{n}", f"O{n}:R1", {"B": 1, "A": 2}) == {}

    with ThreadPoolExecutor(max_workers=20) as pool:
        won = sum(pool.map(attempt, range(20)))
    assert won == 3
    assert level(database, "A") == (7, 6)
    assert level(database, "B") == (100, 3)


def test_backordered_orders_are_listed_longest_waiting_first(database):
    from db.order_records import apply_changes
    from domain.order.writes import OrderChanges
    from tests.db.test_order_records import changes_for

    for n, status in enumerate(["out_of_stock", "ready_to_pack", "out_of_stock"]):
        changes: OrderChanges = changes_for(f"O{n}", status=status, seconds=n)
        with database.write() as conn:
            apply_changes(conn, changes)
    with database.read() as conn:
        assert stock.backordered_orders(conn, "SKU-1") == ["O0", "O2"]
