"""Connecting beyond one machine: TLS, mutual TLS and Temporal Cloud API keys from settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from workers.client import tls_config


def test_without_tls_settings_the_sdk_decides_plain_or_tls_with_an_api_key():
    assert tls_config(Settings()) is None
    assert tls_config(Settings(temporal_api_key="key")) is None  # the SDK turns TLS on


def test_mutual_tls_reads_the_client_certificate_key_and_private_ca(tmp_path: Path):
    for name in ("client.pem", "client.key", "ca.pem"):
        (tmp_path / name).write_bytes(f"-----{name}-----".encode())
    config = tls_config(
        Settings(
            temporal_tls_cert=tmp_path / "client.pem",
            temporal_tls_key=tmp_path / "client.key",
            temporal_tls_ca=tmp_path / "ca.pem",
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert config is not None
    assert config.client_cert == b"-----client.pem-----"
    assert config.client_private_key == b"-----client.key-----"
    assert config.server_root_ca_cert == b"-----ca.pem-----"
    assert config.domain == "temporal.internal"


def test_tls_with_the_system_roots_needs_no_files():
    config = tls_config(Settings(temporal_tls=True))
    assert config is not None and config.client_cert is None and config.server_root_ca_cert is None


def test_a_certificate_without_its_key_is_refused(tmp_path: Path):
    (tmp_path / "client.pem").write_text("cert")
    with pytest.raises(ValueError, match="go together"):
        tls_config(Settings(temporal_tls_cert=tmp_path / "client.pem"))
