"""Customer feedback (P7.2, P7.3) and satisfaction ratings (P6.3, P8.2).

A piece of feedback (an inquiry, a complaint or praise) arrives through a channel
(online chat, hotline, email), linked to an order or not. Each one opens a
customer-service task whose deadline is the first reply (P7.2, default 24 h);
the first reply closes that task, further replies are recorded, and the final
result is recorded when customer service resolves it (P7.3). A customer rates an
order 1-5 once it has been delivered.

Who may do what:
- intake (`POST /feedback`): the platform (the chat, hotline and email systems hand
  feedback over) and customer service (an agent logs a call or a letter);
- replies, resolution and claiming the task: customer service (P7.2);
- ratings: the platform (the customer rates in the app) and customer service (a
  rating given on the phone).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor, Department
from domain.errors import ActionNotAllowed, NotPermitted
from domain.order.details import ORDER_ID_PATTERN, Strict
from domain.states import OrderStatus
from domain.tasks import Task

#: Feedback ids travel in workflow ids and URLs: the same safe alphabet as order ids.
FEEDBACK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class FeedbackKind(StrEnum):
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    PRAISE = "praise"


class Channel(StrEnum):
    """P7.2: where the customer spoke to us."""

    ONLINE = "online"
    HOTLINE = "hotline"
    EMAIL = "email"


class FeedbackState(StrEnum):
    OPEN = "open"  # waiting for the first reply
    REPLIED = "replied"  # answered, not yet closed with a result
    RESOLVED = "resolved"  # the result is recorded (P7.3)


class FeedbackOutcome(StrEnum):
    """What came of the feedback, the part of the result that is counted (P7.3 summaries)."""

    ANSWERED = "answered"  # an inquiry answered
    FIXED = "fixed"  # the customer's problem was put right
    COMPENSATED = "compensated"  # put right with compensation under company rules
    REFERRED = "referred"  # passed to the departments concerned (P3.5)
    NO_ACTION = "no_action"  # praise noted, or nothing could or needed to be done


class FeedbackEventKind(StrEnum):
    RECEIVED = "received"
    REPLIED = "replied"
    RESOLVED = "resolved"
    TASK_CLAIMED = "task_claimed"
    TASK_REMINDED = "task_reminded"
    TASK_OVERDUE = "task_overdue"
    TASK_ESCALATED = "task_escalated"
    #: P7.2: the channel could not deliver a reply; customer service answers another way.
    REPLY_NOT_DELIVERED = "reply_not_delivered"


#: Departments that may hand feedback over, handle it, and record a rating.
INTAKE_DEPARTMENTS = frozenset({Department.PLATFORM, Department.CUSTOMER_SERVICE})
HANDLING_DEPARTMENTS = frozenset({Department.CUSTOMER_SERVICE})
RATING_DEPARTMENTS = frozenset({Department.PLATFORM, Department.CUSTOMER_SERVICE})

#: An order can be rated once the customer has it: delivered, or closed after delivery.
RATEABLE_STATUSES = frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.RETURNED})


def feedback_workflow_id(feedback_id: str) -> str:
    """The business key of a piece of feedback (architecture rule 1)."""
    return f"feedback-{feedback_id}"


# --- what the channels and staff send ---------------------------------------------------------


class FeedbackRequest(Strict):
    """The body of `POST /api/v1/feedback`.

    `feedback_id` is the channel's own id for the message (a chat session, a call, an
    email): sending the same id again returns the feedback already recorded.
    """

    feedback_id: str | None = Field(default=None, pattern=FEEDBACK_ID_PATTERN)
    kind: FeedbackKind
    channel: Channel
    customer_id: str = Field(min_length=1, max_length=64)
    order_id: str | None = Field(default=None, pattern=ORDER_ID_PATTERN)
    subject: str = Field(default="", max_length=200)
    message: str = Field(min_length=1, max_length=4000)


class FeedbackReplyRequest(Strict):
    message: str = Field(min_length=1, max_length=4000)


class FeedbackResolveRequest(Strict):
    """P7.3: the final result of the feedback, and who it was passed to (P3.5)."""

    outcome: FeedbackOutcome
    result: str = Field(min_length=1, max_length=2000)
    referred_to: list[Department] = Field(default_factory=list, max_length=8)


class FeedbackReplyCommand(FeedbackReplyRequest):
    actor: Actor


class FeedbackResolveCommand(FeedbackResolveRequest):
    actor: Actor


class RatingRequest(Strict):
    """A customer's satisfaction with an order, 1 (very unhappy) to 5 (very happy)."""

    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)
    channel: Channel = Channel.ONLINE


# --- what the feedback workflow keeps -----------------------------------------------------------


class FeedbackReply(BaseModel):
    seq: int
    at: datetime
    actor: Actor
    message: str


class FeedbackView(BaseModel):
    """One piece of feedback as the workflow holds it and the read model mirrors it."""

    model_config = ConfigDict(extra="forbid")

    feedback_id: str
    kind: FeedbackKind
    channel: Channel
    customer_id: str
    order_id: str | None = None
    subject: str = ""
    message: str
    state: FeedbackState = FeedbackState.OPEN
    received_at: datetime
    received_by: Actor
    first_reply_due_at: datetime
    first_reply_at: datetime | None = None
    replies: list[FeedbackReply] = []
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: FeedbackOutcome | None = None
    result: str | None = None
    referred_to: list[Department] = []
    task: Task | None = None


class FeedbackEvent(BaseModel):
    """The feedback's own record: received, replies, result, and its task's deadline events."""

    seq: int
    at: datetime
    kind: FeedbackEventKind
    actor: Actor
    note: str = ""
    task_id: str | None = None
    data: dict[str, str | int | bool | None] = {}


class FeedbackResult(BaseModel):
    """What every accepted action on feedback answers."""

    feedback_id: str
    state: FeedbackState
    task_id: str | None = None
    message: str = ""


# --- the rules ------------------------------------------------------------------------------------


def check_handler(department: Department) -> None:
    if department not in HANDLING_DEPARTMENTS:
        raise NotPermitted(
            f"feedback is handled by customer_service (P7.2), not {department}",
            code="feedback_not_for_department",
            params={"department": department.value},
        )


def check_open(state: FeedbackState) -> None:
    """Replies and the result are recorded until the feedback is resolved, not after."""
    if state is FeedbackState.RESOLVED:
        raise ActionNotAllowed(
            "the feedback is already resolved (P7.3)", status=state.value, code="feedback_resolved"
        )


def check_rateable(status: OrderStatus) -> None:
    """A rating is for an order the customer has received."""
    if status not in RATEABLE_STATUSES:
        raise ActionNotAllowed(
            f"an order can be rated once delivered, not while {status}",
            status=status.value,
            code="rating_before_delivery",
            params={"status": status.value},
        )
