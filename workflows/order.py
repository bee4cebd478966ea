"""OrderWorkflow: one order's whole life, carried out as its aggregate decides.

The policy lives in `domain.order.aggregate.Order`; this workflow is its shell.
Staff act through Updates: the validator asks the aggregate whether the action
is allowed now (a refused action leaves no trace in the history), the handler
asks it what the action means and the shell (`workflows.shell`) carries that out
(a stock reservation, a refund, the read-model write), then the member of staff
is told the order's status after it. Feeds from carriers and the payment system
are signals, deduplicated by the aggregate on their event ids. One timer keeps
the order's next deadline; `run` ends when the aggregate says the order is
closed.
"""

# No `from __future__ import annotations`: the sandbox imports this module afresh for every
# workflow it starts, and string annotations would be compiled again each time to read the
# handlers' argument types (10 % of a replay, measured).

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from domain.actors import Actor
    from domain.carriers import ShipmentBooking
    from domain.commands import (
        ActionResult,
        AppointmentCommand,
        BackorderCommand,
        CancelCommand,
        CauseCommand,
        ChangeCommand,
        ClaimTaskCommand,
        CompleteRefundCommand,
        CompleteTaskCommand,
        CorrectionCommand,
        DecideChangeCommand,
        DecideReturnCommand,
        DispatchCommand,
        ExceptionDecisionCommand,
        InspectionCommand,
        PackCommand,
        PaymentEventCommand,
        ReceiveCommand,
        Received,
        ReturnCommand,
        ReviewCommand,
        ServiceComplaintCommand,
        ServiceConfirmationCommand,
        ServiceWorkCommand,
        StockReplenished,
        SupplierClaimCommand,
        TrackingCommand,
    )
    from domain.contracts import OrderOutcome, OrderWorkflowInput
    from domain.errors import NotTrusted, OrderError
    from domain.inventory import Reservation, ReserveStock
    from domain.ledger import CaptureQuery, RefundRequest
    from domain.notifications import SendNotices
    from domain.order.aggregate import Order
    from domain.order.base import RefusedFeed
    from domain.order.decision import Decision
    from domain.order.writes import RecordedChanges
    from domain.states import OrderStatus
    from domain.trust import NonceBook
    from domain.view import OrderView
    from workflows import outside
    from workflows import search_attributes as sa
    from workflows.metrics import count_continued_as_new, count_outcome
    from workflows.refusals import as_failure
    from workflows.retries import DB_RETRY, DB_TIMEOUT
    from workflows.shell import Shell

C = TypeVar("C")
A = TypeVar("A")


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, input: OrderWorkflowInput) -> None:
        self._opening: Decision | None = None
        if input.carried is not None:
            # Continued as new: the order as the previous run left it, written and on record.
            self.order = Order(input.carried, first_write=False)
        else:
            self.order = Order.handed_over(input, workflow.now())
            # Received and checked at once (P2.2), so that an update arriving with the start
            # is validated against the order as it stands after intake.
            self._opening = self.order.start(workflow.now())
        self.shell = Shell(
            self.order,
            write_activity="apply_order_changes",
            write_result=RecordedChanges,
            search=self._search_attributes,
            performers={
                ReserveStock: self._reserve,
                RefundRequest: self._refund,
                CaptureQuery: self._find_capture,
                ShipmentBooking: self._book,
            },
            needs_writes_first=lambda: self.order.holds_unwritten_money_or_stock,
            follow_ups=self.order.follow_ups,
            followers={SendNotices: self._send_notices},
        )
        if input.carried is None:
            # What the API starts the workflow with (workers/order_start.py).
            self.shell.mark_sent(
                {
                    sa.ORDER_STATUS: OrderStatus.RECEIVED.value,
                    sa.PENDING_DEPARTMENT: None,
                    sa.OVERDUE: False,
                }
            )
            self._receipts = 0
        else:
            # A new run keeps the search attributes of the last; its record exists.
            self.shell.mark_sent(self._search_attributes())
            self.shell.recorded = True
            self._receipts = 1

    @workflow.run
    async def run(self, input: OrderWorkflowInput) -> OrderOutcome:
        opening, self._opening = self._opening, None  # its events are not kept for the order's life
        await self.shell.run(opening, lambda: self.order.state.closed or self._history_is_long())
        if not self.order.state.closed:
            await self._continue_as_new(input)
        count_outcome(self.order.status)
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self.shell.idle)
        state = self.order.state
        assert state.closed_at is not None
        return OrderOutcome(order_id=state.order_id, status=state.status, closed_at=state.closed_at)

    # --- intake (Update, sent with the workflow's start) -----------------------------------

    @workflow.update
    async def receive(self, command: ReceiveCommand) -> Received:
        """P2.2: answer the platform once the order is validated and on record."""
        await workflow.wait_condition(lambda: self.shell.recorded)
        self._receipts += 1
        return self.order.receipt(first=self._receipts == 1)

    @receive.validator
    def _validate_receive(self, command: ReceiveCommand) -> None:
        self.shell.check(self.order.check_receive, command)

    # --- staff actions on the main line (Updates) ------------------------------------------

    @workflow.update
    async def correct(self, command: CorrectionCommand) -> ActionResult:
        """P2.2: replace the faulty data of an order that needs correction."""
        return await self._act(self.order.correct, command)

    @correct.validator
    def _validate_correct(self, command: CorrectionCommand) -> None:
        self.shell.check(self.order.admit_correct, command)

    @workflow.update
    async def review(self, command: ReviewCommand) -> ActionResult:
        """P3.1: approve or reject the order."""
        return await self._act(self.order.review, command)

    @review.validator
    def _validate_review(self, command: ReviewCommand) -> None:
        self.shell.check(self.order.check_review, command)

    @workflow.update
    async def record_backorder(self, command: BackorderCommand) -> ActionResult:
        """P3.2: the warehouse records why stock is short and when it is expected."""
        return await self._act(self.order.record_backorder, command)

    @record_backorder.validator
    def _validate_record_backorder(self, command: BackorderCommand) -> None:
        self.shell.check(self.order.check_record_backorder, command)

    @workflow.update
    async def pack(self, command: PackCommand) -> ActionResult:
        """P3.3: the order is picked and packed, accessories included."""
        return await self._act(self.order.pack, command)

    @pack.validator
    def _validate_pack(self, command: PackCommand) -> None:
        self.shell.check(self.order.check_pack, command)

    @workflow.update
    async def dispatch(self, command: DispatchCommand) -> ActionResult:
        """P3.4: handed to the carrier."""
        return await self._act(self.order.dispatch, command)

    @dispatch.validator
    def _validate_dispatch(self, command: DispatchCommand) -> None:
        self.shell.check(self.order.check_dispatch, command)

    # --- P1.2 service orders: the visit, the work, the confirmation, a complaint ----------

    @workflow.update
    async def schedule_service(self, command: AppointmentCommand) -> ActionResult:
        """P1.2: logistics agreed a visit with the customer."""
        return await self._act(self.order.schedule_service, command)

    @schedule_service.validator
    def _validate_schedule_service(self, command: AppointmentCommand) -> None:
        self.shell.check(self.order.check_schedule_service, command)

    @workflow.update
    async def record_service_work(self, command: ServiceWorkCommand) -> ActionResult:
        """P1.2: the work done and recorded on site."""
        return await self._act(self.order.record_service_work, command)

    @record_service_work.validator
    def _validate_record_service_work(self, command: ServiceWorkCommand) -> None:
        self.shell.check(self.order.check_record_service_work, command)

    @workflow.update
    async def confirm_service(self, command: ServiceConfirmationCommand) -> ActionResult:
        """P1.2: the customer confirmed the work."""
        return await self._act(self.order.confirm_service, command)

    @confirm_service.validator
    def _validate_confirm_service(self, command: ServiceConfirmationCommand) -> None:
        self.shell.check(self.order.check_confirm_service, command)

    @workflow.update
    async def service_complaint(self, command: ServiceComplaintCommand) -> ActionResult:
        """P1.2, P5.3: a complaint about a service: a rework visit or a refund."""
        return await self._act(self.order.service_complaint, command)

    @service_complaint.validator
    def _validate_service_complaint(self, command: ServiceComplaintCommand) -> None:
        self.shell.check(self.order.check_service_complaint, command)

    # --- P4 changes and cancellation ----------------------------------------------------

    @workflow.update
    async def request_change(self, command: ChangeCommand) -> ActionResult:
        """P4.1: record a customer's change request for customer service to review."""
        return await self._act(self.order.request_change, command)

    @request_change.validator
    def _validate_request_change(self, command: ChangeCommand) -> None:
        self.shell.check(self.order.check_request_change, command)

    @workflow.update
    async def decide_change(self, command: DecideChangeCommand) -> ActionResult:
        """P4.1: approve or reject a change; approved goods re-confirm stock and money."""
        return await self._act(self.order.decide_change, command)

    @decide_change.validator
    def _validate_decide_change(self, command: DecideChangeCommand) -> None:
        self.shell.check(self.order.check_decide_change, command)

    @workflow.update
    async def cancel(self, command: CancelCommand) -> ActionResult:
        """P4.2: cancel before shipment; a paid order is refunded."""
        return await self._act(self.order.cancel, command)

    @cancel.validator
    def _validate_cancel(self, command: CancelCommand) -> None:
        self.shell.check(self.order.check_cancel, command)

    # --- P5 exceptions, refunds -------------------------------------------------------------

    @workflow.update
    async def complete_refund(self, command: CompleteRefundCommand) -> ActionResult:
        """Finance paid out by hand a refund the gateway refused."""
        return await self._act(self.order.complete_refund, command)

    @complete_refund.validator
    def _validate_complete_refund(self, command: CompleteRefundCommand) -> None:
        self.shell.check(self.order.check_complete_refund, command)

    @workflow.update
    async def decide_exception(self, command: ExceptionDecisionCommand) -> ActionResult:
        """P5.2: customer service informed the customer; compensation, reship or refund."""
        return await self._act(self.order.decide_exception, command)

    @decide_exception.validator
    def _validate_decide_exception(self, command: ExceptionDecisionCommand) -> None:
        self.shell.check(self.order.admit_decide_exception, command)

    @workflow.update
    async def record_cause(self, command: CauseCommand) -> ActionResult:
        """P5.2: logistics records the cause of an exception and the corrective action."""
        return await self._act(self.order.record_cause, command)

    @record_cause.validator
    def _validate_record_cause(self, command: CauseCommand) -> None:
        self.shell.check(self.order.check_record_cause, command)

    @workflow.update
    async def request_return(self, command: ReturnCommand) -> ActionResult:
        """P5.3: a customer asks to return or exchange goods with a quality problem."""
        return await self._act(self.order.request_return, command)

    @request_return.validator
    def _validate_request_return(self, command: ReturnCommand) -> None:
        self.shell.check(self.order.check_request_return, command)

    @workflow.update
    async def decide_return(self, command: DecideReturnCommand) -> ActionResult:
        """P5.3: customer service reviews the request; approved goods go to inspection."""
        return await self._act(self.order.decide_return, command)

    @decide_return.validator
    def _validate_decide_return(self, command: DecideReturnCommand) -> None:
        self.shell.check(self.order.check_decide_return, command)

    @workflow.update
    async def inspect_return(self, command: InspectionCommand) -> ActionResult:
        """P5.3: the warehouse inspects; a confirmed problem is refunded or exchanged."""
        return await self._act(self.order.inspect_return, command)

    @inspect_return.validator
    def _validate_inspect_return(self, command: InspectionCommand) -> None:
        self.shell.check(self.order.check_inspect_return, command)

    @workflow.update
    async def supplier_claim(self, command: SupplierClaimCommand) -> ActionResult:
        """P5.3: the supplier's answer to sales' claim: agreed, credited or declined."""
        return await self._act(self.order.supplier_claim, command)

    @supplier_claim.validator
    def _validate_supplier_claim(self, command: SupplierClaimCommand) -> None:
        self.shell.check(self.order.check_supplier_claim, command)

    # --- tasks -----------------------------------------------------------------------------

    @workflow.update
    async def complete_task(self, command: CompleteTaskCommand) -> ActionResult:
        """Close a task whose work happened outside the system (a call, a booking)."""
        return await self._act(self.order.complete_task, command)

    @complete_task.validator
    def _validate_complete_task(self, command: CompleteTaskCommand) -> None:
        self.shell.check(self.order.check_complete_task, command)

    @workflow.update
    async def claim_task(self, command: ClaimTaskCommand) -> ActionResult:
        """Claim, release or hand over a task within its department."""
        return await self._act(self.order.claim_task, command)

    @claim_task.validator
    def _validate_claim_task(self, command: ClaimTaskCommand) -> None:
        self.shell.check(self.order.check_claim_task, command)

    # --- feeds (Signals) -------------------------------------------------------------------

    @workflow.signal
    async def tracking(self, command: TrackingCommand) -> None:
        """P3.4: a carrier's tracking event; P5.2: lost, damaged, delayed open a case."""
        await self.shell.decide(lambda now: self.order.tracking(command, now))

    @workflow.signal
    async def payment_event(self, command: PaymentEventCommand) -> None:
        """P5.1: the payment system reports a failed, duplicate or late successful payment."""
        await self.shell.decide(lambda now: self.order.payment_event(command, now))

    @workflow.signal
    async def stock_replenished(self, signal: StockReplenished) -> None:
        """P3.2: stock of a sku this order waits for arrived; try the reservation again."""
        await self.shell.decide(lambda now: self.order.restocked(signal, now))

    async def refuse_feed(self, name: str, command: Any, refusal: NotTrusted) -> None:
        """A signal the trust interceptor dropped (workflows/trust.py): recorded."""
        actor = getattr(command, "actor", None)
        refused = RefusedFeed(name, actor if isinstance(actor, Actor) else None, refusal)
        await self.shell.decide(lambda now: self.order.refuse_feed(refused, now))

    @property
    def nonces(self) -> NonceBook:
        """The signed commands accepted lately (workflows/trust.py refuses replays)."""
        return self.order.state.nonces

    # --- queries ---------------------------------------------------------------------------

    @workflow.query
    def view(self) -> OrderView:
        """The order's live state, as the API and the console show it."""
        unwritten = list(self.order.unwritten)
        return self.order.view().model_copy(update={"unwritten_events": unwritten})

    # --- a long history ---------------------------------------------------------------------

    def _history_is_long(self) -> bool:
        """Temporal ends a run whose history passes 51,200 events: well before, the order
        carries on in a new run (at the policy's budget, or when Temporal suggests it)."""
        info = workflow.info()
        budget = self.order.state.policy.history_event_budget
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= budget

    async def _continue_as_new(self, input: OrderWorkflowInput) -> None:
        """Once every command in hand is carried out and written: the same order, a new run."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self.shell.idle)
        count_continued_as_new(workflow.info().get_current_history_length())
        workflow.continue_as_new(input.model_copy(update={"carried": self.order.state}))

    # --- carrying decisions out ------------------------------------------------------------

    async def _act(self, decide: Callable[[C, datetime], Decision], command: C) -> ActionResult:
        decision = await self.shell.decide(lambda now: decide(command, now))
        try:
            return self.order.result(decision.reply)
        except OrderError as refusal:  # found once the world outside answered
            raise as_failure(refusal) from None

    async def _reserve(self, request: ReserveStock) -> Decision:
        """P3.2: the inventory holds every line or nothing (idempotent on the key)."""
        units = sum(request.quantities.values())
        reservation = await workflow.execute_local_activity(
            "reserve_stock",
            request,
            result_type=Reservation,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=f"reserve {units} unit(s) of {len(request.quantities)} sku(s)",
        )
        return self.order.stock_answer(reservation, workflow.now())

    async def _refund(self, request: RefundRequest) -> Decision:
        """A refund through the gateway; when it stays unreachable, finance takes over."""
        return self.order.refund_answer(await outside.refund(request), workflow.now())

    async def _find_capture(self, query: CaptureQuery) -> Decision:
        """P5.1: the gateway's word on a reported duplicate; unreachable, finance verifies."""
        return self.order.capture_answer(await outside.find_capture(query), workflow.now())

    async def _book(self, booking: ShipmentBooking) -> Decision:
        """P3.4: the carrier books the shipment; out of reach, logistics is told it failed."""
        return self.order.booking_answer(await outside.book(booking), workflow.now())

    async def _send_notices(self, request: SendNotices) -> None:
        """The customer's messages, in the background: what the channel could not deliver
        goes to customer service."""
        answer = await outside.send_notices(request)
        await self.shell.decide(lambda now: self.order.notices_answer(answer, now))

    def _search_attributes(self) -> Mapping[SearchAttributeKey[Any], Any]:
        """What ops filter orders by in the Temporal UI (architecture rule 7)."""
        pending = self.order.pending_department()
        return {
            sa.ORDER_STATUS: self.order.status.value,
            sa.PENDING_DEPARTMENT: pending.value if pending else None,
            sa.OVERDUE: self.order.overdue(),
        }
