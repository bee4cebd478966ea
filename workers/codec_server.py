"""`oms codec-server`: decrypts and encrypts payloads for the Temporal UI and for auditors.

Implements Temporal's remote codec protocol (`POST <endpoint>/decode`, `/encode`, JSON
`{"payloads": [{"metadata": {k: base64}, "data": base64}]}`), behind its own
authentication, since it hands out personal data in the clear. Only the departments
that may read histories decrypted (`MAY_DECODE`: supervision, admin;
domain/personal_data.py) get an answer, authenticated by one of

- `Authorization: Bearer <staff token>` (API clients, auditors' scripts), looked up in
  the staff table;
- `Authorization: Bearer <OIDC access token>` (production): the Temporal UI behind an OIDC
  login passes its user's access token (`TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`). When
  `codec_oidc_jwks` is set, a bearer token of three dot-separated parts (a JWT) is
  verified by workers/oidc.py (signature by the provider's JWKS, RS256 or ES256; expiry,
  issuer, audience) and the department is read from `codec_oidc_department_claim`. An
  invalid, expired or foreign token: 401 with a short reason; a valid one naming no
  department of this system, or one outside `MAY_DECODE`: 403; the provider's keys
  unreachable (and none held): 503. Without `codec_oidc_jwks`, a JWT is just an unknown
  staff token (401);
- the web console's session cookie (`oms_console_session`), looked up in the
  console's own session store (db/console_sessions.py), from the Temporal UI's
  origin only: a supervisor signed in to the console on the same host name
  (`localhost`) decodes in the Temporal UI once its codec settings include
  cross-origin credentials. The console sets that cookie for `/decode` and `/encode`
  for supervision and admin alone (api/console/sessions.py).

Staff tokens and sessions are looked up in the database on every request: a revoked
token, or an ended session, stops at once; an OIDC token holds until its `exp` (the
provider's token lifetime). No credential: 401; one of another department: 403. CORS
admits the Temporal UI's origin only, with credentials. Every answered request is
logged with who asked (staff id, or the token's `sub`), their department, how they
signed in and how many payloads (never their content, never a token).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict
from temporalio.api.common.v1 import Payload

from config.keys import UnknownKey
from config.settings import Settings
from db import console_sessions
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department
from domain.personal_data import MAY_DECODE
from workers.codec import EncryptionCodec
from workers.oidc import (
    JwksSource,
    KeysUnavailable,
    OidcConfig,
    OidcError,
    OidcVerifier,
    looks_like_jwt,
)

__all__ = ["MAY_DECODE", "create_codec_app", "ui_endpoint"]

log = logging.getLogger("oms.codec_server")

#: The console's session cookie (api/console/sessions.py SESSION_COOKIE; not imported, so
#: that the codec server does not load the API).
SESSION_COOKIE = "oms_console_session"


def ui_endpoint(settings: Settings) -> str:
    """The codec endpoint the Temporal UI is given (`--ui-codec-endpoint`): no secret in it."""
    return f"http://localhost:{settings.codec_server_port}"


def ui_origins(settings: Settings) -> list[str]:
    """The Temporal UI's origin, under both names of this machine."""
    origin = settings.temporal_ui_url.rstrip("/")
    return sorted({origin, origin.replace("localhost", "127.0.0.1")})


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """The verifier of the Temporal UI's OIDC access tokens, when `codec_oidc_jwks` is set."""
    if not settings.codec_oidc_jwks:
        return None
    try:
        source = JwksSource(
            settings.codec_oidc_jwks, refresh_seconds=settings.codec_oidc_jwks_refresh_seconds
        )
    except ValueError as error:
        raise SystemExit(f"codec_oidc_jwks: {error}") from None
    config = OidcConfig(
        issuer=settings.codec_oidc_issuer,
        audience=settings.codec_oidc_audience,
        department_claim=settings.codec_oidc_department_claim,
        leeway_seconds=settings.codec_oidc_leeway_seconds,
    )
    return OidcVerifier(source, config)


@dataclass(frozen=True)
class Caller:
    """Who asks: a member of staff (by token or console session), or an OIDC user."""

    actor: str  # the staff id, or the access token's `sub`
    department: Department | None  # None: an OIDC user of no department of this system
    via: Literal["token", "session", "oidc"]


class Refused(Exception):
    """The request is answered with this status and detail, and nothing else."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status_code, self.detail, self.headers = status_code, detail, headers


def _payloads(body: dict[str, Any]) -> list[Payload]:
    return [ParseDict(p, Payload()) for p in body.get("payloads", [])]


def _answer(payloads: list[Payload]) -> dict[str, Any]:
    return {"payloads": [MessageToDict(p) for p in payloads]}


def create_codec_app(settings: Settings, db: Database | None = None) -> FastAPI:
    keyring = settings.keyring()
    if keyring is None:
        raise SystemExit("the codec server needs the payload encryption keys")
    codec = EncryptionCodec(keyring)
    database = db or Database(settings.resolved_database_url)
    origins = ui_origins(settings)
    app = FastAPI(title="Order management codec server", docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Content-Type", "X-Namespace", "Authorization"],
        allow_credentials=True,
    )

    oidc = oidc_verifier(settings)

    def oidc_caller(verifier: OidcVerifier, token: str) -> Caller:
        try:
            user = verifier.verify(token)
        except KeysUnavailable as error:
            raise Refused(503, str(error)) from None
        except OidcError as error:
            # The reason only: nothing of the token, which is a credential.
            log.warning("OIDC access token refused: %s", error, extra={"via": "oidc"})
            raise Refused(
                401,
                f"the access token was refused: {error}",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        return Caller(user.subject, user.department, "oidc")

    def caller(request: Request) -> Caller | None:
        """Who is asking: a bearer token (OIDC or staff), else the console's session cookie
        from the UI."""
        now = datetime.now(UTC)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if oidc is not None and looks_like_jwt(token):
                return oidc_caller(oidc, token)
            with database.read() as conn:
                member = staff_store.find_by_token(conn, token)
            if member is None or not member.is_valid(now):
                return None
            return Caller(member.staff_id, member.department, "token")
        session_id = request.cookies.get(SESSION_COOKIE)
        # A cookie is sent by the browser whoever made the page; only the UI's pages count.
        if session_id and request.headers.get("origin", "").rstrip("/") in origins:
            with database.read() as conn:
                member = console_sessions.staff_of(conn, session_id, now)
            return None if member is None else Caller(member.staff_id, member.department, "session")
        return None

    async def convert(request: Request, decode: bool) -> JSONResponse:
        try:
            who = await run_in_threadpool(caller, request)
        except Refused as refused:
            return JSONResponse(
                {"detail": refused.detail},
                status_code=refused.status_code,
                headers=refused.headers,
            )
        if who is None:
            return JSONResponse(
                {"detail": "a supervision or admin token or console session is required"},
                status_code=401,
            )
        if who.department is None:
            return JSONResponse(
                {"detail": "the access token names no department of this system"},
                status_code=403,
            )
        if who.department not in MAY_DECODE:
            return JSONResponse(
                {"detail": f"{who.department.value} may not read payloads in the clear"},
                status_code=403,
            )
        try:
            payloads = _payloads(await request.json())
        except Exception:
            return JSONResponse({"detail": 'body must be {"payloads": [...]}'}, status_code=400)
        try:
            result = await (codec.decode(payloads) if decode else codec.encode(payloads))
        except UnknownKey as error:
            return JSONResponse({"detail": str(error)}, status_code=400)
        log.info(
            "%s of %d payload(s) for %s",
            "decode" if decode else "encode",
            len(payloads),
            who.actor,
            extra={"actor": who.actor, "department": who.department.value, "via": who.via},
        )
        return JSONResponse(_answer(result))

    @app.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        return await convert(request, decode=True)

    @app.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        return await convert(request, decode=False)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "active_key": keyring.active}

    return app
