"""Cases: a change request (P4.1), a cancellation (P4.2), a payment, logistics or quality
exception (P5.1-P5.3). A case groups the tasks the policy gives each department for it,
and closes when they are done."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, JsonValue


class CaseKind(StrEnum):
    CHANGE = "change"
    CANCELLATION = "cancellation"
    PAYMENT_EXCEPTION = "payment_exception"
    LOGISTICS_EXCEPTION = "logistics_exception"
    RETURN = "return"
    EXCHANGE = "exchange"
    #: P1.2, P5.3: a customer's complaint about a service: a rework visit or a refund.
    SERVICE_COMPLAINT = "service_complaint"
    #: P5.3: goods with a confirmed quality problem are claimed from the supplier by sales.
    SUPPLIER_CLAIM = "supplier_claim"


class CaseState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    order_id: str
    kind: CaseKind
    state: CaseState = CaseState.OPEN
    opened_at: datetime
    closed_at: datetime | None = None
    outcome: str | None = None
    #: Why the case was opened, in the words of whoever opened it.
    reason: str = ""
    #: The case's own facts (event, reason code, decision...); no personal data.
    data: dict[str, JsonValue] = {}
    revision: int = 0

    @property
    def is_open(self) -> bool:
        return self.state is CaseState.OPEN
