"""Test-only second implementations of the adapters, talking HTTP to the stub providers
(tests/support/provider_stubs.py). Chosen only by settings, like a real provider's class:

    OMS_PAYMENT_GATEWAY=tests.support.http_adapters:HttpPaymentGateway
    OMS_PAYMENT_GATEWAY_OPTIONS='{"base_url": "http://127.0.0.1:8123"}'

They show how a real provider's answers map to the failure modes (activities/adapters.py):

    HTTP answer                              failure mode
    2xx                                      success
    429, 408                                 Temporary (nothing done, try later)
    other 4xx                                Declined (refused for good)
    5xx                                      Temporary
    connection refused, connect timeout      Temporary (nothing was sent)
    read/write timeout, connection dropped   Unknown (it may have been done)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from activities.adapters import Declined, Temporary, Unknown
from activities.payment_gateway import GatewayDeclined
from db.engine import Database
from domain.notifications import OutgoingMessage


def _call(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    declined: type[Declined] = Declined,
    json: dict[str, Any] | None = None,
    key: str | None = None,
    not_found_ok: bool = False,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    try:
        response = client.request(method, path, json=json, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        raise Temporary(f"{method} {path}: the provider cannot be reached: {error}") from error
    except httpx.TransportError as error:
        # Sent, or partly: the provider may have acted on it.
        raise Unknown(f"{method} {path}: no answer: {type(error).__name__}") from error
    status = response.status_code
    if status < 300 or (not_found_ok and status == 404):
        return response
    if status in (408, 429) or status >= 500:
        raise Temporary(f"{method} {path}: the provider answered {status}")
    raise declined(f"{method} {path}: the provider refused ({status} {response.text[:200]})")


class HttpPaymentGateway:
    """A payment gateway over HTTP (the stub provider's API)."""

    def __init__(self, db: Database, base_url: str, timeout: float = 2) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=timeout)

    def captured(self, transaction_id: str, order_id: str) -> Decimal | None:
        response = _call(self.client, "GET", f"/captures/{transaction_id}", not_found_ok=True)
        if response.status_code == 404:
            return None
        capture = response.json()
        if capture["order_id"] != order_id:  # the provider's merchant reference
            return None
        return Decimal(str(capture["amount"]))

    def record_capture(self, transaction_id: str, order_id: str, amount: Decimal) -> None:
        """The sandbox's own endpoint: a customer's card was charged (tests only)."""
        _call(
            self.client,
            "POST",
            "/captures",
            json={"transaction_id": transaction_id, "order_id": order_id, "amount": str(amount)},
        )

    def refund(
        self, refund_id: str, order_id: str, amount: Decimal, transaction_id: str | None
    ) -> str:
        response = _call(
            self.client,
            "POST",
            "/refunds",
            declined=GatewayDeclined,
            json={"order_id": order_id, "amount": str(amount), "transaction_id": transaction_id},
            key=refund_id,
        )
        return str(response.json()["reference"])


class HttpChannel:
    """A notification channel over HTTP (the stub messaging provider's API)."""

    def __init__(self, db: Database, base_url: str, timeout: float = 2) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=timeout)

    def send(self, message: OutgoingMessage) -> str:
        response = _call(
            self.client,
            "POST",
            "/messages",
            json=message.model_dump(mode="json", exclude={"notification_id"}),
            key=message.notification_id,
        )
        return str(response.json()["reference"])
