"""The read model: SQLAlchemy Core tables, the engine, and the queries lists and reports use.

Only activities write order data here (the workflow owns the state; this mirrors
it). The API reads it, and writes only what is not order state: staff and tokens.
"""
