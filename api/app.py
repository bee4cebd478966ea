"""The FastAPI application: `create_app(settings)`; `uvicorn api.app:app` uses the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors, metrics
from api.deps import AppState
from api.routes import actions, health, history, inventory, orders, tasks
from db.engine import Database
from oms.settings import Settings, get_settings
from workers.client import connect

DESCRIPTION = """
Internal API of the order-management system. Department staff act on orders;
every action is a Temporal Update validated by the order's workflow against the
policy (clauses P1-P8). Authenticate with `Authorization: Bearer <token>`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.resolved_database_url)
        db.create_schema()
        client = await connect(settings)
        app.state.oms = AppState(settings=settings, db=db, client=client)
        yield
        db.dispose()

    app = FastAPI(title="Order management", version="1", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    metrics.install(app)
    for module in (orders, actions, tasks, inventory, health, history):
        app.include_router(module.router)
    return app


def app() -> FastAPI:
    """Factory for `uvicorn --factory api.app:app`."""
    return create_app()
