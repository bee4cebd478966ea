"""Signing in with a staff token, signing out, and choosing the language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.console.access import app_state, form_of, viewer_of
from api.console.forms import first
from api.console.i18n import LANGUAGES
from api.console.render import page, redirect
from api.console.sessions import (
    choose_language,
    forget_session,
    local_path,
    sign_in,
    sign_out,
    start_session,
)

router = APIRouter()


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    viewer = viewer_of(request)
    return redirect(viewer, f"{viewer.base}/inbox" if viewer.staff else f"{viewer.base}/sign-in")


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str = "") -> HTMLResponse:
    viewer = viewer_of(request)
    return page(request, "sign_in.html", next=local_path(viewer, next), error=None)


@router.post("/sign-in", response_model=None)
async def sign_in_form(request: Request) -> HTMLResponse | RedirectResponse:
    viewer = viewer_of(request)
    form = form_of(request)
    target = local_path(viewer, first(form, "next"))
    signed_in = await sign_in(app_state(request), first(form, "token"))
    if signed_in is None:
        return page(
            request, "sign_in.html", status_code=401, next=target, error="sign_in.bad_token"
        )
    response = redirect(viewer, target)
    start_session(response, viewer, signed_in)
    return response


@router.post("/sign-out")
async def sign_out_form(request: Request) -> RedirectResponse:
    viewer = viewer_of(request)
    if viewer.session_id:
        await sign_out(app_state(request), viewer.session_id)
    forget_session(viewer)
    return redirect(viewer, f"{viewer.base}/sign-in")


@router.post("/language")
async def language_form(request: Request) -> RedirectResponse:
    viewer = viewer_of(request)
    form = form_of(request)
    response = redirect(viewer, local_path(viewer, first(form, "next")))
    language = first(form, "language")
    if language in LANGUAGES:
        choose_language(response, viewer, language)
    return response
