"""What staff and the platform send: request bodies, and the commands the workflow receives.

A request body (`XRequest`) is what the API accepts; the command the workflow
gets is the same fields plus the actor who sent it (`XCommand`), so the body and
the workflow's input can never drift apart. Bodies are strict: an unknown field
is refused, lengths are bounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from domain.actors import Actor
from domain.carriers import Handover
from domain.catalogue import Product
from domain.money import Money
from domain.order.details import (
    SKU_PATTERN,
    Customer,
    OrderItem,
    Payment,
    Shipping,
    Strict,
    check_lines_fit,
)
from domain.review_checklist import PhoneCall, PointAnswer, ReviewPoint
from domain.states import OrderStatus

Note = str  # a free text remark; bounded where it is a field


class WithActor(BaseModel):
    actor: Actor


class AddedFields(BaseModel):
    """A command that gained optional fields after a release: unset, they are left out of
    what is sent, so that the workers of an earlier release, whose orders finish on them
    (workflows/releases.py), still read the command (their models refuse unknown fields)
    and its signature (domain/trust.py) covers the same body on both sides."""

    #: The fields added since the first versioned release, left out while None.
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _leave_out_unset_additions(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self.ADDED_FIELDS:
                if data.get(name) is None:
                    data.pop(name, None)
        return data


# --- P2.2 intake ------------------------------------------------------------------------------


class ReceiveCommand(WithActor):
    """The platform's hand-over of an order, sent with the start of its workflow."""

    #: Hash of the request body: the same order id with another body is refused.
    fingerprint: str


class Received(BaseModel):
    """The order's status once intake validated and recorded it; `first` is False when the
    same order was handed over before (an idempotent repeat)."""

    order_id: str
    status: OrderStatus
    first: bool


# --- P2.2 intake correction ------------------------------------------------------------------


class CorrectionRequest(Strict):
    """Replace the faulty parts of an order that is `needs_correction`."""

    customer: Customer | None = None
    items: Annotated[list[OrderItem], AfterValidator(check_lines_fit)] | None = Field(
        default=None, min_length=1, max_length=200
    )
    shipping: Shipping | None = None
    payment: Payment | None = None
    note: str = Field(default="", max_length=1000)


class CorrectionCommand(CorrectionRequest, WithActor, AddedFields):
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = ("products",)  # release r3

    #: The catalogue's products the corrected order names, read by the API (P3.1): the
    #: order is checked again against them.
    products: list[Product] | None = None


# --- P3.1 review -----------------------------------------------------------------------------


class RejectionReason(StrEnum):
    """Why sales rejected an order (P3.1): what sales explains to the customer."""

    CUSTOMER_NOT_ELIGIBLE = "customer_not_eligible"
    GOODS_NOT_ALLOWED = "goods_not_allowed"
    PRICE_INACCURATE = "price_inaccurate"
    OTHER = "other"


class ReviewRequest(Strict, AddedFields):
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = (  # release r3
        "reason_code",
        "checks_done",
        "checklist",
        "phone_call",
    )

    approved: bool
    note: str = Field(default="", max_length=1000)
    phone_verified: bool | None = None
    #: On a rejection: the reason sales explains to the customer (P3.1).
    reason_code: RejectionReason | None = None
    #: P3.1 legality: the checks of restricted products the reviewer carried out (each
    #: product's `required_check`, e.g. "age_verified"); an approval needs every one.
    checks_done: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=20
    )
    #: P3.1: the reviewer's answer to each point of the review's checklist (the order's
    #: `review_findings` say what the system found for each).
    checklist: list[PointAnswer] | None = Field(default=None, max_length=len(ReviewPoint))
    #: P3.1: the phone verification, when and with what outcome (`confirmed` verifies).
    phone_call: PhoneCall | None = None

    @model_validator(mode="after")
    def _each_point_once(self) -> ReviewRequest:
        points = [answer.point for answer in self.checklist or []]
        if len(set(points)) != len(points):
            raise ValueError("the checklist answers each point once")
        return self


class ReviewCommand(ReviewRequest, WithActor):
    pass


# --- P3.2 stock ------------------------------------------------------------------------------


class BackorderRequest(Strict):
    """The warehouse's record of a shortage: why, and when stock is expected (P3.2)."""

    reason: str = Field(min_length=1, max_length=500)
    restock_eta: datetime


class BackorderCommand(BackorderRequest, WithActor):
    pass


class ReceiptRequest(Strict):
    quantity: int = Field(ge=1, le=1_000_000)
    note: str = Field(default="", max_length=500)


class InventoryLevelRequest(Strict):
    on_hand: int = Field(ge=0, le=100_000_000)
    name: str | None = Field(default=None, max_length=200)


class StockReplenished(BaseModel):
    """Signal to a waiting order: stock of this sku arrived, try the reservation again."""

    sku: str
    receipt_id: str


# --- P3.3 pack, P3.4 dispatch and tracking ----------------------------------------------------


class PackRequest(Strict):
    packages: int = Field(ge=1, le=100)
    accessories: list[str] = Field(default_factory=list, max_length=20)


class PackCommand(PackRequest, WithActor):
    pass


class DeliveryMethod(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"


class DispatchRequest(Strict, AddedFields):
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = (  # release r3
        "tracking_number",
        "handover",
        "handover_reason",
    )

    carrier: str = Field(min_length=1, max_length=100)
    method: DeliveryMethod
    #: The number logistics was given; left out for a carrier the system books (the
    #: carrier's own number is used, P3.4).
    tracking_number: str | None = Field(default=None, min_length=1, max_length=100)
    #: P3.4: courier pick-up or the distribution centre. Left out, the rule decides
    #: (domain.carriers.choose_handover); another choice than the rule's needs a reason.
    handover: Handover | None = None
    handover_reason: str | None = Field(default=None, min_length=1, max_length=500)


class DispatchCommand(DispatchRequest, WithActor):
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = (*DispatchRequest.ADDED_FIELDS, "book")

    #: The API's word that the system books this carrier (`OMS_CARRIERS`).
    book: bool | None = None


class TrackingEventKind(StrEnum):
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    LOST = "lost"
    DAMAGED = "damaged"
    DELAYED = "delayed"


EXCEPTION_EVENTS = frozenset(
    {TrackingEventKind.LOST, TrackingEventKind.DAMAGED, TrackingEventKind.DELAYED}
)


class TrackingRequest(Strict):
    event_id: str = Field(min_length=1, max_length=100)
    event: TrackingEventKind
    location: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=500)


class TrackingCommand(TrackingRequest, WithActor):
    pass


# --- tasks -----------------------------------------------------------------------------------


class TaskNoteRequest(Strict):
    note: str = Field(min_length=1, max_length=1000)


class CompleteTaskCommand(TaskNoteRequest, WithActor):
    task_id: str


class ClaimRequest(Strict):
    """Claim a task for yourself, release it (`assignee: null`), or hand it to a colleague."""

    assignee: str | None = Field(default=None, max_length=64)


class ClaimTaskCommand(ClaimRequest, WithActor):
    task_id: str


# --- P4.1 changes, P4.2 cancellation -----------------------------------------------------------


class ChangeRequest(Strict):
    """A customer's change before shipment: address and contact, and/or the goods (P4.1)."""

    shipping: Shipping | None = None
    items: Annotated[list[OrderItem], AfterValidator(check_lines_fit)] | None = Field(
        default=None, min_length=1, max_length=200
    )
    reason: str = Field(min_length=1, max_length=500)
    #: The change corrects our own mistake (wrong goods entered...): it counts against
    #: the order accuracy KPI (P8.2).
    caused_by_error: bool = False

    @model_validator(mode="after")
    def _something_changes(self) -> ChangeRequest:
        if self.shipping is None and self.items is None:
            raise ValueError("a change names new shipping details, new items, or both")
        return self


class ChangeCommand(ChangeRequest, WithActor, AddedFields):
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = ("products",)  # release r3

    #: The catalogue's products the new items name, read by the API (P3.1, P4.1).
    products: list[Product] | None = None


class DecisionRequest(Strict):
    """Customer service's decision on a request (a change, a return)."""

    approved: bool
    reason: str = Field(default="", max_length=500)


class DecideChangeCommand(DecisionRequest, WithActor):
    case_id: str


class CancelRequest(Strict):
    """The customer's reason, confirmed by customer service (P4.2)."""

    reason: str = Field(min_length=1, max_length=500)


class CancelCommand(CancelRequest, WithActor):
    pass


# --- P5.1 payment exceptions ------------------------------------------------------------------


class PaymentEventKind(StrEnum):
    FAILED = "failed"
    DUPLICATE = "duplicate"
    #: Added to the contract: the payment of an unpaid order went through.
    SUCCEEDED = "succeeded"
    #: Cash on delivery: the carrier handed over what it collected (P2.1), after delivery.
    REMITTED = "remitted"


class PaymentEventRequest(Strict):
    event_id: str = Field(min_length=1, max_length=100)
    kind: PaymentEventKind
    amount: Money
    transaction_id: str = Field(min_length=1, max_length=100)


class PaymentEventCommand(PaymentEventRequest, WithActor):
    pass


class CompleteRefundRequest(Strict):
    """Finance paid a refund out by hand after the gateway refused it."""

    reference: str = Field(min_length=1, max_length=100)
    note: str = Field(default="", max_length=500)


class CompleteRefundCommand(CompleteRefundRequest, WithActor):
    refund_id: str


# --- P5.2 logistics exceptions ----------------------------------------------------------------


class Resolution(StrEnum):
    RESHIP = "reship"
    REFUND = "refund"
    NONE = "none"


class ExceptionDecisionRequest(Strict):
    """Customer service informed the customer and decides: compensation, reship or refund."""

    resolution: Resolution
    compensation: Money = Decimal("0.00")
    note: str = Field(default="", max_length=500)


class ExceptionDecisionCommand(ExceptionDecisionRequest, WithActor):
    case_id: str


class CauseRequest(Strict):
    """Logistics' investigation: what went wrong and what changes so it does not recur."""

    cause: str = Field(min_length=1, max_length=500)
    corrective_action: str = Field(min_length=1, max_length=500)


class CauseCommand(CauseRequest, WithActor):
    case_id: str


# --- P5.3 returns and exchanges ---------------------------------------------------------------


class ReturnKind(StrEnum):
    RETURN = "return"
    EXCHANGE = "exchange"


class ReasonCode(StrEnum):
    QUALITY = "quality"
    WRONG_ITEM = "wrong_item"
    DAMAGED = "damaged"
    OTHER = "other"


class ReturnLine(Strict):
    """Units of one line the customer sends back (P5.3)."""

    sku: str = Field(pattern=SKU_PATTERN)
    quantity: int = Field(ge=1, le=10_000)


class ReturnRequest(Strict, AddedFields):
    ADDED_FIELDS: ClassVar[tuple[str, ...]] = ("lines",)  # release r3

    kind: ReturnKind
    reason: str = Field(min_length=1, max_length=500)
    reason_code: ReasonCode = ReasonCode.QUALITY
    #: P5.3: what comes back, per line and quantity; none: every unit not yet returned.
    #: An exchange is of the whole order.
    lines: list[ReturnLine] | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _each_line_once(self) -> ReturnRequest:
        skus = [line.sku for line in self.lines or []]
        if len(set(skus)) != len(skus):
            raise ValueError("each sku is returned on one line")
        return self


class ReturnCommand(ReturnRequest, WithActor):
    pass


class DecideReturnCommand(DecisionRequest, WithActor):
    case_id: str


class InspectionRequest(Strict):
    """The warehouse received the goods back and inspected them (P5.3)."""

    quality_confirmed: bool
    #: Book the returned units back into stock; otherwise they are written off.
    restock: bool = False
    note: str = Field(default="", max_length=500)


class InspectionCommand(InspectionRequest, WithActor):
    case_id: str


class ClaimStep(StrEnum):
    """P5.3: where sales' claim on the supplier stands (it starts `claimed`)."""

    AGREED = "agreed"
    CREDITED = "credited"
    DECLINED = "declined"


class SupplierClaimRequest(Strict):
    """Sales records the supplier's answer to a claim for goods with a quality problem."""

    step: ClaimStep
    #: `agreed`: what the supplier agreed to credit.
    amount: Money | None = None
    #: `credited`: the supplier's credit note.
    reference: str | None = Field(default=None, min_length=1, max_length=100)
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _what_each_step_needs(self) -> SupplierClaimRequest:
        if self.step is ClaimStep.AGREED and not self.amount:
            raise ValueError("an agreed claim names the amount the supplier credits")
        if self.step is ClaimStep.CREDITED and not self.reference:
            raise ValueError("a credited claim names the supplier's credit note (reference)")
        return self


class SupplierClaimCommand(SupplierClaimRequest, WithActor):
    case_id: str


# --- P1.2 service orders ----------------------------------------------------------------------


def _in_utc_when_naive(at: datetime) -> datetime:
    """A time sent without its zone is read as UTC: the order compares it with its own clock."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


#: A moment the order compares with `now` (a visit's window, the work's time).
Moment = Annotated[datetime, AfterValidator(_in_utc_when_naive)]


class AppointmentRequest(Strict):
    """The visit logistics agreed with the customer (P1.2): when, where, and who does it."""

    window_start: Moment
    window_end: Moment
    #: Who will do the work: the technician's name.
    technician: str = Field(min_length=1, max_length=100)
    #: Where, when not the order's shipping address (the default).
    address: str | None = Field(default=None, min_length=1, max_length=500)
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _window_is_a_window(self) -> AppointmentRequest:
        if self.window_end <= self.window_start:
            raise ValueError("the window ends after it starts")
        return self


class AppointmentCommand(AppointmentRequest, WithActor):
    pass


class ServiceWorkRequest(Strict):
    """The work done on site, as the technician records it (P1.2, P6.1)."""

    technician: str = Field(min_length=1, max_length=100)
    #: What was done.
    work: str = Field(min_length=1, max_length=1000)
    #: When it was done; now, when not given.
    done_at: Moment | None = None


class ServiceWorkCommand(ServiceWorkRequest, WithActor):
    pass


class ServiceConfirmationRequest(Strict):
    """The customer confirms the service was done (P1.2), told to customer service or the
    platform."""

    note: str = Field(default="", max_length=500)


class ServiceConfirmationCommand(ServiceConfirmationRequest, WithActor):
    pass


class ComplaintResolution(StrEnum):
    """What a complaint about a service comes to: the work done again, or the money back."""

    REWORK = "rework"
    REFUND = "refund"


class ServiceComplaintRequest(Strict):
    """Customer service's decision on a complaint about a service (P1.2, P5.3): a rework
    visit, or a refund instead of a return of goods."""

    resolution: ComplaintResolution
    reason: str = Field(min_length=1, max_length=500)
    note: str = Field(default="", max_length=500)


class ServiceComplaintCommand(ServiceComplaintRequest, WithActor):
    pass


# --- results ---------------------------------------------------------------------------------


class ActionResult(BaseModel):
    """What every accepted action answers: the order's status once the workflow applied it."""

    model_config = ConfigDict(extra="forbid")

    order_id: str
    status: OrderStatus
    message: str = ""
    task_id: str | None = None
    case_id: str | None = None
    refund_id: str | None = None
    #: The carrier's tracking number, when the system booked the shipment (P3.4).
    tracking_number: str | None = None
