"""P3.1 in the console: the order page shows what the review's checklist found, and sales
answers it (the restricted product's check, each point) through the review form."""

from __future__ import annotations

import uuid

from domain.actors import Department
from tests.api.test_catalogue import KETTLE, listed
from tests.support.console import ConsoleBrowser
from tests.support.orders import order_body
from tests.support.system import System

KNIFE = {**KETTLE, "restricted": True, "required_check": "age_verified", "accessories": []}


async def test_p3_1_sales_answers_the_checklist_and_the_check_on_the_review_form(system: System):
    sku = await listed(system, KNIFE)
    body = order_body(lines=[(sku, 1, "109.00")])  # below the list price, above the floor
    created = await system.post("platform", "/api/v1/orders", body)
    assert created.status_code == 201, created.text
    order_id = body["order_id"]
    await system.wait_for(order_id, "under_review")
    async with ConsoleBrowser(system) as browser:
        await browser.sign_in(Department.SALES)
        page = await browser.get(f"/console/orders/{order_id}")
        assert page.status_code == 200
        assert "审核清单" in page.text
        assert f"{sku} 为限售商品，须核查：age_verified" in page.text
        assert f"{sku} 售价 109.00，低于目录价 129.00" in page.text
        path = f"/console/orders/{order_id}/actions/review"
        answers = {
            "approved": "true",
            "note": "ID checked at the door",
            "checklist.0.point": "legality",
            "checklist.0.ok": "true",
            "checklist.1.point": "price_accuracy",
            "checklist.1.ok": "true",
            "checklist.1.note": "a discount sales agreed",
            "idempotency_key": uuid.uuid4().hex,
        }
        refused = await browser.post(path, answers)
        assert refused.status_code == 409, refused.text
        assert "须先完成核查" in refused.text  # the refusal in Chinese
        done = await browser.post(
            path, {**answers, "checks_done": "age_verified", "idempotency_key": uuid.uuid4().hex}
        )
        assert done.status_code == 303, done.text
    order = await system.order(order_id)
    assert order["status"] == "ready_to_pack"
    reviewed = next(e for e in order["events"] if e["kind"] == "reviewed")
    assert reviewed["data"]["checks_done"] == ["age_verified"]
    assert [a["point"] for a in reviewed["data"]["checklist"]] == ["legality", "price_accuracy"]
