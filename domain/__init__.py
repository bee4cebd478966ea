"""The order-management policy as pure Python.

Nothing here imports Temporal or SQLAlchemy: the workflow, the activities and
the API all build on these models, and the tests exercise them as plain
functions. Clause numbers (P2.2, P3.1, ...) refer to `../shared/docs/policy.md`.
"""
