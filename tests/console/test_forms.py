"""Action forms are the API's request models: built from them, posted back into them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from api.console.feedback_actions import FEEDBACK_ACTIONS
from api.console.forms import (
    Group,
    Input,
    Widget,
    build,
    parse,
    place_errors,
    refill,
    validate,
)
from api.console.i18n import Locale
from api.console.order_actions import ORDER_ACTIONS, Offer
from api.console.pages.feedback import FeedbackForm
from api.console.pages.orders import ActionForm
from api.console.refusals import ShownForm, error_text
from api.console.render import ENV
from api.console.sessions import Viewer
from config.settings import ConsoleSettings
from domain.commands import (
    BackorderRequest,
    ChangeRequest,
    DispatchRequest,
    ExceptionDecisionRequest,
    PackRequest,
    ReviewRequest,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def controls(model) -> dict[str, Input]:
    found: dict[str, Input] = {}

    def walk(members):
        for m in members:
            if isinstance(m, Group):
                walk(m.members)
            else:
                found[m.name] = m

    walk(build(model))
    return found


def test_each_field_type_gets_its_control():
    review = controls(ReviewRequest)
    assert review["approved"].widget is Widget.YES_NO  # required: approve or reject, no default
    assert review["phone_verified"].widget is Widget.CHECKBOX
    assert review["note"].widget is Widget.TEXTAREA and review["note"].attrs["maxlength"] == "1000"
    dispatch = controls(DispatchRequest)
    assert dispatch["method"].widget is Widget.SELECT
    assert [v for v, _ in dispatch["method"].choices] == ["standard", "express"]
    assert dispatch["carrier"].required and dispatch["carrier"].widget is Widget.TEXT
    pack = controls(PackRequest)
    assert pack["packages"].widget is Widget.NUMBER
    assert pack["packages"].attrs == {"min": "1", "max": "100"}
    assert pack["accessories"].widget is Widget.LINES
    decision = controls(ExceptionDecisionRequest)
    assert (
        decision["compensation"].widget is Widget.MONEY and decision["compensation"].value == "0.00"
    )
    assert controls(BackorderRequest)["restock_eta"].widget is Widget.DATETIME


def test_nested_models_are_groups_and_lists_of_lines_are_rows():
    change = build(ChangeRequest)
    shipping = next(m for m in change if m.name == "shipping")
    items = next(m for m in change if m.name == "items")
    assert isinstance(shipping, Group) and not shipping.required
    assert [m.name for m in shipping.members] == [
        "shipping.address",
        "shipping.contact_name",
        "shipping.contact_phone",
        "shipping.handover",  # the customer's wish may change too (P3.4, P4.1)
    ]
    assert isinstance(items, Group) and items.is_list and len(items.members) == 3
    assert controls(ChangeRequest)["items.1.unit_price"].label == "field.items.unit_price"


def test_a_posted_form_becomes_the_request_model():
    body, errors = validate(
        PackRequest,
        {"packages": ["2"], "accessories": ["manual\r\n warranty_card \r\n\r\n"]},
        SHANGHAI,
    )
    assert errors == []
    assert body == PackRequest(packages=2, accessories=["manual", "warranty_card"])

    body, _ = validate(ReviewRequest, {"approved": ["true"], "phone_verified": ["true"]}, SHANGHAI)
    assert body == ReviewRequest(approved=True, phone_verified=True)
    body, _ = validate(ReviewRequest, {"approved": ["false"], "note": [" "]}, SHANGHAI)
    assert body == ReviewRequest(approved=False)  # an empty box is "not given"


def test_a_time_is_read_in_the_consoles_time_zone():
    body, _ = validate(
        BackorderRequest,
        {"reason": ["supplier late"], "restock_eta": ["2026-12-01T09:30"]},
        SHANGHAI,
    )
    assert isinstance(body, BackorderRequest)
    assert body.restock_eta == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)


def test_only_the_filled_parts_of_a_change_are_sent():
    form = {
        "shipping.address": ["7 New Rd"],
        "shipping.contact_name": [""],
        "items.0.sku": [""],
        "items.0.quantity": [""],
        "reason": ["moved"],
    }
    assert parse(ChangeRequest, form, SHANGHAI) == {
        "shipping": {"address": "7 New Rd"},
        "reason": "moved",
    }
    body, _ = validate(
        ChangeRequest,
        {
            "items.1.sku": ["SKU-A"],
            "items.1.quantity": ["2"],
            "items.1.unit_price": ["9.90"],
            "reason": ["wants two"],
        },
        SHANGHAI,
    )
    assert isinstance(body, ChangeRequest) and body.items is not None
    assert (body.items[0].sku, body.items[0].unit_price) == ("SKU-A", Decimal("9.90"))


def test_the_models_errors_land_beside_their_fields():
    body, errors = validate(
        DispatchRequest, {"method": ["teleport"], "tracking_number": ["SF1"]}, SHANGHAI
    )
    assert body is None
    assert {(e.field, e.type) for e in errors} == {("carrier", "missing"), ("method", "enum")}
    members = build(DispatchRequest)
    left = place_errors(members, errors)
    assert left == []
    by_name = {m.name: m for m in members}
    assert by_name["carrier"].error is not None and by_name["carrier"].error.type == "missing"

    # An error of the model as a whole (a change must change something) stays with the form.
    _, errors = validate(ChangeRequest, {"reason": ["nothing"]}, SHANGHAI)
    assert [e.field for e in place_errors(build(ChangeRequest), errors)] == [""]

    # An error inside a row of items lands on that row's control.
    _, errors = validate(
        ChangeRequest,
        {
            "items.0.sku": ["SKU-A"],
            "items.0.quantity": ["0"],
            "items.0.unit_price": ["1"],
            "reason": ["x"],
        },
        SHANGHAI,
    )
    members = build(ChangeRequest)
    assert place_errors(members, errors) == []
    items = next(m for m in members if m.name == "items")
    row = items.members[0]
    assert isinstance(row, Group)
    quantity = next(m for m in row.members if m.name == "items.0.quantity")
    assert quantity.error is not None and quantity.error.params == {"ge": 1}


def test_a_refused_form_comes_back_filled_in():
    members = build(DispatchRequest)
    refill(members, {"carrier": ["SF Express"], "method": ["express"]})
    by_name = {m.name: m for m in members if isinstance(m, Input)}
    assert by_name["carrier"].value == "SF Express" and by_name["method"].value == "express"


def test_every_action_form_has_exactly_the_fields_of_its_model_and_sends_nothing_unasked():
    for spec in ORDER_ACTIONS.values():
        assert [m.name for m in build(spec.body)] == list(spec.body.model_fields), spec.action
        assert parse(spec.body, {}, SHANGHAI) == {}, spec.action


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_action_form_renders_with_a_label_for_each_control_and_its_errors(language: str):
    locale = Locale(language, SHANGHAI)
    viewer = Viewer(None, locale, "/console", "csrf", None, ConsoleSettings())
    template = ENV.from_string(
        '{% from "form.html" import action_form with context %}'
        "{{ action_form(form, '/console/orders/JD1/actions') }}"
    )
    forms: list[ShownForm] = [
        ActionForm(offer=Offer(spec, "T-1"), form_id=f"a{n}", members=build(spec.body))
        for n, spec in enumerate(ORDER_ACTIONS.values())
    ]
    forms += [  # the feedback page's forms render the same way
        FeedbackForm(spec=spec, form_id=f"f{n}", members=build(spec.body))
        for n, spec in enumerate(FEEDBACK_ACTIONS.values())
    ]
    for form in forms:
        body = form.offer.action.body if isinstance(form, ActionForm) else form.spec.body
        _, errors = validate(body, {"items.0.sku": ["x"]}, SHANGHAI)
        form.errors = [e.message for e in place_errors(form.members, errors)]
        html = render_with(template, viewer, form)
        ids = set(re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html))
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        assert ids <= labelled, (form.action, ids - labelled)
        assert f'data-action="{form.action}"' in html
        assert f'action="/console/orders/JD1/actions/{form.action}"' in html
        for error in errors:
            if error.type in ("missing", "string_too_short"):
                assert locale.t(f"error.field.{error.type}", **error.params) in html


def render_with(template, viewer: Viewer, form: ShownForm) -> str:
    return template.render(
        viewer=viewer,
        t=viewer.t,
        loc=viewer.locale,
        base=viewer.base,
        form=form,
        error_text=lambda e: error_text(viewer.locale, e),
    )
