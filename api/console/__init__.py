"""The staff web console: inbox, order page and actions, search, supervisor dashboard.

Served by the API app under `/console` (server-rendered with Jinja2, plain forms and
a small script of our own; no front-end build). It runs the API's own route
functions with the API's request models, and decides access with the API's role
matrix (`access.py`), so that a department sees and does in the console exactly
what the API lets it. Chinese (zh-CN) by default, English one click away
(gettext catalogues in `locale/`, read by `i18n.py`).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.console.web import create_console

PREFIX = "/console"


def mount(app: FastAPI) -> None:
    """Serve the console from this API app, under /console."""
    app.mount(PREFIX, create_console(app))
