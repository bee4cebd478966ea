"""Every side effect of an order: read-model records, inventory, payments. All idempotent."""
