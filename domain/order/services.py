"""P1.2 service orders: a visit agreed with the customer, the work done and recorded on site,
the customer's confirmation, then the after-sales path of delivered goods (P5.3), where a
complaint means a rework visit or a refund instead of a return of goods.

A service holds no stock, goes to no carrier and has no tracking number: the steps of
goods are refused for it (`domain.actions.check_kind`). Logistics, which already goes to
customers' addresses, delivers services: it agrees the visit and does the work.

    approved (P3.1) ──► awaiting_appointment ── appointment ──► service_scheduled
        ── work recorded ──► awaiting_confirmation ── confirmed (or, after
        `service_confirmation_window`, by itself) ──► delivered ── windows over ──► completed
    a complaint (awaiting_confirmation, or delivered within its window):
        rework ──► awaiting_appointment (a new visit) · refund ──► refunded
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import summaries
from domain.actions import Action
from domain.actors import SYSTEM_ACTOR, Actor
from domain.cases import CaseKind
from domain.commands import (
    AppointmentCommand,
    ComplaintResolution,
    ServiceComplaintCommand,
    ServiceConfirmationCommand,
    ServiceWorkCommand,
)
from domain.errors import PolicyViolation
from domain.events import EventKind
from domain.order.base import decides
from domain.order.decision import Reply
from domain.order.fulfilment import Fulfilment
from domain.states import OrderStatus
from domain.tasks import TaskKind
from domain.view import ServiceVisit

S = OrderStatus

#: The tasks of a visit: agree it, do it. A complaint's refund ends them.
SERVICE_TASKS = frozenset({TaskKind.SCHEDULE_SERVICE, TaskKind.PERFORM_SERVICE})
#: A visit's task falls due no sooner than this after it opens (a window about to end).
LEAST_VISIT_DEADLINE = timedelta(minutes=1)
#: A visit is agreed for the coming year at most: its task's deadline is a workflow timer.
FURTHEST_VISIT = timedelta(days=366)


class Services(Fulfilment):
    # --- the visit agreed with the customer ----------------------------------------------

    def check_schedule_service(self, command: AppointmentCommand, now: datetime) -> None:
        state = self.state
        self._check_step(Action.SCHEDULE_SERVICE, command.actor)
        if command.window_end <= now:
            raise PolicyViolation(
                "the visit's window has already ended (P1.2)",
                status=state.status,
                code="appointment_in_the_past",
                params={"clause": "P1.2"},
            )
        if command.window_end - now > FURTHEST_VISIT:
            raise PolicyViolation(
                "a visit is agreed for the coming year at most (P1.2)",
                status=state.status,
                code="appointment_too_far",
                params={"clause": "P1.2"},
            )
        if command.address is None and not (state.order.shipping.address or "").strip():
            raise PolicyViolation(
                "the visit needs an address and the order has none (P1.2)",
                status=state.status,
                code="appointment_needs_address",
                params={"clause": "P1.2"},
            )

    @decides
    def schedule_service(self, command: AppointmentCommand) -> Reply:
        """P1.2: a visit agreed with the customer (or agreed again before it took place)."""
        self.check_schedule_service(command, self.now)
        state = self.state
        rescheduled = state.status is S.SERVICE_SCHEDULED
        visit = ServiceVisit(
            window_start=command.window_start,
            window_end=command.window_end,
            technician=command.technician,
            address=command.address,
            scheduled_at=self.now,
            # A visit after work already done answers a complaint (P5.3).
            rework=any(v.done_at is not None for v in state.visits),
        )
        if rescheduled:
            state.visits[-1] = visit
            self._cancel_tasks({TaskKind.PERFORM_SERVICE}, "the visit was agreed again")
        else:
            state.visits.append(visit)
        task = state.tasks.find_open(TaskKind.SCHEDULE_SERVICE)
        closed = self._close_task(task, command.actor, "visit agreed") if task else {}
        self._set_status(S.SERVICE_SCHEDULED)
        self._record(
            EventKind.APPOINTMENT_SCHEDULED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={
                "window_start": command.window_start.isoformat(),
                "window_end": command.window_end.isoformat(),
                "technician": command.technician,
                # Whether the visit goes elsewhere than the shipping address; never the
                # address itself (the record is read by every department).
                "address_given": command.address is not None,
                "rescheduled": rescheduled,
                "rework": visit.rework,
                **closed,
            },
        )
        # The work is due by the end of the window agreed with the customer.
        perform = self._open_task(
            TaskKind.PERFORM_SERVICE,
            summary=summaries.service_visit(command.window_start, command.window_end),
            deadline=max(command.window_end - self.now, LEAST_VISIT_DEADLINE),
        )
        return Reply(task_id=perform.task_id)

    # --- the work done on site ---------------------------------------------------------

    def check_record_service_work(self, command: ServiceWorkCommand, now: datetime) -> None:
        state = self.state
        self._check_step(Action.RECORD_SERVICE_WORK, command.actor)
        visit = state.visit
        assert visit is not None  # the status says so
        done_at = command.done_at or now
        if done_at > now:
            raise PolicyViolation(
                "work is recorded once it is done, not before (P6.1)",
                status=state.status,
                code="work_done_in_the_future",
                params={"clause": "P6.1"},
            )
        if done_at < visit.scheduled_at:
            # P1.3(3): steps run in order; the visit is agreed before the work is done.
            raise PolicyViolation(
                "the work was done before the visit was agreed (P1.3)",
                status=state.status,
                code="work_before_appointment",
                params={"clause": "P1.3"},
            )

    @decides
    def record_service_work(self, command: ServiceWorkCommand) -> Reply:
        """P1.2: the work done and recorded on site; the customer is asked to confirm it."""
        self.check_record_service_work(command, self.now)
        state = self.state
        visit = state.visit
        assert visit is not None  # checked
        visit.done_at = command.done_at or self.now
        visit.done_by = command.technician
        visit.work = command.work
        visit.recorded_at = self.now
        task = state.tasks.find_open(TaskKind.PERFORM_SERVICE)
        closed = self._close_task(task, command.actor, "work done") if task else {}
        self._set_status(S.AWAITING_CONFIRMATION)
        state.confirmation_due = self.now + state.policy.service_confirmation_window
        self._record(
            EventKind.SERVICE_PERFORMED,
            actor=command.actor,
            note=command.work,
            task=task,
            data={
                "technician": command.technician,
                "done_at": visit.done_at.isoformat(),
                "on_time": visit.done_at <= visit.window_end,
                "rework": visit.rework,
                "confirm_by": state.confirmation_due.isoformat(),
                **closed,
            },
        )
        return Reply(task_id=task.task_id if task else None)

    # --- the customer's confirmation -----------------------------------------------------

    def check_confirm_service(self, command: ServiceConfirmationCommand, now: datetime) -> None:
        self._check_step(Action.CONFIRM_SERVICE, command.actor)

    @decides
    def confirm_service(self, command: ServiceConfirmationCommand) -> None:
        """P1.2: the customer confirms the work; the after-sales windows open (P5.3)."""
        self.check_confirm_service(command, self.now)
        self._service_confirmed(command.actor, command.note, automatic=False)

    def _confirm_when_due(self, now: datetime) -> None:
        """P1.2: no word from the customer within the confirmation window: confirmed."""
        state = self.state
        if state.confirmation_due is None or state.confirmation_due > now:
            return
        state.confirmation_due = None
        if state.status is S.AWAITING_CONFIRMATION and not state.closing:
            window = state.policy.service_confirmation_window
            note = f"no word from the customer within {window} of the work (P1.2)"
            self._service_confirmed(SYSTEM_ACTOR, note, automatic=True)

    def _service_confirmed(self, actor: Actor, note: str, *, automatic: bool) -> None:
        """The service counts as delivered from now: the after-sales path of goods (P5.3)."""
        state = self.state
        visit = state.visit
        assert visit is not None  # the status says so
        visit.confirmed_at = self.now
        visit.confirmed_automatically = automatic
        state.confirmation_due = None
        self._set_status(S.DELIVERED)
        state.window_closed = False
        # P2.1: a service paid in cash on the spot is settled by the remittance, as goods are.
        self._expect_remittance()
        self._record(
            EventKind.SERVICE_CONFIRMED,
            actor=actor,
            note=note,
            data={"automatic": automatic, "rework": visit.rework},
        )

    def _delivered_at(self) -> datetime | None:
        """When the goods were delivered or the service confirmed: P5.3's windows start then."""
        state = self.state
        if state.visits:
            return state.visits[-1].confirmed_at
        shipment = state.shipment
        return shipment.delivered_at if shipment else None

    # --- a complaint: a rework visit or a refund (P5.3 for a service) -------------------------

    def check_service_complaint(self, command: ServiceComplaintCommand, now: datetime) -> None:
        state = self.state
        self._check_step(Action.SERVICE_COMPLAINT, command.actor)
        self._check_not_closing()
        confirmed = self._delivered_at()
        if state.status is not S.DELIVERED or confirmed is None:
            return  # not confirmed yet: the customer complains instead of confirming
        # A refund stands in for a return, a rework visit for an exchange: their windows.
        policy = state.policy
        refund = command.resolution is ComplaintResolution.REFUND
        window = policy.return_window if refund else policy.exchange_window
        if now > confirmed + window:
            raise PolicyViolation(
                f"the window of {window} for a {command.resolution.value} after the service "
                "has closed (P5.3)",
                status=state.status,
                code="complaint_window_closed",
                params={"resolution": command.resolution.value, "window": str(window)},
            )

    @decides
    def service_complaint(self, command: ServiceComplaintCommand) -> Reply:
        """P1.2, P5.3: customer service decides a complaint: a rework visit or a refund."""
        self.check_service_complaint(command, self.now)
        state = self.state
        resolution = command.resolution.value
        case = self._open_case(
            CaseKind.SERVICE_COMPLAINT,
            command.actor,
            reason=command.reason,
            data={"resolution": resolution},
        )
        case.outcome = resolution
        self._record(
            EventKind.CASE_DECIDED,
            actor=command.actor,
            note=command.note,
            case_id=case.case_id,
            data={"kind": case.kind.value, "resolution": resolution},
        )
        state.confirmation_due = None
        reply = Reply(case_id=case.case_id)
        if command.resolution is ComplaintResolution.REWORK:
            # The work is done again: logistics agrees a new visit with the customer.
            self._set_status(S.AWAITING_APPOINTMENT)
            state.window_closed = False
            task = self._open_task(TaskKind.SCHEDULE_SERVICE, summary=summaries.rework_visit())
            reply.task_id = task.task_id
        else:
            reason = "refund: a complaint about the service (P5.3)"
            self._cancel_tasks(SERVICE_TASKS, reason)
            self._set_status(S.REFUNDED)
            self._record(EventKind.ORDER_REFUNDED, case_id=case.case_id, note=reason)
            self._refund(self._refundable(), reason, case.case_id)
        self._settle_case(case)
        return reply
