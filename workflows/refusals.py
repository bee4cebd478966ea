"""Refusals as they cross the Temporal boundary.

Validators and handlers raise the domain's errors (`domain.errors`); Temporal sees them
as `ApplicationError(type=<class name>)`, and `api/errors.py` maps the type to HTTP.
Kept out of the workflow modules so that the sandbox imports it once (pass-through).
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from domain.errors import OrderError


def as_failure(error: OrderError) -> ApplicationError:
    """A refusal as it crosses the Temporal boundary; api/errors.py maps the type to HTTP."""
    details = {"status": error.status, "code": error.code, "params": error.params}
    return ApplicationError(error.message, details, type=type(error).__name__, non_retryable=True)
