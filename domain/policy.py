"""The settings the policy leaves open: deadlines (SLAs), windows and thresholds.

`policy.md` proposes defaults (its last table); every one is a setting so that
production can tune them and tests can shorten them to seconds. The workflow
receives a `PolicySettings` in its input when the order is created and keeps it
for the order's life, so a change of settings never alters a running order's
history.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.tasks import TaskKind


class PolicySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # P3.1: orders above this amount count as risky and need phone verification.
    risk_amount_threshold: Decimal = Field(default=Decimal("5000.00"), ge=0)

    # Deadlines, from the SLA table of policy.md.
    correction_deadline: timedelta = timedelta(hours=2)  # P2.2 (intake itself: automatic)
    review_deadline: timedelta = timedelta(hours=2)  # P3.1
    stock_deadline: timedelta = timedelta(minutes=30)  # P3.2
    pack_deadline: timedelta = timedelta(hours=24)  # P3.3
    dispatch_deadline: timedelta = timedelta(hours=12)  # P3.4
    delivery_deadline: timedelta = timedelta(days=2)  # P3.4, the promised date
    change_review_deadline: timedelta = timedelta(hours=2)  # P4
    first_reply_deadline: timedelta = timedelta(hours=24)  # P7.2
    follow_up_deadline: timedelta = timedelta(hours=24)  # P5 follow-ups: finance, logistics, sales
    inspection_deadline: timedelta = timedelta(hours=48)  # P5.3 warehouse inspection
    # P1.2 service orders: logistics agrees a visit with the customer within this long of
    # the approval (or of a complaint asking for a rework visit).
    appointment_deadline: timedelta = timedelta(hours=24)

    # P5.3 windows after delivery.
    return_window: timedelta = timedelta(days=7)
    exchange_window: timedelta = timedelta(days=15)
    # P2.1: an order paid before it ships (online, bank transfer) that is still unpaid this
    # long after intake is cancelled (a setting: the policy leaves it open).
    payment_deadline: timedelta = timedelta(hours=24)
    # P2.1: the carrier remits cash collected on delivery within this long of the delivery;
    # later, finance reconciles it.
    remittance_deadline: timedelta = timedelta(days=3)
    # P5.1: an unpaid order whose payment failed is cancelled after this long.
    unpaid_payment_deadline: timedelta = timedelta(hours=24)
    # P1.2: the work of a service order done and recorded, the customer confirms it; without
    # a word from the customer for this long, it counts as confirmed.
    service_confirmation_window: timedelta = timedelta(days=3)

    # A reminder goes out at this fraction of a task's deadline; escalation at the deadline.
    reminder_fraction: float = Field(default=0.75, gt=0, lt=1)

    # Limits on what one order records, so that no one can grow it without bound (a flood
    # of feed events or claims): not the policy's, the engine's (Temporal ends a workflow
    # whose history passes 51,200 events or 50 MB).
    #: Tracking events, and payment events, recorded per order: past it a feed event that
    #: would change nothing is dropped (counted; the first drop is recorded and alerts).
    feed_event_limit: int = Field(default=200, ge=1)
    #: Claims, releases and hand-overs of one task: past it the claim is refused.
    claim_limit: int = Field(default=50, ge=1)
    #: A run of the order's workflow continues as new once its history has this many
    #: events (or sooner, when Temporal suggests it): the order carries on in a fresh run.
    history_event_budget: int = Field(default=2_000, ge=200)

    def deadline_for(self, kind: TaskKind) -> timedelta:
        return getattr(self, TASK_DEADLINE_SETTING[kind])  # type: ignore[no-any-return]

    @property
    def after_sales_window(self) -> timedelta:
        """The order stays open until both the return and the exchange window have closed."""
        return max(self.return_window, self.exchange_window)


#: Which setting gives each kind of task its deadline.
TASK_DEADLINE_SETTING: dict[TaskKind, str] = {
    TaskKind.CORRECT_ORDER: "correction_deadline",
    TaskKind.REVIEW: "review_deadline",
    TaskKind.NOTIFY_CUSTOMER: "first_reply_deadline",
    TaskKind.RECORD_BACKORDER: "stock_deadline",
    TaskKind.INFORM_BACKORDER: "first_reply_deadline",
    TaskKind.PACK: "pack_deadline",
    TaskKind.DISPATCH: "dispatch_deadline",
    TaskKind.DELIVER: "delivery_deadline",
    TaskKind.REVIEW_CHANGE: "change_review_deadline",
    TaskKind.REPLAN_DELIVERY: "follow_up_deadline",
    TaskKind.PUT_BACK: "follow_up_deadline",
    TaskKind.EXPLAIN_REJECTION: "first_reply_deadline",
    TaskKind.MANUAL_REFUND: "follow_up_deadline",
    TaskKind.CONTACT_CUSTOMER: "first_reply_deadline",
    TaskKind.ACCOUNT_PAYMENT: "follow_up_deadline",
    TaskKind.RECONCILE_REMITTANCE: "follow_up_deadline",
    TaskKind.SEND_PAYMENT_REQUEST: "first_reply_deadline",
    TaskKind.HANDLE_LOGISTICS_EXCEPTION: "first_reply_deadline",
    TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION: "follow_up_deadline",
    TaskKind.REVIEW_RETURN: "change_review_deadline",
    TaskKind.INSPECT_RETURN: "inspection_deadline",
    TaskKind.SUPPLIER_FOLLOW_UP: "follow_up_deadline",
    TaskKind.ADJUST_ACCOUNTS: "follow_up_deadline",
    TaskKind.REPLY_FEEDBACK: "first_reply_deadline",
    TaskKind.SCHEDULE_SERVICE: "appointment_deadline",
    # A visit is due by the end of the window agreed with the customer (given when the task
    # opens); the delivery promise stands in only where no window is known.
    TaskKind.PERFORM_SERVICE: "delivery_deadline",
    # The item's own deadline (OMS_RECTIFICATION_DEADLINE) is given when the task opens.
    TaskKind.RECTIFY: "follow_up_deadline",
}
