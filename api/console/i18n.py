"""Languages of the console: the gettext catalogues, and dates, times and money for the locale.

Every word the console shows comes from the catalogue of its language,
`api/console/locale/<language>/LC_MESSAGES/console.po`, through `t(key)`; templates hold no
user-facing text of their own (a test scans them). Keys are symbolic msgids (`nav.inbox`,
`refusal.<code>`), many built from a value at run time; the texts hold `{name}` placeholders
that `t(key, name=...)` fills. The `.po` files are compiled in memory when this module is
imported (Babel's `read_po` and `write_mo`): no `.mo` file is kept or written. The workflow
for changing words (extract, update, translate) is in README.md, "The console's words".

Both languages have the same keys and the same placeholders (a test checks it, and that
every status, task kind, event, department, action and form field has its words).
Refusals and task summaries have words by their code (`refusal.<code>`, `summary.<code>`;
domain/errors.py, domain/summaries.py), their params translated where they name a status,
an action or a department (`api/console/workflow_words.py`); without words they are shown
in the workflow's English. Notes people write are shown as written.

Dates and times are shown in the console's time zone (`OMS_CONSOLE__TIME_ZONE`,
Asia/Shanghai by default) whatever the language; money as `¥1,234.50`.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import logging
import string
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "console"
#: The console's languages, the default first (the language switcher lists them in this order).
LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
FALLBACK = "en"


def catalogue_path(language: str) -> Path:
    """The `.po` file of a language: "zh-CN" lives in gettext's folder `zh_CN`."""
    return LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(language: str) -> Catalog:
    """The language's `.po` file as Babel reads it; a syntax error is an error, not a skip."""
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language.replace("-", "_"), domain=DOMAIN, abort_invalid=True)


class _Missing(gettext.NullTranslations):
    """The end of a language's chain: says that a key had no text, then asks the next one."""

    def __init__(self, language: str, then: gettext.NullTranslations | None) -> None:
        super().__init__()
        self.language = language
        if then is not None:
            self.add_fallback(then)

    def gettext(self, message: str) -> str:
        log.warning("no %s text for %r", self.language, message)
        return super().gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        log.warning("no %s text for %r", self.language, msgid1)
        return super().ngettext(msgid1, msgid2, n)


def _compile(catalogue: Catalog) -> Translations:
    """The `.mo` form of a catalogue, in memory, as gettext reads it."""
    mo = io.BytesIO()
    write_mo(mo, catalogue)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def _load() -> tuple[dict[str, Translations], dict[str, frozenset[str]]]:
    catalogues = {language: read_catalogue(language) for language in LANGUAGES}
    compiled = {language: _compile(c) for language, c in catalogues.items()}
    # A key without text in a language is said (logged) and shown in the fallback
    # language's words; without those too, as the key itself.
    compiled[FALLBACK].add_fallback(_Missing(FALLBACK, None))
    quiet_fallback = _compile(catalogues[FALLBACK])
    for language in LANGUAGES:
        if language != FALLBACK:
            compiled[language].add_fallback(_Missing(language, quiet_fallback))
    keys = {
        language: frozenset(m.id if isinstance(m.id, str) else m.id[0] for m in c if m.id)
        for language, c in catalogues.items()
    }
    return compiled, keys


TRANSLATIONS, KEYS = _load()


def pick_language(asked: str | None, default: str) -> str:
    return asked if asked in TRANSLATIONS else default


def percent_style(text: str) -> str:
    """`{name}` placeholders as `%(name)s`: how Jinja2's i18n extension fills a text."""
    parts = []
    for literal, field, spec, conversion in string.Formatter().parse(text):
        parts.append(literal.replace("%", "%%"))
        if field is not None:
            if spec or conversion:
                raise ValueError(f"{text!r}: only plain {{name}} placeholders are supported")
            parts.append(f"%({field})s")
    return "".join(parts)


@dataclass(frozen=True)
class Locale:
    """One language in one time zone: what every page renders with."""

    language: str
    zone: ZoneInfo

    @property
    def translations(self) -> Translations:
        return TRANSLATIONS[self.language]

    def t(self, key: str, **params: object) -> str:
        """The text of `key` in this language, with `{name}` placeholders filled in."""
        text = self.translations.gettext(key)
        return text.format(**params) if params else text

    def ngettext(self, key: str, num: int, **params: object) -> str:
        """The form of `key` for the count `num` (its `{num}`): one in Chinese, two in English."""
        return self.translations.ngettext(key, key, num).format(num=num, **params)

    def has(self, key: str) -> bool:
        return key in KEYS[self.language]

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
