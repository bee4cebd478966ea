"""The order page's forms run the API's actions: cases and refunds get a form each, posted
values that the model refuses come back beside their fields (over real HTTP)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.actors import Department
from tests.support.console import ConsoleBrowser
from tests.support.flows import case, create, drive_to, track
from tests.support.orders import new_order_id, order_body
from tests.support.system import System


def forms_on(html: str) -> list[tuple[str, str]]:
    """(action, target) of every action form on an order page."""
    found = []
    for form in re.findall(r"<form [^>]*data-action=.*?</form>", html, re.S):
        action = re.search(r'data-action="([a-z_]+)"', form)
        target = re.search(r'name="target" value="([^"]*)"', form)
        assert action and target
        found.append((action.group(1), target.group(1)))
    return found


async def test_a_change_is_recorded_and_decided_through_the_console(system: System):
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, 5)
    order_id = await create(system, order_body(lines=[(sku, 1, "80.00")]))
    page = f"/console/orders/{order_id}"
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.CUSTOMER_SERVICE)
        shown = await console.get(page)
        assert forms_on(shown.text) == [("request_change", ""), ("cancel", "")]
        assert "填写后将整体替换原收货信息" in shown.text

        # The model's own rule (a change must change something) comes back on the form.
        refused = await console.post(f"{page}/actions/request_change", {"reason": "no idea"})
        assert refused.status_code == 422
        assert "a change names new shipping details, new items, or both" in refused.text

        requested = await console.post(
            f"{page}/actions/request_change",
            {
                "shipping.address": "9 Wangfujing St, Beijing",
                "shipping.contact_name": "Han Meimei",
                "shipping.contact_phone": "13900139000",
                "reason": "moved office",
                "idempotency_key": "change-1",
            },
        )
        shown = await console.follow(requested)
        assert "已完成：登记客户变更申请" in shown.text
        order = await system.order(order_id)
        change = case(order, "change")
        assert ("decide_change", change["case_id"]) in forms_on(shown.text)

        decided = await console.post(
            f"{page}/actions/decide_change",
            {"target": change["case_id"], "approved": "true", "reason": "address checked"},
        )
        await console.follow(decided)
    order = await system.order(order_id)
    assert order["shipping"]["address"] == "9 Wangfujing St, Beijing"
    assert order["shipping"]["contact_name"] == "Han Meimei"
    assert case(order, "change")["outcome"] == "approved"


async def test_finance_completes_a_refund_the_gateway_refused_from_the_order_page(
    system: System,
):
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, 5)
    body = order_body(lines=[(sku, 1, "45.00")])
    body["payment"]["transaction_id"] = f"FAIL-CARD-CLOSED-{uuid.uuid4().hex[:8]}"
    order_id = await create(system, body)
    await drive_to(system, order_id, "ready_to_pack")
    page = f"/console/orders/{order_id}"
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.CUSTOMER_SERVICE)
        await console.get(page)
        await console.follow(
            await console.post(f"{page}/actions/cancel", {"reason": "customer changed mind"})
        )
    order = await system.wait_until(
        order_id, lambda o: any(r["state"] == "failed" for r in o["refunds"]), what="refused"
    )
    [refund] = order["refunds"]

    async with ConsoleBrowser(system) as finance:
        await finance.sign_in(Department.FINANCE)
        inbox = await finance.get("/console/inbox")
        assert "人工退款" in inbox.text and order_id in inbox.text
        shown = await finance.get(page)
        assert forms_on(shown.text) == [("complete_refund", refund["refund_id"])]
        assert "失败，待财务人工处理" in shown.text
        missing = await finance.post(
            f"{page}/actions/complete_refund", {"target": refund["refund_id"], "reference": ""}
        )
        assert missing.status_code == 422
        assert "必填。" in missing.text
        done = await finance.post(
            f"{page}/actions/complete_refund",
            {"target": refund["refund_id"], "reference": "BANK-TRANSFER-77", "note": "by transfer"},
        )
        shown = await finance.follow(done)
        assert "财务已人工退款" in shown.text
        assert forms_on(shown.text) == []
    order = await system.order(order_id)
    assert order["refunds"][0]["state"] == "completed_by_finance"
    assert order["refunds"][0]["reference"] == "BANK-TRANSFER-77"


async def test_search_finds_orders_by_customer_status_and_order_date(system: System):
    customer = f"C-{new_order_id()}"
    sku = f"SKU-{new_order_id()}"
    system.set_stock(sku, 5)
    first = await create(system, order_body(customer_id=customer, lines=[(sku, 1, "10.00")]))
    second = await create(system, order_body(customer_id=customer, lines=[(sku, 1, "10.00")]))
    await drive_to(system, second, "ready_to_pack")
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.WAREHOUSE)
        both = await console.get("/console/search", customer_id=customer)
        assert first in both.text and second in both.text
        ready = await console.get("/console/search", customer_id=customer, status="ready_to_pack")
        assert second in ready.text and first not in ready.text
        # Order dates are days in the console's zone (Asia/Shanghai).
        created = datetime.fromisoformat((await system.order(first))["created_at"])
        day = created.astimezone(ZoneInfo("Asia/Shanghai")).date()
        that_day = await console.get(
            "/console/search",
            customer_id=customer,
            created_from=day.isoformat(),
            created_to=day.isoformat(),
        )
        assert first in that_day.text and second in that_day.text
        before = await console.get(
            "/console/search",
            customer_id=customer,
            created_to=(day - timedelta(days=1)).isoformat(),
        )
        assert first not in before.text and "没有符合条件的订单" in before.text
        after = await console.get(
            "/console/search",
            customer_id=customer,
            created_from=(day + timedelta(days=1)).isoformat(),
        )
        assert first not in after.text
        unknown = await console.get("/console/search", order_id="NO-SUCH-ORDER")
        assert "没有订单号为 NO-SUCH-ORDER 的订单" in unknown.text
        bad = await console.get("/console/search", created_from="yesterday")
        assert bad.status_code == 422


async def test_what_customers_typed_is_shown_as_text_never_run(system: System):
    body = order_body(name="<script>alert(1)</script>", address='"><img src=x onerror=alert(2)>')
    order_id = await create(system, body)
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.CUSTOMER_SERVICE)
        shown = await console.get(f"/console/orders/{order_id}")
    assert "<script>alert(1)</script>" not in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert "<img src=x" not in shown.text
    assert "script-src 'self'" in shown.headers["content-security-policy"]


async def test_p1_2_a_service_order_is_visited_worked_and_confirmed_through_the_console(
    system: System,
):
    order_id = await create(system, order_body(kind="service", lines=[("SVC-INSTALL", 1, "80.00")]))
    await system.post("sales", f"/api/v1/orders/{order_id}/review", {"approved": True})
    page = f"/console/orders/{order_id}"
    # The console's zone (Asia/Shanghai): a window that has begun, two hours long.
    start = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=10)
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.LOGISTICS)
        shown = await console.get(page)
        # P1.2: a visit to agree, never a dispatch.
        assert forms_on(shown.text) == [("schedule_service", "")]
        agreed = await console.post(
            f"{page}/actions/schedule_service",
            {
                "window_start": f"{start:%Y-%m-%dT%H:%M}",
                "window_end": f"{start + timedelta(hours=2):%Y-%m-%dT%H:%M}",
                "technician": "Technician Zhou",
                "idempotency_key": "visit-1",
            },
        )
        shown = await console.follow(agreed)
        assert "已完成：登记与客户约定的上门时间" in shown.text
        assert "第 1 次上门服务" in shown.text and "Technician Zhou" in shown.text
        assert ("record_service_work", "") in forms_on(shown.text)
        worked = await console.post(
            f"{page}/actions/record_service_work",
            {"technician": "Technician Zhou", "work": "installed", "idempotency_key": "work-1"},
        )
        await console.follow(worked)
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.CUSTOMER_SERVICE)
        shown = await console.get(page)
        assert forms_on(shown.text) == [
            ("confirm_service", ""),
            ("service_complaint", ""),
        ]
        confirmed = await console.post(
            f"{page}/actions/confirm_service", {"idempotency_key": "confirm-1"}
        )
        await console.follow(confirmed)
    order = await system.wait_for(order_id, "delivered", "completed")
    assert order["service_visits"][0]["confirmed_at"] is not None


async def test_p3_4_the_order_page_shows_the_carriers_scans_and_what_the_customer_was_told(
    system: System,
):
    sku = f"SKU-SCAN-{new_order_id()}"
    system.set_stock(sku, 3)
    order_id = await create(system, order_body(lines=[(sku, 1, "30.00")]))
    await drive_to(system, order_id, "in_transit")
    await track(system, order_id, "out_for_delivery")
    await system.wait_until(
        order_id,
        lambda o: any(e["kind"] == "tracking" for e in o["events"]),
        what="a carrier scan",
    )
    async with ConsoleBrowser(system) as console:
        await console.sign_in(Department.CUSTOMER_SERVICE)
        for _ in range(100):
            shown = await console.get(f"/console/orders/{order_id}")
            if "派送中" in shown.text and shown.text.count("已发送") >= 3:
                break
            await asyncio.sleep(0.1)
    assert "承运商扫描记录" in shown.text and "派送中" in shown.text
    assert "客户通知" in shown.text
    # The messages as sent: the confirmation, the dispatch with its number, out for delivery.
    assert f"您的订单 {order_id} 已由 SF Express 发出，运单号 SF-1。" in shown.text
    assert f"您的订单 {order_id} 正在派送中" in shown.text
    assert shown.text.count("已发送") >= 3
