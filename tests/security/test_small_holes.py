"""Small holes from the security review: Secure cookies away from localhost, secret files
private from their creation, no statement parameters in database errors, and one truth
about how soon a revoked token stops."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from config.keys import Keyring, load_key_file, save_key_file
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department
from oms.demo import seed_demo
from tests.support.console import ConsoleBrowser, csrf_of
from tests.support.system import System

ROOT = Path(__file__).resolve().parents[2]


def cookie_flags(headers: list[str]) -> dict[str, bool]:
    """Whether each cookie set is marked Secure."""
    found: dict[str, bool] = {}
    for header in headers:
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            found[name] = bool(morsel["secure"])
    return found


async def test_console_cookies_are_secure_unless_served_on_localhost(system: System):
    async with ConsoleBrowser(system) as local:
        page = await local.http.get("/console/sign-in")
        assert cookie_flags(page.headers.get_list("set-cookie")) == {"oms_console_seed": False}
    for host in ("oms.example.com", "10.0.0.5:8000"):
        # The browser asked for another host name (a proxy in front, a LAN address): the
        # cookies must not travel over plain HTTP. No cookie jar: a Secure cookie would
        # not be sent back over http://127.0.0.1, so the test hands the seed back itself.
        async with httpx.AsyncClient(base_url=str(system.http.base_url)) as remote:
            page = await remote.get("/console/sign-in", headers={"Host": host})
            assert cookie_flags(page.headers.get_list("set-cookie")) == {"oms_console_seed": True}
            seed = page.cookies["oms_console_seed"]
            signed_in = await remote.post(
                "/console/sign-in",
                content=urlencode(
                    {"token": system.tokens[Department.SALES], "csrf_token": csrf_of(page.text)}
                ),
                headers={
                    "Host": host,
                    "Cookie": f"oms_console_seed={seed}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            flags = cookie_flags(signed_in.headers.get_list("set-cookie"))
            assert flags["oms_console_session"] is True, host


@pytest.fixture
def open_umask():
    """The usual umask (022): a file written plainly would be readable by everyone, so a
    private file must ask for 0600 when it is created (the process's umask is restored)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch):
    """A file written, then narrowed with chmod, had a window: fail if anyone tries."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a secret file was chmod-ed after its creation")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(Path, "chmod", refuse)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_codec_key_file_is_private_from_its_creation(tmp_path, open_umask, no_chmod):
    path = tmp_path / "var" / "codec-keys.json"
    keyring = Keyring.generate()
    save_key_file(path, keyring)
    assert mode_of(path) == 0o600
    rotated = keyring.rotated()
    save_key_file(path, rotated)  # rotation replaces it, private again
    assert mode_of(path) == 0o600
    assert load_key_file(path) == rotated
    assert [p.name for p in path.parent.iterdir()] == ["codec-keys.json"]


def test_the_demo_tokens_file_is_private_from_its_creation(tmp_path, open_umask, no_chmod):
    db = Database(f"sqlite:///{tmp_path / 'oms.db'}")
    db.create_schema()
    try:
        tokens = seed_demo(db, tmp_path)
        path = tmp_path / "demo-tokens.json"
        assert mode_of(path) == 0o600
        path.unlink()
        path.write_text("{}")  # an old file, readable by all: replaced by a private one
        assert mode_of(path) == 0o644
        seed_demo(db, tmp_path)
        assert mode_of(path) == 0o600
        assert set(tokens) == {d.value for d in Department}
    finally:
        db.dispose()


def test_database_errors_do_not_carry_their_parameters(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'oms.db'}")
    db.create_schema()
    marker = "Paramarker Xiaoming 13711112222"
    try:
        with db.write() as conn:
            staff_store.add_staff(conn, marker, Department.SALES, datetime.now(UTC), staff_id="s1")
        with pytest.raises(IntegrityError) as raised, db.write() as conn:
            staff_store.add_staff(conn, marker, Department.SALES, datetime.now(UTC), staff_id="s1")
        assert marker not in str(raised.value)
        assert "parameters hidden" in str(raised.value)
    finally:
        db.dispose()


def test_every_document_says_how_long_a_revoked_token_keeps_working():
    """The API trusts a looked-up token for OMS_API_TOKEN_CACHE_SECONDS: no document may
    promise that revoking stops an API token at once."""
    readme = (ROOT / "README.md").read_text()
    roles = (ROOT / "docs" / "roles.md").read_text()
    for text in (readme, roles):
        assert "OMS_API_TOKEN_CACHE_SECONDS" in text
        assert "at most that long" in text
    staff_section = readme.split("## Staff and tokens")[1].split("\n## ")[0]
    assert "set it to `0` to make revocation" in staff_section
    assert "# new token; the old one stops working\n" not in staff_section
