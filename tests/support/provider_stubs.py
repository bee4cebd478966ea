"""Stub providers on real HTTP for the adapter contract tests (tests/contract/).

Each stub is a small `ThreadingHTTPServer` on 127.0.0.1 (a free port, in a thread) that
behaves like a provider's sandbox: it keeps its own books in memory, honours
idempotency keys (the `Idempotency-Key` header), and acts out each failure mode for
"magic" values, as real sandboxes do with test card numbers:

- a payment whose transaction id starts with `FAIL-` is declined (402), one starting
  with `BUSY-` meets an unavailable provider (503, nothing paid), one starting with
  `LOST-` is paid and then the answer hangs (the client times out) the first time;
- a message to a recipient whose digits start with `000` is refused (422), `999` meets
  an unavailable provider (503), `998` is delivered and then the answer hangs, the
  first time.

A request without an idempotency key is carried out every time, as a provider would:
an adapter that forgets the key pays (or delivers) twice, and the contract tests see it.

    with PaymentProviderStub() as stub:
        stub.base_url        # http://127.0.0.1:<port>
        stub.payouts("R1")   # what the provider paid under refund id R1
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

#: How long a "lost" answer hangs; far beyond any adapter's timeout in the tests, and cut
#: short when the stub stops.
HANG_SECONDS = 30.0


@dataclass
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    #: Hang (until the stub stops) before answering: the client sees a read timeout.
    hang: bool = False


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows what matters

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            answer = Answer(400, {"error": "the body must be a JSON object"})
        else:
            key = self.headers.get("Idempotency-Key")
            answer = self.server.stub.handle(method, self.path, body, key)
        if answer.hang:
            self.server.stub.stopping.wait(HANG_SECONDS)
        data = json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up waiting

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stub: ProviderStub) -> None:
        self.stub = stub
        super().__init__(("127.0.0.1", 0), _Handler)


class ProviderStub:
    """A stub provider serving HTTP on a free port while in a `with` block."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the stub is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def handle(self, method: str, path: str, body: dict[str, Any], key: str | None) -> Answer:
        raise NotImplementedError


def _reference(prefix: str, key: str) -> str:
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:16]


class PaymentProviderStub(ProviderStub):
    """A payment provider: `POST /captures` (the sandbox's way to charge a card),
    `GET /captures/<transaction_id>`, `POST /refunds` keyed by `Idempotency-Key`."""

    def __init__(self) -> None:
        super().__init__()
        #: Captures by transaction id: the order charged (the merchant reference), the amount.
        self.captures: dict[str, tuple[str, Decimal]] = {}
        #: Every payout made, by idempotency key (a list: paid twice shows as two).
        self.paid: dict[str, list[Decimal]] = defaultdict(list)
        self.references: dict[str, str] = {}
        self.requests = 0

    def payouts(self, refund_id: str) -> list[Decimal]:
        with self.lock:
            return list(self.paid.get(refund_id, []))

    def handle(self, method: str, path: str, body: dict[str, Any], key: str | None) -> Answer:
        with self.lock:
            self.requests += 1
            if method == "POST" and path == "/captures":
                charged = (str(body["order_id"]), Decimal(str(body["amount"])))
                self.captures[str(body["transaction_id"])] = charged
                return Answer(201, {"transaction_id": body["transaction_id"]})
            if method == "GET" and path.startswith("/captures/"):
                capture = self.captures.get(path.removeprefix("/captures/"))
                if capture is None:
                    return Answer(404, {"error": "no such capture"})
                return Answer(200, {"order_id": capture[0], "amount": str(capture[1])})
            if method == "POST" and path == "/refunds":
                return self._refund(body, key)
            return Answer(404, {"error": f"no route {method} {path}"})

    def _refund(self, body: dict[str, Any], key: str | None) -> Answer:
        transaction_id = str(body.get("transaction_id") or "")
        if transaction_id.startswith("FAIL-"):
            return Answer(402, {"error": "card_declined"})
        if transaction_id.startswith("BUSY-"):
            return Answer(503, {"error": "try_later"})
        if key is not None and key in self.references:
            return Answer(200, {"reference": self.references[key]})
        payout_key = key or f"no-key-{self.requests}"
        self.paid[payout_key].append(Decimal(str(body["amount"])))
        reference = self.references[payout_key] = _reference("STUB-PAY-", payout_key)
        return Answer(201, {"reference": reference}, hang=transaction_id.startswith("LOST-"))


class MessagingProviderStub(ProviderStub):
    """An SMS / email / chat provider: `POST /messages` keyed by `Idempotency-Key`."""

    def __init__(self) -> None:
        super().__init__()
        #: Every delivery made, by idempotency key (a list: delivered twice shows as two).
        self.delivered: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.references: dict[str, str] = {}
        self.requests = 0

    def deliveries(self, notification_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.delivered.get(notification_id, []))

    def handle(self, method: str, path: str, body: dict[str, Any], key: str | None) -> Answer:
        with self.lock:
            self.requests += 1
            if method != "POST" or path != "/messages":
                return Answer(404, {"error": f"no route {method} {path}"})
            digits = "".join(ch for ch in str(body.get("recipient", "")) if ch.isdigit())
            if digits.startswith("000"):
                return Answer(422, {"error": "recipient_unreachable"})
            if digits.startswith("999"):
                return Answer(503, {"error": "try_later"})
            if key is not None and key in self.references:
                return Answer(200, {"reference": self.references[key]})
            delivery_key = key or f"no-key-{self.requests}"
            self.delivered[delivery_key].append(body)
            reference = self.references[delivery_key] = _reference("STUB-MSG-", delivery_key)
            return Answer(201, {"reference": reference}, hang=digits.startswith("998"))
