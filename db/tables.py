"""The read-model tables. Keys are the business keys, so every write can be an idempotent upsert."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from db.types import Cents, UTCDateTime

#: Names for constraints and indexes declared without one, so a migration can name what it
#: alters or drops. They are PostgreSQL's own default names (`orders_pkey`,
#: `staff_token_hash_key`), which databases made before migrations already carry; checks
#: and indexes are named where they are declared. SQLite keeps no names for a table's
#: primary key or unnamed unique constraints, so the names matter to PostgreSQL only.
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0N_name)s_key",
    "fk": "%(table_name)s_%(column_0N_name)s_fkey",
    "ix": "ix_%(column_0_label)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: One row per order: the workflow's state, mirrored after every step.
orders = Table(
    "orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("customer_name", String(100)),
    Column("customer_phone", String(32)),
    Column("new_customer", Boolean, nullable=False, default=False),
    Column("risky", Boolean, nullable=False, default=False),
    Column("shipping_address", String(500)),
    Column("contact_name", String(100)),
    Column("contact_phone", String(32)),
    Column("payment_method", String(32), nullable=False),
    Column("payment_status", String(16), nullable=False),
    Column("transaction_id", String(100)),
    Column("total_amount", Cents, nullable=False),
    Column("paid_amount", Cents, nullable=False),
    Column("refunded_amount", Cents, nullable=False, default=0),
    #: Departments with an open task on the order, comma-separated, most urgent first.
    Column("pending_departments", String(200), nullable=False, default=""),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("carrier", String(100)),
    Column("tracking_number", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("dispatched_at", UTCDateTime),
    Column("promised_delivery_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    #: Hash of the creating request, so a repeated POST with another body is a 409.
    Column("intake_fingerprint", String(64), nullable=False),
    #: The newest event applied; an older snapshot arriving late never overwrites a newer one.
    Column("last_seq", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    #: The workflow's whole view of the order (OrderView), for detail pages after it closed.
    Column("snapshot", JSON, nullable=False),
    Index("ix_orders_status_created", "status", "created_at"),
    Index("ix_orders_customer_created", "customer_id", "created_at"),
    Index("ix_orders_created", "created_at", "order_id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Cents, nullable=False),
    Index("ix_order_lines_sku", "sku"),
)

#: The order's record (P6.1): everything that happened, with the actor (rule 5).
order_events = Table(
    "order_events",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("status", String(32), nullable=False),
    Column("actor_id", String(64)),
    Column("actor_department", String(32)),
    Column("note", Text, nullable=False, default=""),
    Column("task_id", String(100)),
    Column("case_id", String(100)),
    Column("data", JSON, nullable=False, default=dict),
    Index("ix_order_events_kind_at", "kind", "at"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", String(100), primary_key=True),
    #: NULL for a task of no order (feedback not linked to an order, P7.2).
    Column("order_id", String(64)),
    Column("kind", String(40), nullable=False),
    Column("department", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("remind_at", UTCDateTime, nullable=False),
    Column("reminded", Boolean, nullable=False, default=False),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("escalated", Boolean, nullable=False, default=False),
    Column("assignee", String(64)),
    Column("closed_at", UTCDateTime),
    Column("closed_by", String(64)),
    Column("outcome", String(200)),
    Column("summary", String(300), nullable=False, default=""),
    #: The summary by code and values (domain/summaries.py), for the console's words.
    Column("summary_code", String(64)),
    Column("summary_params", JSON),
    Column("case_id", String(100)),
    Column("revision", Integer, nullable=False),
    Index("ix_tasks_inbox", "state", "department", "due_at"),
    Index("ix_tasks_order", "order_id"),
    Index("ix_tasks_closed", "department", "closed_at"),
)

inventory = Table(
    "inventory",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False, default=""),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
    # The database itself refuses an oversell, whatever the code above it does.
    CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="ck_inventory_reserved"),
)

#: One row per (reservation, sku): the deterministic key makes reserving idempotent (rule 4).
reservations = Table(
    "reservations",
    metadata,
    Column("reservation_key", String(100), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # reserved | released | shipped
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_reservations_order", "order_id"),
)

inventory_receipts = Table(
    "inventory_receipts",
    metadata,
    Column("receipt_id", String(100), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("note", String(500), nullable=False, default=""),
    Column("actor_id", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

#: Staff and system accounts. Only a hash of the token is kept.
staff = Table(
    "staff",
    metadata,
    Column("staff_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("department", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

#: One ledger of money movements (P4.2, P5): each row has a deterministic key, so a
#: retried write books the movement once. Amounts are signed from the company's side:
#: payment +, refund -, compensation -, adjustment either way.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("entry_id", String(150), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),  # payment | refund | compensation | adjustment
    Column("amount", Cents, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", String(64)),
    Column("actor_department", String(32)),
    Column("case_id", String(100)),
    #: The payment gateway's reference (transaction or refund id), or a manual reference.
    Column("reference", String(100)),
    Column("note", String(500), nullable=False, default=""),
    Index("ix_ledger_order", "order_id"),
    Index("ix_ledger_kind_at", "kind", "at"),
)

#: Cases opened on an order: change requests (P4.1), cancellations (P4.2), payment,
#: logistics and quality exceptions (P5.1-P5.3). Mirrored from the workflow like tasks.
cases = Table(
    "cases",
    metadata,
    Column("case_id", String(100), primary_key=True),
    Column("order_id", String(64), nullable=False),
    # change | cancellation | payment_exception | logistics_exception | return | exchange
    Column("kind", String(30), nullable=False),
    Column("state", String(16), nullable=False),  # open | closed
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("outcome", String(200)),
    Column("reason", String(500), nullable=False, default=""),
    Column("data", JSON, nullable=False, default=dict),
    Column("revision", Integer, nullable=False),
    Index("ix_cases_order", "order_id"),
    Index("ix_cases_kind_opened", "kind", "opened_at"),
)

#: The simulated payment gateway's own books (it stands in for an outside system, so
#: its state lives in its own tables). What it captured (activities/payment_gateway.py):
#: the facts a reported duplicate payment is checked against before it is refunded (P5.1).
simulated_gateway_captures = Table(
    "simulated_gateway_captures",
    metadata,
    Column("transaction_id", String(100), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

#: The refunds it has executed, by idempotency key.
simulated_gateway_refunds = Table(
    "simulated_gateway_refunds",
    metadata,
    Column("refund_id", String(150), primary_key=True),
    Column("order_id", String(64), nullable=False),
    Column("amount", Cents, nullable=False),
    Column("transaction_id", String(100)),
    Column("reference", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
