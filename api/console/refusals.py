"""A posted action form that did not go through, shown again beside the form that caused it.

The order page and the feedback page post their forms to the API's own routes. What
can come back is the same for both: the request model refuses a field (422, beside
the field), or the workflow's validator refuses the action (409, with its reason
above the form). Anything else is an error page.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.console.forms import FieldError, FormData, Member, place_errors, refill
from api.console.i18n import Locale
from api.errors import ApiError
from domain.risk import reason_parts


class ShownForm(Protocol):
    """An action form as `form.html` renders it."""

    members: list[Member]
    errors: list[str]
    refusal: str | None


@dataclass(frozen=True)
class Refused:
    """Why a post did not go through: field errors (422) or the workflow's reason (409)."""

    status_code: int
    errors: list[FieldError] = field(default_factory=list)
    #: The reason as the API gives it (English), and the refusal's code and params.
    reason: str | None = None
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


#: Refusal params whose values the catalogue has words for: the param -> its key prefix.
PARAM_WORDS = {
    "action": "action",
    "status": "status",
    "department": "department",
    "departments": "department",
    "task_kind": "task_kind",
    "refund_state": "refund_state",
    "resolution": "enum.resolution",
    "return_kind": "enum.return_kind",
}


def risk_text(locale: Locale, reason: str) -> str:
    """A P3.1 risk reason (`new customer`, `amount 6000.00 over 5000`) in the reader's words."""
    parts = reason_parts(reason)
    if parts is None or not locale.has(f"risk.{parts[0]}"):
        return reason
    return locale.t(f"risk.{parts[0]}", **parts[1])


def reason_text(locale: Locale, code: str | None, params: Any, fallback: str) -> str:
    """A refusal in the reader's language (`refusal.<code>`), else the API's own words."""
    key = f"refusal.{code}"
    if not code or not locale.has(key) or not isinstance(params, dict):
        return fallback
    words: dict[str, str] = {}
    for name, value in params.items():
        prefix = PARAM_WORDS.get(name)
        values = [str(v) for v in (value if isinstance(value, list) else [value])]
        if name == "reasons":
            shown = [risk_text(locale, v) for v in values]
        else:
            shown = [
                locale.t(f"{prefix}.{v}") if prefix and locale.has(f"{prefix}.{v}") else v
                for v in values
            ]
        words[name] = locale.t("common.list_separator").join(shown)
    try:
        return locale.t(key, **words)
    except (KeyError, IndexError):  # a word the refusal did not send: say it as the API does
        return fallback


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


def shown_reason(locale: Locale, refused: Refused) -> str | None:
    if refused.reason is None:
        return None
    return reason_text(locale, refused.code, refused.params, refused.reason)
