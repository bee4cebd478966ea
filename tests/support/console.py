"""Driving the web console over HTTP as a browser does: cookies, CSRF tokens, form posts."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx

from domain.actors import Department
from tests.support.system import System

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class ConsoleBrowser:
    """A cookie jar of its own against the system's API, speaking HTML forms."""

    def __init__(self, system: System, base_url: str | None = None) -> None:
        self.system = system
        self.http = httpx.AsyncClient(
            base_url=base_url or str(system.http.base_url), timeout=30, follow_redirects=False
        )
        self.csrf = ""

    async def __aenter__(self) -> ConsoleBrowser:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.http.aclose()

    async def get(self, path: str, **params: Any) -> httpx.Response:
        response = await self.http.get(path, params=params or None)
        if "csrf_token" in response.text:
            self.csrf = csrf_of(response.text)
        return response

    async def post(
        self, path: str, data: dict[str, Any] | list[tuple[str, str]], *, csrf: str | None = None
    ) -> httpx.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        fields.append(("csrf_token", self.csrf if csrf is None else csrf))
        return await self.http.post(
            path,
            content=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def sign_in(self, who: Department | str | None = None, token: str | None = None) -> None:
        await self.get("/console/sign-in")
        token = token or self.system.tokens[Department(who)]
        response = await self.post("/console/sign-in", {"token": token, "next": "/console/inbox"})
        assert response.status_code == 303, response.text
        await self.get("/console/inbox")

    async def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, f"{response.status_code}: {response.text[:500]}"
        return await self.get(response.headers["location"])
