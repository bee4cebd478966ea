"""Filters of the console's list pages, read leniently: an empty box means "any"."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import TypeVar

from api.console.access import ConsoleError

E = TypeVar("E", bound=Enum)


def choice(enum: type[E], value: str, field: str) -> E | None:
    """A filter's value: empty for "any", else one of the enum's (422 for anything else)."""
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise ConsoleError(422, "error.bad_filter", field=field) from None


def date_filter(value: str, field: str) -> date | None:
    """A date box (YYYY-MM-DD): empty for none (422 for anything else)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConsoleError(422, "error.bad_filter", field=field) from None
