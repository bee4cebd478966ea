"""Languages of the console: the catalogue lookup, and dates, times and money for the locale.

Every word the console shows comes from `api/console/catalogue.py` through `t(key)`;
templates hold no user-facing text of their own (a test scans them). Dates and times
are shown in the console's time zone (`OMS_CONSOLE__TIME_ZONE`, Asia/Shanghai by
default) whatever the language; money as `¥1,234.50`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from api.console.catalogue import CATALOGUE

log = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = tuple(CATALOGUE)
FALLBACK = "en"


def pick_language(asked: str | None, default: str) -> str:
    return asked if asked in CATALOGUE else default


@dataclass(frozen=True)
class Locale:
    """One language in one time zone: what every page renders with."""

    language: str
    zone: ZoneInfo

    def t(self, key: str, **params: object) -> str:
        """The text of `key` in this language, with `{name}` placeholders filled in."""
        text = CATALOGUE[self.language].get(key)
        if text is None:
            log.warning("no %s text for %r", self.language, key)
            text = CATALOGUE[FALLBACK].get(key, key)
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in CATALOGUE[self.language]

    def label(self, prefix: str, value: object) -> str:
        """The name of an enumerated value (a status, a department...): `t(prefix.value)`."""
        raw = getattr(value, "value", value)
        return self.t(f"{prefix}.{raw}")

    def local(self, at: dt.datetime) -> dt.datetime:
        aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
        return aware.astimezone(self.zone)

    def datetime(self, at: dt.datetime | None) -> str:
        if at is None:
            return self.t("common.none")
        local = self.local(at)
        return self.t(
            "format.datetime",
            year=local.year,
            month=local.month,
            month_name=self.t(f"month.{local.month}"),
            day=local.day,
            time=f"{local:%H:%M}",
        )

    def date(self, day: dt.date | None) -> str:
        if day is None:
            return self.t("common.none")
        return self.t(
            "format.date",
            year=day.year,
            month=day.month,
            month_name=self.t(f"month.{day.month}"),
            day=day.day,
        )

    def iso_date(self, text: str) -> str:
        """A report period ("2026-11-27") as a date of this locale."""
        try:
            return self.date(dt.date.fromisoformat(text))
        except ValueError:
            return text

    def money(self, amount: Decimal | str | int | float | None) -> str:
        """¥1,234.50; -¥12.00 for money going out."""
        if amount is None or amount == "":
            return self.t("common.none")
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            return str(amount)
        sign = "-" if value < 0 else ""
        return f"{sign}¥{abs(value):,.2f}"

    def percent(self, value: float | None) -> str:
        return self.t("common.no_data") if value is None else f"{value * 100:.1f}%"

    def number(self, value: float | int | None, places: int = 0) -> str:
        return self.t("common.no_data") if value is None else f"{value:,.{places}f}"

    def input_datetime(self, at: dt.datetime | None) -> str:
        """The value of an <input type=datetime-local> in this zone."""
        return "" if at is None else f"{self.local(at):%Y-%m-%dT%H:%M}"
