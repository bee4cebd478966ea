"""Who is at the browser: the console's session cookie, its CSRF token, and the language.

Sign-in takes a staff token (the one `oms staff add` prints) and opens a server-side
session (`db/console_sessions.py`); the browser keeps only the random session id, in
an HttpOnly, SameSite=Lax cookie scoped to /console. Every request looks the session
up again in the database, with the token it began with, so a rotated, revoked or
expired token ends the session at once (the console keeps no token cache; the API's
bearer tokens are trusted for up to `OMS_API_TOKEN_CACHE_SECONDS`).

Sign-in looks the token up with a read first: only a valid token opens a write
transaction (SQLite's write lock, which the workers need), so a flood of bad attempts
writes nothing. The attempts themselves are limited per client address (access.py).

For supervision and admin, who may read histories decrypted (MAY_DECODE), the same
session cookie is also set for the paths `/decode` and `/encode`: the codec server
(`workers/codec_server.py`, on another port of the same host) accepts it there, so
the Temporal UI decodes in their browser once its codec settings include
cross-origin credentials. Cookies belong to a host name, not a port: the console and
the codec endpoint must be opened under the same name (`localhost`).

Cookies are `Secure` whenever the console is not served on localhost (a request for
another host name, or over HTTPS); `OMS_CONSOLE__SECURE_COOKIES=true` forces it on.

Every form carries a CSRF token: an HMAC of the session id once signed in, and before
that (the sign-in and language forms) of a random per-browser seed kept in a cookie of
its own. A cross-site page can neither read those cookies nor compute the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool

from api.console.i18n import Locale, pick_language
from api.deps import AppState
from config.settings import ConsoleSettings
from db import console_sessions
from db import staff as staff_store
from db.staff import StaffMember
from domain.personal_data import may_decode

SESSION_COOKIE = "oms_console_session"
SEED_COOKIE = "oms_console_seed"
LANGUAGE_COOKIE = "oms_console_lang"
CSRF_FIELD = "csrf_token"
LANGUAGE_MAX_AGE = 365 * 24 * 3600
#: The codec server's paths (workers/codec_server.py) where the session cookie of a
#: department that may decode is also sent.
CODEC_PATHS = ("/decode", "/encode")
#: Host names of this machine: there the console may run over plain HTTP.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
#: Longer than any token `oms staff add` issues: not looked up at all.
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class CookieChange:
    """A cookie the response sets (max_age None: deletes); path None: the console's."""

    name: str
    value: str
    max_age: int | None
    path: str | None = None


def csrf_token(seed: str) -> str:
    return hmac.new(seed.encode(), b"oms-console-csrf", hashlib.sha256).hexdigest()


@dataclass
class Viewer:
    """The member of staff (or nobody yet) a page is rendered for, in their language."""

    staff: StaffMember | None
    locale: Locale
    #: Where the console is mounted ("/console"): every link starts with it.
    base: str
    csrf: str
    session_id: str | None
    settings: ConsoleSettings
    #: Cookies the response must set or delete.
    cookies: list[CookieChange] = field(default_factory=list)
    #: Whether cookies are marked Secure (not on localhost, or forced by the settings).
    secure: bool = False

    @property
    def department(self) -> str | None:
        return self.staff.department.value if self.staff else None

    def t(self, key: str, **params: object) -> str:
        return self.locale.t(key, **params)

    def csrf_ok(self, posted: str) -> bool:
        return bool(posted) and hmac.compare_digest(posted, self.csrf)

    def apply_cookies(self, response: Response) -> None:
        for change in self.cookies:
            path = change.path or self.base or "/"
            if change.max_age is None:
                response.delete_cookie(
                    change.name, path=path, httponly=True, samesite="lax", secure=self.secure
                )
            else:
                set_cookie(response, self, change.name, change.value, change.max_age, path=path)


def set_cookie(
    response: Response,
    viewer: Viewer,
    name: str,
    value: str,
    max_age: int,
    *,
    path: str | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path or viewer.base or "/",
        httponly=True,
        samesite="lax",
        secure=viewer.secure,
    )


def served_securely(request: Request, settings: ConsoleSettings) -> bool:
    """Cookies are Secure unless the console is served over plain HTTP on this machine."""
    if settings.secure_cookies or request.url.scheme == "https":
        return True
    host = (request.url.hostname or "").lower()
    return not (host in LOCAL_HOSTS or host.endswith(".localhost"))


def _session_cookie_deleted() -> list[CookieChange]:
    """Deleting the session cookie: the console's, and the codec server's paths."""
    return [CookieChange(SESSION_COOKIE, "", None)] + [
        CookieChange(SESSION_COOKIE, "", None, path) for path in CODEC_PATHS
    ]


async def identify(request: Request, state: AppState) -> Viewer:
    """The viewer of this request, from its cookies (nobody when the session is dead)."""
    settings = state.settings.console
    language = pick_language(request.cookies.get(LANGUAGE_COOKIE), settings.default_language)
    locale = Locale(language, ZoneInfo(settings.time_zone))
    base = str(request.scope.get("root_path", "")).rstrip("/")
    cookies: list[CookieChange] = []
    session_id = request.cookies.get(SESSION_COOKIE) or None
    staff: StaffMember | None = None
    if session_id is not None:
        sid = session_id

        def lookup() -> StaffMember | None:
            with state.db.read() as conn:
                return console_sessions.staff_of(conn, sid, datetime.now(UTC))

        staff = await run_in_threadpool(lookup)
        if staff is None:
            cookies += _session_cookie_deleted()
            session_id = None
    if session_id is not None:
        seed = session_id
    else:
        seed = request.cookies.get(SEED_COOKIE) or ""
        if len(seed) < 32:
            seed = secrets.token_urlsafe(32)
            cookies.append(CookieChange(SEED_COOKIE, seed, session_seconds(settings)))
    return Viewer(
        staff=staff,
        locale=locale,
        base=base,
        csrf=csrf_token(seed),
        session_id=session_id,
        settings=settings,
        cookies=cookies,
        secure=served_securely(request, settings),
    )


def session_seconds(settings: ConsoleSettings) -> int:
    return int(settings.session_hours * 3600)


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    staff: StaffMember


async def sign_in(state: AppState, token: str) -> SignedIn | None:
    """A new session for the holder of this token, or None when the token is no good.

    The token is looked up with a read; only a valid one opens a write transaction.
    """
    lifetime = timedelta(hours=state.settings.console.session_hours)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None

    def valid() -> StaffMember | None:
        with state.db.read() as conn:
            member = staff_store.find_by_token(conn, token)
        return member if member is not None and member.is_valid(datetime.now(UTC)) else None

    member = await run_in_threadpool(valid)
    if member is None:
        return None

    def write() -> str | None:
        # open_session checks the token again, in the transaction (revoked meanwhile: None).
        with state.db.write() as conn:
            return console_sessions.open_session(conn, token, datetime.now(UTC), lifetime)

    session_id = await run_in_threadpool(write)
    return SignedIn(session_id, member) if session_id is not None else None


async def sign_out(state: AppState, session_id: str) -> None:
    def write() -> None:
        with state.db.write() as conn:
            console_sessions.end_session(conn, session_id)

    await run_in_threadpool(write)


def start_session(response: Response, viewer: Viewer, signed_in: SignedIn) -> None:
    """The session cookie; for a department that may decode, also on the codec's paths."""
    lifetime = session_seconds(viewer.settings)
    if may_decode(signed_in.staff.department):
        for path in CODEC_PATHS:
            set_cookie(response, viewer, SESSION_COOKIE, signed_in.session_id, lifetime, path=path)
    set_cookie(response, viewer, SESSION_COOKIE, signed_in.session_id, lifetime)


def forget_session(viewer: Viewer) -> None:
    """The response to this viewer deletes the session cookie (on every path it was set)."""
    viewer.cookies += _session_cookie_deleted()


def choose_language(response: Response, viewer: Viewer, language: str) -> None:
    set_cookie(response, viewer, LANGUAGE_COOKIE, language, LANGUAGE_MAX_AGE)


def local_path(viewer: Viewer, target: Any) -> str:
    """A path inside the console to go back to; anything else (another site) goes home."""
    text = str(target or "")
    if text.startswith(viewer.base + "/") and not text.startswith("//") and "\\" not in text:
        return text
    return f"{viewer.base}/inbox"
