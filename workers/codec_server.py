"""`oms codec-server`: decrypts and encrypts payloads for the Temporal UI and for auditors.

Implements Temporal's remote codec protocol (`POST <endpoint>/decode`, `/encode`, JSON
`{"payloads": [{"metadata": {k: base64}, "data": base64}]}`), behind its own
authentication, since it hands out personal data in the clear:

- `Authorization: Bearer <staff token>` of `supervision` or `admin` (API clients,
  auditors' scripts), checked against the staff table;
- `/ui/<secret>/decode`: the Temporal UI cannot send headers, so `oms up` gives it an
  endpoint URL containing a random secret of this installation (`var/codec-ui-secret`).

CORS admits the Temporal UI's origin only.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload

from config.keys import UnknownKey
from config.settings import Settings
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department
from workers.codec import EncryptionCodec

MAY_DECODE = frozenset({Department.SUPERVISION, Department.ADMIN})


def ui_secret(settings: Settings) -> str:
    """The secret in the codec endpoint URL given to the Temporal UI (created once)."""
    path: Path = settings.var_dir / "codec-ui-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def ui_endpoint(settings: Settings) -> str:
    return f"http://localhost:{settings.codec_server_port}/ui/{ui_secret(settings)}"


def _payloads(body: dict[str, Any]) -> list[Payload]:
    return [ParseDict(p, Payload()) for p in body.get("payloads", [])]


def _answer(payloads: list[Payload]) -> dict[str, Any]:
    return {"payloads": [MessageToDict(p) for p in payloads]}


def create_codec_app(settings: Settings, db: Database | None = None) -> FastAPI:
    keyring = settings.keyring()
    if keyring is None:
        raise SystemExit("the codec server needs the payload encryption keys")
    codec = EncryptionCodec(keyring)
    secret = ui_secret(settings)
    database = db or Database(settings.resolved_database_url)
    app = FastAPI(title="Order management codec server", docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[
            settings.temporal_ui_url.rstrip("/"),
            settings.temporal_ui_url.rstrip("/").replace("localhost", "127.0.0.1"),
        ],
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Content-Type", "X-Namespace", "Authorization"],
        allow_credentials=True,
    )

    def staff_may_decode(authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with database.read() as conn:
            member = staff_store.find_by_token(conn, token.strip())
        return (
            member is not None
            and member.is_valid(datetime.now(UTC))
            and member.department in MAY_DECODE
        )

    async def convert(request: Request, decode: bool) -> JSONResponse:
        try:
            payloads = _payloads(await request.json())
        except Exception:
            return JSONResponse({"detail": 'body must be {"payloads": [...]}'}, status_code=400)
        try:
            result = await (codec.decode(payloads) if decode else codec.encode(payloads))
        except UnknownKey as error:
            return JSONResponse({"detail": str(error)}, status_code=400)
        return JSONResponse(_answer(result))

    async def authorized(authorization: str | None) -> bool:
        return await run_in_threadpool(staff_may_decode, authorization)

    @app.post("/decode")
    async def decode(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        if not await authorized(authorization):
            return JSONResponse(
                {"detail": "a supervision or admin token is required"}, status_code=401
            )
        return await convert(request, decode=True)

    @app.post("/encode")
    async def encode(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        if not await authorized(authorization):
            return JSONResponse(
                {"detail": "a supervision or admin token is required"}, status_code=401
            )
        return await convert(request, decode=False)

    @app.post("/ui/{given}/{operation}")
    async def for_the_ui(given: str, operation: str, request: Request) -> JSONResponse:
        if not hmac.compare_digest(given.encode(), secret.encode()) or operation not in (
            "decode",
            "encode",
        ):
            return JSONResponse({"detail": "unknown codec endpoint"}, status_code=401)
        return await convert(request, decode=operation == "decode")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "active_key": keyring.active}

    return app
