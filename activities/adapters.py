"""Adapters to the systems outside our boundary, chosen by a setting that names a class.

Three kinds plug in here: the payment gateway (`activities.payment_gateway`), the
carriers (`activities.carriers`) and the customer notification channel
(`activities.channels`). A setting names the class as `package.module:ClassName`
(`OMS_PAYMENT_GATEWAY`, `OMS_CARRIERS`, `OMS_NOTIFICATION_CHANNEL`), and the worker
builds it as `ClassName(db, **options)`: the read model's `Database` (a stand-in keeps
its own books there; a real provider may ignore it) and the keyword options of its
`*_OPTIONS` setting (a provider's URL, an account id). docs/integrations.md is the
guide; tests/contract/ holds the suite every implementation must pass.

Every adapter maps what goes wrong to one of three failure modes, so the workflow
acts the same whichever provider is plugged in:

- `Declined`: the provider refused for good (a card closed, an address it cannot
  serve, a number that cannot receive messages). Retrying changes nothing: a person
  takes over (finance pays by hand, logistics picks another carrier, customer service
  calls the customer).
- `Temporary`: nothing happened and trying again later may work (rate limited,
  unavailable). The activity is retried.
- `Unknown`: the request may or may not have taken effect (a timeout after sending).
  Retried with the same idempotency key, which every provider honours, so it takes
  effect once.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from db.engine import Database


class AdapterFailure(Exception):
    """What an adapter raises when its provider did not do what was asked."""


class Declined(AdapterFailure):
    """The provider refused for good; retrying changes nothing."""


class Temporary(AdapterFailure):
    """Nothing happened; trying again later may work."""


class Unknown(AdapterFailure):
    """It may have happened: retry with the same idempotency key."""


def load_class(spec: str, aliases: Mapping[str, str] | None = None) -> type[Any]:
    """The class a setting names (`package.module:ClassName`, or a short alias)."""
    spec = (aliases or {}).get(spec, spec)
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"{spec!r} names no class: write it as package.module:ClassName")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"{spec!r}: module {module_name!r} cannot be imported: {error}") from None
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        raise ValueError(f"{spec!r}: {module_name} has no class {class_name!r}")
    return found


def build_adapter(
    spec: str,
    db: Database,
    options: Mapping[str, Any] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> Any:
    """The adapter a setting names, built as `ClassName(db, **options)`."""
    cls = load_class(spec, aliases)
    try:
        return cls(db, **dict(options or {}))
    except TypeError as error:
        # The options' keys only: their values may be credentials.
        keys = sorted(options or {})
        raise ValueError(f"{spec!r} cannot be built with options {keys}: {error}") from error
