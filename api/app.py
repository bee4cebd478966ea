"""The FastAPI application: `create_app(settings)`; `uvicorn api.app:app` uses the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import Depends, FastAPI

from api import console, errors, metrics, openapi
from api.deps import AppState, as_declared, authorize
from api.limits import BodySizeLimit, RateLimiter
from api.routes import (
    actions,
    carriers,
    changes,
    customers,
    escalations,
    exceptions,
    feedback,
    feedback_causes,
    health,
    history,
    inventory,
    notifications,
    orders,
    products,
    ratings,
    rectifications,
    reports,
    scorecards,
    services,
    supervision,
    tasks,
    training,
)
from config.settings import Settings, get_settings
from db import feedback_causes as feedback_causes_store
from db import staff as staff_store
from db.engine import Database
from workers.client import connect
from workers.tracing import instrument_app

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
        db.prepare_schema(migrate=settings.migrate_on_start)
        with db.read() as conn:
            # P8.1: escalations go to the department's leads; without one they would be a
            # dead letter, so the API does not serve until every department has one.
            staff_store.require_leads(conn, datetime.now(UTC))
        with db.write() as conn:
            # P7.3.2: the default causes, on the first start on an empty list.
            feedback_causes_store.seed_default_causes(conn, datetime.now(UTC))
        client = await connect(settings)
        limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        app.state.oms = AppState(settings=settings, db=db, client=client, limiter=limiter)
        yield
        db.dispose()

    app = FastAPI(
        title="Order management",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Every route: its rule in api/roles.py, then token, rate limit, department; then
        # the request read as the OpenAPI document declares it (api/deps.py, as_declared).
        dependencies=[Depends(authorize), Depends(as_declared)],
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    metrics.install(app, settings.metrics_token)
    for module in (
        orders,
        actions,
        changes,
        exceptions,
        services,
        tasks,
        inventory,
        products,
        customers,
        health,
        feedback,
        feedback_causes,
        training,
        ratings,
        escalations,
        reports,
        history,
        supervision,
        rectifications,
        scorecards,
        carriers,
        notifications,
    ):
        app.include_router(module.router)
    openapi.install(app)  # error answers and security of every operation (api/openapi.py)
    console.mount(app)  # the staff web console, /console (api/console/)
    instrument_app(app, settings)  # a span per request when OMS_TRACING_EXPORTER is set
    return app


def app() -> FastAPI:
    """Factory for `uvicorn --factory api.app:app`."""
    return create_app()
