"""Pages from Jinja2 templates, with the viewer's language, CSRF token and cookies.

Templates autoescape everything; they take their words from `t(...)` (or, for a count,
Jinja2's `ngettext(key, key, n)`) and format dates and money with `loc.datetime(...)`,
`loc.money(...)`. Responses carry a strict
Content-Security-Policy: the console's own scripts and styles only, none inline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from api.console.access import CONSOLE_ROUTES, admits, viewer_of
from api.console.i18n import LANGUAGES, Locale, percent_style
from api.console.refusals import error_text
from api.console.sessions import CSRF_FIELD, Viewer
from api.console.workflow_words import summary_text
from domain.tasks import TaskKind

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show customers' data: not kept in shared caches or the browser's history cache.
    "Cache-Control": "no-store",
}


def _segment(value: object) -> str:
    """An id as one URL path segment (refund ids hold colons)."""
    return quote(str(value), safe="")


def _query(params: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)


# Jinja2's i18n extension (`{% trans %}`, `gettext`, `ngettext`), in the viewer's language:
# one environment serves every request, so the callables read the page's locale (`loc`)
# rather than being installed per language. Newstyle: Jinja2 fills `%(name)s` itself
# (escaping the values), so the catalogue's `{name}` placeholders are handed over that way.
def _locale(context: Context) -> Locale:
    locale = context["loc"]
    assert isinstance(locale, Locale)
    return locale


@pass_context
def _gettext(context: Context, key: str) -> str:
    return percent_style(_locale(context).translations.gettext(key))


@pass_context
def _ngettext(context: Context, key: str, plural: str, num: int) -> str:
    return percent_style(_locale(context).translations.ngettext(key, plural, num))


# The extension adds install_gettext_callables to the environment at run time.
ENV.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
ENV.filters["seg"] = _segment
ENV.globals["query"] = _query
ENV.globals["CSRF_FIELD"] = CSRF_FIELD
ENV.globals["languages"] = LANGUAGES
ENV.globals["active"] = ""  # the page a template marks as current in the navigation
ENV.globals["task_kinds"] = frozenset(k.value for k in TaskKind)


def navigation(viewer: Viewer) -> dict[str, bool]:
    """Links to pages the viewer's department may open (by the same rules as the gate)."""
    staff = viewer.staff

    def may_open(path: str) -> bool:
        return staff is not None and admits(
            staff.department, *CONSOLE_ROUTES[("GET", path)].runs, lead=staff.is_lead
        )

    return {
        "feedback": may_open("/feedback"),
        "dashboard": may_open("/dashboard"),
        "products": may_open("/products"),
        "training": may_open("/training"),
        # P8.2: supervision and admin see every scorecard, a department's lead their own.
        "scorecards": may_open("/scorecards"),
        "rectifications": may_open("/rectifications"),
    }


def render(viewer: Viewer, template: str, context: dict[str, Any]) -> str:
    return ENV.get_template(template).render(
        viewer=viewer,
        t=viewer.t,
        loc=viewer.locale,
        base=viewer.base,
        lang=viewer.locale.language,
        nav=navigation(viewer),
        task_summary=lambda task: summary_text(viewer.locale, task),
        error_text=lambda error: error_text(viewer.locale, error),  # form.html's field errors
        **context,
    )


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    viewer = viewer_of(request)
    current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context.setdefault("current", current if request.method == "GET" else f"{viewer.base}/")
    response = HTMLResponse(render(viewer, template, context), status_code=status_code)
    finish(response, viewer)
    return response


def redirect(viewer: Viewer, path: str) -> RedirectResponse:
    """303 See Other: after a form post, the browser GETs the page (no repeat on reload)."""
    response = RedirectResponse(path, status_code=303)
    finish(response, viewer)
    return response


def finish(response: Response, viewer: Viewer) -> None:
    viewer.apply_cookies(response)
    response.headers.update(SECURITY_HEADERS)
