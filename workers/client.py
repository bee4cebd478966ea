"""The one Temporal client factory: every process connects through here, with one data
converter (pydantic models; AES-GCM encryption of payloads and failure messages), and the
connection security the deployment asks for (TLS, mTLS, Temporal Cloud API keys)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from config.keys import Keyring
from config.settings import Settings
from workers.codec import EncryptionCodec
from workers.signing import CommandSigner
from workers.tracing import client_interceptors


def data_converter(keyring: Keyring | None) -> DataConverter:
    """The converter every client, worker and history reader uses.

    With a keyring, payloads and failure messages are encrypted (workers/codec.py);
    auditors decode recorded histories with the same keys. Without one, payloads stay
    plaintext: histories recorded as test fixtures, or read as an outsider would.
    Encrypted and plaintext payloads both decode with a keyring.
    """
    if keyring is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def settings_converter(settings: Settings) -> DataConverter:
    return data_converter(settings.keyring())


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def tls_config(settings: Settings) -> TLSConfig | None:
    """TLS towards the Temporal frontend: mTLS with a client certificate, plain TLS, or none.

    A client certificate and key give mutual TLS (a self-hosted cluster with
    `requireClientAuth`, or Temporal Cloud with certificates). None leaves the
    choice to the SDK: TLS when an API key is set (Temporal Cloud), else plain.
    """
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        raise ValueError("OMS_TEMPORAL_TLS_CERT and OMS_TEMPORAL_TLS_KEY go together")
    if cert is None and settings.temporal_tls_ca is None and not settings.temporal_tls:
        return None
    return TLSConfig(
        server_root_ca_cert=_read(settings.temporal_tls_ca),
        domain=settings.temporal_tls_server_name or None,
        client_cert=_read(cert),
        client_private_key=_read(key),
    )


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """Connect to the configured namespace; `runtime` carries a metrics exporter (the worker's).

    A process that holds the command-signing key (the API) signs every command that
    carries an actor (workers/signing.py); the others only verify. With tracing on
    (workers/tracing.py) Temporal's tracing interceptor comes first, outermost: its span
    covers the signing, and a worker on this client takes it ahead of its own.
    """
    signer = CommandSigner.of(settings.command_key_set())
    interceptors: list[Interceptor] = [*client_interceptors()]
    if signer:
        interceptors.append(signer)
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=settings_converter(settings),
        tls=tls_config(settings),
        api_key=settings.temporal_api_key or None,
        runtime=runtime,
        interceptors=interceptors,
    )


async def connect_when_up(
    settings: Settings, timeout: float = 60, *, alive: Callable[[], None] | None = None
) -> Client:
    """Connect once the frontend answers its health check (a server just started), trying
    until `timeout`; `alive` raises if the process that should answer has died meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        try:
            client = await connect(settings)
            await client.service_client.check_health()
            return client
        except Exception:  # not up yet
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)
