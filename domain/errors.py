"""The one tree of refusals the policy makes.

    OrderError                   every refusal; carries the order's status when known
    ├── NotPermitted             the actor's department may not take this action
    │   └── NotTrusted           the command's signature is missing, wrong, stale or
    │                            replayed (domain/trust.py): who acts cannot be trusted
    ├── ActionNotAllowed         not in the order's current state (wrong step, too late)
    │   └── PolicyViolation      the state is right but a rule of the policy is not met
    │                            (e.g. a risky order approved without phone verification)
    └── NotFound                 the task, case or line named does not exist on this order

The workflow raises these inside update validators and handlers and turns them
into `ApplicationError(type=<class name>)`; `api/errors.py` alone turns them into
HTTP codes. Their messages never carry personal data: they travel in failures.

A refusal also has a `code` (`phone_verification_required`) and the `params` its
message is made of: the message stays English (logs, histories, the API's `detail`),
while the console says the same in the reader's language from its catalogue
(`refusal.<code>`), with the params' values translated where they name a status,
an action, a department...
"""

from __future__ import annotations

#: A refusal's parameters: plain values, or lists of them (the accessories missing).
Params = dict[str, str | list[str]]


class OrderError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: str | None = None,
        code: str | None = None,
        params: Params | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.params: Params = params or {}


class NotPermitted(OrderError):
    pass


class NotTrusted(NotPermitted):
    """A command whose actor the workflow cannot trust: refused before anything changes."""


class ActionNotAllowed(OrderError):
    pass


class PolicyViolation(ActionNotAllowed):
    pass


class NotFound(OrderError):
    pass


def error_type(name: str) -> type[OrderError] | None:
    """The domain error class of this name, for turning a remote failure back into a refusal."""
    found = globals().get(name)
    if isinstance(found, type) and issubclass(found, OrderError):
        return found
    return None
