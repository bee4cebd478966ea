"""Deterministic workflow code: the order's life (OrderWorkflow) and the jobs around it."""
