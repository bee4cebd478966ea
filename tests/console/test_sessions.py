"""Signing in to the console: the cookie holds no token, dead tokens end sessions, every form
carries a CSRF token (over real HTTP against the running system)."""

from __future__ import annotations

from datetime import UTC, datetime
from http.cookies import SimpleCookie

import httpx
from sqlalchemy import select

from db import staff as staff_store
from db.console_tables import console_sessions
from domain.actors import Department
from tests.support.console import ConsoleBrowser
from tests.support.journeys import order_under_review
from tests.support.system import System


def set_cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    cookies: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            cookies[name] = cookie
    return cookies


def new_member(system: System, department: Department = Department.SALES) -> tuple[str, str]:
    with system.db.write() as conn:
        member, token = staff_store.add_staff(conn, "Zhao Lei", department, datetime.now(UTC))
    return member.staff_id, token


async def test_signing_in_keeps_only_a_random_session_id_in_an_http_only_same_site_cookie(
    system: System,
):
    _, token = new_member(system)
    async with ConsoleBrowser(system) as browser:
        await browser.get("/console/sign-in")
        response = await browser.post(
            "/console/sign-in", {"token": token, "next": "/console/inbox"}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/console/inbox"
        cookies = set_cookies(response)
        session = cookies["oms_console_session"]["oms_console_session"]
        assert session["httponly"] is True
        assert session["samesite"].lower() == "lax"
        assert session["path"] == "/console"
        assert token not in " ".join(response.headers.get_list("set-cookie"))
        assert session.value != token and len(session.value) >= 40
        with system.db.read() as conn:
            stored = {row.session_hash for row in conn.execute(select(console_sessions))}
        assert session.value not in stored  # only its hash is kept

        inbox = await browser.get("/console/inbox")
        assert inbox.status_code == 200
        assert "Zhao Lei" in inbox.text


async def test_a_wrong_token_is_refused_and_opens_no_session(system: System):
    async with ConsoleBrowser(system) as browser:
        await browser.get("/console/sign-in")
        response = await browser.post("/console/sign-in", {"token": "oms_guess"})
        assert response.status_code == 401
        assert "令牌无效" in response.text
        assert "oms_console_session" not in set_cookies(response)
        assert (await browser.get("/console/inbox")).status_code == 303


async def test_a_page_asks_for_sign_in_and_comes_back_to_where_it_was(system: System):
    async with ConsoleBrowser(system) as browser:
        response = await browser.get("/console/inbox", kind="review")
        assert response.status_code == 303
        assert (
            response.headers["location"] == "/console/sign-in?next=/console/inbox%3Fkind%3Dreview"
        )
        await browser.get(response.headers["location"])
        signed_in = await browser.post(
            "/console/sign-in",
            {"token": system.tokens[Department.SALES], "next": "/console/inbox?kind=review"},
        )
        assert signed_in.headers["location"] == "/console/inbox?kind=review"
        # Somewhere else than the console is not a place to go back to.
        await browser.get("/console/sign-in")
        elsewhere = await browser.post(
            "/console/sign-in",
            {"token": system.tokens[Department.SALES], "next": "https://evil.example/"},
        )
        assert elsewhere.headers["location"] == "/console/inbox"


async def test_a_rotated_or_revoked_token_ends_its_console_session_at_once(system: System):
    staff_id, token = new_member(system)
    async with ConsoleBrowser(system) as browser:
        await browser.sign_in(token=token)
        assert (await browser.get("/console/inbox")).status_code == 200
        with system.db.write() as conn:
            new_token = staff_store.rotate(conn, staff_id)
        assert new_token is not None
        assert (await browser.get("/console/inbox")).status_code == 303

        await browser.sign_in(token=new_token)
        assert (await browser.get("/console/inbox")).status_code == 200
        with system.db.write() as conn:
            staff_store.revoke(conn, staff_id, datetime.now(UTC))
        refused = await browser.get("/console/inbox")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/console/sign-in")


async def test_signing_out_ends_the_session_on_the_server_too(system: System):
    async with ConsoleBrowser(system) as browser:
        await browser.sign_in(Department.SALES)
        stolen = browser.http.cookies["oms_console_session"]
        signed_out = await browser.post("/console/sign-out", {})
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/console/sign-in"
    # Whoever kept a copy of the cookie cannot use it any more.
    async with ConsoleBrowser(system) as other:
        other.http.cookies.set("oms_console_session", stolen, path="/console")
        assert (await other.get("/console/inbox")).status_code == 303


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(system: System):
    order_id = await order_under_review(system)
    async with ConsoleBrowser(system) as browser, ConsoleBrowser(system) as colleague:
        await browser.sign_in(Department.SALES)
        await colleague.sign_in(Department.SALES)
        path = f"/console/orders/{order_id}/actions/review"
        body = {"approved": "true", "note": "forged", "idempotency_key": "k1"}
        for csrf in ("", "0" * 64, colleague.csrf):
            refused = await browser.post(path, body, csrf=csrf)
            assert refused.status_code == 403, csrf
            assert "表单已过期" in refused.text
        # The sign-in and language forms carry one too.
        anonymous = ConsoleBrowser(system)
        await anonymous.get("/console/sign-in")
        refused = await anonymous.post(
            "/console/sign-in", {"token": system.tokens[Department.SALES]}, csrf=""
        )
        assert refused.status_code == 403
        await anonymous.http.aclose()
    assert (await system.order(order_id))["status"] == "under_review"
