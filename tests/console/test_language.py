"""Two catalogues (gettext `.po` files), two languages: the same keys, words for everything
shown, none in templates; plural forms by the language's rule."""

from __future__ import annotations

import inspect
import re
import string
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from api.console.access import REPORTS
from api.console.feedback_actions import FEEDBACK_ACTIONS
from api.console.forms import Group, build
from api.console.i18n import (
    LANGUAGES,
    LOCALE_DIR,
    Locale,
    catalogue_path,
    percent_style,
    read_catalogue,
)
from api.console.order_actions import ORDER_ACTIONS
from api.console.pages.feedback_causes import cause_form
from api.console.pages.orders import STAGES
from api.console.pages.products import CONSISTENCY, new_product_form
from api.console.pages.training import session_form
from api.console.render import ENV, TEMPLATES
from api.console.web import KNOWN_STATUSES
from api.console.workflow_words import in_words, reason_text, summary_text
from api.schemas import TaskPublic
from domain import summaries
from domain.actions import Action
from domain.actors import Department, StaffRole
from domain.cases import CaseKind, CaseState
from domain.catalogue import SizeClass
from domain.events import EventKind
from domain.feedback import Channel, FeedbackEventKind, FeedbackKind, FeedbackState
from domain.feedback_analysis import OrderStep
from domain.ledger import LedgerKind, RefundState
from domain.order.details import OrderKind
from domain.reports import ALL_DEPARTMENTS, GroupBy, Kpi
from domain.review_checklist import FindingCode, ReviewPoint
from domain.states import OrderStatus
from domain.tasks import TaskKind

SHANGHAI = ZoneInfo("Asia/Shanghai")


ROOT = Path(__file__).resolve().parents[2]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def texts(catalogue: Catalog) -> dict[str, tuple[str, ...]]:
    """Each key of a catalogue with its text (a plural entry: its forms)."""
    found: dict[str, tuple[str, ...]] = {}
    for message in catalogue:
        if not message.id:
            continue  # the header
        key = message.id if isinstance(message.id, str) else message.id[0]
        found[key] = (message.string,) if isinstance(message.string, str) else message.string
    return found


CATALOGUES = {language: read_catalogue(language) for language in LANGUAGES}
TEXTS = {language: texts(catalogue) for language, catalogue in CATALOGUES.items()}
ZH_CN, EN = TEXTS["zh-CN"], TEXTS["en"]


def test_both_languages_have_the_same_keys_and_placeholders_and_no_empty_text():
    assert set(ZH_CN) == set(EN)
    for key in ZH_CN:
        assert all(form.strip() for form in ZH_CN[key] + EN[key]), key
        zh = set().union(*(placeholders(form) for form in ZH_CN[key]))
        en = set().union(*(placeholders(form) for form in EN[key]))
        if key.startswith("format."):  # each language picks from the parts of a date
            parts = {"year", "month", "month_name", "day", "time"}
            assert zh <= parts and en <= parts, key
        else:
            assert zh == en, key


PLURAL_FORMS = {"zh-CN": (1, "nplurals=1; plural=0;"), "en": (2, "nplurals=2; plural=(n != 1);")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_po_file_parses_with_every_entry_translated_and_none_fuzzy(language: str):
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, abort_invalid=True)  # a syntax error fails here
    assert catalogue.fuzzy is False
    nplurals, rule = PLURAL_FORMS[language]
    assert catalogue.plural_forms == rule  # the header's Plural-Forms
    assert catalogue.obsolete == {}
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        forms = (message.string,) if isinstance(message.string, str) else message.string
        assert len(forms) == (nplurals if message.pluralizable else 1), message.id
        assert all(forms), f"{language}: {message.id!r} has no text"
        # Babel's own checks of an entry (`pybabel compile` runs them too).
        assert not list(message.check(catalogue)), message.id


def test_the_template_names_the_keys_the_catalogues_have():
    """console.pot is what `pybabel extract` gives (README.md, "The console's words")."""
    with (LOCALE_DIR / "console.pot").open("rb") as pot:
        template = texts(read_po(pot))
    assert set(template) == set(ZH_CN) == set(EN)
    plural = {m.id[0] for m in CATALOGUES["en"] if m.id and m.pluralizable}
    assert {m.id[0] for m in CATALOGUES["zh-CN"] if m.id and m.pluralizable} == plural


def test_every_key_the_extractor_finds_in_code_and_templates_has_words_in_both_languages():
    """babel.cfg's Python and Jinja2 extractors, as `pybabel extract -k t` runs them."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    in_code = [(pattern, method) for pattern, method in method_map if not pattern.endswith(".po")]
    keywords = {"t": None, "gettext": None, "ngettext": (1, 2)}
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(ROOT, in_code, options_map, keywords)
    }
    assert {"nav.inbox", "training.overdue_count", "order.shipment"} <= found  # py, plural, html
    assert sorted(found - set(ZH_CN)) == []


def test_english_says_one_and_many_and_chinese_has_one_form():
    en, zh = Locale("en", SHANGHAI), Locale("zh-CN", SHANGHAI)
    assert en.ngettext("training.overdue_count", 1) == (
        "1 member of customer service is due for training."
    )
    assert en.ngettext("training.overdue_count", 3) == (
        "3 members of customer service are due for training."
    )
    assert en.ngettext("products.caption", 0) == "0 products on this page"
    assert [zh.ngettext("products.caption", n) for n in (1, 2)] == [
        "本页 1 种商品",
        "本页 2 种商品",
    ]
    assert len(ZH_CN["products.caption"]) == 1 and len(EN["products.caption"]) == 2
    # One form may leave the count unsaid where the words carry it.
    assert [en.ngettext("training.sessions_caption", n) for n in (1, 4)] == [
        "The last session",
        "The last 4 sessions",
    ]
    assert [en.ngettext("search.results", n) for n in (1, 20)] == [
        "1 order found on this page",
        "20 orders found on this page",
    ]
    assert zh.ngettext("search.results", 20) == "查询结果（本页 20 条）"


def test_a_template_says_the_plural_through_jinjas_i18n_extension():
    page = ENV.from_string(
        "{{ ngettext('products.caption', 'products.caption', n) }}|{{ gettext('nav.inbox') }}"
    )
    said = {(lang, n): page.render(loc=Locale(lang, SHANGHAI), n=n) for lang in LANGUAGES
            for n in (1, 2)}  # fmt: skip
    assert said[("en", 1)] == "1 product on this page|Inbox"
    assert said[("en", 2)] == "2 products on this page|Inbox"
    assert said[("zh-CN", 1)] == "本页 1 种商品|待办"


def test_jinja_gets_the_placeholders_in_its_own_style_and_a_percent_sign_stays_one():
    assert percent_style("{num}% of {total}") == "%(num)s%% of %(total)s"
    assert percent_style("{num}% of {total}") % {"num": 5, "total": 9} == "5% of 9"


def test_a_key_without_words_is_shown_in_english_or_as_itself():
    zh = Locale("zh-CN", SHANGHAI)
    assert zh.t("no.such.key") == "no.such.key"
    assert not zh.has("no.such.key") and zh.has("nav.inbox")


def form_keys() -> set[str]:
    keys: set[str] = set()

    def walk(members):
        for m in members:
            keys.add(m.label)
            if isinstance(m, Group):
                walk(m.members)
            else:
                keys.update(key for _, key in m.choices)

    for spec in ORDER_ACTIONS.values():
        walk(build(spec.body))
    for feedback_spec in FEEDBACK_ACTIONS.values():
        walk(build(feedback_spec.body))
    walk(new_product_form().members)
    walk(cause_form([], Locale("en", SHANGHAI)).members)
    walk(session_form().members)
    return keys


def needed_keys() -> set[str]:
    enums = {
        "status": OrderStatus,
        "department": Department,
        "task_kind": TaskKind,
        "event": EventKind,
        "action": Action,
        "case_kind": CaseKind,
        "case_state": CaseState,
        "refund_state": RefundState,
        "ledger_kind": LedgerKind,
        "order_kind": OrderKind,
        "kpi": Kpi,
        "group_by": GroupBy,
        "feedback_state": FeedbackState,
        "feedback_kind": FeedbackKind,
        "feedback_event": FeedbackEventKind,
        "channel": Channel,
        "finding_code": FindingCode,
        "review_point": ReviewPoint,
        "enum.order_step": OrderStep,
        "training.role": StaffRole,
    }
    keys = {f"{prefix}.{member.value}" for prefix, enum in enums.items() for member in enum}
    keys |= {f"stage.{s}" for s in STAGES} | {f"department.{ALL_DEPARTMENTS}"}
    keys |= {f"error.title.{c}" for c in KNOWN_STATUSES} | {
        f"error.status.{c}" for c in KNOWN_STATUSES
    }
    keys |= {f"download.{name}" for name in REPORTS} | {f"month.{m}" for m in range(1, 13)}
    keys |= {f"action.{name}" for name in FEEDBACK_ACTIONS}
    filters = ("department", "kind", "status", "created_from", "created_to")
    feedback_filters = ("feedback_state", "feedback_kind", "channel")
    keys |= {f"filter.{f}" for f in (*filters, *feedback_filters)}
    keys |= {"filter.from", "filter.to", "filter.group_by"}
    keys |= {f"error.field.{kind}" for _, kind in CONSISTENCY.values()}
    keys |= {f"enum.size_class.{s.value}" for s in SizeClass}
    return keys | form_keys()


def test_every_status_department_task_event_action_and_form_field_has_its_words():
    missing = sorted(needed_keys() - set(ZH_CN))
    assert missing == []


def template_sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(Path(TEMPLATES).glob("*.html"))}


def test_every_key_a_template_or_page_names_is_in_the_catalogue():
    named: set[str] = set()
    for source in template_sources().values():
        named |= set(re.findall(r"""\b(?:t|ngettext)\(\s*['"]([a-z_][\w.-]*)['"]""", source))
    python = Path(TEMPLATES).parent.rglob("*.py")
    for path in python:
        prefixes = "error|dashboard|sign_in|order|form|feedback|products"
        named |= set(re.findall(rf"""["']((?:{prefixes})\.[a-z_.]+)["']""", path.read_text()))
    # A key ending in "." is a prefix completed by a value (`'action.' ~ form.action`): the
    # test above covers every value.
    named = {k for k in named if not k.endswith(".") and not k.endswith(".html")}
    assert sorted(k for k in named if k not in ZH_CN) == []


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
#: What may stand between tags outside `{{ t(...) }}`: marks, not words.
NOT_WORDS = re.compile(r"^[\s·×→/:()（）,.\-—§]*$")
ATTRIBUTE = re.compile(r'(?:[\w-]+|§)="[^"]*"|§=§')
USER_FACING = {"aria-label", "title", "placeholder", "alt", "summary"}


class TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        # Attributes a template writes in a block of their own (`{% set common %}`) are no text.
        data = ATTRIBUTE.sub("", data)
        if not NOT_WORDS.match(data):
            self.found.append(data.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in USER_FACING and value and value.strip("§ "):
                self.found.append(f"{tag} {name}={value!r}")


@pytest.mark.parametrize("name", sorted(template_sources()))
def test_templates_hold_no_words_of_their_own(name: str):
    finder = TextFinder()
    finder.feed(JINJA.sub("§", template_sources()[name]))
    assert finder.found == []


def test_the_template_check_would_catch_a_hard_coded_word():
    finder = TextFinder()
    finder.feed(JINJA.sub("§", '<p>{{ t("x") }} Overdue</p><button aria-label="Close">§</button>'))
    assert finder.found == ["§ Overdue", "button aria-label='Close'"]


def test_money_reads_with_the_yuan_sign_and_thousands():
    for language in LANGUAGES:
        locale = Locale(language, SHANGHAI)
        assert locale.money(Decimal("1234.5")) == "¥1,234.50"
        assert locale.money("-12") == "-¥12.00"
        assert locale.money(None) == "—"


def test_times_are_shown_in_the_consoles_zone_and_the_viewers_language():
    at = datetime(2026, 11, 27, 6, 5, tzinfo=UTC)  # 14:05 in Beijing
    assert Locale("zh-CN", SHANGHAI).datetime(at) == "2026年11月27日 14:05"
    assert Locale("en", SHANGHAI).datetime(at) == "27 Nov 2026, 14:05"
    assert Locale("en", ZoneInfo("Europe/Berlin")).datetime(at) == "27 Nov 2026, 07:05"
    assert Locale("zh-CN", SHANGHAI).iso_date("2026-11-30") == "2026年11月30日"


CONFLICT_CODE = re.compile(r'\bconflict\(\s*f?"[^"]*",\s*[^,]+?,\s*"([a-z_]+)"', re.S)


def refusal_codes_in_the_source() -> set[str]:
    """Every refusal code raised (`code="..."`) or answered (`conflict(..., "code")`)."""
    root = Path(__file__).resolve().parents[2]
    codes: set[str] = set()
    for folder in ("domain", "workflows", "api"):
        for path in (root / folder).rglob("*.py"):
            source = path.read_text()
            codes |= set(re.findall(r'\bcode="([a-z_]+)"', source))
            # conflict(detail, status, "code", ...): the third argument.
            codes |= set(re.findall(CONFLICT_CODE, source))
    return codes


def test_every_refusal_code_has_its_words_in_both_languages():
    codes = refusal_codes_in_the_source()
    assert {"phone_verification_required", "action_not_now", "order_closed"} <= codes
    assert sorted(c for c in codes if f"refusal.{c}" not in ZH_CN) == []
    stale = {k.removeprefix("refusal.") for k in ZH_CN if k.startswith("refusal.")} - codes
    assert stale == set()


def test_a_refusal_reads_in_the_readers_language_with_its_words_translated():
    zh, en = Locale("zh-CN", SHANGHAI), Locale("en", SHANGHAI)
    params = {"action": "pack", "status": "under_review", "clause": "P3.3"}
    english = "pack is not allowed while the order is under_review (P3.3)"
    assert reason_text(zh, "action_not_now", params, english) == (
        "订单处于「审核中」时不能执行「拣货包装完成」（P3.3）。"
    )
    assert reason_text(en, "action_not_now", params, english).startswith(
        "“Record the order packed” is not possible while the order is “Under review”"
    )
    departments = {"departments": ["sales", "finance"], "department": "warehouse"}
    text = reason_text(zh, "action_not_for_department", departments | params, english)
    assert "销售部、财务部" in text and "仓储部" in text
    risky = {"reasons": ["new customer", "amount 6000.00 over 5000.00"]}
    text = reason_text(zh, "phone_verification_required", risky, english)
    assert text.endswith("风险原因：新客户、金额 6000.00 超过 5000.00")
    # No code, an unknown code, or a word missing: the API's own words.
    assert reason_text(zh, None, {}, english) == english
    assert reason_text(zh, "no_such_code", params, english) == english
    assert reason_text(zh, "action_not_now", {"action": "pack"}, english) == english


def every_summary() -> list[summaries.Summary]:
    """One of each summary domain/summaries.py makes, as tasks carry them."""
    total = Decimal("258.00")
    made = [
        summaries.lines(1, 2, total),
        summaries.review(1, 2, total, ["new customer"]),
        summaries.fix(["customer.phone", "shipping.address"]),
        summaries.short({"SKU-1": 2}),
        summaries.shipment("SF", "SF123"),
        summaries.restock_expected(datetime(2026, 12, 1, 9, 0)),
        summaries.change_of(["shipping", "items"]),
        summaries.payment_contact(True),
        summaries.payment_contact(False),
        summaries.duplicate_payment(total),
        summaries.verify_duplicate("TX-2", total, Decimal("100.00")),
        summaries.return_request("return", "quality"),
        summaries.inspect_return("return"),
        summaries.supplier_follow_up("exchange"),
        summaries.adjust_accounts("return"),
        summaries.parcel_inform("lost"),
        summaries.parcel_cause("damaged"),
        summaries.refund_by_hand(total, "R1", "card closed"),
        summaries.compensation_by_hand(total, "JD1:compensation:JD1-C1", "card closed"),
        summaries.payment_request(total, datetime(2026, 12, 2, 9, 0)),
        summaries.replan_route(),
        summaries.notify_customer("dispatched", "sms"),
        summaries.feedback("complaint", "hotline", None),
        summaries.feedback("inquiry", "email", "JD1"),
        summaries.remittance_late(Decimal("258.00")),
        summaries.put_back(2),
        summaries.explain_rejection("price_inaccurate"),
        summaries.remittance_differs(Decimal("200.00"), Decimal("258.00")),
        summaries.service_visit(datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 1, 11, 0)),
        summaries.rework_visit(),
        summaries.rectify("late_task", "P8.1", 2),
    ]
    makers = {
        n
        for n, f in vars(summaries).items()
        if inspect.isfunction(f) and f.__module__ == summaries.__name__
    }
    assert makers == {
        "lines", "review", "fix", "short", "shipment", "restock_expected", "change_of",
        "payment_contact", "duplicate_payment", "verify_duplicate",
        "return_request", "inspect_return",
        "supplier_follow_up", "adjust_accounts", "parcel_inform", "parcel_cause",
        "refund_by_hand", "replan_route", "feedback", "remittance_late", "remittance_differs",
        "put_back", "explain_rejection", "service_visit", "rework_visit",
        "compensation_by_hand", "payment_request", "notify_customer", "rectify",
    }  # fmt: skip
    return made


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_task_summary_has_words_and_all_its_values_in_both_languages(language: str):
    locale = Locale(language, SHANGHAI)
    for made in every_summary():
        said = in_words(locale, "summary", made.code, made.params, fallback="<no words>")
        assert said != "<no words>", made.code  # its words, every value they name given


def test_a_summary_reads_in_chinese_with_its_values_translated():
    zh = Locale("zh-CN", SHANGHAI)
    made = summaries.review(1, 2, Decimal("258.00"), ["new customer"])
    task = TaskPublic(
        task_id="T1", order_id="JD1", department=Department.SALES, kind="review",
        state="open", opened_at=datetime.now(UTC), due_at=datetime.now(UTC), overdue=False,
        summary=made.text, summary_code=made.code, summary_params=made.params,
    )  # fmt: skip
    assert summary_text(zh, task) == "1 种商品，共 2 件，合计 ¥258.00；需电话核实：新客户"
    untranslated = task.model_copy(update={"summary_code": None})
    assert summary_text(zh, untranslated) == made.text
