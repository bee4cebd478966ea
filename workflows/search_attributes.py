"""The search attributes ops filter orders by in the Temporal UI (architecture rule 7).

No personal data goes here: ids, statuses, departments, amounts only.
Registered by `oms up` (dev server flags) and by the production setup.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
PENDING_DEPARTMENT = SearchAttributeKey.for_keyword("PendingDepartment")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
ORDER_TOTAL = SearchAttributeKey.for_float("OrderTotal")
OVERDUE = SearchAttributeKey.for_bool("Overdue")

ALL = (ORDER_STATUS, PENDING_DEPARTMENT, CUSTOMER_ID, ORDER_TOTAL, OVERDUE)

#: `temporal operator search-attribute create` / `start-dev --search-attribute` type names.
CLI_TYPES = {
    ORDER_STATUS.name: "Keyword",
    PENDING_DEPARTMENT.name: "Keyword",
    CUSTOMER_ID.name: "Keyword",
    ORDER_TOTAL.name: "Double",
    OVERDUE.name: "Bool",
}
