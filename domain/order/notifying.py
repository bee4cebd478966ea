"""Telling the customer (P3-P5): notices handed to the channel, and what the channel said.

Each notice is made with the event that causes it (`OrderBase._record`,
domain/notices.py) and written to the outbox with it. Once written, the workflow
hands it to the channel in the background (`follow_ups`): the member of staff whose
action caused it is not kept waiting for a text message. The channel's answer comes
back here: a message it could not deliver (refused, or still failing after the last
attempt) becomes customer service's `notify_customer` task. The order does not
close while a notice is out.
"""

from __future__ import annotations

from datetime import datetime

from domain import summaries
from domain.events import EventKind
from domain.notifications import NoticesSent, SendNotices
from domain.order.base import OrderBase
from domain.order.decision import Decision
from domain.tasks import TaskKind


class Notifying(OrderBase):
    def follow_ups(self) -> list[SendNotices]:
        """What to ask outside in the background, once written: the notices to send."""
        if not self._to_send:
            return []
        ids, self._to_send = self._to_send, []
        return [SendNotices(order_id=self.order_id, notification_ids=ids)]

    def notices_answer(self, answer: NoticesSent, now: datetime) -> Decision:
        """The channel's answer; a message it could not deliver goes to customer service."""
        self._begin(now)
        state = self.state
        answered = set(answer.sent) | {h.notification_id for h in answer.handed_off}
        state.sending = [n for n in state.sending if n not in answered]
        for failed in answer.handed_off:
            task = self._open_task(
                TaskKind.NOTIFY_CUSTOMER,
                summary=summaries.notify_customer(failed.template, failed.channel),
            )
            self._record(
                EventKind.NOTICE_HANDED_OFF,
                task=task,
                data={
                    "notification_id": failed.notification_id,
                    "template": failed.template,
                    "channel": failed.channel,
                    "reason": failed.reason[:300],
                },
            )
        return self._finish(None)
