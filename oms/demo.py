"""Demo data for the embedded system: one member of staff per department, and some stock.

The demo member of each department that receives tasks is its lead, so that escalations
reach someone (P8.1) and the API starts (db/staff.py `require_leads`); only where the
department has no other active lead (one named by hand is left as it is).

Tokens are stored hashed; the plaintext of the demo tokens is kept in
`var/demo-tokens.json` (a local, ignored file) so that `make run` can print them
every time it starts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from config.private_files import write_private
from db import catalogue
from db import inventory as stock
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department, StaffRole
from domain.catalogue import ProductDetails, SizeClass
from domain.order.details import OrderKind

DEMO_STOCK = {
    "SKU-KETTLE": ("Electric kettle 1.7 L", 100),
    "SKU-RICE-COOKER": ("Rice cooker 4 L", 50),
    "SKU-PHONE": ("Smartphone 256 GB", 20),
    "SKU-EARBUDS": ("Wireless earbuds", 200),
    "SKU-KNIFE": ("Chef's knife 20 cm", 30),
}
_PACKAGE = ["manual", "warranty_card"]
#: The demo catalogue (P3.1, P3.3): orders are checked against it at intake.
DEMO_PRODUCTS = {
    "SKU-KETTLE": ProductDetails(
        name="Electric kettle 1.7 L",
        list_price=Decimal("129.00"),
        floor_price=Decimal("99.00"),
        accessories=_PACKAGE,
        size_class=SizeClass.MEDIUM,
    ),
    "SKU-RICE-COOKER": ProductDetails(
        name="Rice cooker 4 L",
        list_price=Decimal("399.00"),
        floor_price=Decimal("329.00"),
        accessories=[*_PACKAGE, "measuring_cup"],
        size_class=SizeClass.MEDIUM,
    ),
    "SKU-PHONE": ProductDetails(
        name="Smartphone 256 GB",
        list_price=Decimal("5999.00"),
        floor_price=Decimal("5499.00"),
        accessories=[*_PACKAGE, "charger"],
    ),
    "SKU-EARBUDS": ProductDetails(
        name="Wireless earbuds",
        list_price=Decimal("299.00"),
        floor_price=Decimal("249.00"),
        accessories=[*_PACKAGE, "charging_case"],
    ),
    "SKU-KNIFE": ProductDetails(
        name="Chef's knife 20 cm",
        list_price=Decimal("199.00"),
        floor_price=Decimal("169.00"),
        accessories=["manual"],
        restricted=True,
        required_check="age_verified",
    ),
    "SVC-INSTALL": ProductDetails(
        name="Installation at home",
        kind=OrderKind.SERVICE,
        list_price=Decimal("80.00"),
        floor_price=Decimal("60.00"),
    ),
}


def seed_demo(db: Database, var_dir: Path) -> dict[str, str]:
    """Create the demo staff, catalogue and stock once; return {department: token}."""
    path = var_dir / "demo-tokens.json"
    tokens: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    now = datetime.now(UTC)
    with db.write() as conn:
        for department in Department:
            staff_id = f"demo-{department.value}"
            member = staff_store.find(conn, staff_id)
            if member is None or department.value not in tokens:
                if member is not None:  # the token file was lost: issue a new token
                    tokens[department.value] = staff_store.rotate(conn, staff_id) or ""
                else:
                    _, tokens[department.value] = staff_store.add_staff(
                        conn, f"Demo {department.value}", department, now, staff_id=staff_id
                    )
        for department in staff_store.departments_without_lead(conn, now):
            # Also the demo members an earlier release made, before staff had roles.
            staff_store.set_role(conn, f"demo-{department.value}", StaffRole.LEAD, now)
        for sku, details in DEMO_PRODUCTS.items():
            if catalogue.product(conn, sku) is None:
                catalogue.put(conn, sku, details, now, "demo")
        for sku, (name, on_hand) in DEMO_STOCK.items():
            if stock.level(conn, sku) is None:
                stock.set_on_hand(conn, sku, on_hand, now, name)
    write_private(path, json.dumps(tokens, indent=2))
    return tokens
