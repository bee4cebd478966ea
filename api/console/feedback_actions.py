"""The actions the console offers on customer feedback (P7.2 replies, P7.3 results), each
run through the API route that serves it, with the request model that route validates.

Which department may take them is the role matrix's answer for that route
(`api/roles.py`); the feedback workflow's validators check it again and refuse any
action on feedback already resolved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from api.console.endpoints import Endpoint, admits_route, endpoint_of
from api.feedback_schemas import FeedbackPublic
from api.routes import feedback
from domain.actors import Department
from domain.feedback import FeedbackReplyRequest, FeedbackResolveRequest, FeedbackState


@dataclass(frozen=True)
class FeedbackAction:
    #: The form's name, its catalogue key (`action.<name>`) and its URL segment.
    name: str
    body: type[BaseModel]
    #: The API route function that runs it: (feedback id, body, staff, state, key).
    route: Callable[..., Awaitable[Any]]

    @property
    def endpoint(self) -> Endpoint:
        return endpoint_of(self.route)

    def admits(self, department: Department) -> bool:
        return admits_route(department, self.route)


#: In the order the forms appear: answer the customer, then record the result.
FEEDBACK_ACTIONS: dict[str, FeedbackAction] = {
    a.name: a
    for a in (
        FeedbackAction("reply_feedback", FeedbackReplyRequest, feedback.reply),
        FeedbackAction("resolve_feedback", FeedbackResolveRequest, feedback.resolve),
    )
}


def feedback_offers(item: FeedbackPublic, department: Department) -> list[FeedbackAction]:
    """The forms this department gets on this feedback now: none once it is resolved."""
    if item.state is FeedbackState.RESOLVED:
        return []
    return [a for a in FEEDBACK_ACTIONS.values() if a.admits(department)]
