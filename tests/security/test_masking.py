"""Personal data masked at the source (domain/personal_data.py): the API answers each
department with the phones and address its work needs, and the console shows that same
answer; the Temporal UI link and the history timeline follow the API's rules."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import pytest_asyncio

from domain.actors import Department
from domain.personal_data import ADDRESS_MASK, address_for, mask_address
from tests.support.console import ConsoleBrowser
from tests.support.flows import create
from tests.support.orders import new_order_id, order_body
from tests.support.system import System

PHONE = "13987654321"
MASKED_PHONE = "139****4321"
ADDRESS = "88 Maskmarker Road, Haidian, Beijing"
EMAIL = "li.lei@example.com"
D = Department
#: (phone in full, address in full) for each department.
SEES = {
    D.SALES: (True, False),
    D.CUSTOMER_SERVICE: (True, True),
    D.LOGISTICS: (True, True),
    D.WAREHOUSE: (False, False),
    D.FINANCE: (False, False),
    D.SUPERVISION: (False, False),
    D.PLATFORM: (False, False),
    D.ADMIN: (False, False),
}


@pytest_asyncio.fixture
async def order_id(system: System) -> str:
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "20.00")], phone=PHONE, address=ADDRESS)
    body["customer"]["email"] = EMAIL
    return await create(system, body)


@pytest.mark.parametrize("department", list(SEES))
async def test_the_api_masks_phones_and_the_address_by_department(
    system: System, order_id: str, department: Department
):
    response = await system.get(department, f"/api/v1/orders/{order_id}")
    assert response.status_code == 200
    order = response.json()
    sees_phone, sees_address = SEES[department]
    text = response.text
    if sees_phone:
        assert order["customer"]["phone"] == PHONE
        assert order["shipping"]["contact_phone"] == PHONE
    else:
        assert PHONE not in text
        assert order["customer"]["phone"] == MASKED_PHONE
        assert order["shipping"]["contact_phone"] == MASKED_PHONE
    if sees_address:
        assert order["shipping"]["address"] == ADDRESS
    else:
        assert "Maskmarker" not in text and "Haidian" not in text
        assert order["shipping"]["address"] == ADDRESS_MASK
    if sees_phone:
        assert order["customer"]["email"] == EMAIL
    else:
        assert EMAIL not in text and order["customer"]["email"] == "l***@example.com"
    hidden = {
        *([] if sees_phone else ["customer.phone", "shipping.contact_phone", "customer.email"]),
        *([] if sees_address else ["shipping.address"]),
    }
    assert set(order["masked_fields"]) == hidden
    # The Temporal UI link is for the departments that may decode the history.
    if department in (D.SUPERVISION, D.ADMIN):
        assert order["temporal_ui_url"].endswith(f"/workflows/order-{order_id}")
    else:
        assert order["temporal_ui_url"] is None


async def test_the_order_list_and_tasks_carry_no_phone_or_address(system: System, order_id: str):
    for department in (D.WAREHOUSE, D.FINANCE):
        listed = await system.get(department, "/api/v1/orders", customer_id="C1001", limit=500)
        tasks = await system.get(department, "/api/v1/tasks", order_id=order_id)
        for response in (listed, tasks):
            assert response.status_code == 200
            assert PHONE not in response.text and "Maskmarker" not in response.text


@pytest.mark.parametrize(
    "department, shows", [(D.WAREHOUSE, False), (D.FINANCE, False), (D.LOGISTICS, True)]
)
async def test_the_console_shows_what_the_api_gives(
    system: System, order_id: str, department: Department, shows: bool
):
    async with ConsoleBrowser(system) as console:
        await console.sign_in(department)
        page = (await console.get(f"/console/orders/{order_id}")).text
    assert (PHONE in page) is shows
    assert ("Maskmarker" in page) is shows
    if not shows:
        assert MASKED_PHONE in page
        assert "本部门无需联系客户" in page and "本部门的工作无需收货地址" in page
    # Not a department that may decode: no link to the Temporal UI.
    assert "/workflows/order-" not in page


async def test_the_console_gives_the_ui_link_and_the_history_timeline_to_supervision_only(
    system: System, order_id: str
):
    async with ConsoleBrowser(system) as console:
        await console.sign_in(D.SUPERVISION)
        page = (await console.get(f"/console/orders/{order_id}")).text
    assert f"/namespaces/default/workflows/order-{order_id}" in page
    assert 'data-source="history"' in page and "取自订单工作流的历史" in page
    assert PHONE not in page and MASKED_PHONE in page  # supervision decodes, it is not shown
    # The audit timeline of the API carries neither (its steps hold facts, not contacts).
    history = await system.get(D.SUPERVISION, f"/api/v1/orders/{order_id}/history")
    assert history.status_code == 200 and history.json()["steps"]
    assert PHONE not in history.text and "Maskmarker" not in history.text
    for department in (D.CUSTOMER_SERVICE, D.WAREHOUSE):
        # The API refuses them GET /orders/{id}/history: the page shows the order's events.
        async with ConsoleBrowser(system) as console:
            await console.sign_in(department)
            page = (await console.get(f"/console/orders/{order_id}")).text
        assert 'data-source="record"' in page and 'data-source="history"' not in page
        assert "/workflows/order-" not in page
        history = await system.get(department, f"/api/v1/orders/{order_id}/history")
        assert history.status_code == 403


async def test_feedback_gives_the_ui_link_to_supervision_only(system: System):
    created = await system.post(
        "platform",
        "/api/v1/feedback",
        {"kind": "inquiry", "channel": "online", "customer_id": "C1001", "message": "where is it?"},
    )
    assert created.status_code in (200, 201), created.text
    feedback_id = created.json()["feedback_id"]
    for department, shown in ((D.CUSTOMER_SERVICE, False), (D.SUPERVISION, True)):
        item = (await system.get(department, f"/api/v1/feedback/{feedback_id}")).json()
        assert (item["temporal_ui_url"] is not None) is shown, department


async def test_escalated_tasks_are_listed_by_the_escalations_rule(system: System):
    """GET /tasks?escalated=true: a department its own, supervision any, systems none."""
    order = await system.start_directly(order_body(), review_deadline=timedelta(seconds=1))
    await system.wait_until(
        order,
        lambda o: "task_escalated" in [e["kind"] for e in o["events"]],
        what="an escalated review",
    )

    async def escalated(who: Department, **params: str) -> list[str] | int:
        response = await system.get(who, "/api/v1/tasks", escalated="true", limit=500, **params)
        if response.status_code != 200:
            return response.status_code
        return [t["order_id"] for t in response.json()["items"]]

    sales = await escalated(D.SALES)
    assert isinstance(sales, list) and order in sales
    warehouse = await escalated(D.WAREHOUSE)
    assert isinstance(warehouse, list) and order not in warehouse
    assert await escalated(D.WAREHOUSE, department="sales") == 403
    assert await escalated(D.PLATFORM) == 403
    supervision = await escalated(D.SUPERVISION)
    assert isinstance(supervision, list) and order in supervision
    # The escalations list says the same.
    lead = await system.get("warehouse", "/api/v1/escalations", department="sales")
    assert lead.status_code == 403
    # Without the filter, the inbox is unchanged: open tasks of every department.
    plain = await system.get("warehouse", "/api/v1/tasks", order_id=order)
    assert [t["kind"] for t in plain.json()["items"]] == ["review"]
    assert json.loads(plain.text)["items"][0]["department"] == "sales"


def test_a_masked_address_hides_everything_even_its_length():
    for address in ("1 Chaoyang Rd, Beijing", "北京市朝阳区建国路88号院3号楼1201", "x"):
        assert mask_address(address) == ADDRESS_MASK
    assert mask_address("  ") == "  "  # missing stays visibly missing
    assert address_for(D.WAREHOUSE, None) is None
    assert address_for(D.LOGISTICS, "1 Chaoyang Rd") == "1 Chaoyang Rd"
    assert address_for(D.SALES, "1 Chaoyang Rd") == ADDRESS_MASK
