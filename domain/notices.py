"""Which steps of an order tell the customer what, and in which words (P3, P4, P5).

The policy is full of "inform the customer": the review's outcome (P3.1), a backorder
and when the goods are expected (P3.2), the parcel on its way (P3.4), a change or a
cancellation (P4), a refund, a parcel lost or damaged, a return decided (P5). Each
such event of an order becomes one `Notice`: a message with a template per event,
in Chinese (the default) and English, through the channel the customer can be
reached on. The aggregate makes the notice in the same step as the event, so the
outbox row is written in the same transaction as the event that causes it
(db/notifications.py), and the workflow has it sent (activities/notifications.py).

The texts name the order, carriers, numbers and amounts, never the customer's name,
phone or address: a message that reaches the wrong phone gives nothing away.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.events import EventKind, OrderEvent
from domain.notifications import Channel
from domain.order.details import NewOrder

#: The languages the templates are written in; the first is the default.
LANGUAGES = ("zh", "en")

#: Each template in both languages; `{order_id}` and the event's facts fill them.
TEMPLATES: dict[str, dict[str, str]] = {
    "order_confirmed": {
        "zh": "您的订单 {order_id} 已审核通过，我们正在为您备货。",
        "en": "Your order {order_id} has been confirmed; we are preparing your goods.",
    },
    "order_rejected": {
        "zh": "很抱歉，您的订单 {order_id} 未能通过审核，客服将与您联系说明原因；"
        "已付款项将原路退回。",
        "en": "We are sorry: your order {order_id} could not be accepted. Our staff will "
        "contact you to explain; anything you paid will be refunded.",
    },
    "awaiting_payment": {
        "zh": "您的订单 {order_id} 尚未付款，请在 {deadline} 前完成支付。",
        "en": "Your order {order_id} is waiting for payment; please pay before {deadline}.",
    },
    "backordered": {
        "zh": "您订单 {order_id} 中的商品暂时缺货，预计 {restock_eta} 到货，到货后立即为您发出。",
        "en": "Some goods of your order {order_id} are out of stock; we expect them on "
        "{restock_eta} and will send them as soon as they arrive.",
    },
    "dispatched": {
        "zh": "您的订单 {order_id} 已由 {carrier} 发出，运单号 {tracking_number}。",
        "en": "Your order {order_id} is on its way with {carrier}, tracking number "
        "{tracking_number}.",
    },
    "out_for_delivery": {
        "zh": "您的订单 {order_id} 正在派送中，请保持电话畅通。",
        "en": "Your order {order_id} is out for delivery today.",
    },
    "delivered": {
        "zh": "您的订单 {order_id} 已签收。如有质量问题，可在 7 天内申请退货、15 天内申请换货。",
        "en": "Your order {order_id} has been delivered. If something is wrong with it you "
        "may ask for a return within 7 days or an exchange within 15 days.",
    },
    "parcel_problem": {
        "zh": "很抱歉，您订单 {order_id} 的包裹出现异常（{event_zh}），我们正在处理，"
        "客服将与您联系。",
        "en": "We are sorry: the parcel of your order {order_id} is {event}. We are on it "
        "and our customer service will contact you.",
    },
    "visit_scheduled": {
        "zh": "您的服务订单 {order_id} 已预约上门：{window_start} 至 {window_end}。",
        "en": "The visit for your service order {order_id} is booked: {window_start} to "
        "{window_end}.",
    },
    "change_decided": {
        "zh": "您对订单 {order_id} 的修改申请{approved_zh}。",
        "en": "Your change request for order {order_id} has been {approved_en}.",
    },
    "return_decided": {
        "zh": "您对订单 {order_id} 的退换货申请{approved_zh}。",
        "en": "Your return or exchange request for order {order_id} has been {approved_en}.",
    },
    "cancelled": {
        "zh": "您的订单 {order_id} 已取消。",
        "en": "Your order {order_id} has been cancelled.",
    },
    "payment_requested": {
        "zh": "您修改后的订单 {order_id} 需补付差价 {amount} 元，请在 {deadline} 前支付。",
        "en": "Your changed order {order_id} costs {amount} more; please pay the difference "
        "before {deadline}.",
    },
    "refunded": {
        "zh": "订单 {order_id} 的退款 {amount} 元已原路退回。",
        "en": "A refund of {amount} for order {order_id} is on its way back to you.",
    },
    # P7.2: the words are customer service's own reply, sent as written.
    "feedback_reply": {"zh": "{message}", "en": "{message}"},
    "compensated": {
        "zh": "订单 {order_id} 的补偿 {amount} 元已支付给您。",
        "en": "Compensation of {amount} for order {order_id} has been paid to you.",
    },
}

#: How a parcel's trouble reads in Chinese.
PARCEL_EVENTS_ZH = {"lost": "丢失", "damaged": "破损", "delayed": "延误"}


class Notice(BaseModel):
    """One message to the customer, made with the event that causes it."""

    model_config = ConfigDict(extra="forbid")

    #: `<order>:N<seq>` (`feedback:<id>:R<n>` for a reply to feedback): one per event, so
    #: a step retried makes the same notice.
    notification_id: str
    #: The order it is about (none for feedback about no order).
    order_id: str | None
    event_seq: int
    template: str
    channel: Channel
    #: A phone number, an e-mail address or the customer's id (in-app chat).
    recipient: str
    language: str
    text: str


Facts = dict[str, Any]
#: An event's template and the facts that fill it, or None when it tells the customer nothing.
Chooser = Callable[[OrderEvent], tuple[str, Facts] | None]


def _decided(template: str) -> Chooser:
    def choose(event: OrderEvent) -> tuple[str, Facts] | None:
        approved = bool(event.data.get("approved"))
        return template, {
            "approved_zh": "已通过" if approved else "未获批准",
            "approved_en": "approved" if approved else "declined",
        }

    return choose


def _case_decided(event: OrderEvent) -> tuple[str, Facts] | None:
    kind = event.data.get("kind")
    if kind == "change":
        return _decided("change_decided")(event)
    if kind in ("return", "exchange"):
        return _decided("return_decided")(event)
    return None


def _tracking(event: OrderEvent) -> tuple[str, Facts] | None:
    return ("out_for_delivery", {}) if event.data.get("event") == "out_for_delivery" else None


def _case_opened(event: OrderEvent) -> tuple[str, Facts] | None:
    parcel = event.data.get("event")
    if event.data.get("kind") != "logistics_exception" or not isinstance(parcel, str):
        return None
    return "parcel_problem", {"event": parcel, "event_zh": PARCEL_EVENTS_ZH.get(parcel, parcel)}


def _readable(value: Any) -> Any:
    """A time as the customer reads it (minutes, UTC); anything else as it is."""
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T":
        try:
            return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC"
        except ValueError:
            return value
    return value


def _facts(template: str, **names: str) -> Chooser:
    """The template, filled with the event's data: `{placeholder: data key}`."""
    return lambda event: (
        template,
        {place: _readable(event.data.get(key, "")) for place, key in names.items()},
    )


CHOOSERS: dict[EventKind, Chooser] = {
    EventKind.REVIEWED: lambda e: ("order_confirmed", {}) if e.data.get("approved") else None,
    EventKind.REJECTED: lambda e: ("order_rejected", {}),
    EventKind.AWAITING_PAYMENT: _facts("awaiting_payment", deadline="until"),
    EventKind.BACKORDER_RECORDED: _facts("backordered", restock_eta="restock_eta"),
    EventKind.DISPATCHED: _facts(
        "dispatched", carrier="carrier", tracking_number="tracking_number"
    ),
    EventKind.TRACKING: _tracking,
    EventKind.DELIVERED: lambda e: ("delivered", {}),
    EventKind.CASE_OPENED: _case_opened,
    EventKind.CASE_DECIDED: _case_decided,
    EventKind.APPOINTMENT_SCHEDULED: _facts(
        "visit_scheduled", window_start="window_start", window_end="window_end"
    ),
    EventKind.CANCELLED: lambda e: ("cancelled", {}),
    EventKind.PAYMENT_REQUESTED: _facts("payment_requested", amount="amount", deadline="until"),
    EventKind.REFUND_ISSUED: _facts("refunded", amount="amount"),
    EventKind.COMPENSATION_PAID: _facts("compensated", amount="amount"),
}


def reach(order: NewOrder) -> tuple[Channel, str]:
    """Where the customer is told: a text to the contact phone (the customer's own phone
    when the order names none), else an e-mail, else a message in the platform's app."""
    phone = order.shipping.contact_phone or order.customer.phone
    if phone:
        return Channel.SMS, phone
    if order.customer.email:
        return Channel.EMAIL, order.customer.email
    return Channel.CHAT, order.customer.id


def render(template: str, language: str, facts: Facts) -> str:
    words = TEMPLATES[template]
    return words.get(language, words[LANGUAGES[0]]).format(**facts)


def notice_for(event: OrderEvent, order: NewOrder) -> Notice | None:
    """The customer's message for this event of the order, or None when it has none."""
    choose = CHOOSERS.get(event.kind)
    chosen = choose(event) if choose else None
    if chosen is None:
        return None
    template, facts = chosen
    channel, recipient = reach(order)
    language = order.customer.language
    return Notice(
        notification_id=f"{order.order_id}:N{event.seq}",
        order_id=order.order_id,
        event_seq=event.seq,
        template=template,
        channel=channel,
        recipient=recipient,
        language=language,
        text=render(template, language, {"order_id": order.order_id, **facts}),
    )


def reply_notice(
    feedback_id: str, order_id: str | None, customer_id: str, reply: int, seq: int, message: str
) -> Notice:
    """P7.2: customer service's reply to a customer's feedback, sent to them in the
    platform's messages (feedback names the customer by id, not by phone)."""
    return Notice(
        notification_id=f"feedback:{feedback_id}:R{reply}",
        order_id=order_id,
        event_seq=seq,
        template="feedback_reply",
        channel=Channel.CHAT,
        recipient=customer_id,
        language=LANGUAGES[0],
        text=message,
    )
