"""A test-only carrier that talks HTTP to a stub server the test starts: the second
implementation the carrier contract suite runs (tests/contract/test_carrier_contract.py),
plugged in by settings alone (`OMS_CARRIERS={"stub": "tests.support.http_carrier:HttpCarrier"}`).

Its failure mapping is what a real carrier's client would do: a 4xx answer is
`Declined` (408 and 429 excepted), a 5xx, 408, 429 or a refused connection `Temporary`,
a timeout after sending `Unknown`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from activities.adapters import Declined, Temporary, Unknown
from db.engine import Database
from domain.carriers import CarrierScan, ShipmentBooking


class HttpCarrier:
    """`HttpCarrier(db, base_url=..., timeout=...)`: the carrier's API, over HTTP."""

    def __init__(self, db: Database, base_url: str, timeout: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = httpx.request(
                method, f"{self.base_url}{path}", json=body, timeout=self.timeout
            )
        except httpx.TimeoutException as error:
            raise Unknown(f"no answer in {self.timeout:g} s: {type(error).__name__}") from None
        except httpx.TransportError as error:
            raise Temporary(f"unreachable: {type(error).__name__}") from None
        if response.status_code in (408, 429):
            raise Temporary(f"{response.status_code}: try again later")
        if 400 <= response.status_code < 500:
            raise Declined(f"{response.status_code}: {response.json().get('error', '')}")
        if response.status_code >= 500:
            raise Temporary(f"{response.status_code} from the carrier")
        return response.json()

    def book(self, booking: ShipmentBooking) -> str:
        answer = self._call("POST", "/shipments", booking.model_dump(mode="json"))
        return str(answer["tracking_number"])

    def cancel(self, tracking_number: str) -> None:
        self._call("POST", f"/shipments/{tracking_number}/cancel")

    def scans(self, tracking_number: str) -> list[CarrierScan]:
        answer = self._call("GET", f"/shipments/{tracking_number}/scans")
        return [CarrierScan.model_validate(scan) for scan in answer["scans"]]


class StubCarrierServer:
    """The carrier's side: bookings by id, cancellation until collected, scans; and faults
    on demand (`fail_next(status)` answers the next request so, `hang_next()` books and
    then answers too late)."""

    def __init__(self) -> None:
        self.bookings: dict[str, str] = {}
        self.shipments: dict[str, dict[str, Any]] = {}
        self.faults: list[int | str] = []
        self.requests = 0
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with stub.lock:
                    stub.requests += 1
                    fault = stub.faults.pop(0) if stub.faults else None
                if isinstance(fault, int):
                    self._answer(fault, {"error": "injected"})
                    return
                status, answer = stub.route(self.command, self.path, body)
                if fault == "hang":
                    time.sleep(stub.hang_seconds)
                self._answer(status, answer)

            do_GET = _handle
            do_POST = _handle

        self.hang_seconds = 1.5
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StubCarrierServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int) -> None:
        self.faults.append(status)

    def hang_next(self) -> None:
        self.faults.append("hang")

    def collect(self, tracking_number: str) -> None:
        """The courier collected the parcel: its first scan."""
        with self.lock:
            shipment = self.shipments[tracking_number]
            shipment["collected"] = True
            shipment["scans"].append(
                {
                    "event_id": f"{tracking_number}-0",
                    "tracking_number": tracking_number,
                    "event": "in_transit",
                    "location": "collected at the warehouse",
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
            )

    def route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        with self.lock:
            if method == "POST" and parts == ["shipments"]:
                if body.get("destination", "").startswith("NOWHERE"):
                    return 422, {"error": "we do not deliver there"}
                number = self.bookings.get(body["booking_id"])
                if number is None:
                    number = f"HTTP{next(self.numbers):08d}"
                    self.bookings[body["booking_id"]] = number
                    self.shipments[number] = {"collected": False, "cancelled": False, "scans": []}
                return 200, {"tracking_number": number}
            if len(parts) >= 3 and parts[0] == "shipments":
                shipment = self.shipments.get(parts[1])
                if shipment is None:
                    return 404, {"error": "no such shipment"}
                if method == "POST" and parts[2] == "cancel":
                    if shipment["collected"]:
                        return 409, {"error": "collected already"}
                    shipment["cancelled"] = True
                    return 200, {"cancelled": True}
                if method == "GET" and parts[2] == "scans":
                    return 200, {"scans": [] if shipment["cancelled"] else shipment["scans"]}
        return 404, {"error": "no such endpoint"}
