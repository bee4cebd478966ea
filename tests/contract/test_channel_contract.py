"""The notification channel's contract (activities/channels.py, docs/integrations.md):
what every implementation must do, run against each one as the worker builds it, from
settings alone (`OMS_NOTIFICATION_CHANNEL`, `OMS_NOTIFICATION_CHANNEL_OPTIONS`).

Each implementation comes with a "world": the channel and the provider's books, which
say what was really delivered. The failure modes are provoked with magic recipients,
as providers' sandboxes do: digits starting `000` cannot be reached, `999` meet an
unavailable provider, `998` are delivered but the answer is lost (a timeout).
To run the suite against your own channel, add a world to WORLDS (docs/integrations.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from activities.adapters import Declined, Temporary, Unknown
from activities.channels import NotificationChannel, SimulatedChannel
from config.settings import Settings
from db.channel_tables import simulated_channel_messages
from db.engine import Database
from domain.notifications import Channel, OutgoingMessage
from tests.support.provider_stubs import MessagingProviderStub
from tests.support.read_model import sqlite_read_model
from workers.worker import notification_channel

HTTP_CHANNEL = "tests.support.http_adapters:HttpChannel"


@dataclass
class ChannelWorld:
    channel: NotificationChannel
    #: The provider's books: the text of every delivery made under a notification id.
    deliveries: Callable[[str], list[str]]


@contextmanager
def simulated(db: Database) -> Iterator[ChannelWorld]:
    channel = notification_channel(Settings(notification_channel="simulated"), db)

    def deliveries(notification_id: str) -> list[str]:
        table = simulated_channel_messages
        with db.read() as conn:
            found = conn.execute(
                select(table.c.text).where(table.c.notification_id == notification_id)
            )
            return list(found.scalars())

    yield ChannelWorld(channel, deliveries)


@contextmanager
def over_http(db: Database) -> Iterator[ChannelWorld]:
    with MessagingProviderStub() as stub:
        settings = Settings(
            notification_channel=HTTP_CHANNEL,
            notification_channel_options={"base_url": stub.base_url, "timeout": 0.5},
        )
        channel = notification_channel(settings, db)
        yield ChannelWorld(
            channel, lambda notification_id: [d["text"] for d in stub.deliveries(notification_id)]
        )


WORLDS: dict[str, Callable[[Database], Any]] = {"simulated": simulated, "http": over_http}


@pytest.fixture(params=sorted(WORLDS))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChannelWorld]:
    db = sqlite_read_model(tmp_path)
    try:
        with WORLDS[request.param](db) as found:
            yield found
    finally:
        db.dispose()


def message(
    notification_id: str = "N-1", recipient: str = "13800138000", text: str = "您的订单已发货"
) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=notification_id,
        order_id="O-1",
        channel=Channel.SMS,
        recipient=recipient,
        language="zh",
        text=text,
    )


def test_a_message_is_delivered_as_written_and_answered_with_a_reference(world: ChannelWorld):
    reference = world.channel.send(message())

    assert isinstance(reference, str) and reference
    assert world.deliveries("N-1") == ["您的订单已发货"]


def test_a_message_sent_again_with_its_id_is_delivered_once_with_the_same_reference(
    world: ChannelWorld,
):
    first = world.channel.send(message())
    again = world.channel.send(message())

    assert again == first
    assert world.deliveries("N-1") == ["您的订单已发货"]


def test_two_notifications_are_two_deliveries_with_their_own_references(world: ChannelWorld):
    one = world.channel.send(message("N-1", text="one"))
    two = world.channel.send(message("N-2", text="two"))

    assert one != two
    assert world.deliveries("N-1") == ["one"]
    assert world.deliveries("N-2") == ["two"]


@pytest.mark.parametrize("recipient", ["00012345678", "000-1234-5678"], ids=["digits", "formatted"])
def test_a_recipient_the_provider_cannot_reach_raises_declined_and_nothing_is_delivered(
    world: ChannelWorld, recipient: str
):
    with pytest.raises(Declined):
        world.channel.send(message(recipient=recipient))

    assert world.deliveries("N-1") == []


def test_an_unavailable_provider_raises_temporary_and_nothing_is_delivered(world: ChannelWorld):
    with pytest.raises(Temporary):
        world.channel.send(message(recipient="99912345678"))

    assert world.deliveries("N-1") == []


def test_a_lost_answer_raises_unknown_and_the_retry_with_the_same_id_delivers_once(
    world: ChannelWorld,
):
    with pytest.raises(Unknown):
        world.channel.send(message(recipient="99812345678"))
    assert world.deliveries("N-1") == ["您的订单已发货"]  # it did go out

    reference = world.channel.send(message(recipient="99812345678"))
    again = world.channel.send(message(recipient="99812345678"))

    assert isinstance(reference, str) and reference
    assert again == reference
    assert world.deliveries("N-1") == ["您的订单已发货"]


# --- The simulated channel's books, and choosing the channel by settings.


def test_the_simulated_channel_shows_what_it_would_have_sent_for_an_order(tmp_path: Path):
    db = sqlite_read_model(tmp_path)
    channel = notification_channel(Settings(notification_channel="simulated"), db)
    assert isinstance(channel, SimulatedChannel)
    first = channel.send(message("N-1", text="one"))
    channel.send(message("N-2", text="two"))
    channel.send(message("N-1", text="one"))

    sent = channel.sent_messages("O-1")

    assert [(m.notification_id, m.text, m.channel) for m in sent] == [
        ("N-1", "one", Channel.SMS),
        ("N-2", "two", Channel.SMS),
    ]
    assert sent[0].reference == first and sent[0].recipient == "13800138000"
    assert channel.sent_messages("O-OTHER") == []
    db.dispose()


def test_the_simulated_channels_prefixes_are_options(tmp_path: Path):
    db = sqlite_read_model(tmp_path)
    settings = Settings(
        notification_channel="simulated",
        notification_channel_options={"decline_prefix": "555", "fail_prefix": ""},
    )
    channel = notification_channel(settings, db)

    with pytest.raises(Declined):
        channel.send(message("N-1", recipient="5551234"))
    assert channel.send(message("N-2", recipient="99912345678"))  # no failing prefix now
    db.dispose()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("no_such_module:Channel", "cannot be imported"),
        ("activities.channels:NoSuchChannel", "has no class 'NoSuchChannel'"),
        ("twilio", "names no class"),
    ],
)
def test_a_setting_naming_no_usable_class_stops_with_a_message_naming_the_setting(
    tmp_path: Path, spec: str, says: str
):
    db = sqlite_read_model(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        notification_channel(Settings(notification_channel=spec), db)

    message = str(stopped.value)
    assert "OMS_NOTIFICATION_CHANNEL" in message and spec in message and says in message
    db.dispose()


def test_a_class_without_send_is_refused(tmp_path: Path):
    db = sqlite_read_model(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        notification_channel(
            Settings(notification_channel="activities.payment_gateway:SimulatedPaymentGateway"),
            db,
        )

    assert "OMS_NOTIFICATION_CHANNEL" in str(stopped.value) and "lacks send" in str(stopped.value)
    db.dispose()
