"""Auditors' tools (P6.1, P8.1): read workflow histories, replay them, check them, tell them."""
