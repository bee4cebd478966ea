"""Tracking from carriers without callbacks (P3.4): ask them, hand what is new to the API.

A carrier that cannot call us back is polled: every `OMS_CARRIER_POLL_SECONDS`, each
parcel the system booked with it whose order is in transit is asked for its scans
(`Carrier.scans`), and each scan not handed over yet is posted to the carrier's own
callback, `POST /api/v1/carriers/{carrier}/events`, signed with its secret, exactly as
the carrier would post it. So one door takes every carrier's tracking, with one set of
checks; an event posted twice (after a restart of the poller) is applied once, the
workflow knowing its event id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

import httpx

from activities.adapters import AdapterFailure
from activities.carrier_sim import callback_body
from activities.carriers import Carrier
from config.carrier_secrets import carrier_secret, signed_headers
from config.settings import Settings
from db import carriers as carrier_store
from db.engine import Database

log = logging.getLogger("oms.carrier_poll")


def api_url(settings: Settings) -> str:
    return f"http://{settings.api_host}:{settings.api_port}"


def poll_once(
    settings: Settings,
    db: Database,
    carriers: Mapping[str, Carrier],
    http: httpx.Client,
    posted: set[str],
    base_url: str | None = None,
) -> int:
    """Ask each polled carrier about its parcels on the way; post what is new. Returns how
    many scans the API took; `posted` remembers them (carrier:event id)."""
    taken = 0
    for name in settings.polled_carriers:
        carrier = carriers.get(name)
        if carrier is None:
            log.warning("polled carrier %s is not among OMS_CARRIERS; skipped", name)
            continue
        with db.read() as conn:
            numbers = carrier_store.parcels_on_the_way(conn, name)
        for number in numbers:
            try:
                scans = carrier.scans(number)
            except AdapterFailure as failure:  # asked again next round
                log.warning("%s did not answer for %s: %s", name, number, failure)
                continue
            for scan in scans:
                key = f"{name}:{scan.event_id}"
                if key in posted:
                    continue
                body = callback_body(scan)
                headers = signed_headers(carrier_secret(settings, name), int(time.time()), body)
                url = f"{base_url or api_url(settings)}/api/v1/carriers/{name}/events"
                try:
                    response = http.post(url, content=body, headers=headers)
                except httpx.HTTPError as error:
                    log.warning("the API did not take %s of %s: %s", scan.event, number, error)
                    continue
                if response.status_code == 202:
                    posted.add(key)
                    taken += 1
                else:
                    log.warning(
                        "the API refused %s of %s: %s", scan.event, number, response.status_code
                    )
    return taken


def run_carrier_poller(
    settings: Settings, db: Database, carriers: Mapping[str, Carrier], stop: threading.Event
) -> None:
    """Poll until `stop` is set."""
    posted: set[str] = set()
    log.info(
        "polling %s every %g s", ", ".join(settings.polled_carriers), settings.carrier_poll_seconds
    )
    with httpx.Client(timeout=10) as http:
        while not stop.is_set():
            try:
                poll_once(settings, db, carriers, http, posted)
            except Exception:  # the database away for a moment: the next round tries again
                log.exception("a polling round failed")
            stop.wait(settings.carrier_poll_seconds)
