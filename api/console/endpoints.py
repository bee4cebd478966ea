"""Which API endpoint a route function of `api/routes` serves: its method and path template.

The console runs the API's own route functions; asking the API's routers which
endpoint a function serves lets the console check that endpoint's rule in the role
matrix (`api/roles.py`), so that what it calls and what it checks cannot drift apart.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

import api.routes
from api.roles import rule_for
from domain.actors import Department

Endpoint = tuple[str, str]


@cache
def _index() -> dict[Callable[..., Any], Endpoint]:
    found: dict[Callable[..., Any], Endpoint] = {}
    for info in pkgutil.iter_modules(api.routes.__path__):
        router = getattr(importlib.import_module(f"api.routes.{info.name}"), "router", None)
        if not isinstance(router, APIRouter):
            continue
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods or ():
                    found[route.endpoint] = (method, route.path)
    return found


def endpoint_of(route_function: Callable[..., Any]) -> Endpoint:
    """("POST", "/api/v1/orders/{order_id}/review") for `api.routes.actions.review`."""
    try:
        return _index()[route_function]
    except KeyError:
        raise LookupError(f"{route_function.__qualname__} is not a route of the API") from None


def admits_route(
    department: Department, route_function: Callable[..., Any], *, lead: bool = False
) -> bool:
    """The role matrix's answer: may this department (a lead of it, or not) call the
    endpoint this function serves."""
    rule = rule_for(*endpoint_of(route_function))
    return rule is not None and rule.admits(department, lead=lead)
