"""Health: can this API reach Temporal and the read model?"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import State
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Temporal or the database does not answer"}},
)
async def healthz(state: State) -> JSONResponse:
    """200 when Temporal and the database answer; 503 with the failing part otherwise."""
    checks: dict[str, float] = {}
    temporal = database = "ok"

    started = time.perf_counter()
    try:
        await asyncio.wait_for(state.client.service_client.check_health(), timeout=3)
    except Exception as error:  # any failure means "not healthy", and says which part
        temporal = f"unreachable: {type(error).__name__}"
    checks["temporal"] = round((time.perf_counter() - started) * 1000, 1)

    def ping() -> None:
        with state.db.read() as conn:
            conn.execute(text("SELECT 1"))

    started = time.perf_counter()
    try:
        await run_in_threadpool(ping)
    except Exception as error:
        database = f"unreachable: {type(error).__name__}"
    checks["database"] = round((time.perf_counter() - started) * 1000, 1)

    healthy = temporal == "ok" and database == "ok"
    body = Health(
        status="ok" if healthy else "unavailable",
        temporal=temporal,
        database=database,
        checks_ms=checks,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
