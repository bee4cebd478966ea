"""RestockWorkflow: book a receipt of goods, then resume every order waiting for that sku (P3.2).

A workflow rather than a loop in the API: once the receipt is booked, every
waiting order is told even if the API process dies half-way through. Its id
comes from the receipt id, so a repeated receipt is booked and announced once.
"""

# No `from __future__ import annotations`: the sandbox imports this module afresh for every
# workflow it starts, and string annotations would be compiled again each time to read the
# handlers' argument types (10 % of a replay, measured).

from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.commands import StockReplenished
    from domain.contracts import RestockInput, RestockResult
    from domain.ids import order_workflow_id
    from domain.inventory import BackorderedOrders, InventoryLevel, SkuQuery

T = TypeVar("T")
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)


@workflow.defn
class RestockWorkflow:
    @workflow.run
    async def run(self, input: RestockInput) -> RestockResult:
        if input.receipt is not None:
            summary = f"book receipt of {input.receipt.quantity} x {input.sku}"
            level = await inventory("receive_stock", input.receipt, InventoryLevel, summary)
        sku = SkuQuery(sku=input.sku)
        waiting = await inventory(
            "list_backordered_orders", sku, BackorderedOrders, f"orders waiting for {input.sku}"
        )
        resumed: list[str] = []
        signal = StockReplenished(sku=input.sku, receipt_id=input.trigger_id)
        # Longest waiting first: the earliest orders get the first go at the new stock.
        for order_id in waiting.order_ids:
            handle = workflow.get_external_workflow_handle(order_workflow_id(order_id))
            try:
                await handle.signal("stock_replenished", signal)
                resumed.append(order_id)
            except ApplicationError:
                workflow.logger.warning("order %s is no longer running", order_id)
        if input.receipt is None:
            level = await inventory("get_level", sku, InventoryLevel, f"stock of {input.sku}")
        return RestockResult(level=level, resumed_orders=resumed)


async def inventory(activity: str, arg: BaseModel, result: type[T], summary: str) -> T:
    """An inventory activity; a database that is down is waited for."""
    answer: T = await workflow.execute_activity(
        activity,
        arg,
        result_type=result,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=RETRY,
        summary=summary,
    )
    return answer
