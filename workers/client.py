"""The one Temporal client factory: every process connects through here, with one data
converter (pydantic models; AES-GCM encryption of payloads and failure messages)."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from oms.settings import Settings
from workers.codec import EncryptionCodec, Keyring


def data_converter(keyring: Keyring | None) -> DataConverter:
    """The project's converter; without a keyring, payloads stay plaintext (tests of the
    codec itself, and reading histories as an outsider would)."""
    if keyring is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.keyring()),
    )
