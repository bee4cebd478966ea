"""Protection of the API: rate limits (429) and a request body size limit (413).

Two token-bucket limiters share one class: per member of staff (a bearer token or a
console session; `OMS_RATE_LIMIT_*`) and per client address for whatever is reachable
without either: sign-in, /healthz, /metrics, the console's public pages
(`OMS_PUBLIC_RATE_LIMIT_*`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """A token bucket per key (a staff member, a client address): `per_second` sustained,
    `burst` at once."""

    per_second: float
    burst: int
    #: Beyond this many keys, buckets that have filled up again are forgotten (a full
    #: bucket is what a new key gets anyway), so many addresses cannot fill the memory.
    max_keys: int = 100_000
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def admit(self, key: str) -> float:
        """0 when the request may go on, else the seconds until it may."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(
            float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second
        )
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.per_second

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.per_second
        self._buckets = {
            key: bucket for key, bucket in self._buckets.items() if now - bucket.updated < refill
        }
        if len(self._buckets) >= self.max_keys:  # all busy at once: start afresh
            self._buckets.clear()


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, whether announced by Content-Length or not."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def limited_receive() -> Message:
            # A streamed body is counted as it arrives; past the limit we answer 413 at once
            # and tell the app the client has gone (its own error would be a 400).
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body over {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
