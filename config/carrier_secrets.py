"""Each carrier's callback secret (HMAC-SHA256; api/routes/carriers.py checks with it).

A carrier's secret comes from the settings (`OMS_CARRIER_SECRETS`, by carrier) or, for a
carrier without one there, from `var/carrier-secrets.json`, made (0600) the first time a
process asks for it. The API, the `oms` command and the simulated carrier read the same
file, so they share each secret; `oms carrier secret NAME` prints it for the carrier's side.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import secrets
from pathlib import Path

from config.private_files import write_private
from config.settings import Settings


def secrets_file(settings: Settings) -> Path:
    return settings.var_dir / "carrier-secrets.json"


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text() or "{}")
    return {str(k): str(v) for k, v in data.items()}


def carrier_secret(settings: Settings, carrier: str) -> str:
    """The carrier's secret: the setting, or the file's (made on first use)."""
    configured = settings.carrier_secrets.get(carrier)
    if configured:
        return configured
    path = secrets_file(settings)
    known = _read(path).get(carrier)
    if known:
        return known
    path.parent.mkdir(parents=True, exist_ok=True)
    # Two processes starting at once (the API, the simulated carrier) must not each make
    # a secret of their own: the second waits, reads the first one's, and keeps it.
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _read(path)
        if carrier not in found:
            found[carrier] = secrets.token_hex(32)
            write_private(path, json.dumps(found, indent=2, sort_keys=True) + "\n")
        return found[carrier]


class SecretCache:
    """The carriers' secrets as last read, for the callback route: the file is read again
    only when it changes (a rotated secret takes effect at the next callback), not on every
    request a carrier sends."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stamp: tuple[int, int] | None = None
        self._known: dict[str, str] = {}

    def get(self, carrier: str) -> str:
        configured = self._settings.carrier_secrets.get(carrier)
        if configured:
            return configured
        path = secrets_file(self._settings)
        try:
            stat = path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._known, self._stamp = _read(path), stamp
        return self._known.get(carrier) or carrier_secret(self._settings, carrier)


def signature(secret: str, timestamp: str | int, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `<timestamp>.<raw body>` with the carrier's secret,
    as the carrier sends it in `X-Carrier-Signature`."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of a callback, as a carrier sends them."""
    return {
        "X-Carrier-Timestamp": str(timestamp),
        "X-Carrier-Signature": signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }
