"""The product catalogue over HTTP (P3.1, P3.3): kept by sales (listing, prices, legality)
and the warehouse (the package), each its own facts; intake,
review, packing and changes check orders against it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.flows import open_tasks
from tests.support.orders import order_body
from tests.support.system import System

KETTLE = {
    "name": "Electric kettle 1.7 l",
    "kind": "goods",
    "list_price": "129.00",
    "floor_price": "99.00",
    "accessories": ["manual", "warranty_card", "descaler"],
    "restricted": False,
    "size_class": "medium",
}


def new_sku(prefix: str = "SKU-CAT") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


async def listed(system: System, details: dict[str, Any] = KETTLE, who: str = "sales") -> str:
    """A product put in the catalogue by `who`, and stock of it."""
    sku = new_sku()
    response = await system.http.put(
        f"/api/v1/products/{sku}", json=details, headers=system.auth(who)
    )
    assert response.status_code == 200, response.text
    system.set_stock(sku, 10)
    return sku


async def create(system: System, body: dict[str, Any]) -> dict[str, Any]:
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    return await system.wait_for(body["order_id"], "under_review", "needs_correction")


# --- the catalogue itself --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sales", "admin"])
async def test_p3_1_sales_lists_a_product_and_keeps_its_prices(system: System, who: str):
    sku = new_sku()
    put = await system.http.put(f"/api/v1/products/{sku}", json=KETTLE, headers=system.auth(who))
    assert put.status_code == 200, put.text
    got = await system.get("logistics", f"/api/v1/products/{sku}")
    assert got.status_code == 200
    assert got.json() == {**KETTLE, "sku": sku, "required_check": None}
    # Putting it again with a new price replaces it (idempotent by sku).
    cheaper = {**KETTLE, "list_price": "119.00"}
    again = await system.http.put(f"/api/v1/products/{sku}", json=cheaper, headers=system.auth(who))
    assert again.status_code == 200
    assert (await system.get("sales", f"/api/v1/products/{sku}")).json()["list_price"] == "119.00"


async def put_as(system: System, who: str, sku: str, details: dict[str, Any]) -> Any:
    return await system.http.put(f"/api/v1/products/{sku}", json=details, headers=system.auth(who))


async def test_p3_3_the_warehouse_keeps_the_package_and_only_the_package(system: System):
    """The second security review: a warehouse member could set a floor price of 0.01 or
    lift a restriction, and intake and the review would no longer flag the order."""
    sku = await listed(system)
    package = {**KETTLE, "accessories": ["manual", "warranty_card"], "size_class": "large"}
    kept = await put_as(system, "warehouse", sku, package)
    assert kept.status_code == 200, kept.text
    for change, fields in [
        ({"floor_price": "0.01"}, ["floor_price"]),
        ({"restricted": True, "required_check": "age_verified"}, ["required_check", "restricted"]),
        ({"floor_price": "0.01", "size_class": "small"}, ["floor_price"]),
    ]:
        refused = await put_as(system, "warehouse", sku, {**package, **change})
        assert refused.status_code == 403, refused.text
        assert refused.json()["refusal"] == "catalogue_facts_not_kept"
        assert refused.json()["refusal_params"] == {"fields": fields, "department": "warehouse"}
    # Nothing of the refused puts was kept; what the warehouse changed, was.
    got = (await system.get("sales", f"/api/v1/products/{sku}")).json()
    assert (got["floor_price"], got["restricted"], got["size_class"]) == ("99.00", False, "large")
    # Nor does the warehouse list a product (it would set its prices), nor sales change
    # the package the warehouse keeps.
    new = await put_as(system, "warehouse", new_sku(), KETTLE)
    assert new.status_code == 403 and "floor_price" in new.json()["refusal_params"]["fields"]
    repackaged = await put_as(system, "sales", sku, {**package, "accessories": []})
    assert repackaged.status_code == 403
    assert repackaged.json()["refusal_params"]["fields"] == ["accessories"]


@pytest.mark.parametrize("who", ["logistics", "customer_service", "finance", "platform"])
async def test_p3_1_other_departments_only_read_the_catalogue(system: System, who):
    put = await system.http.put(
        f"/api/v1/products/{new_sku()}", json=KETTLE, headers=system.auth(who)
    )
    assert put.status_code == 403, put.text


async def test_p3_1_a_product_the_catalogue_cannot_keep_is_422(system: System):
    for body in (
        {**KETTLE, "floor_price": "200.00"},
        {**KETTLE, "restricted": True},
        {**KETTLE, "surprise": 1},
    ):
        put = await system.http.put(
            f"/api/v1/products/{new_sku()}", json=body, headers=system.auth("sales")
        )
        assert put.status_code == 422, put.text
    assert (await system.get("sales", f"/api/v1/products/{new_sku()}")).status_code == 404


async def test_the_catalogue_is_listed_a_page_at_a_time(system: System):
    prefix = f"SKU-PAGE-{uuid.uuid4().hex[:6].upper()}"
    for n in range(3):
        put = await system.http.put(
            f"/api/v1/products/{prefix}-{n}", json=KETTLE, headers=system.auth("sales")
        )
        assert put.status_code == 200
    first = (await system.get("sales", "/api/v1/products", after=f"{prefix}-", limit=2)).json()
    assert [p["sku"] for p in first["items"]] == [f"{prefix}-0", f"{prefix}-1"]
    rest = await system.get("sales", "/api/v1/products", after=first["next_after"], limit=2)
    assert rest.json()["items"][0]["sku"] == f"{prefix}-2"


# --- intake (P2.2): unknown products and prices below the floor go to sales --------------------


async def test_p2_2_an_unknown_sku_is_a_correction_for_sales_not_a_backorder(system: System):
    sku = new_sku("SKU-UNLISTED")
    body = order_body(lines=[(sku, 1, "129.00")])
    order = await create(system, body)
    assert order["status"] == "needs_correction"
    assert open_tasks(order) == {"correct_order": "sales"}
    assert [p["field"] for p in order["intake_problems"]] == ["items[0].sku"]
    # Sales lists the product; the correction checks the order again against the catalogue.
    put = await system.http.put(
        f"/api/v1/products/{sku}", json=KETTLE, headers=system.auth("sales")
    )
    assert put.status_code == 200
    corrected = await system.post(
        "sales", f"/api/v1/orders/{body['order_id']}/corrections", {"note": "listed it"}
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "under_review"


async def test_p2_2_a_price_below_the_floor_is_a_correction_for_sales(system: System):
    sku = await listed(system)
    body = order_body(lines=[(sku, 2, "50.00")])
    order = await create(system, body)
    assert order["status"] == "needs_correction"
    assert open_tasks(order) == {"correct_order": "sales"}
    assert [p["field"] for p in order["intake_problems"]] == ["items[0].unit_price"]
    # What was paid (100.00) is the payment system's: sales puts the lines right within it
    # (one unit at a price the floor allows), never the payment up (P2.2).
    raised = {**body["payment"], "amount": "198.00"}
    path = f"/api/v1/orders/{body['order_id']}/corrections"
    refused = await system.post("sales", path, {"payment": raised})
    assert refused.status_code == 409, refused.text
    assert refused.json()["refusal"] == "payment_not_raised_by_correction"
    fixed = {"items": [{"sku": sku, "quantity": 1, "unit_price": "100.00"}]}
    corrected = await system.post("sales", path, fixed)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "under_review"


# --- review (P3.1 legality) and pack (P3.3 accessories) ----------------------------------------


async def test_p3_1_a_restricted_product_cannot_be_approved_without_its_check(system: System):
    knife = {**KETTLE, "restricted": True, "required_check": "age_verified", "accessories": []}
    sku = await listed(system, knife)
    body = order_body(lines=[(sku, 1, "129.00")])
    await create(system, body)
    review = f"/api/v1/orders/{body['order_id']}/review"
    refused = await system.post("sales", review, {"approved": True})
    assert refused.status_code == 409, refused.text
    assert refused.json()["refusal"] == "restricted_check_required"
    assert "P3.1" in refused.json()["detail"]
    approved = await system.post(
        "sales", review, {"approved": True, "checks_done": ["age_verified"]}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "ready_to_pack"


async def test_p3_3_the_package_carries_each_products_accessories(system: System):
    sku = await listed(system)
    body = order_body(lines=[(sku, 1, "129.00")])
    await create(system, body)
    base = f"/api/v1/orders/{body['order_id']}"
    assert (await system.post("sales", f"{base}/review", {"approved": True})).status_code == 200
    await system.wait_for(body["order_id"], "ready_to_pack")
    usual = {"packages": 1, "accessories": ["manual", "warranty_card"]}
    refused = await system.post("warehouse", f"{base}/pack", usual)
    assert refused.status_code == 409, refused.text
    assert refused.json()["refusal"] == "accessories_missing"
    assert refused.json()["refusal_params"] == {"missing": ["descaler"]}
    complete = {"packages": 1, "accessories": KETTLE["accessories"]}
    packed = await system.post("warehouse", f"{base}/pack", complete)
    assert packed.status_code == 200, packed.text


# --- P4.1: a change to goods the catalogue does not allow -------------------------------------


async def test_p4_1_a_change_to_an_unknown_product_is_409(system: System):
    sku = await listed(system)
    body = order_body(lines=[(sku, 1, "129.00")])
    await create(system, body)
    change = {
        "items": [{"sku": new_sku("SKU-UNLISTED"), "quantity": 1, "unit_price": "129.00"}],
        "reason": "the customer wants another model",
    }
    refused = await system.post(
        "customer_service", f"/api/v1/orders/{body['order_id']}/changes", change
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["refusal"] == "unknown_product"
    below = {"items": [{"sku": sku, "quantity": 1, "unit_price": "1.00"}], "reason": "cheaper"}
    refused = await system.post(
        "customer_service", f"/api/v1/orders/{body['order_id']}/changes", below
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["refusal"] == "price_below_floor"
