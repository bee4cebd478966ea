"""A posted action form that did not go through, shown again beside the form that caused it.

The order page and the feedback page post their forms to the API's own routes. What
can come back is the same for both: the request model refuses a field (422, beside
the field), or the workflow's validator refuses the action (409, with its reason
above the form). Anything else is an error page.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from api.console.forms import FieldError, FormData, Member, place_errors, refill
from api.console.i18n import Locale
from api.console.workflow_words import reason_text
from api.errors import ApiError


@dataclass(kw_only=True)
class ShownForm:
    """An action form as `form.html` renders it (the order page's and the feedback page's)."""

    form_id: str
    members: list[Member]
    #: A fresh Idempotency-Key per form shown: a double click applies the action once.
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Errors not tied to one field, as the viewer reads them.
    errors: list[str] = field(default_factory=list)
    #: The workflow's reason when it refused the action (409), in the viewer's words.
    refusal: str | None = None


@dataclass(frozen=True)
class Refused:
    """Why a post did not go through: field errors (422) or the workflow's reason (409)."""

    status_code: int
    errors: list[FieldError] = field(default_factory=list)
    #: The reason as the API gives it (English), and the refusal's code and params.
    reason: str | None = None
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def refusal_of(error: ApiError) -> tuple[str | None, dict[str, Any]]:
    """The code and params of an API refusal (none for an error that has no code)."""
    params = error.extra.get("refusal_params")
    return error.extra.get("refusal"), params if isinstance(params, dict) else {}


def error_text(locale: Locale, error: FieldError) -> str:
    """A field error in the viewer's language where the catalogue has its type."""
    key = f"error.field.{error.type}"
    if locale.has(key):
        return locale.t(key, **error.params)
    return error.message


async def attempt(call: Awaitable[Any]) -> Refused | None:
    """Run the API route; a 409 or 422 it answers comes back as a `Refused`, not an error."""
    try:
        await call
    except ApiError as error:
        if error.status_code == 409:
            code, params = refusal_of(error)
            return Refused(409, reason=error.detail, code=code, params=params)
        if error.status_code == 422:
            field_name = str(error.extra.get("field", ""))
            return Refused(422, errors=[FieldError(field_name, "api", error.detail, {})])
        raise
    return None


def show_beside(form: ShownForm, posted: FormData, refused: Refused, locale: Locale) -> None:
    """Fill the form with what was posted and put each error beside its field."""
    refill(form.members, posted)
    left = place_errors(form.members, refused.errors)
    form.errors = [error_text(locale, e) for e in left]
    form.refusal = shown_reason(locale, refused)


def refused_text(locale: Locale, refused: Refused) -> str:
    """The whole refusal as one sentence, for a page whose forms have no field beside
    which to show it (the scorecards' and rectifications' short forms)."""
    return shown_reason(locale, refused) or "; ".join(error_text(locale, e) for e in refused.errors)


def shown_reason(locale: Locale, refused: Refused) -> str | None:
    if refused.reason is None:
        return None
    return reason_text(locale, refused.code, refused.params, refused.reason)
