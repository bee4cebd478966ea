"""The workflow's words in the reader's language.

Refusals and task summaries carry a code and the params their English text is made
of (domain/errors.py, domain/summaries.py); the catalogue has their words
(`refusal.<code>`, `summary.<code>`), with the params' values translated where they
name a status, an action, a department... Without words, the English text is shown.
"""

from __future__ import annotations

from typing import Any

from api.console.i18n import Locale
from api.schemas import TaskPublic
from domain.risk import reason_parts

#: Params (of refusals and task summaries) whose values the catalogue has words for:
#: the param -> its key prefix.
PARAM_WORDS = {
    "action": "action",
    "status": "status",
    "department": "department",
    "departments": "department",
    "task_kind": "task_kind",
    "case_kind": "case_kind",
    "refund_state": "refund_state",
    "resolution": "enum.resolution",
    "return_kind": "enum.return_kind",
    "reason_code": "enum.reason_code",
    "rejection_reason": "enum.rejection_reason",
    "event": "enum.tracking_event_kind",
    "fields": "field",
    "feedback_kind": "feedback_kind",
    "feedback_state": "feedback_state",
    "channel": "channel",
    "rectification_state": "rectification_state",
    "rectification_step": "rectification_step",
}


#: Params that are amounts of money: shown as money is (`¥1,234.50`).
MONEY = frozenset({"total", "amount"})


def risk_text(locale: Locale, reason: str) -> str:
    """A P3.1 risk reason (`new customer`, `amount 6000.00 over 5000`) in the reader's words."""
    parts = reason_parts(reason)
    if parts is None or not locale.has(f"risk.{parts[0]}"):
        return reason
    return locale.t(f"risk.{parts[0]}", **parts[1])


def reason_text(locale: Locale, code: str | None, params: Any, fallback: str) -> str:
    """A refusal in the reader's language (`refusal.<code>`), else the API's own words."""
    return in_words(locale, "refusal", code, params, fallback)


def summary_text(locale: Locale, task: TaskPublic) -> str:
    """A task's summary in the reader's language (`summary.<code>`), else as written."""
    return in_words(locale, "summary", task.summary_code, task.summary_params, task.summary)


def in_words(locale: Locale, kind: str, code: str | None, params: Any, fallback: str) -> str:
    """`<kind>.<code>` of the catalogue with its params in words; `fallback` where it has none."""
    key = f"{kind}.{code}"
    if not code or not locale.has(key) or not isinstance(params, dict):
        return fallback
    words: dict[str, str] = {}
    for name, value in params.items():
        prefix = PARAM_WORDS.get(name)
        values = [str(v) for v in (value if isinstance(value, list) else [value])]
        if name == "reasons":
            shown = [risk_text(locale, v) for v in values]
        elif name in MONEY:
            shown = [locale.money(v) for v in values]
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
