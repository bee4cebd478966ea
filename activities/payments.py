"""Refunds through the payment gateway, booked in the ledger exactly once (P4.2, P5).

The gateway's failure modes (activities/adapters.py) map to what the order does:

- `Declined` (`GatewayDeclined`): `issue_refund` answers `issued=False` with the reason;
  the order gives finance a task to refund by hand. Nothing is booked.
- `Temporary` and `Unknown` (and any other exception) propagate: the activity fails and
  Temporal retries it (`workflows.retries.GATEWAY_RETRY`) with the same refund id, which
  the gateway honours, so a refund whose answer was lost is paid and booked once. When
  the retries run out, the workflow treats the gateway as unreachable and finance takes
  the refund over (and, after an `Unknown`, checks with the provider before paying).
- `find_capture` maps nothing: a failure is retried the same way, then finance verifies
  the reported duplicate itself (P5.1).
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.faults import NO_FAULTS, FaultPlan
from activities.payment_gateway import GatewayDeclined, PaymentGateway
from db import ledger
from db.engine import Database
from db.ledger import HowPaid
from domain.actors import SYSTEM_ACTOR
from domain.ledger import (
    CaptureAnswer,
    CaptureQuery,
    LedgerEntry,
    LedgerKind,
    RefundOutcome,
    RefundRequest,
    paid_total,
    refunded_total,
)
from domain.money import ZERO
from domain.order.details import PaymentMethod


class PaymentActivities:
    def __init__(
        self, db: Database, gateway: PaymentGateway, faults: FaultPlan = NO_FAULTS
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.faults = faults

    @activity.defn
    def find_capture(self, query: CaptureQuery) -> CaptureAnswer:
        """Ask the gateway what it captured under a transaction for this order (P5.1, a
        reported duplicate): another order's transaction is no capture of this one."""
        captured = self.gateway.captured(query.transaction_id, query.order_id)
        return CaptureAnswer(
            transaction_id=query.transaction_id, event_id=query.event_id, captured=captured
        )

    @activity.defn
    def issue_refund(self, request: RefundRequest) -> RefundOutcome:
        """Pay a refund (or compensation) out through the gateway and book it, idempotently.

        The gateway is idempotent on the refund id and the ledger row is keyed by it, so
        an attempt that dies after either step is finished by the next attempt without
        paying or booking twice.
        """
        with self.db.read() as conn:
            entries = ledger.entries_of(conn, request.order_id)
            booked = [e for e in entries if e.entry_id == request.refund_id]
            if not booked:
                # Before any money leaves: a refund past what was paid is refused unpaid.
                self._check_within_paid(entries, request)
                paid_how = ledger.how_paid(conn, request.order_id)
        if booked:
            return RefundOutcome(
                refund_id=request.refund_id, issued=True, reference=booked[0].reference
            )
        doubt = self._unverified(request, entries, paid_how)
        if doubt is not None:
            # Nothing leaves on the platform's word alone: finance checks with the provider.
            return RefundOutcome(refund_id=request.refund_id, issued=False, failure=doubt)
        try:
            reference = self.gateway.refund(
                request.refund_id, request.order_id, request.amount, request.transaction_id
            )
        except GatewayDeclined as declined:
            return RefundOutcome(refund_id=request.refund_id, issued=False, failure=str(declined))
        with self.db.write() as conn:
            ledger.lock_order(conn, request.order_id)
            # Again under the order's lock: a refund booked meanwhile counts too.
            self._check_within_paid(ledger.entries_of(conn, request.order_id), request)
            ledger.book(
                conn,
                [
                    LedgerEntry(
                        entry_id=request.refund_id,
                        order_id=request.order_id,
                        kind=request.kind,
                        amount=-request.amount,
                        at=datetime.now(UTC),
                        actor_id=SYSTEM_ACTOR.staff_id,
                        actor_department=SYSTEM_ACTOR.department.value,
                        case_id=request.case_id,
                        reference=reference,
                        note=request.reason[:500],
                    )
                ],
            )
        self.faults.check("issue_refund.after_commit")
        return RefundOutcome(refund_id=request.refund_id, issued=True, reference=reference)

    def _unverified(
        self, request: RefundRequest, entries: list[LedgerEntry], paid_how: HowPaid | None
    ) -> str | None:
        """Why a refund may not leave through the gateway on its own, or None when it may.

        The ledger books what the platform reports paid (at intake, or by a payment event),
        and a leaked platform token could report any sum under any transaction. So money
        goes back only within what the gateway itself confirms it captured for this order
        (under the transactions the order's payments were booked under), and cash on
        delivery only once the carrier has delivered (and so collected) it, within the
        order's total (P2.1, P5). Compensation (P5.2) is a person's decision, capped by the
        order: not checked here.
        """
        if request.kind is not LedgerKind.REFUND:
            return None
        if paid_how is None:
            return "the order is not in the read model: finance checks the payment first"
        after = refunded_total(entries) + request.amount
        if paid_how.method is PaymentMethod.CASH_ON_DELIVERY:
            if not paid_how.delivered:
                return (
                    "cash on delivery never collected (the order was not delivered): "
                    "finance checks what was paid"
                )
            if after > paid_how.total:
                return (
                    f"refunds of {after} would pass the order's total {paid_how.total} "
                    "(cash on delivery): finance checks what was paid"
                )
            return None
        transactions = sorted(
            {e.reference for e in entries if e.kind is LedgerKind.PAYMENT and e.reference}
        )
        verified = sum(
            (self.gateway.captured(t, request.order_id) or ZERO for t in transactions), ZERO
        )
        if after > verified:
            return (
                f"the gateway confirms {verified} captured for this order; refunds of {after} "
                "would pass it: finance checks with the provider what was paid"
            )
        return None

    @staticmethod
    def _check_within_paid(entries: list[LedgerEntry], request: RefundRequest) -> None:
        """A refund never takes the order's refunds past what it was paid. The workflow never
        asks for that (its own cap); refusing here keeps the money and the books right even
        if it one day did. Compensation (P5.2) is no refund of what was paid: not capped
        here (the order caps it at its total, P5.2)."""
        if request.kind is not LedgerKind.REFUND:
            return
        paid, refunded = paid_total(entries), refunded_total(entries)
        if refunded + request.amount > paid:
            raise ApplicationError(
                f"refund {request.refund_id} of {request.amount} exceeds what was paid "
                f"({paid} paid, {refunded} refunded)",
                type="RefundExceedsPaid",
                non_retryable=True,
            )
