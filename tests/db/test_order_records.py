"""Read-model writes (rule 3): idempotent, and a late older snapshot never wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from db import queries
from db.order_records import apply_changes
from db.tables import order_events, order_lines, tasks
from domain.actors import Actor, Department
from domain.events import EventKind, OrderEvent
from domain.money import ZERO
from domain.order.details import NewOrder
from domain.order.writes import OrderChanges
from domain.states import OrderStatus
from domain.tasks import Task, TaskKind, TaskState
from domain.view import OrderView
from tests.support.orders import order_body

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def changes_for(
    order_id: str,
    *,
    status: str = "under_review",
    seconds: int = 0,
    revision: int = 1,
    seq: int = 1,
    task_state: str = "open",
) -> OrderChanges:
    order = NewOrder.model_validate(order_body(order_id))
    at = T0 + timedelta(seconds=seconds)
    view = OrderView(
        order=order,
        status=OrderStatus(status),
        created_at=at,
        updated_at=at,
        total=order.total,
        paid_amount=order.payment.amount,
        refunded_amount=ZERO,
        intake_fingerprint="f" * 64,
        last_seq=seq,
    )
    events = [
        OrderEvent(
            seq=n,
            at=at,
            kind=EventKind.RECEIVED,
            status=OrderStatus(status),
            actor=Actor(staff_id="p1", department=Department.PLATFORM),
        )
        for n in range(1, seq + 1)
    ]
    task = Task(
        task_id=f"{order_id}-T1",
        order_id=order_id,
        kind=TaskKind.REVIEW,
        department=Department.SALES,
        state=TaskState(task_state),
        opened_at=at,
        due_at=at + timedelta(hours=2),
        remind_at=at + timedelta(hours=1.5),
        revision=revision,
    )
    return OrderChanges(
        view=view, revision=revision, events=events, tasks=[task], lines_changed=True
    )


def count(db, table, order_id):
    with db.read() as conn:
        return conn.execute(
            select(func.count()).select_from(table).where(table.c.order_id == order_id)
        ).scalar()


def test_writing_the_same_step_twice_leaves_one_set_of_rows(database):
    changes = changes_for("O1", seq=3)
    for _ in range(2):
        with database.write() as conn:
            apply_changes(conn, changes)
    assert count(database, order_events, "O1") == 3
    assert count(database, order_lines, "O1") == 1
    assert count(database, tasks, "O1") == 1
    with database.read() as conn:
        view = queries.order_view(conn, "O1")
    assert view is not None and view.status is OrderStatus.UNDER_REVIEW
    assert view.order == changes.view.order


def test_a_late_older_snapshot_does_not_overwrite_a_newer_one(database):
    newer = changes_for("O1", status="ready_to_pack", revision=5, seq=2, task_state="done")
    older = changes_for("O1", status="under_review", revision=4, seq=1)
    with database.write() as conn:
        apply_changes(conn, newer)
    with database.write() as conn:
        apply_changes(conn, older)
    with database.read() as conn:
        assert queries.order_status(conn, "O1") == "ready_to_pack"
        assert queries.get_task(conn, "O1-T1")["state"] == "done"


def test_order_lists_page_newest_first_without_gaps_or_repeats(database):
    for n in range(7):
        with database.write() as conn:
            apply_changes(conn, changes_for(f"O{n}", seconds=n))
    seen, cursor = [], None
    while True:
        with database.read() as conn:
            page = queries.list_orders(conn, limit=3, cursor=cursor)
        seen += [row["order_id"] for row in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"O{n}" for n in reversed(range(7))]


def test_the_inbox_lists_open_tasks_soonest_due_first(database):
    for n in (2, 0, 1):
        with database.write() as conn:
            apply_changes(conn, changes_for(f"O{n}", seconds=n))
    with database.read() as conn:
        page = queries.list_tasks(conn, department="sales", limit=2)
        rest = queries.list_tasks(conn, department="sales", limit=2, cursor=page.next_cursor)
    assert [r["task_id"] for r in page.items + rest.items] == ["O0-T1", "O1-T1", "O2-T1"]
    assert page.items[0]["order_status"] == "under_review"
    assert rest.next_cursor is None


def test_a_step_moves_its_stock_in_the_same_write_once(database):
    """Dispatch (P3.4) ships the held units with the step's record; a retry ships nothing."""
    from db import inventory as stock
    from domain.order.writes import StockStep

    with database.write() as conn:
        stock.set_on_hand(conn, "SKU-1", 5, T0)
        stock.reserve(conn, "O1", "O1:R1", {"SKU-1": 2}, T0)
    changes = changes_for("O1", status="in_transit").model_copy(
        update={"stock": [StockStep(action="ship", reservation_key="O1:R1")]}
    )
    for _ in range(2):
        with database.write() as conn:
            apply_changes(conn, changes, T0)
    with database.read() as conn:
        level = stock.level(conn, "SKU-1")
        assert queries.order_status(conn, "O1") == "in_transit"
    assert level is not None and (level.on_hand, level.reserved) == (3, 0)
