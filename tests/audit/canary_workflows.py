"""The replay canary: RestockWorkflow changed the unsafe way and the safe way.

See the README, "Changing a workflow safely".

Both copies swap two steps of `workflows.restock.RestockWorkflow`: they look up
the waiting orders *before* booking the receipt. Registered under the real
workflow's type name, they replay the history recorded with the original code.

- `ReorderedRestockWorkflow` makes the change outright: a run recorded with the
  old order of steps no longer replays (its next workflow task would fail).
- `PatchedRestockWorkflow` puts the change behind `workflow.patched`: runs
  recorded before the change keep the old order, new runs take the new one.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.commands import StockReplenished
    from domain.contracts import RestockInput, RestockResult
    from domain.ids import order_workflow_id
    from domain.inventory import BackorderedOrders, InventoryLevel, SkuQuery
    from workflows.restock import inventory

PATCH_ID = "restock-list-waiting-orders-first"


async def _receive(input: RestockInput) -> InventoryLevel | None:
    if input.receipt is None:
        return None
    return await inventory("receive_stock", input.receipt, InventoryLevel, "book receipt")


async def _waiting(input: RestockInput) -> BackorderedOrders:
    sku = SkuQuery(sku=input.sku)
    return await inventory("list_backordered_orders", sku, BackorderedOrders, "waiting")


async def _resume(input: RestockInput, waiting: BackorderedOrders) -> list[str]:
    resumed: list[str] = []
    signal = StockReplenished(sku=input.sku, receipt_id=input.trigger_id)
    for order_id in waiting.order_ids:
        handle = workflow.get_external_workflow_handle(order_workflow_id(order_id))
        try:
            await handle.signal("stock_replenished", signal)
            resumed.append(order_id)
        except ApplicationError:
            pass
    return resumed


async def _level(input: RestockInput) -> InventoryLevel:
    return await inventory("get_level", SkuQuery(sku=input.sku), InventoryLevel, "level")


@workflow.defn(name="RestockWorkflow")
class ReorderedRestockWorkflow:
    @workflow.run
    async def run(self, input: RestockInput) -> RestockResult:
        waiting = await _waiting(input)  # moved before the receipt: not replay-safe
        received = await _receive(input)
        resumed = await _resume(input, waiting)
        level = received or await _level(input)
        return RestockResult(level=level, resumed_orders=resumed)


@workflow.defn(name="RestockWorkflow")
class PatchedRestockWorkflow:
    @workflow.run
    async def run(self, input: RestockInput) -> RestockResult:
        if workflow.patched(PATCH_ID):
            waiting = await _waiting(input)
            received = await _receive(input)
        else:  # runs recorded before the change replay the old order of steps
            received = await _receive(input)
            waiting = await _waiting(input)
        resumed = await _resume(input, waiting)
        level = received or await _level(input)
        return RestockResult(level=level, resumed_orders=resumed)
