"""Which steps tell the customer what (P3-P5, P7.2), as plain functions."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from domain.actors import SYSTEM_ACTOR
from domain.events import EventKind, OrderEvent
from domain.notices import LANGUAGES, TEMPLATES, notice_for, reach, reply_notice
from domain.notifications import Channel
from domain.order.details import NewOrder
from domain.states import OrderStatus
from tests.support.orders import order_body

AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def order(**customer: object) -> NewOrder:
    body = order_body("JD7", phone="13800138000")
    body["customer"].update(customer)
    return NewOrder.model_validate(body)


def event(kind: EventKind, data: dict[str, object] | None = None) -> OrderEvent:
    return OrderEvent(
        seq=4, at=AT, kind=kind, status=OrderStatus.IN_TRANSIT, actor=SYSTEM_ACTOR, data=data or {}
    )


def test_every_template_is_written_in_both_languages_with_the_same_blanks():
    for name, words in TEMPLATES.items():
        assert set(words) == set(LANGUAGES), name
        blanks = {
            lang: {f for _, f, _, _ in string.Formatter().parse(text) if f}
            for lang, text in words.items()
        }
        # The Chinese may name a fact the English says otherwise (event_zh, approved_zh).
        assert {b.removesuffix("_zh") for b in blanks["zh"]} == {
            b.removesuffix("_en") for b in blanks["en"]
        }, name


@pytest.mark.parametrize(
    ("kind", "data", "template"),
    [
        (EventKind.REVIEWED, {"approved": True}, "order_confirmed"),
        (EventKind.REJECTED, {"reason_code": "other"}, "order_rejected"),
        (EventKind.BACKORDER_RECORDED, {"restock_eta": "2026-12-09T08:00:00+00:00"}, "backordered"),
        (EventKind.DISPATCHED, {"carrier": "sim", "tracking_number": "SIM1"}, "dispatched"),
        (EventKind.TRACKING, {"event": "out_for_delivery"}, "out_for_delivery"),
        (EventKind.DELIVERED, {}, "delivered"),
        (EventKind.CASE_OPENED, {"kind": "logistics_exception", "event": "lost"}, "parcel_problem"),
        (EventKind.CASE_DECIDED, {"kind": "change", "approved": False}, "change_decided"),
        (EventKind.CASE_DECIDED, {"kind": "return", "approved": True}, "return_decided"),
        (EventKind.CANCELLED, {"paid": True}, "cancelled"),
        (EventKind.REFUND_ISSUED, {"amount": "88.00"}, "refunded"),
        (EventKind.COMPENSATION_PAID, {"amount": "10.00"}, "compensated"),
    ],
)
def test_p3_p5_each_step_that_informs_the_customer_makes_one_notice(
    kind: EventKind, data: dict[str, object], template: str
):
    notice = notice_for(event(kind, data), order())
    assert notice is not None
    assert (notice.template, notice.notification_id, notice.event_seq) == (template, "JD7:N4", 4)
    assert "JD7" in notice.text and "{" not in notice.text


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (EventKind.REVIEWED, {"approved": False}),  # the rejection tells, not the review
        (EventKind.TRACKING, {"event": "in_transit"}),
        (EventKind.CASE_OPENED, {"kind": "return"}),  # the customer asked: nothing to tell
        (EventKind.TASK_OVERDUE, {}),
        (EventKind.LEDGER, {}),
    ],
)
def test_internal_steps_tell_the_customer_nothing(kind: EventKind, data: dict[str, object]):
    assert notice_for(event(kind, data), order()) is None


def test_the_customer_is_reached_by_text_then_e_mail_then_the_app_in_their_language():
    assert reach(order()) == (Channel.SMS, "13800138000")
    no_phone = order(phone=None, email="li@example.com")
    no_phone = no_phone.model_copy(
        update={"shipping": no_phone.shipping.model_copy(update={"contact_phone": None})}
    )
    assert reach(no_phone) == (Channel.EMAIL, "li@example.com")
    nothing = no_phone.model_copy(
        update={"customer": no_phone.customer.model_copy(update={"email": None})}
    )
    assert reach(nothing) == (Channel.CHAT, nothing.customer.id)
    english = notice_for(event(EventKind.DELIVERED), order(language="en"))
    assert english is not None and english.text.startswith("Your order JD7 has been delivered")


def test_texts_name_no_personal_data_and_times_read_as_minutes():
    notice = notice_for(
        event(EventKind.BACKORDER_RECORDED, {"restock_eta": "2026-12-09T08:00:00+00:00"}), order()
    )
    assert notice is not None
    assert "2026-12-09 08:00 UTC" in notice.text
    for secret in ("13800138000", "Li Lei", "Chaoyang"):
        assert secret not in notice.text


def test_p7_2_a_reply_to_feedback_is_sent_as_customer_service_wrote_it():
    reply = reply_notice("FB1", None, "C9", 2, 5, "Sorry, it ships today.")
    assert (reply.notification_id, reply.channel, reply.recipient, reply.text) == (
        "feedback:FB1:R2",
        Channel.CHAT,
        "C9",
        "Sorry, it ships today.",
    )
