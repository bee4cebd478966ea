"""Random sequences of staff actions and feeds against real orders (hypothesis, stateful).

After every step, whatever was accepted or refused:
- refunds never exceed payments for any order (P4.2, P5);
- compensation (P5.2) is paid out once per case, within the order's total, apart from refunds;
- stock adds up: reserved = what live reservations hold, 0 <= reserved <= on_hand, and
  on_hand = initial + receipts (restocks and returned goods) - units shipped;
- every order's status history follows the transition table (domain.states).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from db.reports import revenue_report
from db.tables import inventory, inventory_receipts, ledger_entries, order_events, reservations
from domain.reports import GroupBy, ReportWindow
from domain.states import OrderStatus, can_transition
from tests.conftest import TEST_KEYRING, TEST_POLICY
from tests.support.background import BackgroundSystem
from tests.support.orders import order_body

INITIAL_STOCK = 6
#: Refusals (409) and unknown cases (404) are legitimate answers to a random action;
#: a 5xx or a 422 for a well-formed request is not.
FINE = {200, 201, 202, 404, 409}


@pytest.fixture(scope="module")
def background(temporal_env: WorkflowEnvironment, tmp_path_factory) -> Iterator[BackgroundSystem]:
    path: Path = tmp_path_factory.mktemp("props") / "oms.db"
    policy = TEST_POLICY.model_copy(
        update={"return_window": timedelta(seconds=60), "exchange_window": timedelta(seconds=60)}
    )
    address = temporal_env.client.service_client.config.target_host
    with BackgroundSystem(address, f"sqlite:///{path}", policy, TEST_KEYRING) as running:
        yield running


class OrderMachine(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self, background: BackgroundSystem) -> None:
        super().__init__()
        self.bg = background
        self.system = background.system
        self.sku = f"SKU-P-{uuid.uuid4().hex[:8]}"
        self.order_ids: list[str] = []

    # --- helpers ------------------------------------------------------------------------

    def post(self, who: str, path: str, body: Any = None) -> Any:
        """One action, as a robust client sends it: its own Idempotency-Key, retried while the
        system answers 503 (busy, restarting), so that it acts at most once."""
        key = uuid.uuid4().hex
        for _ in range(20):
            response = self.bg.run(self.system.post(who, path, body, key=key))
            if response.status_code != 503:
                break
            time.sleep(0.5)
        assert response.status_code in FINE, (
            f"{path} {body}: {response.status_code} {response.text}"
        )
        return response

    def order(self, order_id: str) -> dict[str, Any]:
        return self.bg.run(self.system.order(order_id))

    def open_case(self, order_id: str, kind: str) -> str | None:
        cases = [
            c for c in self.order(order_id)["cases"] if c["kind"] == kind and c["state"] == "open"
        ]
        return cases[-1]["case_id"] if cases else None

    # --- rules ----------------------------------------------------------------------------

    @initialize()
    def stock_the_shelf(self) -> None:
        self.system.set_stock(self.sku, INITIAL_STOCK)

    @rule(
        target=orders,
        quantity=st.integers(1, 3),
        paid=st.booleans(),
        new_customer=st.booleans(),
        declined=st.booleans(),
    )
    def create(self, quantity: int, paid: bool, new_customer: bool, declined: bool) -> str:
        body = order_body(
            lines=[(self.sku, quantity, "25.00")], paid=paid, new_customer=new_customer
        )
        if paid and declined:
            # The simulated gateway refuses to pay anything back to it: finance does, by hand.
            body["payment"]["transaction_id"] = f"FAIL-{uuid.uuid4().hex[:8]}"
        self.post("platform", "/api/v1/orders", body)
        self.bg.run(self.system.wait_for(body["order_id"], "under_review"))
        self.order_ids.append(body["order_id"])
        return str(body["order_id"])

    @rule(order_id=orders, times=st.integers(1, 3))
    def advance(self, order_id: str, times: int) -> None:
        """Take the order one step further along the main line, whatever its status."""
        for _ in range(times):
            status = self.order(order_id)["status"]
            base = f"/api/v1/orders/{order_id}"
            if status == "under_review":
                self.post("sales", f"{base}/review", {"approved": True, "phone_verified": True})
            elif status == "out_of_stock":
                self.restock(3)
            elif status == "ready_to_pack":
                self.post(
                    "warehouse",
                    f"{base}/pack",
                    {"packages": 1, "accessories": ["manual", "warranty_card"]},
                )
            elif status == "awaiting_dispatch":
                self.post(
                    "logistics",
                    f"{base}/dispatch",
                    {"carrier": "SF", "method": "standard", "tracking_number": "SF-P"},
                )
            elif status == "in_transit":
                self.tracking(order_id, "delivered")
                self.bg.run(
                    self.system.wait_until(
                        order_id,
                        lambda o: o["status"] != "in_transit" or bool(o["cases"]),
                        what="the delivery",
                    )
                )

    @rule(order_id=orders, approved=st.booleans(), phone_verified=st.booleans())
    def review(self, order_id: str, approved: bool, phone_verified: bool) -> None:
        self.post(
            "sales",
            f"/api/v1/orders/{order_id}/review",
            {"approved": approved, "phone_verified": phone_verified},
        )

    @rule(order_id=orders, event=st.sampled_from(["delivered", "lost", "damaged", "delayed"]))
    def tracking(self, order_id: str, event: str) -> None:
        self.post(
            "platform",
            f"/api/v1/orders/{order_id}/tracking",
            {"event_id": uuid.uuid4().hex, "event": event},
        )

    @rule(
        order_id=orders,
        resolution=st.sampled_from(["reship", "refund", "none"]),
        compensation=st.sampled_from(["0.00", "3.00", "25.00"]),
    )
    def decide_exception(self, order_id: str, resolution: str, compensation: str) -> None:
        case_id = self.open_case(order_id, "logistics_exception")
        if case_id:
            self.post(
                "customer_service",
                f"/api/v1/orders/{order_id}/exceptions/{case_id}/decision",
                {"resolution": resolution, "compensation": compensation},
            )

    @rule(order_id=orders)
    def pay_out_by_hand(self, order_id: str) -> None:
        """Finance completes every refund or compensation the gateway refused."""
        for refund in self.order(order_id)["refunds"]:
            if refund["state"] == "failed":
                self.post(
                    "finance",
                    f"/api/v1/orders/{order_id}/refunds/{refund['refund_id']}/complete",
                    {"reference": f"BANK-{uuid.uuid4().hex[:6]}"},
                )

    @rule(order_id=orders)
    def cancel(self, order_id: str) -> None:
        self.post("customer_service", f"/api/v1/orders/{order_id}/cancel", {"reason": "random"})

    @rule(order_id=orders, quantity=st.integers(1, 4), approved=st.booleans())
    def change_goods(self, order_id: str, quantity: int, approved: bool) -> None:
        items = [{"sku": self.sku, "name": "x", "quantity": quantity, "unit_price": "25.00"}]
        response = self.post(
            "customer_service",
            f"/api/v1/orders/{order_id}/changes",
            {"items": items, "reason": "random change"},
        )
        if response.status_code == 200:
            case_id = response.json()["case_id"]
            self.post(
                "customer_service",
                f"/api/v1/orders/{order_id}/changes/{case_id}/decision",
                {"approved": approved},
            )

    @rule(
        order_id=orders,
        kind=st.sampled_from(["duplicate", "failed", "succeeded"]),
        amount=st.sampled_from(["25.00", "50.00"]),
    )
    def payment_event(self, order_id: str, kind: str, amount: str) -> None:
        self.post(
            "platform",
            f"/api/v1/orders/{order_id}/payment-events",
            {
                "event_id": uuid.uuid4().hex,
                "kind": kind,
                "amount": amount,
                "transaction_id": "TX-P",
            },
        )

    @rule(quantity=st.integers(1, 3))
    def restock(self, quantity: int) -> None:
        self.post("warehouse", f"/api/v1/inventory/{self.sku}/receipts", {"quantity": quantity})

    @rule(
        order_id=orders,
        kind=st.sampled_from(["return", "exchange"]),
        confirmed=st.booleans(),
        restock=st.booleans(),
        units=st.sampled_from([None, 1, 2]),
    )
    def return_goods(
        self, order_id: str, kind: str, confirmed: bool, restock: bool, units: int | None
    ) -> None:
        body: dict[str, Any] = {"kind": kind, "reason": "random"}
        if units is not None:  # P5.3 a return of some units (more than delivered is a 409)
            body["lines"] = [{"sku": self.sku, "quantity": units}]
        response = self.post("customer_service", f"/api/v1/orders/{order_id}/returns", body)
        if response.status_code != 200:
            return
        case_id = response.json()["case_id"]
        base = f"/api/v1/orders/{order_id}/returns/{case_id}"
        self.post("customer_service", f"{base}/decision", {"approved": True})
        self.post(
            "warehouse", f"{base}/inspection", {"quality_confirmed": confirmed, "restock": restock}
        )

    @rule(order_id=orders, step=st.sampled_from(["credited", "declined"]), share=st.booleans())
    def supplier_claim(self, order_id: str, step: str, share: bool) -> None:
        """P5.3: sales takes an open supplier claim to its end: credited (all of the goods'
        value, or half) or declined."""
        claim = self.open_case(order_id, "supplier_claim")
        if claim is None:
            return
        path = f"/api/v1/orders/{order_id}/supplier-claims/{claim}"
        if step == "credited":
            case = next(c for c in self.order(order_id)["cases"] if c["case_id"] == claim)
            value = Decimal(case["data"]["value"])
            amount = value if share else (value / 2).quantize(Decimal("0.01"))
            self.post("sales", path, {"step": "agreed", "amount": str(amount)})
            self.post("sales", path, {"step": "credited", "reference": f"CN-{claim}"})
        else:
            self.post("sales", path, {"step": "declined"})

    # --- invariants -------------------------------------------------------------------------

    def entries_of(self, kind: str) -> list[Any]:
        """(order id, entry id, case id, amount) of the orders' ledger entries of a kind."""
        with self.system.db.read() as conn:
            return list(
                conn.execute(
                    select(
                        ledger_entries.c.order_id,
                        ledger_entries.c.entry_id,
                        ledger_entries.c.case_id,
                        ledger_entries.c.amount,
                    ).where(
                        ledger_entries.c.order_id.in_(self.order_ids),
                        ledger_entries.c.kind == kind,
                    )
                ).all()
            )

    @invariant()
    def supplier_credits_are_booked_once_per_claim(self) -> None:
        # Money in from the supplier (+), one deterministic entry per claim case (P5.3).
        for order_id, entry_id, case_id, amount in self.entries_of("adjustment"):
            assert entry_id == f"{order_id}:supplier-credit:{case_id}"
            assert amount > 0

    @invariant()
    def the_revenue_report_counts_what_the_ledger_holds(self) -> None:
        """Per period: payments - refunds - compensation + supplier credits = net cash, and
        the report's net cash is every entry of the ledger (this module's database)."""
        today = datetime.now(UTC).date()
        window = ReportWindow(today - timedelta(days=1), today + timedelta(days=1))
        with self.system.db.read() as conn:
            rows = revenue_report(conn, window, GroupBy.ALL)
            entries = conn.execute(select(ledger_entries.c.amount)).scalars().all()
        [row] = rows
        parts = ("payments", "refunds", "compensation", "adjustments")
        assert sum(Decimal(row[p]) for p in parts) == Decimal(row["net_cash"])
        assert Decimal(row["net_cash"]) == sum(entries, Decimal("0.00"))

    @invariant()
    def refunds_never_exceed_payments(self) -> None:
        with self.system.db.read() as conn:
            rows = conn.execute(
                select(
                    ledger_entries.c.order_id, ledger_entries.c.kind, ledger_entries.c.amount
                ).where(ledger_entries.c.order_id.in_(self.order_ids))
            ).all()
        paid: dict[str, Decimal] = {}
        refunded: dict[str, Decimal] = {}
        for order_id, kind, amount in rows:
            if kind == "payment":
                paid[order_id] = paid.get(order_id, Decimal(0)) + amount
            elif kind == "refund":
                refunded[order_id] = refunded.get(order_id, Decimal(0)) - amount
        for order_id, amount in refunded.items():
            assert amount <= paid.get(order_id, Decimal(0)), f"{order_id} refunded {amount}"

    @invariant()
    def compensation_is_paid_once_per_case_within_the_order_total(self) -> None:
        # One deterministic id per case (booked at most once: the ledger's key), paid out,
        # never above what an order may total here (4 units at 25.00).
        for order_id, entry_id, case_id, amount in self.entries_of("compensation"):
            assert entry_id == f"{order_id}:compensation:{case_id}"
            assert Decimal("-100.00") <= amount < 0

    @invariant()
    def stock_adds_up(self) -> None:
        with self.system.db.read() as conn:
            level = conn.execute(
                select(inventory.c.on_hand, inventory.c.reserved).where(inventory.c.sku == self.sku)
            ).first()
            if level is None:
                return
            held = conn.execute(
                select(func.coalesce(func.sum(reservations.c.quantity), 0)).where(
                    reservations.c.sku == self.sku, reservations.c.state == "reserved"
                )
            ).scalar()
            shipped = conn.execute(
                select(func.coalesce(func.sum(reservations.c.quantity), 0)).where(
                    reservations.c.sku == self.sku, reservations.c.state == "shipped"
                )
            ).scalar()
            received = conn.execute(
                select(func.coalesce(func.sum(inventory_receipts.c.quantity), 0)).where(
                    inventory_receipts.c.sku == self.sku
                )
            ).scalar()
        on_hand, reserved = level
        assert reserved == held
        assert 0 <= reserved <= on_hand
        assert on_hand == INITIAL_STOCK + received - shipped

    @invariant()
    def statuses_follow_the_transition_table(self) -> None:
        with self.system.db.read() as conn:
            rows = conn.execute(
                select(order_events.c.order_id, order_events.c.status)
                .where(order_events.c.order_id.in_(self.order_ids))
                .order_by(order_events.c.order_id, order_events.c.seq)
            ).all()
        last: dict[str, OrderStatus] = {}
        for order_id, status in rows:
            current = OrderStatus(status)  # every recorded status is a known one
            previous = last.get(order_id, OrderStatus.RECEIVED)
            if current is not previous:
                assert can_transition(previous, current), f"{order_id}: {previous} -> {current}"
            last[order_id] = current


def test_random_sequences_of_actions_keep_money_stock_and_states_consistent(background):
    run_state_machine_as_test(
        lambda: OrderMachine(background),
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
