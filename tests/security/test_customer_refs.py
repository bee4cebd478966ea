"""Histories hold no customer id in clear (issue 16): the engine shows an opaque ref.

Search attributes are not encrypted by the payload codec: whatever they hold is
readable by anyone who reads visibility or a history. The `CustomerId` search
attribute therefore holds a keyed ref of the customer (domain/personal_data.py),
which ops look up with `oms customer-ref <id>`.
"""

from __future__ import annotations

import asyncio
import uuid

from domain.ids import order_workflow_id
from domain.personal_data import customer_ref
from tests.support.flows import create
from tests.support.orders import order_body
from tests.support.system import System
from workflows import search_attributes as sa


def test_a_ref_is_stable_keyed_and_not_the_id():
    key, other = b"k" * 32, b"o" * 32
    assert customer_ref("C1001", key) == customer_ref("C1001", key)
    assert customer_ref("C1001", key) != customer_ref("C1002", key)
    assert customer_ref("C1001", key) != customer_ref("C1001", other)
    assert "C1001" not in customer_ref("C1001", key)


async def test_an_orders_history_and_search_attributes_hold_no_customer_id_in_clear(
    system: System,
):
    customer = f"C-{uuid.uuid4().hex[:10]}"
    order_id = await create(system, order_body(customer_id=customer))
    handle = system.client.get_workflow_handle(order_workflow_id(order_id))
    description = await handle.describe()
    ref = customer_ref(customer, system.settings.customer_ref_secret())
    assert description.typed_search_attributes.get(sa.CUSTOMER_ID) == ref
    history = await handle.fetch_history()
    assert customer not in history.to_json()
    # Ops find the customer's orders by the ref.
    query = f'CustomerId = "{ref}"'
    for _ in range(50):
        found = [w.id async for w in system.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.2)
    assert found == [order_workflow_id(order_id)]
