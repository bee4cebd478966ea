"""Who is at the browser: the console's session cookie, its CSRF token, and the language.

Sign-in takes a staff token (the one `oms staff add` prints) and opens a server-side
session (`db/console_sessions.py`); the browser keeps only the random session id, in
an HttpOnly, SameSite=Lax cookie scoped to /console. Every request looks the session
up again, with the token it began with, so a rotated, revoked or expired token ends
the session at once.

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
from db.staff import StaffMember

SESSION_COOKIE = "oms_console_session"
SEED_COOKIE = "oms_console_seed"
LANGUAGE_COOKIE = "oms_console_lang"
CSRF_FIELD = "csrf_token"
LANGUAGE_MAX_AGE = 365 * 24 * 3600


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
    #: Cookies the response must set (name, value, max-age; None deletes).
    cookies: list[tuple[str, str, int | None]] = field(default_factory=list)

    @property
    def department(self) -> str | None:
        return self.staff.department.value if self.staff else None

    def t(self, key: str, **params: object) -> str:
        return self.locale.t(key, **params)

    def csrf_ok(self, posted: str) -> bool:
        return bool(posted) and hmac.compare_digest(posted, self.csrf)

    def apply_cookies(self, response: Response) -> None:
        for name, value, max_age in self.cookies:
            if max_age is None:
                response.delete_cookie(name, path=self.base or "/", httponly=True, samesite="lax")
            else:
                set_cookie(response, self, name, value, max_age)


def set_cookie(response: Response, viewer: Viewer, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=viewer.base or "/",
        httponly=True,
        samesite="lax",
        secure=viewer.settings.secure_cookies,
    )


async def identify(request: Request, state: AppState) -> Viewer:
    """The viewer of this request, from its cookies (nobody when the session is dead)."""
    settings = state.settings.console
    language = pick_language(request.cookies.get(LANGUAGE_COOKIE), settings.default_language)
    locale = Locale(language, ZoneInfo(settings.time_zone))
    base = str(request.scope.get("root_path", "")).rstrip("/")
    cookies: list[tuple[str, str, int | None]] = []
    session_id = request.cookies.get(SESSION_COOKIE) or None
    staff: StaffMember | None = None
    if session_id is not None:
        sid = session_id

        def lookup() -> StaffMember | None:
            with state.db.read() as conn:
                return console_sessions.staff_of(conn, sid, datetime.now(UTC))

        staff = await run_in_threadpool(lookup)
        if staff is None:
            cookies.append((SESSION_COOKIE, "", None))
            session_id = None
    if session_id is not None:
        seed = session_id
    else:
        seed = request.cookies.get(SEED_COOKIE) or ""
        if len(seed) < 32:
            seed = secrets.token_urlsafe(32)
            cookies.append((SEED_COOKIE, seed, session_seconds(settings)))
    return Viewer(
        staff=staff,
        locale=locale,
        base=base,
        csrf=csrf_token(seed),
        session_id=session_id,
        settings=settings,
        cookies=cookies,
    )


def session_seconds(settings: ConsoleSettings) -> int:
    return int(settings.session_hours * 3600)


async def sign_in(state: AppState, token: str) -> str | None:
    """A new session for the holder of this token, or None when the token is no good."""
    lifetime = timedelta(hours=state.settings.console.session_hours)

    def write() -> str | None:
        with state.db.write() as conn:
            return console_sessions.open_session(conn, token, datetime.now(UTC), lifetime)

    return await run_in_threadpool(write)


async def sign_out(state: AppState, session_id: str) -> None:
    def write() -> None:
        with state.db.write() as conn:
            console_sessions.end_session(conn, session_id)

    await run_in_threadpool(write)


def start_session(response: Response, viewer: Viewer, session_id: str) -> None:
    set_cookie(response, viewer, SESSION_COOKIE, session_id, session_seconds(viewer.settings))


def forget_session(viewer: Viewer) -> None:
    """The response to this viewer deletes the session cookie."""
    viewer.cookies.append((SESSION_COOKIE, "", None))


def choose_language(response: Response, viewer: Viewer, language: str) -> None:
    set_cookie(response, viewer, LANGUAGE_COOKIE, language, LANGUAGE_MAX_AGE)


def local_path(viewer: Viewer, target: Any) -> str:
    """A path inside the console to go back to; anything else (another site) goes home."""
    text = str(target or "")
    if text.startswith(viewer.base + "/") and not text.startswith("//") and "\\" not in text:
        return text
    return f"{viewer.base}/inbox"
