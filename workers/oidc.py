"""Verify the OIDC access tokens (JWTs) the Temporal UI passes to the codec server.

In production the Temporal UI sits behind an OIDC login and sends the signed-in user's
access token to the codec server (`TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`), as
`Authorization: Bearer <jwt>`. This module decides whether such a token is genuine and
whose it is; `workers/codec_server.py` decides what that user may do.

What a token must be, to be accepted:

- three base64url parts (canonical, unpadded), a JSON object header and payload with no
  duplicate member names, at most `MAX_TOKEN_CHARS` long;
- signed with RS256 (RSA PKCS#1 v1.5, SHA-256, keys of 2048 bits or more) or ES256
  (ECDSA P-256, SHA-256, the JWS raw `r || s` signature of 64 bytes). `none`, HS*, PS*,
  anything else is refused before any key is looked at;
- by a key of the configured JWKS named by the header's `kid`, whose type is that of the
  algorithm (RS256 only with an RSA key, ES256 only with an EC P-256 key) and whose own
  `alg`, when the JWKS states one, is the header's. Keys named in the token itself
  (`jku`, `jwk`, `x5u`, `x5c`) are ignored: keys come from the JWKS alone. A header with
  `crit` is refused (no extension is understood here);
- `exp` present and not past, `nbf` and `iat` (when present) not in the future, each
  with a leeway for clock skew; `iss` exactly the configured issuer; `aud` (a string or a
  list) holding the configured audience; `sub` a non-empty string.

The user's department comes from one claim (`department_of`):

- a string claim (the default `oms_department`) holding a department's name,
  `"supervision"`, or the same with the prefix, `"oms:supervision"`;
- a list claim (such as `groups` or `roles`) whose entries `oms:<department>` name it;
  other entries are ignored (an identity provider's own `admin` group is not this
  system's `admin`). Exactly one department must be named: none, an unknown name, or
  two different departments give no department at all (not authorised).

A claim name is looked up as it is (so `https://oms.example/department` works), else as
a dotted path into nested objects (`realm_access.roles`, as Keycloak puts them).

The keys (`JwksSource`) come from a JWKS document, `{"keys": [...]}`, at an `https://`
URL (`http://` only for a loopback host) or in a local file. They are loaded on first use,
again every `refresh_seconds`, and at once when a token names an unknown `kid`, but never
more often than every `MIN_REFETCH_SECONDS` (30 s): a stream of tokens with made-up key
ids costs one fetch per 30 s at most. A failed refresh keeps the keys already held.

Errors (every message is short, names no part of the token, and may be shown to the
caller and logged):

    OidcError
     ├── InvalidToken       the token is refused (HTTP 401)
     │    └── UnknownKeyId  it names a key the JWKS does not hold (a refresh may find it)
     └── KeysUnavailable    no keys could be loaded at all (HTTP 503)

`split_token`, `check_signature`, `check_claims`, `verify_token`, `parse_jwks` and
`department_of` are pure functions (keys and `now` are arguments), tested without a
network; `JwksSource` and `OidcVerifier` add the loading and the clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from domain.actors import Department

__all__ = [
    "ALGORITHMS",
    "DEPARTMENT_PREFIX",
    "InvalidToken",
    "Jwk",
    "JwksSource",
    "KeysUnavailable",
    "OidcConfig",
    "OidcError",
    "OidcUser",
    "OidcVerifier",
    "Token",
    "UnknownKeyId",
    "check_claims",
    "check_location",
    "check_signature",
    "department_of",
    "looks_like_jwt",
    "parse_jwks",
    "split_token",
    "verify_token",
]

log = logging.getLogger("oms.oidc")

Algorithm = Literal["RS256", "ES256"]
#: The only signature algorithms accepted, each bound to one key type.
ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "ES256")
#: In a list claim (`groups`), the entries that name a department: `oms:<department>`.
DEPARTMENT_PREFIX = "oms:"
#: The keys are never loaded again sooner than this after the last attempt.
MIN_REFETCH_SECONDS = 30.0
#: Longer tokens are refused unread (real access tokens are a few KB).
MAX_TOKEN_CHARS = 16 * 1024
#: A JWKS document larger than this is refused (real ones are a few KB).
MAX_JWKS_BYTES = 1024 * 1024
MIN_RSA_BITS = 2048
_P256_COORDINATE_BYTES = 32

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_DEPARTMENTS = {department.value: department for department in Department}


class OidcError(Exception):
    """Base of this module's errors; `str(error)` is a short reason, safe to show and log."""


class InvalidToken(OidcError):
    """The token is refused: malformed, badly signed, expired, or not for us."""


class UnknownKeyId(InvalidToken):
    """The token names a key (`kid`) the JWKS does not hold."""


class KeysUnavailable(OidcError):
    """The JWKS could not be loaded, and no keys are held from an earlier load."""


# --- Keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Jwk:
    """One usable signing key of the JWKS, with the one algorithm it verifies."""

    kid: str
    alg: Algorithm
    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def _b64url_lenient(value: object) -> bytes:
    """A JWK member: base64url, padding tolerated (the JWKS is trusted, the token is not)."""
    if not isinstance(value, str):
        raise ValueError("not a string")
    text = value.rstrip("=")
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _rsa_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(_b64url_lenient(jwk.get("n")), "big")
    e = int.from_bytes(_b64url_lenient(jwk.get("e")), "big")
    if n.bit_length() < MIN_RSA_BITS:
        raise ValueError(f"RSA key shorter than {MIN_RSA_BITS} bits")
    if e < 3 or e % 2 == 0:
        raise ValueError("RSA exponent is not odd and at least 3")
    return rsa.RSAPublicNumbers(e, n).public_key()


def _ec_key(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    if jwk.get("crv") != "P-256":
        raise ValueError("EC curve is not P-256")
    x, y = _b64url_lenient(jwk.get("x")), _b64url_lenient(jwk.get("y"))
    if len(x) != _P256_COORDINATE_BYTES or len(y) != _P256_COORDINATE_BYTES:
        raise ValueError("EC coordinates are not 32 bytes")
    # Raises ValueError for a point that is not on the curve.
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    )
    return numbers.public_key()


def _jwk(entry: object) -> Jwk:
    """One JWKS entry as a usable key; ValueError says why it is not one."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("no kid")
    if entry.get("use", "sig") != "sig":
        raise ValueError("not a signing key")
    key_ops = entry.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise ValueError("not a verification key")
    kty = entry.get("kty")
    alg: Algorithm
    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    if kty == "RSA":
        alg, key = "RS256", _rsa_key(entry)
    elif kty == "EC":
        alg, key = "ES256", _ec_key(entry)
    else:
        raise ValueError("key type not supported")
    # A key meant for another algorithm (RS512, PS256...) is not used with ours.
    if entry.get("alg", alg) != alg:
        raise ValueError("key algorithm not supported")
    return Jwk(kid=kid, alg=alg, key=key)


def parse_jwks(document: object) -> dict[str, Jwk]:
    """The usable signing keys of a JWKS document, by key id.

    Keys that cannot be used (another type, curve or algorithm, an encryption key, a short
    RSA key, a point off the curve, no `kid`) are left out; a key id held by two usable
    keys is left out entirely, since a token naming it would be ambiguous.

    Raises:
        ValueError: the document is not a JWKS (`{"keys": [...]}`).
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('a JWKS is a JSON object {"keys": [...]}')
    keys: dict[str, Jwk] = {}
    ambiguous: set[str] = set()
    for index, entry in enumerate(document["keys"]):
        try:
            jwk = _jwk(entry)
        except (ValueError, TypeError, OverflowError) as error:
            log.debug("JWKS key %d left out: %s", index, error)
            continue
        if jwk.kid in keys:
            ambiguous.add(jwk.kid)
        keys[jwk.kid] = jwk
    for kid in ambiguous:
        log.warning("JWKS key id %r is held by several keys: left out", kid)
        del keys[kid]
    return keys


# --- Tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OidcConfig:
    """What a token must say to be accepted, and where its department is."""

    issuer: str
    audience: str
    department_claim: str = "oms_department"
    leeway_seconds: float = 30.0


@dataclass(frozen=True)
class Token:
    """A token taken apart, not yet verified: nothing in it is to be trusted."""

    header: dict[str, Any]
    payload: str  # the payload part, still base64url (decoded only once the signature holds)
    signing_input: bytes
    signature: bytes


class _DuplicateMember(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateMember(name)
        result[name] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _b64url_strict(text: str, what: str) -> bytes:
    """A token part: canonical unpadded base64url only (one token, one encoding)."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidToken(f"the token's {what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken(f"the token's {what} is not base64url") from None
    # Unused low bits set ("QR" for "QQ") would give a second spelling of the same bytes.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:
        raise InvalidToken(f"the token's {what} is not canonical base64url")
    return raw


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except _DuplicateMember:
        raise InvalidToken(f"the token's {what} repeats a member") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidToken(f"the token's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken(f"the token's {what} is not a JSON object")
    return value


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts: a JWS in compact form (staff tokens have no dot)."""
    return token.count(".") == 2


def split_token(token: str) -> Token:
    """The token's parts, checked for form and for an accepted algorithm; not verified.

    Raises:
        InvalidToken: not a compact JWS, not base64url or JSON, `alg` not accepted, `crit`.
    """
    if not isinstance(token, str) or not token:
        raise InvalidToken("no token")
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("the token is too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("the token is not a signed JWT (three parts)")
    header_part, payload_part, signature_part = parts
    header = _json_object(_b64url_strict(header_part, "header"), "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        # Before anything else: `none`, HS256 keyed with a public key, and the rest.
        raise InvalidToken("the token's algorithm is not accepted (RS256 or ES256 only)")
    if "crit" in header:
        raise InvalidToken("the token's header has critical extensions")
    if not payload_part:
        raise InvalidToken("the token has no payload")
    _b64url_strict(payload_part, "payload")  # its form now; its content once signed
    signature = _b64url_strict(signature_part, "signature")
    if not signature:
        raise InvalidToken("the token is not signed")
    return Token(
        header=header,
        payload=payload_part,
        signing_input=f"{header_part}.{payload_part}".encode("ascii"),
        signature=signature,
    )


def check_signature(token: Token, keys: Mapping[str, Jwk]) -> None:
    """The token is signed by the key of the JWKS it names, with that key's algorithm.

    Raises:
        UnknownKeyId: the token names a key the JWKS does not hold.
        InvalidToken: no key named, the algorithm is not the key's, or a bad signature.
    """
    kid = token.header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("the token names no key (kid)")
    jwk = keys.get(kid)
    if jwk is None:
        raise UnknownKeyId("the token's key is not among the provider's keys")
    if token.header.get("alg") != jwk.alg:
        raise InvalidToken("the token's algorithm is not its key's")
    try:
        if isinstance(jwk.key, rsa.RSAPublicKey):
            jwk.key.verify(
                token.signature, token.signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        else:
            # JWS carries r || s, 32 bytes each; cryptography verifies the DER form.
            if len(token.signature) != 2 * _P256_COORDINATE_BYTES:
                raise InvalidToken("the token's signature is not valid")
            r = int.from_bytes(token.signature[:_P256_COORDINATE_BYTES], "big")
            s = int.from_bytes(token.signature[_P256_COORDINATE_BYTES:], "big")
            jwk.key.verify(
                encode_dss_signature(r, s), token.signing_input, ec.ECDSA(hashes.SHA256())
            )
    except (InvalidSignature, ValueError):
        raise InvalidToken("the token's signature is not valid") from None


def _time_claim(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(name)
        seconds = float(value)  # OverflowError for an int beyond any float
        if not math.isfinite(seconds):
            raise ValueError(name)
    except (ValueError, OverflowError):
        raise InvalidToken(f"the token's {name} is not a time") from None
    return seconds


def check_claims(claims: Mapping[str, Any], config: OidcConfig, now: float) -> None:
    """The claims are current and meant for us, at `now` (seconds since the epoch).

    Raises:
        InvalidToken: naming the first claim that fails.
    """
    leeway = config.leeway_seconds
    exp = _time_claim(claims, "exp")
    if exp is None:
        raise InvalidToken("the token has no expiry (exp)")
    if now >= exp + leeway:
        raise InvalidToken("the token has expired")
    nbf = _time_claim(claims, "nbf")
    if nbf is not None and nbf > now + leeway:
        raise InvalidToken("the token is not valid yet (nbf)")
    iat = _time_claim(claims, "iat")
    if iat is not None and iat > now + leeway:
        raise InvalidToken("the token is issued in the future (iat)")
    if claims.get("iss") != config.issuer:
        raise InvalidToken("the token is from another issuer")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise InvalidToken("the token has no audience (aud)")
    if config.audience not in audiences:
        raise InvalidToken("the token is for another audience")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("the token names no subject (sub)")


def verify_token(
    token: str, keys: Mapping[str, Jwk], config: OidcConfig, now: float
) -> dict[str, Any]:
    """The claims of a token that is well formed, signed by one of `keys` and current.

    Raises:
        UnknownKeyId: the token names a key `keys` does not hold.
        InvalidToken: for any other reason (the message says which).
    """
    parts = split_token(token)
    check_signature(parts, keys)
    claims = _json_object(_b64url_strict(parts.payload, "payload"), "payload")
    check_claims(claims, config, now)
    return claims


def _claim(claims: Mapping[str, Any], name: str) -> object:
    """The claim by its name, else by a dotted path through nested objects."""
    if name in claims:
        return claims[name]
    node: object = claims
    for step in name.split("."):
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node


def department_of(claims: Mapping[str, Any], claim: str) -> Department | None:
    """The one department the claim names (see the module's docstring), else None."""
    value = _claim(claims, claim)
    if isinstance(value, str):
        names = [value.removeprefix(DEPARTMENT_PREFIX)]
    elif isinstance(value, list):
        names = [
            entry.removeprefix(DEPARTMENT_PREFIX)
            for entry in value
            if isinstance(entry, str) and entry.startswith(DEPARTMENT_PREFIX)
        ]
    else:
        return None
    found = {_DEPARTMENTS[name] for name in names if name in _DEPARTMENTS}
    return found.pop() if len(found) == 1 else None


# --- Loading the keys, and the verifier -------------------------------------------------


def _is_url(location: str) -> bool:
    return location.startswith(("https://", "http://"))


def check_location(location: str) -> None:
    """A JWKS location is an https:// URL, an http:// URL of this machine, or a path.

    Raises:
        ValueError: with the reason.
    """
    if not location:
        raise ValueError("no JWKS location")
    if not _is_url(location):
        return
    parts = urlsplit(location)
    if not parts.hostname:
        raise ValueError("the JWKS URL names no host")
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ValueError("the JWKS URL must be https:// (http:// only on this machine)")


class JwksSource:
    """The identity provider's keys from a URL or a file, kept and refreshed.

    Loaded on first use, then again once `refresh_seconds` have passed, or when
    `refresh_for_unknown_kid` asks; never sooner than `min_interval_seconds` after the
    last attempt, successful or not. Thread-safe: concurrent requests share one load.
    """

    def __init__(
        self,
        location: str,
        *,
        refresh_seconds: float = 300.0,
        min_interval_seconds: float = MIN_REFETCH_SECONDS,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_location(location)
        self.location = location
        self.refresh_seconds = max(refresh_seconds, min_interval_seconds)
        self.min_interval_seconds = min_interval_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Jwk] = {}
        self._loaded_at: float | None = None
        self._tried_at: float | None = None
        #: How many times the document was read (successfully or not).
        self.loads = 0

    def _read(self) -> bytes:
        if not _is_url(self.location):
            path = Path(self.location)
            if path.stat().st_size > MAX_JWKS_BYTES:
                raise ValueError("the JWKS file is too large")
            return path.read_bytes()
        with httpx.stream(
            "GET",
            self.location,
            timeout=self.timeout_seconds,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        ) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("the JWKS document is too large")
            return bytes(body)

    def _load(self) -> bool:
        """Read the keys again unless tried too recently; True when they were read."""
        now = self._clock()
        if self._tried_at is not None and now - self._tried_at < self.min_interval_seconds:
            return False
        self._tried_at = now
        self.loads += 1
        try:
            keys = parse_jwks(json.loads(self._read()))
        except (httpx.HTTPError, OSError, ValueError, RecursionError) as error:
            # The URL or path is configuration, not a secret; the error's text may be long.
            log.warning(
                "could not load the OIDC keys from %s: %s",
                self.location,
                type(error).__name__,
                extra={"jwks": self.location},
            )
            return False
        if not keys:
            log.warning("the JWKS at %s holds no usable signing key", self.location)
        self._keys, self._loaded_at = keys, now
        log.info("loaded %d OIDC key(s) from %s", len(keys), self.location)
        return True

    def keys(self) -> Mapping[str, Jwk]:
        """The keys held, loaded first or refreshed when due.

        Raises:
            KeysUnavailable: nothing could be loaded yet.
        """
        with self._lock:
            loaded_at = self._loaded_at
            if loaded_at is None or self._clock() - loaded_at >= self.refresh_seconds:
                self._load()
            if self._loaded_at is None:
                raise KeysUnavailable("the identity provider's keys could not be loaded")
            return self._keys

    def refresh_for_unknown_kid(self) -> bool:
        """Load again for a token naming a key not held (a rotation), unless the keys
        were loaded or tried within `min_interval_seconds`; True when loaded."""
        with self._lock:
            return self._load()


@dataclass(frozen=True)
class OidcUser:
    """Who a verified token says signed in, and their department (None: not ours)."""

    subject: str
    department: Department | None


class OidcVerifier:
    """Verifies access tokens against a `JwksSource`, by the rules of an `OidcConfig`."""

    def __init__(
        self,
        source: JwksSource,
        config: OidcConfig,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.config = config
        self._wall_clock = wall_clock

    def verify(self, token: str) -> OidcUser:
        """The user of a valid token.

        Raises:
            InvalidToken: the token is refused (the message says why).
            KeysUnavailable: the keys could not be loaded.
        """
        split_token(token)  # a malformed token or a refused algorithm never costs a fetch
        keys = self.source.keys()
        now = self._wall_clock()
        try:
            claims = verify_token(token, keys, self.config, now)
        except UnknownKeyId:
            if not self.source.refresh_for_unknown_kid():
                raise
            claims = verify_token(token, self.source.keys(), self.config, now)
        return OidcUser(
            subject=str(claims["sub"]),
            department=department_of(claims, self.config.department_claim),
        )
