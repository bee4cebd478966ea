"""Retry policies and timeouts of the workflows' activities (style rule 5: always explicit)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

#: Database steps retry until they succeed: a database restart must not fail an order.
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
DB_TIMEOUT = timedelta(seconds=30)
#: The gateway is outside our walls: a few tries, then finance takes the refund over.
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=6,
)
GATEWAY_TIMEOUT = timedelta(seconds=30)

#: A carrier's booking (P3.4): retried with the same booking id while the carrier is out of
#: reach, then logistics is told it failed (the member of staff waits for the answer).
CARRIER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=4,
)
CARRIER_TIMEOUT = timedelta(seconds=30)

#: Customer messages: the activity gives up by itself after `OMS_NOTIFICATION_ATTEMPTS`
#: (and hands the message to customer service); this bound is only a backstop.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=60,
)
NOTIFY_TIMEOUT = timedelta(seconds=30)
