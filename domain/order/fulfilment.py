"""P3.2 stock, P3.3 pick and pack, P3.4 dispatch and delivery: one shipment of the order.

A shipment starts from stock confirmation (`_fulfil`) after the review, and again
when the goods change (P4.1), a parcel is reshipped (P5.2) or goods are exchanged
(P5.3): then what the previous shipment held is undone first (`_refulfil`).
"""

from __future__ import annotations

from datetime import datetime

from domain import summaries
from domain.actions import Action, fits_kind
from domain.carriers import BookedShipment, Handover, ShipmentBooking, choose_handover
from domain.cases import CaseKind
from domain.commands import (
    EXCEPTION_EVENTS,
    BackorderCommand,
    DispatchCommand,
    PackCommand,
    StockReplenished,
    TrackingCommand,
    TrackingEventKind,
)
from domain.errors import ActionNotAllowed, PolicyViolation
from domain.events import EventKind
from domain.inventory import Reservation
from domain.order.base import RefusedFeed, decides
from domain.order.decision import Decision, Reply
from domain.order.details import OrderKind
from domain.order.products import CatalogueFacts
from domain.states import OrderStatus
from domain.tasks import TaskKind
from domain.view import Backorder, Shipment

S = OrderStatus

#: Tasks of one shipment: a new shipment (change of goods, reship, exchange) replaces them.
SHIPMENT_TASKS = frozenset(
    {
        TaskKind.RECORD_BACKORDER,
        TaskKind.INFORM_BACKORDER,
        TaskKind.PACK,
        TaskKind.DISPATCH,
        TaskKind.DELIVER,
    }
)


class Fulfilment(CatalogueFacts):
    def _fulfil(self) -> None:
        """P3.2 for goods (stock is reserved first); a service has nothing to pick (P1.2)."""
        if self.state.order.kind is OrderKind.GOODS:
            self._reserve()
            return
        # P1.2: no stock, no carrier: logistics agrees a visit with the customer
        # (domain/order/services.py).
        self._set_status(S.AWAITING_APPOINTMENT)
        self._open_task(TaskKind.SCHEDULE_SERVICE, summary=self._lines_summary())

    def _refulfil(self, reason: str) -> None:
        """Undo what the current shipment holds, then ship anew (P4.1, P5.2, P5.3)."""
        self._move_stock("release")
        self._cancel_tasks(SHIPMENT_TASKS, reason)
        self.state.backorder = None
        self._fulfil()

    def _lines_summary(self) -> summaries.Summary:
        order = self.state.order
        units = sum(line.quantity for line in order.items)
        return summaries.lines(len(order.items), units, order.total)

    # --- P3.2 stock --------------------------------------------------------------------

    @decides
    def stock_answer(self, reservation: Reservation) -> None:
        """The inventory's answer: reserved goods are packed; short ones wait for restock."""
        state = self.state
        if reservation.reservation_key != state.reserving:
            return  # an answer to a reservation the order no longer waits for
        state.reserving = None
        if reservation.reserved:
            state.reservation_key = reservation.reservation_key
            state.reserved = state.order.quantities()
            if state.tasks.find_open(TaskKind.RECORD_BACKORDER) is not None:
                self._cancel_tasks({TaskKind.RECORD_BACKORDER}, "stock arrived")
            state.backorder = None
            self._set_status(S.READY_TO_PACK)
            self._record(
                EventKind.STOCK_RESERVED,
                data={"reservation": reservation.reservation_key, "quantities": state.reserved},
            )
            if state.change_payment is None:
                # P4.1: changed goods that cost more are packed once paid for (ChangePayments).
                self._open_task(TaskKind.PACK, summary=self._lines_summary())
            return
        previous = state.backorder
        self._set_status(S.OUT_OF_STOCK)
        state.backorder = Backorder(
            short=reservation.short,
            reason=previous.reason if previous else None,
            restock_eta=previous.restock_eta if previous else None,
        )
        self._record(EventKind.OUT_OF_STOCK, data={"short": reservation.short})
        # P3.2: the warehouse records why and until when, once per shortage.
        if previous is None and state.tasks.find_open(TaskKind.RECORD_BACKORDER) is None:
            self._open_task(TaskKind.RECORD_BACKORDER, summary=summaries.short(reservation.short))

    @decides
    def restocked(self, signal: StockReplenished) -> None:
        """Stock of a sku the order waits for arrived: try the reservation again (P3.2)."""
        state = self.state
        waiting = state.status is S.OUT_OF_STOCK and state.reserving is None
        if waiting and state.backorder is not None and signal.sku in state.backorder.short:
            self._record(EventKind.STOCK_REPLENISHED)
            self._reserve()

    def check_record_backorder(self, command: BackorderCommand, now: datetime) -> None:
        self._check_step(Action.RECORD_BACKORDER, command.actor)

    @decides
    def record_backorder(self, command: BackorderCommand) -> Reply:
        """P3.2: why stock is short and when it is expected; sales tells the customer."""
        self.check_record_backorder(command, self.now)
        state = self.state
        state.backorder = Backorder(
            short=state.backorder.short if state.backorder else {},
            reason=command.reason,
            restock_eta=command.restock_eta,
        )
        task = state.tasks.find_open(TaskKind.RECORD_BACKORDER)
        closed = self._close_task(task, command.actor, "recorded") if task else {}
        self._record(
            EventKind.BACKORDER_RECORDED,
            actor=command.actor,
            note=command.reason,
            task=task,
            data={"restock_eta": command.restock_eta.isoformat(), **closed},
        )
        # P3.2: "tell sales ... so sales can inform the customer".
        inform = state.tasks.find_open(TaskKind.INFORM_BACKORDER)
        if inform is None:
            inform = self._open_task(
                TaskKind.INFORM_BACKORDER,
                summary=summaries.restock_expected(command.restock_eta),
            )
        return Reply(task_id=inform.task_id)

    # --- P3.3 pick and pack ------------------------------------------------------------

    def check_pack(self, command: PackCommand, now: datetime) -> None:
        state = self.state
        self._check_step(Action.PACK, command.actor)
        owed = state.change_payment
        if owed is not None:
            raise ActionNotAllowed(
                f"the changed goods are packed once the customer paid the {owed.amount} "
                "they cost more (P4.1)",
                status=state.status,
                code="change_payment_due",
                params={"amount": str(owed.amount), "clause": "P4.1"},
            )
        missing = sorted(self._accessories_due() - set(command.accessories))
        if missing:
            raise PolicyViolation(
                f"the package must carry {', '.join(missing)} (P3.3)",
                status=state.status,
                code="accessories_missing",
                params={"missing": list(missing)},
            )

    @decides
    def pack(self, command: PackCommand) -> None:
        """P3.3: picked and packed with its accessories; logistics dispatches it."""
        self.check_pack(command, self.now)
        state = self.state
        state.packages = command.packages
        task = state.tasks.find_open(TaskKind.PACK)
        assert task is not None  # the status says so
        closed = self._close_task(task, command.actor, f"{command.packages} package(s)")
        self._set_status(S.AWAITING_DISPATCH)
        self._record(
            EventKind.PACKED,
            actor=command.actor,
            task=task,
            data={
                "packages": command.packages,
                "accessories": sorted(command.accessories),
                **closed,
            },
        )
        self._open_task(TaskKind.DISPATCH, summary=self._lines_summary())

    # --- P3.4 dispatch and delivery ----------------------------------------------------

    def check_dispatch(self, command: DispatchCommand, now: datetime) -> None:
        self._check_step(Action.DISPATCH, command.actor)
        status = self.state.status
        if command.tracking_number is None and not command.book:
            raise PolicyViolation(
                f"{command.carrier} is not booked by the system: give the tracking number "
                "the carrier gave (P3.4)",
                status=status,
                code="tracking_number_required",
                params={"carrier": command.carrier},
            )
        rule, _ = self._handover_rule()
        overridden = command.handover is not None and command.handover is not rule
        if overridden and not command.handover_reason:
            raise PolicyViolation(
                f"the rule hands this parcel over by {rule}: another way needs a reason (P3.4)",
                status=status,
                code="handover_reason_required",
                params={"rule": rule.value},
            )

    def _handover_rule(self) -> tuple[Handover, str]:
        """P3.4: the way the rule chooses from the address, the wish and the goods' sizes."""
        order = self.state.order
        sizes = [
            product.size_class
            for line in order.items
            if (product := self.state.products.get(line.sku)) is not None
        ]
        return choose_handover(order.shipping.address, order.shipping.handover, sizes)

    @decides
    def dispatch(self, command: DispatchCommand) -> Reply | None:
        """P3.4: handed to the carrier (booked with it first, when the system books it)."""
        self.check_dispatch(command, self.now)
        state = self.state
        rule, why = self._handover_rule()
        if command.handover is not None and command.handover is not rule:
            why = command.handover_reason or why
        command = command.model_copy(
            update={"handover": command.handover or rule, "handover_reason": why}
        )
        if command.tracking_number is not None:
            self._dispatched(command, command.tracking_number, booked=False)
            return None
        # The carrier gives the number: the dispatch waits for the booking's answer.
        state.bookings += 1
        state.dispatching = command
        order = state.order
        self._decision.requests.append(
            ShipmentBooking(
                booking_id=f"{self.order_id}:booking:{state.bookings}",
                order_id=self.order_id,
                carrier=command.carrier,
                method=command.method.value,
                handover=command.handover or rule,
                packages=max(state.packages, 1),
                destination=order.shipping.address or "",
                contact_name=order.shipping.contact_name or order.customer.name or "",
                contact_phone=order.shipping.contact_phone or order.customer.phone or "",
            )
        )
        self._booking_reply = Reply(message=f"booked with {command.carrier}")
        return self._booking_reply

    def booking_answer(self, answer: BookedShipment, now: datetime) -> Decision:
        """P3.4: the carrier booked the shipment (the dispatch is done with its number), or
        did not (recorded; the order stays packed and logistics dispatches again)."""
        self._begin(now)
        state = self.state
        command, state.dispatching = state.dispatching, None
        assert command is not None  # a booking is asked only by a dispatch
        reply = self._booking_reply or Reply()
        if answer.tracking_number is not None:
            self._dispatched(command, answer.tracking_number, booked=True)
            reply.tracking_number = answer.tracking_number
        else:
            failure = (answer.failure or "no answer")[:300]
            self._record(
                EventKind.CARRIER_BOOKING_FAILED,
                actor=command.actor,
                data={
                    "carrier": command.carrier,
                    "booking_id": answer.booking_id,
                    "failure": failure,
                },
            )
            reply.refusal = PolicyViolation(
                f"{command.carrier} did not book the shipment: {failure}",
                status=state.status,
                code="carrier_booking_failed",
                params={"carrier": command.carrier},
            )
        return self._finish(None)

    def _dispatched(self, command: DispatchCommand, tracking_number: str, *, booked: bool) -> None:
        """P3.4: handed to the carrier; the stock leaves the warehouse; delivery is promised."""
        state = self.state
        self._move_stock("ship")
        promised = state.policy.delivery_deadline
        state.shipments.append(
            Shipment(
                carrier=command.carrier,
                method=command.method,
                tracking_number=tracking_number,
                packages=state.packages,
                dispatched_at=self.now,
                promised_by=self.now + promised,
                handover=command.handover,
                handover_reason=command.handover_reason or "",
                booked=booked,
            )
        )
        state.delivered_by = None
        task = state.tasks.find_open(TaskKind.DISPATCH)
        assert task is not None  # the status says so
        closed = self._close_task(task, command.actor, f"{command.carrier} {command.method}")
        self._set_status(S.IN_TRANSIT)
        self._record(
            EventKind.DISPATCHED,
            actor=command.actor,
            task=task,
            data={
                "carrier": command.carrier,
                "method": command.method.value,
                "tracking_number": tracking_number,
                "handover": command.handover.value if command.handover else None,
                "handover_reason": command.handover_reason,
                "booked": booked,
                **closed,
            },
        )
        self._open_task(
            TaskKind.DELIVER,
            summary=summaries.shipment(command.carrier, tracking_number),
            deadline=promised,
        )

    @decides
    def tracking(self, command: TrackingCommand) -> None:
        """P3.4: a carrier's tracking event; P5.2: lost, damaged, delayed open a case."""
        state = self.state
        if not self._feed_allowed(Action.TRACKING, "tracking", command.actor):
            return
        if not fits_kind(Action.TRACKING, state.order.kind):
            # P1.2: a service goes to no carrier; a tracking event for it is dropped, recorded.
            refusal = PolicyViolation(
                "a service order has no shipment to track (P1.2)",
                status=state.status,
                code="not_for_service_orders",
                params={"action": Action.TRACKING.value, "clause": "P1.2"},
            )
            self._record_refused_feed(RefusedFeed("tracking", command.actor, refusal))
            return
        if command.event_id in state.tracking_seen:
            return
        shipment = state.shipment
        moving = state.status is S.IN_TRANSIT and shipment is not None
        # Past the feed limit only what moves the order counts: the delivery, or the first
        # anomaly while no exception case is open (a flood of anomalies opens no more cases).
        decisive = command.event is TrackingEventKind.DELIVERED or (
            command.event in EXCEPTION_EVENTS and not self._open_cases(CaseKind.LOGISTICS_EXCEPTION)
        )
        if not self._within_feed_limit(
            "tracking", len(state.tracking_seen), changes_the_order=moving and decisive
        ):
            return
        state.tracking_seen.add(command.event_id)
        if moving and shipment is not None:
            where = f" · {command.location}" if command.location else ""
            shipment.last_scan = f"{command.event.value}{where} · {self.now:%Y-%m-%d %H:%M} UTC"
        self._record(
            EventKind.TRACKING,
            actor=command.actor,
            note=command.note or "",
            data={
                "event_id": command.event_id,
                "event": command.event.value,
                "location": command.location,
            },
        )
        if not moving or shipment is None:
            return
        if command.event is TrackingEventKind.DELIVERED:
            shipment.delivered_at = self.now
            state.delivered_by = command.actor
            self._delivered()
        elif command.event in EXCEPTION_EVENTS:
            # P5.2: logistics recorded the anomaly; customer service and logistics act on it.
            event = command.event.value
            case = self._open_case(
                CaseKind.LOGISTICS_EXCEPTION,
                command.actor,
                reason=command.note or event,
                data={"event": event, "tracking_number": shipment.tracking_number},
            )
            self._open_task(
                TaskKind.HANDLE_LOGISTICS_EXCEPTION,
                summary=summaries.parcel_inform(event),
                case_id=case.case_id,
            )
            self._open_task(
                TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION,
                summary=summaries.parcel_cause(event),
                case_id=case.case_id,
            )

    def _delivered(self) -> None:
        """P3.4 delivered, on time or not; P5.3's return and exchange windows open."""
        state = self.state
        shipment = state.shipment
        task = state.tasks.find_open(TaskKind.DELIVER)
        assert shipment is not None and shipment.delivered_at is not None
        assert task is not None and state.delivered_by is not None
        closed = self._close_task(task, state.delivered_by, "delivered")
        self._set_status(S.DELIVERED)
        state.window_closed = False
        self._expect_remittance()
        self._record(
            EventKind.DELIVERED,
            actor=state.delivered_by,
            task=task,
            data={"on_time": shipment.delivered_at <= shipment.promised_by, **closed},
        )
