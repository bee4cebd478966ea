"""The codec server behind the Temporal UI's OIDC login (production): the UI passes its
user's access token, a JWT; the codec server verifies it (workers/oidc.py) and answers
supervision and admin alone, by the department a claim names.

Keys are made here, the JWKS is a file in tmp_path (or served by a small HTTP server on
127.0.0.1), and tokens are signed here by `mint`: no identity provider, no network."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import string
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from google.protobuf.json_format import MessageToDict
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from config.keys import Keyring
from config.settings import Settings
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department
from tests.security.test_personal_data import plaintext
from tests.support.system import ApiServer
from workers.codec import EncryptionCodec
from workers.codec_server import create_codec_app
from workers.oidc import (
    InvalidToken,
    Jwk,
    JwksSource,
    KeysUnavailable,
    OidcConfig,
    OidcVerifier,
    UnknownKeyId,
    check_location,
    department_of,
    looks_like_jwt,
    parse_jwks,
    split_token,
    verify_token,
)

ISSUER = "https://login.example.com/realms/oms"
AUDIENCE = "oms-codec"
CONFIG = OidcConfig(issuer=ISSUER, audience=AUDIENCE)
NOW = 1_800_000_000.0
SECRET = "Markername Oidcperson 13987654321"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
#: A key of the provider's next rotation: not in the JWKS at first.
NEXT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


# --- A tiny signer, and the JWKS of its keys ---------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64url(json.dumps(value).encode())


def jwk_of(key: PrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        return {
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64url(n),
            "e": b64url(numbers.e.to_bytes(3, "big")),
            **extra,
        }
    point = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "kid": kid,
        "use": "sig",
        "crv": "P-256",
        "x": b64url(point.x.to_bytes(32, "big")),
        "y": b64url(point.y.to_bytes(32, "big")),
        **extra,
    }


def jwks(*keys: tuple[PrivateKey, str]) -> dict[str, Any]:
    return {"keys": [jwk_of(key, kid) for key, kid in keys]}


def sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS: raw r || s


def mint(
    claims: dict[str, Any],
    key: PrivateKey = RSA_KEY,
    kid: str | None = "rsa-1",
    alg: str | None = None,
    **header: Any,
) -> str:
    """A compact JWS of the claims, signed by the key (RS256 or ES256 by its type)."""
    alg = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
    head = {"alg": alg, "typ": "at+jwt", **header}
    if kid is not None:
        head["kid"] = kid
    signing_input = f"{b64json(head)}.{b64json(claims)}"
    return f"{signing_input}.{b64url(sign(key, signing_input.encode()))}"


def hs256(claims: dict[str, Any], secret: bytes, kid: str = "rsa-1") -> str:
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64json(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def unsigned(claims: dict[str, Any], kid: str = "rsa-1") -> str:
    return f"{b64json({'alg': 'none', 'kid': kid})}.{b64json(claims)}."


def claims(
    department: str | None = "supervision", now: float = NOW, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "f3b2c1d0-oidc-user",
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 300,
        "oms_department": department,
        **changes,
    }
    return {name: value for name, value in body.items() if value is not None}


KEYS = parse_jwks(jwks((RSA_KEY, "rsa-1"), (EC_KEY, "ec-1")))
PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


# --- The verifier's pure functions -------------------------------------------------------


def test_a_token_signed_with_rs256_or_es256_by_a_key_of_the_jwks_gives_its_claims():
    assert set(KEYS) == {"rsa-1", "ec-1"}
    by_rsa = verify_token(mint(claims()), KEYS, CONFIG, NOW)
    assert by_rsa["sub"] == "f3b2c1d0-oidc-user" and by_rsa["oms_department"] == "supervision"
    by_ec = verify_token(mint(claims("admin"), EC_KEY, "ec-1"), KEYS, CONFIG, NOW)
    assert by_ec["oms_department"] == "admin"


def test_expiry_is_required_and_holds_for_the_leeway_and_no_longer():
    token = mint(claims())  # exp = NOW + 300
    verify_token(token, KEYS, CONFIG, NOW + 300 + 29)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(token, KEYS, CONFIG, NOW + 300 + 30)
    strict = OidcConfig(issuer=ISSUER, audience=AUDIENCE, leeway_seconds=0)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(token, KEYS, strict, NOW + 300)
    with pytest.raises(InvalidToken, match="no expiry"):
        verify_token(mint(claims(exp=None)), KEYS, CONFIG, NOW)
    for not_a_time in ("soon", True, [1], {"at": 1}, 10**400, -(10**400)):
        with pytest.raises(InvalidToken, match="exp is not a time"):
            verify_token(mint(claims(exp=not_a_time)), KEYS, CONFIG, NOW)


def test_a_token_from_the_future_is_refused_beyond_the_leeway():
    later = NOW + 120
    with pytest.raises(InvalidToken, match="not valid yet"):
        verify_token(mint(claims(nbf=later)), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="issued in the future"):
        verify_token(mint(claims(nbf=None, iat=later)), KEYS, CONFIG, NOW)
    verify_token(mint(claims(nbf=NOW + 25, iat=NOW + 25)), KEYS, CONFIG, NOW)  # skew


def test_the_issuer_must_be_ours_and_the_audience_must_include_ours():
    with pytest.raises(InvalidToken, match="another issuer"):
        verify_token(mint(claims(iss="https://evil.example")), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="another issuer"):
        verify_token(mint(claims(iss=ISSUER + "/")), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="another audience"):
        verify_token(mint(claims(aud="account")), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="another audience"):
        verify_token(mint(claims(aud=["account", "api"])), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="no audience"):
        verify_token(mint(claims(aud=None)), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="no audience"):
        verify_token(mint(claims(aud=[AUDIENCE, 7])), KEYS, CONFIG, NOW)
    verify_token(mint(claims(aud=["account", AUDIENCE])), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="no subject"):
        verify_token(mint(claims(sub="")), KEYS, CONFIG, NOW)


@pytest.mark.parametrize(
    "token",
    [
        mint(claims(), alg="none"),  # signed, yet claims `none`
        unsigned(claims()),
        hs256(claims(), PUBLIC_PEM),  # the RSA public key as an HMAC secret
        hs256(claims(), b"secret"),
        mint(claims(), alg="RS512"),
        mint(claims(), alg="PS256"),
        mint(claims(), alg="rs256"),
        f"{b64json({'kid': 'rsa-1'})}.{b64json(claims())}.c2ln",  # no alg at all
        f"{b64json({'alg': ['RS256'], 'kid': 'rsa-1'})}.{b64json(claims())}.c2ln",
    ],
    ids=[
        "none",
        "none-unsigned",
        "hs256-public-key",
        "hs256",
        "rs512",
        "ps256",
        "lower",
        "no-alg",
        "alg-list",
    ],
)
def test_only_rs256_and_es256_are_accepted_whatever_the_keys(token: str):
    # Refused for the algorithm before any key is looked at: an unknown key id, or no
    # keys at all, changes nothing (and so never costs a JWKS fetch).
    for keys in (KEYS, {}):
        with pytest.raises(InvalidToken, match="algorithm is not accepted") as refused:
            verify_token(token, keys, CONFIG, NOW)
        assert not isinstance(refused.value, UnknownKeyId)


def test_the_algorithm_must_be_the_keys():
    # An EC signature under an RSA key's id, and the other way round.
    with pytest.raises(InvalidToken, match="not its key's"):
        verify_token(mint(claims(), EC_KEY, kid="rsa-1"), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="not its key's"):
        verify_token(mint(claims(), RSA_KEY, kid="ec-1"), KEYS, CONFIG, NOW)


def test_a_tampered_token_or_a_stranger_key_fails_the_signature():
    token = mint(claims("warehouse"))
    header, _, signature = token.split(".")
    promoted = f"{header}.{b64json(claims('supervision'))}.{signature}"
    with pytest.raises(InvalidToken, match="signature is not valid"):
        verify_token(promoted, KEYS, CONFIG, NOW)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken, match="signature is not valid"):
        verify_token(mint(claims(), stranger, "rsa-1"), KEYS, CONFIG, NOW)
    # ES256 in JWS is raw r || s: the DER form of the same signature is not accepted.
    es = mint(claims(), EC_KEY, "ec-1")
    head, body, raw = es.split(".")
    r_s = base64.urlsafe_b64decode(raw + "==")
    der = encode_dss_signature(int.from_bytes(r_s[:32], "big"), int.from_bytes(r_s[32:], "big"))
    with pytest.raises(InvalidToken, match="signature is not valid"):
        verify_token(f"{head}.{body}.{b64url(der)}", KEYS, CONFIG, NOW)


def test_a_token_must_name_a_key_of_the_jwks():
    with pytest.raises(UnknownKeyId, match="not among the provider's keys"):
        verify_token(mint(claims(), kid="rotated-away"), KEYS, CONFIG, NOW)
    with pytest.raises(InvalidToken, match="names no key") as refused:
        verify_token(mint(claims(), kid=None), KEYS, CONFIG, NOW)
    assert not isinstance(refused.value, UnknownKeyId)  # nothing a refresh could find


NAN_HEADER = b64url(b'{"alg": NaN}')
TWICE_HEADER = b64url(b'{"alg": "none", "alg": "RS256"}')


def _header(header: object) -> str:
    return f"{b64json(header)}.{b64json(claims())}.c2ln"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "no token"),
        ("abc", "three parts"),
        ("a.b", "three parts"),
        ("a.b.c.d", "three parts"),
        ("!!!.e30.c2ln", "header is not base64url"),
        ("e30=.e30.c2ln", "header is not base64url"),  # padding is not JWS
        ("eyJhbGciOiJSUzI1NiJ9Q.e30.c2ln", "header is not base64url"),  # 4n+1 characters
        ("eyJhbGciOiJSUzI1NiJ9.e30.cx", "signature is not canonical"),  # spare bits set ("cw")
        (f"{b64url(b'not json')}.e30.c2ln", "header is not JSON"),
        (f"{b64url(bytes([0xFF, 0xFE]))}.e30.c2ln", "header is not JSON"),
        (f"{b64url(b'[1, 2]')}.e30.c2ln", "header is not a JSON object"),
        (f"{NAN_HEADER}.e30.c2ln", "header is not JSON"),
        (f"{TWICE_HEADER}.e30.c2ln", "repeats a member"),
        (f"{b64url(b'[' * 5000 + b']' * 5000)}.e30.c2ln", "header is not JSON"),
        (_header({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}), "critical extensions"),
        (f"{b64json({'alg': 'RS256', 'kid': 'rsa-1'})}..c2ln", "no payload"),
        (f"{b64json({'alg': 'RS256', 'kid': 'rsa-1'})}.e30.", "not signed"),
        (f"{b64json({'alg': 'RS256', 'kid': 'rsa-1'})}.%%%.c2ln", "payload is not base64url"),
        ("e30." * 5000 + "e30.e30", "too long"),
    ],
)
def test_malformed_tokens_are_refused_with_a_reason_and_nothing_else(token: str, reason: str):
    with pytest.raises(InvalidToken, match=reason) as refused:
        verify_token(token, KEYS, CONFIG, NOW)
    if len(token) > 8:
        assert token not in str(refused.value)


def test_a_signed_payload_that_is_not_a_json_object_is_refused():
    head = b64json({"alg": "RS256", "kid": "rsa-1"})
    for payload in (b"[1]", b"not json", b'{"exp": 1, "exp": 2}'):
        signing_input = f"{head}.{b64url(payload)}"
        token = f"{signing_input}.{b64url(sign(RSA_KEY, signing_input.encode()))}"
        with pytest.raises(InvalidToken, match="payload"):
            verify_token(token, KEYS, CONFIG, NOW)


def test_random_garbage_never_raises_anything_but_invalid_token():
    rng = random.Random(20261127)
    alphabet = string.ascii_letters + string.digits + "-_.=+/ {}\"'"
    valid = mint(claims())
    for _ in range(2000):
        if rng.random() < 0.5:
            token = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        else:  # a valid token with a few characters changed
            chars = list(valid)
            for _ in range(rng.randint(1, 4)):
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            token = "".join(chars)
        if token == valid:
            continue
        with pytest.raises(InvalidToken):
            verify_token(token, KEYS, CONFIG, NOW)


def test_split_token_checks_the_form_before_any_key():
    token = mint(claims())
    parts = split_token(token)
    assert parts.header["alg"] == "RS256" and parts.header["kid"] == "rsa-1"
    assert parts.signing_input == token.rsplit(".", 1)[0].encode()
    assert looks_like_jwt(token) and not looks_like_jwt("oms_abcDEF123-_")


def test_the_jwks_keeps_usable_signing_keys_only():
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    off_curve = jwk_of(EC_KEY, "off-curve")
    off_curve["y"] = b64url(
        (int.from_bytes(base64.urlsafe_b64decode(off_curve["y"] + "="), "big") ^ 1).to_bytes(
            32, "big"
        )
    )
    document = {
        "keys": [
            jwk_of(RSA_KEY, "rsa-1"),
            jwk_of(EC_KEY, "ec-1", alg="ES256"),
            {k: v for k, v in jwk_of(RSA_KEY, "no-alg").items() if k != "alg"},
            {k: v for k, v in jwk_of(EC_KEY, "ec-no-alg").items() if k != "use"},
            jwk_of(weak, "weak"),
            jwk_of(RSA_KEY, "for-encryption", use="enc"),
            jwk_of(RSA_KEY, "rs512", alg="RS512"),
            jwk_of(RSA_KEY, "ps256", alg="PS256"),
            jwk_of(RSA_KEY, "sign-only", key_ops=["sign"]),
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
            jwk_of(EC_KEY, "p384-as-p256") | {"x": b64url(bytes(48)), "y": b64url(bytes(48))},
            off_curve,
            {"kty": "oct", "kid": "hmac", "k": b64url(b"secret")},
            {k: v for k, v in jwk_of(RSA_KEY, "x").items() if k != "kid"},
            jwk_of(RSA_KEY, "twice"),
            jwk_of(NEXT_KEY, "twice"),
            jwk_of(RSA_KEY, "bad-n", n="!!"),
            "not an object",
        ]
    }
    keys = parse_jwks(document)
    assert sorted(keys) == ["ec-1", "ec-no-alg", "no-alg", "rsa-1"]
    assert keys["rsa-1"] == Jwk("rsa-1", "RS256", keys["rsa-1"].key)
    assert keys["ec-1"].alg == "ES256"
    not_jwks: tuple[object, ...] = ([], {}, {"keys": {}}, "keys")
    for not_a_jwks in not_jwks:
        with pytest.raises(ValueError, match="JWKS"):
            parse_jwks(not_a_jwks)


def test_the_department_comes_from_a_name_or_from_one_oms_entry_of_a_list():
    d = Department
    assert department_of({"oms_department": "supervision"}, "oms_department") == d.SUPERVISION
    assert department_of({"oms_department": "oms:admin"}, "oms_department") == d.ADMIN
    groups = {"groups": ["staff", "admin", "oms:warehouse", "oms:bogus"]}
    # The provider's own `admin` group is not this system's admin: only oms: entries count.
    assert department_of(groups, "groups") == d.WAREHOUSE
    assert department_of({"groups": ["admin", "supervision"]}, "groups") is None
    assert department_of({"groups": ["oms:admin", "oms:warehouse"]}, "groups") is None
    assert department_of({"groups": ["oms:admin", "oms:admin"]}, "groups") == d.ADMIN
    assert department_of({"groups": []}, "groups") is None
    assert department_of({"oms_department": "Supervision"}, "oms_department") is None
    assert department_of({"oms_department": "auditors"}, "oms_department") is None
    assert department_of({"oms_department": 3}, "oms_department") is None
    assert department_of({}, "oms_department") is None
    keycloak = {"realm_access": {"roles": ["offline_access", "oms:supervision"]}}
    assert department_of(keycloak, "realm_access.roles") == d.SUPERVISION
    assert department_of(keycloak, "realm_access.groups") is None
    namespaced = {"https://oms.example/department": "finance"}
    assert department_of(namespaced, "https://oms.example/department") == d.FINANCE


def test_a_jwks_url_is_https_or_on_this_machine():
    for fine in (
        "https://login.example.com/jwks",
        "http://127.0.0.1:9000/jwks",
        "http://localhost/jwks",
        "http://[::1]:8000/k",
        "/etc/oms/jwks.json",
    ):
        check_location(fine)
    for wrong in ("http://login.example.com/jwks", "http://10.0.0.5/jwks", "https:///jwks", ""):
        with pytest.raises(ValueError):
            check_location(wrong)


def test_settings_with_a_jwks_need_an_issuer_and_an_audience(tmp_path: Path):
    with pytest.raises(ValidationError, match="OMS_CODEC_OIDC_ISSUER"):
        Settings(var_dir=tmp_path, codec_oidc_jwks="https://login.example.com/jwks")
    with pytest.raises(ValidationError, match="codec_oidc_audience"):
        Settings(var_dir=tmp_path, codec_oidc_jwks="/k.json", codec_oidc_issuer=ISSUER)
    settings = Settings(
        var_dir=tmp_path,
        codec_oidc_jwks="/k.json",
        codec_oidc_issuer=ISSUER,
        codec_oidc_audience=AUDIENCE,
    )
    assert settings.codec_oidc_department_claim == "oms_department"
    assert settings.codec_oidc_leeway_seconds == 30
    assert settings.codec_oidc_jwks_refresh_seconds == 300
    assert Settings(var_dir=tmp_path).codec_oidc_jwks == ""  # off by default


# --- The keys, loaded over HTTP ----------------------------------------------------------


class JwksServer:
    """A JWKS at http://127.0.0.1:<port>/jwks that counts the times it is fetched."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.fetches = 0
        self.fail = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                if server.fail:
                    self.send_error(500)
                    return
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer(jwks((RSA_KEY, "rsa-1"), (EC_KEY, "ec-1")))
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def random_kid_token(rng: random.Random) -> str:
    return mint(claims(), kid="".join(rng.choices(string.ascii_lowercase, k=12)))


def test_a_new_key_id_refreshes_the_jwks_but_made_up_ones_do_not_each_fetch(
    jwks_server: JwksServer,
):
    clock = Clock()
    source = JwksSource(jwks_server.url, refresh_seconds=300, clock=clock)
    verifier = OidcVerifier(source, CONFIG, wall_clock=lambda: NOW)
    assert jwks_server.fetches == 0  # nothing fetched before a token needs it
    assert verifier.verify(mint(claims())).department == Department.SUPERVISION
    assert jwks_server.fetches == 1
    rng = random.Random(1)
    for _ in range(50):  # an attacker's made-up key ids: refused, and no fetch each
        with pytest.raises(UnknownKeyId):
            verifier.verify(random_kid_token(rng))
    assert jwks_server.fetches == 1

    # The provider rotates: its new key appears in the JWKS.
    jwks_server.document = jwks((NEXT_KEY, "rsa-2"), (RSA_KEY, "rsa-1"))
    rotated = mint(claims("admin"), NEXT_KEY, "rsa-2")
    clock.now += 10  # too soon after the last fetch: not fetched again yet
    with pytest.raises(UnknownKeyId):
        verifier.verify(rotated)
    assert jwks_server.fetches == 1
    clock.now += 25  # 35 s after the last fetch: the unknown key id fetches the JWKS once
    assert verifier.verify(rotated).department == Department.ADMIN
    assert jwks_server.fetches == 2
    for _ in range(50):
        with pytest.raises(UnknownKeyId):
            verifier.verify(random_kid_token(rng))
    clock.now += 20
    for _ in range(50):
        with pytest.raises(UnknownKeyId):
            verifier.verify(random_kid_token(rng))
    assert jwks_server.fetches == 2
    clock.now += 15  # 35 s on: one more fetch for the next made-up id, then none again
    for _ in range(50):
        with pytest.raises(UnknownKeyId):
            verifier.verify(random_kid_token(rng))
    assert jwks_server.fetches == 3

    # Known keys never fetch, until the refresh period has passed.
    for _ in range(20):
        verifier.verify(rotated)
    assert jwks_server.fetches == 3
    jwks_server.document = jwks((NEXT_KEY, "rsa-2"))  # rsa-1 is retired
    clock.now += 300
    verifier.verify(rotated)
    assert jwks_server.fetches == 4
    with pytest.raises(UnknownKeyId):  # a retired key stops working after the refresh
        verifier.verify(mint(claims()))


def test_a_failed_refresh_keeps_the_keys_and_is_not_retried_on_every_request(
    jwks_server: JwksServer,
):
    clock = Clock()
    source = JwksSource(jwks_server.url, refresh_seconds=60, clock=clock)
    assert set(source.keys()) == {"rsa-1", "ec-1"}
    jwks_server.fail = True
    clock.now += 61
    for _ in range(20):
        assert set(source.keys()) == {"rsa-1", "ec-1"}  # the provider is down: keys kept
    assert jwks_server.fetches == 2
    clock.now += 31
    source.keys()
    assert jwks_server.fetches == 3
    jwks_server.fail = False
    clock.now += 31
    source.keys()
    assert jwks_server.fetches == 4 and source.loads == 4


def test_without_any_keys_the_source_says_so_and_waits_before_trying_again(
    jwks_server: JwksServer,
):
    clock = Clock()
    jwks_server.fail = True
    source = JwksSource(jwks_server.url, clock=clock)
    for _ in range(10):
        with pytest.raises(KeysUnavailable):
            source.keys()
    assert jwks_server.fetches == 1
    jwks_server.fail = False
    clock.now += 30
    assert set(source.keys()) == {"rsa-1", "ec-1"}
    assert jwks_server.fetches == 2


# --- The codec server, over HTTP -------------------------------------------------------

KEYRING = Keyring.generate()


def encrypted_body() -> dict[str, Any]:
    """What the Temporal UI posts: an encrypted payload carrying personal data."""
    plain = Payload(
        metadata={"encoding": b"json/plain"},
        data=json.dumps({"customer": {"name": SECRET}}).encode(),
    )
    return {"payloads": [MessageToDict(EncryptionCodec(KEYRING).encrypt(plain))]}


def codec_settings(tmp_path: Path, jwks_location: str = "", **changes: Any) -> Settings:
    oidc: dict[str, Any] = {}
    if jwks_location:
        oidc = {
            "codec_oidc_jwks": jwks_location,
            "codec_oidc_issuer": ISSUER,
            "codec_oidc_audience": AUDIENCE,
        }
    return Settings(
        var_dir=tmp_path,
        codec_keys=KEYRING.to_strings(),
        codec_active_key=KEYRING.active,
        **oidc,
        **changes,
    )


class Codec:
    """The codec server on a free port, with a read model of its own holding staff."""

    def __init__(self, settings: Settings) -> None:
        self.db = Database(settings.resolved_database_url)
        self.db.create_schema()
        now = datetime.now(UTC)
        with self.db.write() as conn:
            self.tokens = {
                department: staff_store.add_staff(conn, f"{department} one", department, now)[1]
                for department in (Department.SUPERVISION, Department.WAREHOUSE)
            }
        self.settings = settings
        self.server = ApiServer(settings, app=create_codec_app(settings, db=self.db))

    def __enter__(self) -> httpx.Client:
        self.server.start()
        self.http = httpx.Client(base_url=self.server.url)
        return self.http

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.server.stop()
        self.db.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks((RSA_KEY, "rsa-1"), (EC_KEY, "ec-1"))))
    return path


@pytest.fixture
def codec(tmp_path: Path, jwks_file: Path) -> Iterator[httpx.Client]:
    with Codec(codec_settings(tmp_path, str(jwks_file))) as http:
        yield http


def test_a_supervisors_access_token_decodes_and_the_log_names_who_not_what(
    codec: httpx.Client, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    body = encrypted_body()
    token = mint(claims("supervision", time.time(), sub="auditor-7"))
    decoded = codec.post("/decode", json=body, headers={**bearer(token), "X-Namespace": "orders"})
    assert decoded.status_code == 200, decoded.text
    assert SECRET.encode() in plaintext(decoded)
    by_admin = mint(claims("admin", time.time(), sub="admin-1"), EC_KEY, "ec-1")
    assert codec.post("/decode", json=body, headers=bearer(by_admin)).status_code == 200
    encoded = codec.post(
        "/encode", json={"payloads": decoded.json()["payloads"]}, headers=bearer(token)
    )
    assert encoded.status_code == 200 and SECRET not in encoded.text

    [line, *_] = [r for r in caplog.records if r.name == "oms.codec_server"]
    assert line.getMessage() == "decode of 1 payload(s) for auditor-7"
    assert (line.actor, line.department, line.via) == ("auditor-7", "supervision", "oidc")  # type: ignore[attr-defined]
    for record in caplog.records:
        text = record.getMessage() + json.dumps(record.__dict__, default=str)
        assert SECRET not in text and token not in text and token.split(".")[2] not in text


def test_a_valid_token_of_another_department_or_of_none_is_forbidden(codec: httpx.Client):
    body = encrypted_body()
    for department in ("warehouse", "sales", "finance", "platform"):
        refused = codec.post(
            "/decode", json=body, headers=bearer(mint(claims(department, time.time())))
        )
        assert refused.status_code == 403, department
        assert refused.json()["detail"] == f"{department} may not read payloads in the clear"
        assert SECRET not in refused.text
    for nobody in (None, "auditors", "oms:"):
        refused = codec.post(
            "/decode", json=body, headers=bearer(mint(claims(nobody, time.time())))
        )
        assert refused.status_code == 403, nobody
        assert "no department" in refused.json()["detail"]


def _refused_tokens() -> dict[str, str]:
    now = time.time()
    good = mint(claims("supervision", now))
    head, _, signature = good.split(".")
    stranger = ec.generate_private_key(ec.SECP256R1())
    return {
        "expired": mint(claims("supervision", now - 3600)),
        "wrong issuer": mint(claims("supervision", now, iss="https://evil.example")),
        "wrong audience": mint(claims("supervision", now, aud="account")),
        "tampered payload": f"{head}.{b64json(claims('admin', now))}.{signature}",
        "alg none": unsigned(claims("supervision", now)),
        "hs256 with the public key": hs256(claims("supervision", now), PUBLIC_PEM),
        "unknown kid": mint(claims("supervision", now), kid="made-up"),
        "another key": mint(claims("supervision", now), stranger, "ec-1"),
        "no kid": mint(claims("supervision", now), kid=None),
        "not base64": "abc!.def.ghi",
    }


REASONS = {
    "expired": "the token has expired",
    "wrong issuer": "from another issuer",
    "wrong audience": "for another audience",
    "tampered payload": "signature is not valid",
    "alg none": "algorithm is not accepted",
    "hs256 with the public key": "algorithm is not accepted",
    "unknown kid": "not among the provider's keys",
    "another key": "signature is not valid",
    "no kid": "names no key",
    "not base64": "not base64url",
}


def test_an_invalid_token_is_unauthorised_with_a_short_reason_and_nothing_of_it(
    codec: httpx.Client, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    body = encrypted_body()
    for case, token in _refused_tokens().items():
        for path in ("/decode", "/encode"):
            refused = codec.post(path, json=body, headers=bearer(token))
            assert refused.status_code == 401, (case, refused.text)
            detail = refused.json()["detail"]
            assert REASONS[case] in detail, (case, detail)
            assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            assert SECRET not in refused.text
            for part in token.split("."):
                if len(part) > 4:
                    assert part not in refused.text, case
    for record in caplog.records:
        text = record.getMessage() + json.dumps(record.__dict__, default=str)
        for token in _refused_tokens().values():
            for part in token.split("."):
                assert len(part) <= 4 or part not in text
    refusals = [r for r in caplog.records if r.getMessage().startswith("OIDC access token refused")]
    assert len(refusals) == 2 * len(REASONS)


def test_staff_tokens_still_work_beside_oidc_and_a_jwt_is_no_staff_token(
    tmp_path: Path, jwks_file: Path
):
    body = encrypted_body()
    token = mint(claims("supervision", time.time()))
    on = Codec(codec_settings(tmp_path / "on", str(jwks_file)))
    with on as http:
        staff = bearer(on.tokens[Department.SUPERVISION])
        assert http.post("/decode", json=body, headers=staff).status_code == 200
        warehouse = bearer(on.tokens[Department.WAREHOUSE])
        assert http.post("/decode", json=body, headers=warehouse).status_code == 403
        assert http.post("/decode", json=body, headers=bearer("oms_unknown")).status_code == 401
        assert http.post("/decode", json=body).status_code == 401
        assert http.post("/decode", json=body, headers=bearer(token)).status_code == 200
    off = Codec(codec_settings(tmp_path / "off"))
    with off as http:  # OIDC off: today's behaviour, a JWT is an unknown staff token
        refused = http.post("/decode", json=body, headers=bearer(token))
        assert refused.status_code == 401
        assert refused.json()["detail"].startswith("a supervision or admin token")
        staff = bearer(off.tokens[Department.SUPERVISION])
        assert http.post("/decode", json=body, headers=staff).status_code == 200


def test_the_temporal_ui_may_send_the_token_cross_origin(tmp_path: Path, jwks_file: Path):
    codec = Codec(codec_settings(tmp_path, str(jwks_file)))
    ui_origin = codec.settings.temporal_ui_url
    with codec as http:
        preflight = http.options(
            "/decode",
            headers={
                "Origin": ui_origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
            },
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ui_origin
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


def test_the_codec_server_fetches_the_jwks_once_for_a_stream_of_made_up_key_ids(
    tmp_path: Path, jwks_server: JwksServer
):
    body = encrypted_body()
    with Codec(codec_settings(tmp_path, jwks_server.url)) as http:
        assert jwks_server.fetches == 0
        good = bearer(mint(claims("supervision", time.time())))
        assert http.post("/decode", json=body, headers=good).status_code == 200
        assert jwks_server.fetches == 1
        rng = random.Random(7)
        for _ in range(30):
            token = mint(
                claims("supervision", time.time()),
                kid="".join(rng.choices(string.ascii_lowercase, k=10)),
            )
            assert http.post("/decode", json=body, headers=bearer(token)).status_code == 401
        assert jwks_server.fetches == 1
        assert http.post("/decode", json=body, headers=good).status_code == 200
        assert jwks_server.fetches == 1


def test_unreachable_keys_are_a_503_not_a_401(tmp_path: Path, jwks_server: JwksServer):
    jwks_server.fail = True
    with Codec(codec_settings(tmp_path, jwks_server.url)) as http:
        token = mint(claims("supervision", time.time()))
        refused = http.post("/decode", json=encrypted_body(), headers=bearer(token))
        assert refused.status_code == 503
        assert "keys could not be loaded" in refused.json()["detail"]
        # A malformed token is refused without asking the provider.
        assert http.post("/decode", json={}, headers=bearer("a.b!.c")).status_code == 401
    assert jwks_server.fetches == 1


def test_a_jwks_over_plain_http_to_another_host_stops_the_codec_server(tmp_path: Path):
    settings = codec_settings(tmp_path, "http://login.example.com/jwks")
    with pytest.raises(SystemExit, match="https"):
        create_codec_app(settings, db=Database(settings.resolved_database_url))
