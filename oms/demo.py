"""Demo data for the embedded system: one member of staff per department, and some stock.

Tokens are stored hashed; the plaintext of the demo tokens is kept in
`var/demo-tokens.json` (a local, ignored file) so that `make run` can print them
every time it starts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from config.private_files import write_private
from db import inventory as stock
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department

DEMO_STOCK = {
    "SKU-KETTLE": ("Electric kettle 1.7 L", 100),
    "SKU-RICE-COOKER": ("Rice cooker 4 L", 50),
    "SKU-PHONE": ("Smartphone 256 GB", 20),
    "SKU-EARBUDS": ("Wireless earbuds", 200),
}


def seed_demo(db: Database, var_dir: Path) -> dict[str, str]:
    """Create the demo staff and stock once; return {department: token}."""
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
        for sku, (name, on_hand) in DEMO_STOCK.items():
            if stock.level(conn, sku) is None:
                stock.set_on_hand(conn, sku, on_hand, now, name)
    write_private(path, json.dumps(tokens, indent=2))
    return tokens
