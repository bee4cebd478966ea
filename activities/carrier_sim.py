"""The simulated carrier: a stand-in for a real one (named as such: it moves no parcel).

It keeps its own books (db/carrier_tables.py `simulated_carrier_parcels`) and behaves as
the `Carrier` protocol asks (activities/carriers.py): a booking is idempotent on its id,
a parcel can be cancelled until it is collected, and `scans` answers what happened so far.

Each parcel's fate is drawn once, deterministically, from its booking id, with the shares
of the settings (`OMS_SIM_CARRIER__*`), so that P5.2 happens by itself too:

    normal   in_transit (collected) → in_transit → out_for_delivery → delivered
    delayed  in_transit (collected) → in_transit → delayed → out_for_delivery → delivered
    damaged  in_transit (collected) → in_transit → damaged → delivered
    lost     in_transit (collected) → lost

one scan every `step_seconds` (a delayed parcel waits three steps after its `delayed`).

The driver (`run_simulated_carrier`, `oms carrier-sim`, one of `oms up`'s children) posts
each scan as it falls due to the carrier callback of the API, signed with the carrier's
secret exactly as a real carrier would (api/routes/carriers.py); a post that fails is
tried again later, and the workflow ignores an event id it has already applied.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx
from sqlalchemy import select, update

from activities.adapters import Declined
from config.carrier_secrets import carrier_secret, signed_headers
from config.settings import Settings, SimCarrierSettings
from db.carrier_tables import simulated_carrier_parcels as parcels
from db.engine import Database
from db.upsert import insert_ignore
from domain.carriers import CarrierScan, ShipmentBooking

log = logging.getLogger("oms.carrier_sim")

_DEFAULTS = SimCarrierSettings()
#: A failed post is tried again after this long, doubling up to the cap.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


class Fate(StrEnum):
    NORMAL = "normal"
    DELAYED = "delayed"
    DAMAGED = "damaged"
    LOST = "lost"


#: Each fate's scans: (event, location, steps after the previous scan).
PLANS: dict[Fate, list[tuple[str, str, int]]] = {
    Fate.NORMAL: [
        ("in_transit", "collected at the warehouse", 1),
        ("in_transit", "sorting centre", 1),
        ("out_for_delivery", "local depot", 1),
        ("delivered", "at the address", 1),
    ],
    Fate.DELAYED: [
        ("in_transit", "collected at the warehouse", 1),
        ("in_transit", "sorting centre", 1),
        ("delayed", "sorting centre", 1),
        ("out_for_delivery", "local depot", 3),
        ("delivered", "at the address", 1),
    ],
    Fate.DAMAGED: [
        ("in_transit", "collected at the warehouse", 1),
        ("in_transit", "sorting centre", 1),
        ("damaged", "sorting centre", 1),
        ("delivered", "at the address", 1),
    ],
    Fate.LOST: [
        ("in_transit", "collected at the warehouse", 1),
        ("lost", "sorting centre", 1),
    ],
}


def _draw(booking_id: str) -> float:
    """A number in [0, 1) that only the booking id decides."""
    digest = hashlib.sha256(f"fate:{booking_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def tracking_number_for(booking_id: str) -> str:
    """`SIM` and 12 digits, derived from the booking id (the same booking, the same number)."""
    digest = hashlib.sha256(f"tracking:{booking_id}".encode()).digest()
    return f"SIM{int.from_bytes(digest[:8], 'big') % 10**12:012d}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DueScan:
    """A scan the driver should post now: to which carrier's callback, for which order."""

    carrier: str
    order_id: str
    scan: CarrierScan


class SimulatedCarrier:
    """A stand-in carrier with its own books, built as `SimulatedCarrier(db, **options)`."""

    def __init__(
        self,
        db: Database,
        *,
        step_seconds: float = _DEFAULTS.step_seconds,
        delay_share: float = _DEFAULTS.delay_share,
        damage_share: float = _DEFAULTS.damage_share,
        loss_share: float = _DEFAULTS.loss_share,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive")
        shares = (delay_share, damage_share, loss_share)
        if any(share < 0 for share in shares) or sum(shares) > 1:
            raise ValueError(
                "the shares of delays, damage and loss must be 0..1 and sum to 1 at most"
            )
        self.db = db
        self.step_seconds = step_seconds
        self.delay_share = delay_share
        self.damage_share = damage_share
        self.loss_share = loss_share
        self.clock = clock

    # --- the Carrier protocol ---------------------------------------------------------

    def fate_of(self, booking_id: str) -> Fate:
        """The parcel's fate, drawn from its booking id with this carrier's shares."""
        draw = _draw(booking_id)
        for fate, share in (
            (Fate.LOST, self.loss_share),
            (Fate.DAMAGED, self.damage_share),
            (Fate.DELAYED, self.delay_share),
        ):
            if draw < share:
                return fate
            draw -= share
        return Fate.NORMAL

    def plan_for(self, fate: Fate) -> list[dict[str, Any]]:
        plan, offset = [], 0.0
        for event, location, steps in PLANS[fate]:
            offset += steps * self.step_seconds
            plan.append({"event": event, "location": location, "offset_seconds": offset})
        return plan

    def book(self, booking: ShipmentBooking) -> str:
        now = self.clock()
        fate = self.fate_of(booking.booking_id)
        plan = self.plan_for(fate)
        tracking_number = tracking_number_for(booking.booking_id)
        with self.db.write() as conn:
            insert_ignore(
                conn,
                parcels,
                [
                    {
                        "tracking_number": tracking_number,
                        "booking_id": booking.booking_id,
                        "carrier": booking.carrier,
                        "order_id": booking.order_id,
                        "fate": fate.value,
                        "booked_at": now,
                        "plan": plan,
                        "next_index": 0,
                        "next_due": now + timedelta(seconds=plan[0]["offset_seconds"]),
                        "collected": False,
                        "cancelled": False,
                    }
                ],
            )
            found = conn.execute(
                select(parcels.c.tracking_number).where(parcels.c.booking_id == booking.booking_id)
            ).scalar_one()
        return str(found)

    def cancel(self, tracking_number: str) -> None:
        now = self.clock()
        with self.db.write() as conn:
            row = self._parcel(conn, tracking_number)
            if row["cancelled"]:
                return
            if row["collected"] or now >= self._due_at(row, 0):
                raise Declined(f"parcel {tracking_number} has been collected: too late to cancel")
            conn.execute(
                update(parcels)
                .where(parcels.c.tracking_number == tracking_number)
                .values(cancelled=True, next_due=None)
            )

    def scans(self, tracking_number: str) -> list[CarrierScan]:
        now = self.clock()
        with self.db.read() as conn:
            row = self._parcel(conn, tracking_number)
        if row["cancelled"]:
            return []
        # What happened so far: what fell due on the clock, and what the driver posted.
        return [
            scan
            for index, scan in enumerate(self._scans(row))
            if index < row["next_index"] or self._due_at(row, index) <= now
        ]

    # --- the driver's side ------------------------------------------------------------

    def fate(self, tracking_number: str) -> Fate:
        with self.db.read() as conn:
            return Fate(self._parcel(conn, tracking_number)["fate"])

    def due_scans(self, now: datetime | None = None) -> list[DueScan]:
        """The next scan of every parcel whose next scan fell due, oldest due first."""
        now = now or self.clock()
        with self.db.read() as conn:
            rows = conn.execute(
                select(parcels)
                .where(parcels.c.next_due.is_not(None), parcels.c.next_due <= now)
                .order_by(parcels.c.next_due)
                .limit(500)
            ).mappings()
            due = [dict(row) for row in rows]
        return [
            DueScan(row["carrier"], row["order_id"], self._scans(row)[row["next_index"]])
            for row in due
            if not row["cancelled"] and row["next_index"] < len(row["plan"])
        ]

    def mark_posted(self, scan: CarrierScan) -> None:
        """The scan reached the carrier's callback: the parcel moves on to its next one."""
        index = int(scan.event_id.rsplit("-", 1)[1])
        with self.db.write() as conn:
            row = self._parcel(conn, scan.tracking_number)
            if row["next_index"] != index:
                return  # posted already (a second driver, a retry)
            following = index + 1
            next_due = self._due_at(row, following) if following < len(row["plan"]) else None
            conn.execute(
                update(parcels)
                .where(parcels.c.tracking_number == scan.tracking_number)
                .values(next_index=following, next_due=next_due, collected=True)
            )

    def postpone(self, scan: CarrierScan, until: datetime) -> None:
        """Try the scan again at `until` (its post failed)."""
        with self.db.write() as conn:
            conn.execute(
                update(parcels)
                .where(
                    parcels.c.tracking_number == scan.tracking_number,
                    parcels.c.cancelled.is_(False),
                )
                .values(next_due=until)
            )

    # --- helpers ----------------------------------------------------------------------

    @staticmethod
    def _parcel(conn: Any, tracking_number: str) -> dict[str, Any]:
        row = (
            conn.execute(select(parcels).where(parcels.c.tracking_number == tracking_number))
            .mappings()
            .first()
        )
        if row is None:
            raise Declined(f"no parcel {tracking_number} with the simulated carrier")
        return dict(row)

    @staticmethod
    def _due_at(row: dict[str, Any], index: int) -> datetime:
        booked_at: datetime = row["booked_at"]
        return booked_at + timedelta(seconds=float(row["plan"][index]["offset_seconds"]))

    def _scans(self, row: dict[str, Any]) -> list[CarrierScan]:
        return [
            CarrierScan(
                event_id=f"{row['tracking_number']}-{index}",
                tracking_number=row["tracking_number"],
                event=step["event"],
                location=step["location"],
                occurred_at=self._due_at(row, index),
            )
            for index, step in enumerate(row["plan"])
        ]


def simulated_options(settings: Settings) -> dict[str, Any]:
    """The simulated carrier's options from `OMS_SIM_CARRIER__*` (its clock, its trouble)."""
    sim = settings.sim_carrier
    return {
        "step_seconds": sim.step_seconds,
        "delay_share": sim.delay_share,
        "damage_share": sim.damage_share,
        "loss_share": sim.loss_share,
    }


def callback_body(scan: CarrierScan) -> bytes:
    """The callback's body as the API takes it (`{event_id, tracking_number, event, ...}`)."""
    return json.dumps(scan.model_dump(mode="json"), separators=(",", ":")).encode()


def post_scan(
    http: httpx.Client, settings: Settings, carrier: str, scan: CarrierScan
) -> httpx.Response:
    """Post one scan to the API's callback for `carrier`, signed with its secret."""
    body = callback_body(scan)
    headers = signed_headers(carrier_secret(settings, carrier), int(time.time()), body)
    url = f"{settings.sim_carrier.callback_url.rstrip('/')}/api/v1/carriers/{carrier}/events"
    return http.post(url, content=body, headers=headers)


def drive_once(
    carrier: SimulatedCarrier,
    settings: Settings,
    http: httpx.Client,
    retries: dict[str, float],
) -> int:
    """Post every scan that fell due; returns how many were taken. A refused or failed post
    is tried again later, the wait doubling (`retries`: the last wait per event id)."""
    taken = 0
    now = _utcnow()
    for due in carrier.due_scans(now):
        name, scan = due.carrier, due.scan
        fields = {
            "order_id": due.order_id,
            "carrier": name,
            "tracking_number": scan.tracking_number,
            "event": scan.event,
            "event_id": scan.event_id,
        }
        try:
            response = post_scan(http, settings, name, scan)
            code: int | str = response.status_code
            ok = response.status_code == 202
        except httpx.HTTPError as error:
            code, ok = type(error).__name__, False
        if ok:
            carrier.mark_posted(scan)
            retries.pop(scan.event_id, None)
            taken += 1
            log.info("posted %s for %s", scan.event, scan.tracking_number, extra=fields)
            continue
        wait = min(RETRY_MAX_SECONDS, retries.get(scan.event_id, RETRY_FIRST_SECONDS / 2) * 2)
        retries[scan.event_id] = wait
        carrier.postpone(scan, now + timedelta(seconds=wait))
        log.warning(
            "%s for %s not taken (%s); trying again in %g s",
            scan.event,
            scan.tracking_number,
            code,
            wait,
            extra=fields,
        )
    return taken


def run_simulated_carrier(settings: Settings, db: Database, stop_event: threading.Event) -> None:
    """Every `poll_seconds`, post each scan that fell due, until `stop_event` is set."""
    carrier = SimulatedCarrier(db, **simulated_options(settings))
    retries: dict[str, float] = {}
    log.info(
        "the simulated carrier posts to %s every %g s (a scan every %g s)",
        settings.sim_carrier.callback_url,
        settings.sim_carrier.poll_seconds,
        settings.sim_carrier.step_seconds,
    )
    with httpx.Client(timeout=10) as http:
        while not stop_event.is_set():
            try:
                drive_once(carrier, settings, http, retries)
            except Exception:  # the database away for a moment: the next round tries again
                log.exception("the simulated carrier's round failed")
            stop_event.wait(settings.sim_carrier.poll_seconds)
