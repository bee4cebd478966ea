"""Customer notifications (P3, P4, P5, P7.2) as plain data: the message a channel sends.

Which step tells the customer what, in which words, is `domain.notices`; the outbox
rows are db/notifications.py; the channel adapters are activities/channels.py.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"  # the platform's in-app messages


class NotificationState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    #: The channel kept failing (or refused): customer service tells the customer instead.
    HANDED_OFF = "handed_off"


class OutgoingMessage(BaseModel):
    """One message as a channel adapter receives it."""

    model_config = ConfigDict(extra="forbid")

    #: The idempotency key: a message sent again with it is delivered once.
    notification_id: str
    #: The order it is about; None for a reply to feedback about no order (P7.2).
    order_id: str | None
    channel: Channel
    #: A phone number (sms), an address (email) or the customer's id (chat).
    recipient: str
    language: str
    text: str


class SendNotices(BaseModel):
    """Messages to hand to the channel (the activity `send_notifications`)."""

    model_config = ConfigDict(extra="forbid")

    #: The order (none for feedback about no order): what the summary names.
    order_id: str | None
    notification_ids: list[str]


class HandedOff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notification_id: str
    template: str
    channel: str
    reason: str


class NoticesSent(BaseModel):
    """The channel's answer: what it delivered, and what it could not."""

    model_config = ConfigDict(extra="forbid")

    order_id: str | None
    sent: list[str] = []
    handed_off: list[HandedOff] = []
