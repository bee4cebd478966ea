"""`oms products`: load the product catalogue from a file, and list it (P3.1, P3.3).

Release r3 checks every order against the catalogue: a retailer upgrading fills it
before orders arrive (docs/ops.md "Release r3"), from a JSON file of products as
`PUT /api/v1/products/{sku}` takes them, each with its `sku`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from config.settings import Settings
from db import catalogue
from domain.catalogue import Product, ProductDetails
from oms.cli import read_model

PRODUCTS = TypeAdapter(list[Product])
#: Products written per transaction: a large catalogue loads in steps, with progress.
BATCH = 500


def read_products(path: Path) -> list[Product]:
    """Every product of the file, or SystemExit naming what is wrong (nothing is loaded)."""
    try:
        products = PRODUCTS.validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise SystemExit(f"{path}: not a list of products: {error}") from None
    counts = Counter(p.sku for p in products)
    repeated = sorted(sku for sku, n in counts.items() if n > 1)
    if repeated:
        raise SystemExit(f"{path}: skus listed twice: {', '.join(repeated)}")
    return products


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    products = read_products(Path(args.file))
    db = read_model(settings)
    try:
        now = datetime.now(UTC)
        for start in range(0, len(products), BATCH):
            with db.write() as conn:
                for product in products[start : start + BATCH]:
                    details = ProductDetails(**product.model_dump(exclude={"sku"}))
                    catalogue.put(conn, product.sku, details, now, args.by)
            done = min(start + BATCH, len(products))
            print(f"{done}/{len(products)} products loaded", file=sys.stderr)
    finally:
        db.dispose()
    print(f"{len(products)} products in the catalogue")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    db = read_model(settings)
    try:
        rows: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            with db.read() as conn:
                page = catalogue.page(conn, after=after, limit=BATCH)
            rows += [p.model_dump(mode="json") for p in page]
            if len(page) < BATCH:
                break
            after = page[-1].sku
    finally:
        db.dispose()
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: Any) -> None:
    products = subparsers.add_parser("products", help="the product catalogue").add_subparsers(
        dest="products", required=True
    )
    load = products.add_parser("import", help="add or replace products from a JSON file")
    load.add_argument("file", help="a JSON list of products, each with its sku")
    load.add_argument("--by", default="import", help="who the catalogue records as the keeper")
    load.set_defaults(fn=cmd_import)
    products.add_parser("list", help="print the catalogue as JSON").set_defaults(fn=cmd_list)
