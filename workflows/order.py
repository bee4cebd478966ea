"""OrderWorkflow: one order's whole life under the policy, from intake to completion.

`run` reads like the policy: intake (P2.2), review (P3.1), stock (P3.2), pick and
pack (P3.3), dispatch and delivery (P3.4), the after-sales window (P5.3). Staff
act through Updates; each validator checks the actor's department and the
order's state against `domain.actions` before the update is accepted, so a
refused action leaves no trace in the history. Feeds from carriers and the
payment system are signals, deduplicated by their event id.

Main-line steps are handed to `run` (`_submit` / `_take`), so that the answer a
member of staff gets is the order's status *after* the step's effects, e.g.
`out_of_stock` right after an approval. Actions that change the order's course
(a cancellation, a change of goods, a reshipment, an accepted return or
exchange: P4, P5) raise an *interrupt* out of whatever `run` is waiting for;
`run` takes the new course and only then answers.

Money (P4.2, P5): payments, refunds and compensation are ledger entries with
deterministic ids; every refund goes through `_refund`, which never lets the
refunds of an order exceed what was paid for it.

Every change is recorded as an event and mirrored to the read model by one
local activity per step (`_flush`), which also keeps the search attributes and
the UI's current details in step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        OrderChanges,
        ReceiveStock,
        RefundOutcome,
        RefundRequest,
        Reservation,
        ReserveStock,
        StockStep,
    )
    from activities.inventory import InventoryActivities
    from activities.payments import PaymentActivities
    from activities.read_model import ReadModelActivities
    from domain import summaries
    from domain.actions import Action, check_action
    from domain.actors import SYSTEM_ACTOR, Actor, Department
    from domain.cases import Case, CaseKind, CaseState
    from domain.commands import (
        EXCEPTION_EVENTS,
        ActionResult,
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
        PaymentEventKind,
        ReceiveCommand,
        Received,
        Resolution,
        ReturnCommand,
        ReturnKind,
        ReviewCommand,
        StockReplenished,
        TrackingCommand,
        TrackingEventKind,
    )
    from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError, PolicyViolation
    from domain.events import EventKind, OrderEvent
    from domain.intake import validate_intake
    from domain.ledger import (
        LedgerEntry,
        LedgerKind,
        Refund,
        RefundState,
        paid_total,
        refundable,
        refunded_total,
    )
    from domain.money import ZERO, quantize
    from domain.order import NewOrder, OrderKind, PaymentStatus
    from domain.risk import risk_reasons
    from domain.states import BEFORE_SHIPMENT, OrderStatus, can_transition
    from domain.tasks import NOTE_TASKS, Task, TaskKind, TaskState, mark_deadline
    from domain.view import Backorder, OrderView, Shipment
    from workflows import search_attributes as sa
    from workflows.contracts import OrderOutcome, OrderWorkflowInput
    from workflows.handoffs import (
        AcceptReturn,
        Cancel,
        Handoff,
        Interrupt,
        Outbox,
        Refulfil,
        RefundShipment,
    )
    from workflows.metrics import count_outcome
    from workflows.refusals import as_failure, refusals
    from workflows.retries import DB_RETRY, DB_TIMEOUT, GATEWAY_RETRY, GATEWAY_TIMEOUT
    from workflows.task_book import DeadlineStage, TaskBook

S = OrderStatus

#: Tasks of the main line: pointless once the order ends, so they are cancelled then.
#: Follow-ups (refunds by hand, accounting, supplier, investigations) stay until done.
MAIN_LINE_TASKS = frozenset(
    {
        TaskKind.CORRECT_ORDER,
        TaskKind.REVIEW,
        TaskKind.RECORD_BACKORDER,
        TaskKind.INFORM_BACKORDER,
        TaskKind.PACK,
        TaskKind.DISPATCH,
        TaskKind.DELIVER,
        TaskKind.REVIEW_CHANGE,
        TaskKind.REPLAN_DELIVERY,
        TaskKind.REVIEW_RETURN,
    }
)
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


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, input: OrderWorkflowInput) -> None:
        self._order: NewOrder = input.order
        self._policy = input.policy
        self._submitted_by = input.submitted_by
        self._fingerprint = input.fingerprint
        self._status = S.RECEIVED
        self._created_at = workflow.now()
        self._updated_at = self._created_at
        self._closed_at: datetime | None = None
        self._seq = 0
        self._revision = 0
        self._outbox = Outbox(lines_changed=True)
        self._unwritten: list[OrderEvent] = []
        self._recorded = False  # the first step is in the read model
        self._receipts = 0
        self._flush_lock = asyncio.Lock()
        self._money_lock = asyncio.Lock()
        self._tasks = TaskBook(
            self._order.order_id, self._policy, self._task_changed, self._task_deadline
        )
        self._inbox: dict[Action, Handoff[Any]] = {}
        self._interrupt: Interrupt | None = None
        self._closing = False
        self._dispatching = False
        self._problems: list[Any] = []
        self._risk_reasons: list[str] = []
        self._phone_verified = False
        self._backorder: Backorder | None = None
        self._restocks = 0
        self._reservations = 0
        self._reservation_key: str | None = None
        self._reserved: dict[str, int] = {}
        self._packages = 0
        self._review_task: Task | None = None
        self._review_answer: Handoff[Any] | None = None
        self._deliver_task: Task | None = None
        self._shipments: list[Shipment] = []
        self._tracking_seen: set[str] = set()
        self._payment_events_seen: set[str] = set()
        self._delivered_by: Actor | None = None
        self._cases: dict[str, Case] = {}
        self._proposals: dict[str, ChangeCommand] = {}
        self._ledger: list[LedgerEntry] = []
        self._refunds: dict[str, Refund] = {}
        self._refund_tasks: dict[str, str] = {}
        self._intake_paid = ZERO
        self._background: set[asyncio.Task[None]] = set()
        self._search: dict[str, Any] = {
            sa.ORDER_STATUS.name: S.RECEIVED.value,
            sa.PENDING_DEPARTMENT.name: None,
            sa.OVERDUE.name: False,
        }

    # --- the policy, step by step ---------------------------------------------------------

    @workflow.run
    async def run(self, input: OrderWorkflowInput) -> OrderOutcome:
        self._record(
            EventKind.RECEIVED,
            actor=input.submitted_by,
            data={
                "lines": len(self._order.items),
                "total": str(self._order.total),
                "payment": self._order.payment.status.value,
            },
        )
        self._book_intake_payment(input.submitted_by)
        try:
            await self._intake()
            if await self._review():
                await self._ship()
                await self._after_sales()
        except Cancel as cancel:
            await self._cancel(cancel)
        except RefundShipment as lost:
            await self._refund_shipment(lost)
        return await self._close()

    async def _intake(self) -> None:
        """P2.2: validate the handed-over data; while it is wrong, its owner corrects it."""
        while problems := validate_intake(self._order):
            self._problems = problems
            self._set_status(S.NEEDS_CORRECTION)
            task = self._tasks.open(
                TaskKind.CORRECT_ORDER,
                department=problems[0].department,
                summary=summaries.fix([p.field for p in problems]),
            )
            self._record(
                EventKind.INTAKE_PROBLEMS,
                task=task,
                data={"problems": [p.model_dump(mode="json") for p in problems]},
            )
            # Waiting for the correction flushes: the previous one (if any) is answered now.
            handoff: Handoff[CorrectionCommand] = await self._take(Action.CORRECT)
            command = handoff.command
            self._apply_correction(command)
            closed = self._close_task(task, command.actor, "corrected")
            self._record(
                EventKind.CORRECTED,
                actor=command.actor,
                note=command.note,
                task=task,
                data={"fields": self._corrected_fields(command), **closed},
            )
            self._book_intake_payment(command.actor)
            self._answer(handoff)
        self._problems = []
        self._risk_reasons = risk_reasons(self._order, self._policy.risk_amount_threshold)
        self._set_status(S.UNDER_REVIEW)
        units = sum(line.quantity for line in self._order.items)
        summary = summaries.review(
            len(self._order.items), units, self._order.total, self._risk_reasons
        )
        self._review_task = self._tasks.open(TaskKind.REVIEW, summary=summary)

    async def _review(self) -> bool:
        """P3.1: sales approves (risky orders only after a phone call-back) or rejects."""
        handoff: Handoff[ReviewCommand] = await self._take(Action.REVIEW)
        command = handoff.command
        assert self._review_task is not None
        self._phone_verified = bool(command.phone_verified)
        outcome = "approved" if command.approved else "rejected"
        closed = self._close_task(self._review_task, command.actor, outcome)
        self._record(
            EventKind.REVIEWED,
            actor=command.actor,
            note=command.note,
            task=self._review_task,
            data={
                "approved": command.approved,
                "phone_verified": self._phone_verified,
                "risk_reasons": list(self._risk_reasons),
                **closed,
            },
        )
        if command.approved:
            self._review_answer = handoff  # answered once stock is confirmed
            return True
        self._set_status(S.REJECTED)
        self._record(EventKind.REJECTED, actor=command.actor, note=command.note)
        # P3.1 rejected: what was paid goes back.
        await self._refund(self._refundable(), "order rejected at review (P3.1)")
        self._answer(handoff)
        return False

    async def _ship(self, answer: Handoff[Any] | None = None) -> None:
        """P3.2-P3.4, taken again when the goods change, a parcel is reshipped or exchanged."""
        if answer is None:
            answer, self._review_answer = self._review_answer, None
        while True:
            try:
                await self._fulfil(answer)
                await self._deliver()
                return
            except Refulfil as again:
                await self._unwind_shipment(again.reason)
                answer = again.handoff

    async def _fulfil(self, answer: Handoff[Any] | None) -> None:
        """P3.2 stock, P3.3 pick and pack, P3.4 dispatch. A service order has nothing to pick."""
        if self._order.kind is OrderKind.GOODS:
            await self._confirm_stock(answer)
            await self._pack()
        else:
            self._set_status(S.AWAITING_DISPATCH)
            if answer is not None:
                self._answer(answer)
        await self._dispatch()

    async def _confirm_stock(self, answer: Handoff[Any] | None) -> None:
        """P3.2: reserve at once; when short, wait for restock with the reason on record."""
        while True:
            reservation = await self._reserve()
            if reservation.reserved:
                if self._tasks.find_open(TaskKind.RECORD_BACKORDER) is not None:
                    self._cancel_tasks({TaskKind.RECORD_BACKORDER}, "stock arrived")
                self._backorder = None
                self._set_status(S.READY_TO_PACK)
                self._record(
                    EventKind.STOCK_RESERVED,
                    data={
                        "reservation": reservation.reservation_key,
                        "quantities": self._order.quantities(),
                    },
                )
                if answer is not None:
                    self._answer(answer)
                return
            first_time = self._status is not S.OUT_OF_STOCK
            self._set_status(S.OUT_OF_STOCK)
            previous = self._backorder
            self._backorder = Backorder(
                short=reservation.short,
                reason=previous.reason if previous else None,
                restock_eta=previous.restock_eta if previous else None,
            )
            self._record(EventKind.OUT_OF_STOCK, data={"short": reservation.short})
            if first_time and self._tasks.find_open(TaskKind.RECORD_BACKORDER) is None:
                summary = summaries.short(reservation.short)
                self._tasks.open(TaskKind.RECORD_BACKORDER, summary=summary)
            if answer is not None:
                self._answer(answer)
                answer = None
            await self._until(self._restocked_since(self._restocks))
            self._record(EventKind.STOCK_REPLENISHED)

    def _restocked_since(self, seen: int) -> Callable[[], bool]:
        return lambda: self._restocks > seen

    async def _pack(self) -> None:
        """P3.3: the warehouse picks and packs; the package carries its accessories."""
        pack = self._tasks.open(TaskKind.PACK, summary=self._lines_summary())
        packed: Handoff[PackCommand] = await self._take(Action.PACK)
        command = packed.command
        self._packages = command.packages
        closed = self._close_task(pack, command.actor, f"{command.packages} package(s)")
        self._set_status(S.AWAITING_DISPATCH)
        self._record(
            EventKind.PACKED,
            actor=command.actor,
            task=pack,
            data={
                "packages": command.packages,
                "accessories": sorted(command.accessories),
                **closed,
            },
        )
        self._answer(packed)

    async def _dispatch(self) -> None:
        """P3.4: logistics hands the order to a carrier; stock leaves the warehouse."""
        dispatch = self._tasks.open(TaskKind.DISPATCH, summary=self._lines_summary())
        handoff: Handoff[DispatchCommand] = await self._take(Action.DISPATCH)
        command = handoff.command
        self._dispatching = True  # from here no cancellation or change can slip in (P4)
        if self._reservation_key is not None:
            self._move_stock("ship")
        now = workflow.now()
        self._shipments.append(
            Shipment(
                carrier=command.carrier,
                method=command.method,
                tracking_number=command.tracking_number,
                packages=self._packages,
                dispatched_at=now,
                promised_by=now + self._policy.delivery_deadline,
            )
        )
        self._delivered_by = None
        closed = self._close_task(dispatch, command.actor, f"{command.carrier} {command.method}")
        self._set_status(S.IN_TRANSIT)
        self._dispatching = False
        self._record(
            EventKind.DISPATCHED,
            actor=command.actor,
            task=dispatch,
            data={
                "carrier": command.carrier,
                "method": command.method.value,
                "tracking_number": command.tracking_number,
                **closed,
            },
        )
        self._deliver_task = self._tasks.open(
            TaskKind.DELIVER,
            summary=summaries.shipment(command.carrier, command.tracking_number),
            deadline=self._policy.delivery_deadline,
        )
        self._answer(handoff)

    async def _deliver(self) -> None:
        """P3.4: wait for the carrier's delivery; the DELIVER task is due at the promised date."""
        await self._until(lambda: self._delivered_by is not None)
        shipment = self._shipment
        assert shipment and self._delivered_by and self._deliver_task
        closed = self._close_task(self._deliver_task, self._delivered_by, "delivered")
        self._set_status(S.DELIVERED)
        on_time = (
            shipment.delivered_at is not None and shipment.delivered_at <= shipment.promised_by
        )
        self._record(
            EventKind.DELIVERED,
            actor=self._delivered_by,
            task=self._deliver_task,
            data={"on_time": on_time, **closed},
        )

    async def _unwind_shipment(self, reason: str) -> None:
        """Undo what the current shipment holds before a new one starts (P4.1, P5.2, P5.3)."""
        if self._reservation_key is not None:
            self._move_stock("release")
        self._cancel_tasks(SHIPMENT_TASKS, reason)
        self._backorder = None

    async def _after_sales(self) -> None:
        """P5.3: returns and exchanges are possible until the windows after delivery close."""
        while True:
            shipment = self._shipment
            assert shipment is not None and shipment.delivered_at is not None
            ends = shipment.delivered_at + self._policy.after_sales_window
            try:
                remaining = ends - workflow.now()
                if remaining > timedelta(0):
                    await self._until(
                        lambda: False, timeout=remaining, summary="after-sales window (P5.3)"
                    )
                await self._until(lambda: not self._open_cases(CaseKind.RETURN, CaseKind.EXCHANGE))
                return
            except Refulfil as exchange:
                await self._unwind_shipment(exchange.reason)
                await self._ship(exchange.handoff)
            except AcceptReturn as accepted:
                await self._refund(self._refundable(), accepted.reason, accepted.case_id)
                self._set_status(S.RETURNED)
                self._record(EventKind.RETURNED, case_id=accepted.case_id)
                if accepted.handoff is not None:
                    self._answer(accepted.handoff)
                return

    async def _cancel(self, cancel: Cancel) -> None:
        """P4.2: release the stock, stop the warehouse and logistics, refund what was paid."""
        case = self._open_case(CaseKind.CANCELLATION, cancel.actor, reason=cancel.reason)
        case.outcome = "cancelled"
        if self._reservation_key is not None:
            self._move_stock("release")
        self._end_pending_requests("order cancelled")
        self._cancel_tasks(MAIN_LINE_TASKS, "order cancelled")
        paid = self._refundable() > ZERO
        self._set_status(S.CANCELLED)
        self._record(
            EventKind.CANCELLED,
            actor=cancel.actor,
            note=cancel.reason,
            case_id=case.case_id,
            data={"paid": paid},
        )
        if paid:
            await self._refund(self._refundable(), "order cancelled (P4.2)", case.case_id)
        self._settle_case(case)
        if cancel.handoff is not None:
            cancel.handoff.case_id = case.case_id
            self._answer(cancel.handoff)

    async def _refund_shipment(self, lost: RefundShipment) -> None:
        """P5.2: the lost or damaged goods are refunded; the order ends."""
        self._cancel_tasks(SHIPMENT_TASKS, lost.reason)
        await self._refund(self._refundable(), lost.reason, lost.case_id)
        self._set_status(S.REFUNDED)
        self._record(EventKind.ORDER_REFUNDED, case_id=lost.case_id, note=lost.reason)
        self._settle_case(self._cases[lost.case_id])
        if lost.handoff is not None:
            self._answer(lost.handoff)

    async def _close(self) -> OrderOutcome:
        """End the order once every follow-up (refunds by hand, accounting...) is done."""
        self._closing = True
        status = self._status.value
        self._fail_inbox(f"the order is {status}")
        if self._interrupt is not None:
            self._refuse_interrupt(self._interrupt, f"the order is {status}")
            self._interrupt = None
        self._end_pending_requests(f"order {status}")
        self._cancel_tasks(MAIN_LINE_TASKS, f"order {status}")
        await self._until(self._follow_ups_done, interruptible=False)
        self._closed_at = workflow.now()
        if self._status is S.DELIVERED:
            self._set_status(S.COMPLETED)
            self._record(EventKind.COMPLETED)
        else:
            self._record(EventKind.CLOSED, data={"status": self._status.value})
        await self._flush()
        count_outcome(self._status)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderOutcome(
            order_id=self._order.order_id, status=self._status, closed_at=self._closed_at
        )

    # --- intake (Update, sent with the workflow's start) -----------------------------------

    @workflow.update
    async def receive(self, command: ReceiveCommand) -> Received:
        """P2.2: answer the platform once the order is validated and on record."""
        await workflow.wait_condition(lambda: self._recorded)
        self._receipts += 1
        return Received(
            order_id=self._order.order_id, status=self._status, first=self._receipts == 1
        )

    @receive.validator
    @refusals
    def _validate_receive(self, command: ReceiveCommand) -> None:
        if command.actor.department is not Department.PLATFORM:
            raise NotPermitted(
                "orders are handed over by the platform (P2.2)",
                status=self._status,
                code="orders_come_from_the_platform",
            )
        if command.fingerprint != self._fingerprint:
            raise ActionNotAllowed(
                "order_id already exists with a different body",
                status=self._status,
                code="order_id_reused",
            )

    # --- staff actions on the main line (Updates) ------------------------------------------

    @workflow.update
    async def correct(self, command: CorrectionCommand) -> ActionResult:
        """P2.2: replace the faulty data of an order that needs correction."""
        return await self._submit(Action.CORRECT, command)

    @correct.validator
    @refusals
    def _validate_correct(self, command: CorrectionCommand) -> None:
        self._check(Action.CORRECT, command.actor)
        task = self._tasks.find_open(TaskKind.CORRECT_ORDER)
        if task is not None and task.department is not command.actor.department:
            raise NotPermitted(
                f"the faulty data belongs to {task.department} (P2.2)",
                status=self._status,
                code="correction_by_owner",
                params={"department": task.department.value},
            )

    @workflow.update
    async def review(self, command: ReviewCommand) -> ActionResult:
        """P3.1: approve or reject the order."""
        return await self._submit(Action.REVIEW, command)

    @review.validator
    @refusals
    def _validate_review(self, command: ReviewCommand) -> None:
        self._check(Action.REVIEW, command.actor)
        if command.approved and self._risk_reasons and not command.phone_verified:
            raise PolicyViolation(
                "a risky order needs phone verification before approval (P3.1): "
                + ", ".join(self._risk_reasons),
                status=self._status,
                code="phone_verification_required",
                params={"reasons": list(self._risk_reasons)},
            )

    @workflow.update
    async def record_backorder(self, command: BackorderCommand) -> ActionResult:
        """P3.2: the warehouse records why stock is short and when it is expected."""
        self._backorder = Backorder(
            short=self._backorder.short if self._backorder else {},
            reason=command.reason,
            restock_eta=command.restock_eta,
        )
        task = self._tasks.find_open(TaskKind.RECORD_BACKORDER)
        closed = self._close_task(task, command.actor, "recorded") if task else {}
        self._record(
            EventKind.BACKORDER_RECORDED,
            actor=command.actor,
            note=command.reason,
            task=task,
            data={"restock_eta": command.restock_eta.isoformat(), **closed},
        )
        # P3.2: "tell sales ... so sales can inform the customer".
        inform = self._tasks.find_open(TaskKind.INFORM_BACKORDER)
        if inform is None:
            inform = self._tasks.open(
                TaskKind.INFORM_BACKORDER,
                summary=summaries.restock_expected(command.restock_eta),
            )
        await self._flush()
        return self._result(task_id=inform.task_id)

    @record_backorder.validator
    @refusals
    def _validate_record_backorder(self, command: BackorderCommand) -> None:
        self._check(Action.RECORD_BACKORDER, command.actor)

    @workflow.update
    async def pack(self, command: PackCommand) -> ActionResult:
        """P3.3: the order is picked and packed, accessories included."""
        return await self._submit(Action.PACK, command)

    @pack.validator
    @refusals
    def _validate_pack(self, command: PackCommand) -> None:
        self._check(Action.PACK, command.actor)
        missing = sorted(set(self._policy.required_accessories) - set(command.accessories))
        if missing:
            raise PolicyViolation(
                f"the package must carry {', '.join(missing)} (P3.3)",
                status=self._status,
                code="accessories_missing",
                params={"missing": list(missing)},
            )

    @workflow.update
    async def dispatch(self, command: DispatchCommand) -> ActionResult:
        """P3.4: handed to the carrier."""
        return await self._submit(Action.DISPATCH, command)

    @dispatch.validator
    @refusals
    def _validate_dispatch(self, command: DispatchCommand) -> None:
        self._check(Action.DISPATCH, command.actor)

    # --- P4 changes and cancellation ----------------------------------------------------

    @workflow.update
    async def request_change(self, command: ChangeCommand) -> ActionResult:
        """P4.1: record a customer's change request for customer service to review."""
        fields = [name for name in ("shipping", "items") if getattr(command, name) is not None]
        case = self._open_case(
            CaseKind.CHANGE,
            command.actor,
            reason=command.reason,
            data={"fields": fields, "caused_by_error": command.caused_by_error},
        )
        self._proposals[case.case_id] = command
        task = self._tasks.open(
            TaskKind.REVIEW_CHANGE, summary=summaries.change_of(fields), case_id=case.case_id
        )
        await self._flush()
        return self._result(task_id=task.task_id, case_id=case.case_id)

    @request_change.validator
    @refusals
    def _validate_request_change(self, command: ChangeCommand) -> None:
        self._check_course_change(Action.REQUEST_CHANGE, command.actor)

    @workflow.update
    async def decide_change(self, command: DecideChangeCommand) -> ActionResult:
        """P4.1: approve or reject a change; approved goods re-confirm stock and money."""
        case = self._cases[command.case_id]
        task = self._tasks.find_open(TaskKind.REVIEW_CHANGE, case.case_id)
        assert task is not None
        closed = self._close_task(
            task, command.actor, "approved" if command.approved else "rejected"
        )
        self._record(
            EventKind.CASE_DECIDED,
            actor=command.actor,
            note=command.reason,
            task=task,
            data={"kind": case.kind.value, "approved": command.approved, **closed},
        )
        proposal = self._proposals.pop(case.case_id)
        if not command.approved:
            case.outcome = "rejected"
            self._settle_case(case)
            await self._flush()
            return self._result(case_id=case.case_id)
        case.outcome = "approved"
        refulfil = await self._apply_change(proposal, command.actor, case)
        self._settle_case(case)
        if not refulfil:
            await self._flush()
            return self._result(case_id=case.case_id)
        # New goods: stock is confirmed again (P3.2); answer once that is done.
        handoff: Handoff[Any] = Handoff(command, case_id=case.case_id)
        self._interrupt = Refulfil(handoff, "the goods changed (P4.1)", case.case_id)
        return await self._await_answer(handoff)

    @decide_change.validator
    @refusals
    def _validate_decide_change(self, command: DecideChangeCommand) -> None:
        self._check_course_change(Action.DECIDE_CHANGE, command.actor)
        case = self._case_for(command.case_id, CaseKind.CHANGE)
        if self._tasks.find_open(TaskKind.REVIEW_CHANGE, case.case_id) is None:
            raise ActionNotAllowed(
                f"{case.case_id} is already decided",
                status=self._status,
                code="case_already_decided",
                params={"case_id": case.case_id},
            )

    @workflow.update
    async def cancel(self, command: CancelCommand) -> ActionResult:
        """P4.2: cancel before shipment; a paid order is refunded."""
        handoff: Handoff[Any] = Handoff(command)
        self._interrupt = Cancel(handoff, command.reason, command.actor)
        return await self._await_answer(handoff)

    @cancel.validator
    @refusals
    def _validate_cancel(self, command: CancelCommand) -> None:
        self._check_course_change(Action.CANCEL, command.actor)

    # --- P5.1 payment exceptions and refunds -----------------------------------------------

    @workflow.signal
    async def payment_event(self, command: PaymentEventCommand) -> None:
        """P5.1: the payment system reports a failed, duplicate or late successful payment."""
        if command.event_id in self._payment_events_seen:
            return
        self._payment_events_seen.add(command.event_id)
        self._record(
            EventKind.PAYMENT_EVENT,
            actor=command.actor,
            data={
                "event_id": command.event_id,
                "kind": command.kind.value,
                "amount": str(command.amount),
                "transaction_id": command.transaction_id,
            },
        )
        entry_id = f"{self._order.order_id}:payment:{command.event_id}"
        if command.kind is PaymentEventKind.SUCCEEDED and not self._is_paid():
            self._book(
                LedgerKind.PAYMENT,
                command.amount,
                entry_id,
                command.actor,
                reference=command.transaction_id,
            )
            self._record(
                EventKind.PAYMENT_RECEIVED,
                actor=command.actor,
                data={"amount": str(command.amount), "entry_id": entry_id},
            )
            await self._flush()
            return
        # A payment taken twice (or taken again once paid) is a duplicate (P5.1).
        duplicate = command.kind is not PaymentEventKind.FAILED
        case = self._open_case(
            CaseKind.PAYMENT_EXCEPTION,
            command.actor,
            reason=f"payment {command.kind.value}",
            data={"event": "duplicate" if duplicate else "failed", "amount": str(command.amount)},
        )
        self._tasks.open(
            TaskKind.CONTACT_CUSTOMER,
            summary=summaries.payment_contact(duplicate),
            case_id=case.case_id,
        )
        if duplicate:
            case.outcome = "duplicate payment refunded"
            self._book(
                LedgerKind.PAYMENT,
                command.amount,
                entry_id,
                command.actor,
                case_id=case.case_id,
                reference=command.transaction_id,
            )
            self._tasks.open(
                TaskKind.ACCOUNT_PAYMENT,
                summary=summaries.duplicate_payment(command.amount),
                case_id=case.case_id,
            )
            await self._refund(
                command.amount,
                "duplicate payment (P5.1)",
                case.case_id,
                transaction_id=command.transaction_id,
            )
        else:
            case.outcome = "payment failure handled"
            if not self._is_paid() and self._status in BEFORE_SHIPMENT:
                self._spawn(self._cancel_if_still_unpaid())
        await self._flush()

    async def _cancel_if_still_unpaid(self) -> None:
        """P5.1: an unpaid order whose payment failed is cancelled after a deadline."""
        paid = await self._until(
            lambda: self._is_paid() or self._status not in BEFORE_SHIPMENT,
            timeout=self._policy.unpaid_payment_deadline,
            summary="unpaid deadline (P5.1)",
            interruptible=False,
        )
        if not paid and self._status in BEFORE_SHIPMENT and not self._busy():
            self._interrupt = Cancel(
                None, "unpaid when the payment deadline passed (P5.1)", SYSTEM_ACTOR
            )

    @workflow.update
    async def complete_refund(self, command: CompleteRefundCommand) -> ActionResult:
        """Finance paid out by hand a refund the gateway refused."""
        refund = self._refunds[command.refund_id]
        refund.state = RefundState.COMPLETED_BY_FINANCE
        refund.reference = command.reference
        refund.settled_at = workflow.now()
        self._add_entry(
            LedgerKind.REFUND,
            -refund.amount,
            refund.refund_id,
            command.actor,
            case_id=refund.case_id,
            reference=command.reference,
            note=command.note,
        )
        task = self._tasks.get(self._refund_tasks[refund.refund_id])
        closed = self._close_task(task, command.actor, "refunded by hand") if task else {}
        self._record_refund_issued(refund, command.actor, task, closed)
        if refund.case_id:
            self._settle_case(self._cases[refund.case_id])
        await self._flush()
        return self._result(refund_id=refund.refund_id)

    @complete_refund.validator
    @refusals
    def _validate_complete_refund(self, command: CompleteRefundCommand) -> None:
        check_action(Action.COMPLETE_REFUND, self._status, command.actor.department)
        refund = self._refunds.get(command.refund_id)
        if refund is None:
            raise NotFound(
                f"no refund {command.refund_id} on this order",
                status=self._status,
                code="no_such_refund",
                params={"refund_id": command.refund_id},
            )
        if refund.state is not RefundState.FAILED:
            raise ActionNotAllowed(
                f"refund {command.refund_id} is {refund.state}",
                status=self._status,
                code="refund_not_failed",
                params={"refund_id": command.refund_id, "refund_state": refund.state.value},
            )

    # --- P5.2 logistics exceptions -------------------------------------------------------

    @workflow.update
    async def decide_exception(self, command: ExceptionDecisionCommand) -> ActionResult:
        """P5.2: customer service informed the customer; compensation, reship or refund."""
        case = self._cases[command.case_id]
        task = self._tasks.find_open(TaskKind.HANDLE_LOGISTICS_EXCEPTION, case.case_id)
        assert task is not None
        closed = self._close_task(task, command.actor, command.resolution.value)
        case.outcome = command.resolution.value
        self._record(
            EventKind.CASE_DECIDED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={
                "kind": case.kind.value,
                "resolution": command.resolution.value,
                "compensation": str(command.compensation),
                **closed,
            },
        )
        if command.compensation > ZERO:
            self._book(
                LedgerKind.COMPENSATION,
                -command.compensation,
                f"{self._order.order_id}:compensation:{case.case_id}",
                command.actor,
                case_id=case.case_id,
                note=command.note,
            )
        self._settle_case(case)
        reason = f"parcel {case.data.get('event')} (P5.2)"
        if command.resolution is Resolution.RESHIP:
            handoff: Handoff[Any] = Handoff(command, case_id=case.case_id)
            self._interrupt = Refulfil(handoff, f"reship: {reason}", case.case_id)
            return await self._await_answer(handoff)
        if command.resolution is Resolution.REFUND:
            handoff = Handoff(command, case_id=case.case_id)
            self._interrupt = RefundShipment(handoff, f"refund: {reason}", case.case_id)
            return await self._await_answer(handoff)
        await self._flush()
        return self._result(case_id=case.case_id)

    @decide_exception.validator
    @refusals
    def _validate_decide_exception(self, command: ExceptionDecisionCommand) -> None:
        check_action(Action.DECIDE_LOGISTICS_EXCEPTION, self._status, command.actor.department)
        case = self._case_for(command.case_id, CaseKind.LOGISTICS_EXCEPTION)
        if self._tasks.find_open(TaskKind.HANDLE_LOGISTICS_EXCEPTION, case.case_id) is None:
            raise ActionNotAllowed(
                f"{case.case_id} is already decided",
                status=self._status,
                code="case_already_decided",
                params={"case_id": case.case_id},
            )
        if command.compensation > self._order.total:
            raise PolicyViolation(
                "compensation above the order's total",
                status=self._status,
                code="compensation_above_total",
            )
        parcel_gone = case.data.get("event") in ("lost", "damaged")
        if parcel_gone and self._status is S.IN_TRANSIT:
            if command.resolution is Resolution.NONE:
                raise PolicyViolation(
                    "lost or damaged goods are reshipped or refunded (P5.2)",
                    status=self._status,
                    code="lost_goods_need_a_resolution",
                )
            self._check_not_busy()
        elif command.resolution is not Resolution.NONE:
            raise PolicyViolation(
                f"nothing to {command.resolution}: the parcel is {case.data.get('event')} "
                f"and the order {self._status}",
                status=self._status,
                code="nothing_to_resolve",
                params={"resolution": command.resolution.value, "status": self._status.value},
            )

    @workflow.update
    async def record_cause(self, command: CauseCommand) -> ActionResult:
        """P5.2: logistics records the cause of an exception and the corrective action."""
        case = self._cases[command.case_id]
        task = self._tasks.find_open(TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION, case.case_id)
        assert task is not None
        closed = self._close_task(task, command.actor, "cause recorded")
        self._record(
            EventKind.LOGISTICS_CAUSE_RECORDED,
            actor=command.actor,
            task=task,
            data={"cause": command.cause, "corrective_action": command.corrective_action, **closed},
        )
        self._settle_case(case)
        await self._flush()
        return self._result(case_id=case.case_id)

    @record_cause.validator
    @refusals
    def _validate_record_cause(self, command: CauseCommand) -> None:
        check_action(Action.RECORD_LOGISTICS_CAUSE, self._status, command.actor.department)
        case = self._case_for(command.case_id, CaseKind.LOGISTICS_EXCEPTION)
        if self._tasks.find_open(TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION, case.case_id) is None:
            raise ActionNotAllowed(
                f"the cause of {case.case_id} is already recorded",
                status=self._status,
                code="cause_already_recorded",
                params={"case_id": case.case_id},
            )

    # --- P5.3 returns and exchanges --------------------------------------------------------

    @workflow.update
    async def request_return(self, command: ReturnCommand) -> ActionResult:
        """P5.3: a customer asks to return or exchange goods with a quality problem."""
        kind = CaseKind.RETURN if command.kind is ReturnKind.RETURN else CaseKind.EXCHANGE
        case = self._open_case(
            kind,
            command.actor,
            reason=command.reason,
            data={"reason_code": command.reason_code.value},
        )
        task = self._tasks.open(
            TaskKind.REVIEW_RETURN,
            summary=summaries.return_request(kind.value, command.reason_code.value),
            case_id=case.case_id,
        )
        await self._flush()
        return self._result(task_id=task.task_id, case_id=case.case_id)

    @request_return.validator
    @refusals
    def _validate_request_return(self, command: ReturnCommand) -> None:
        self._check_course_change(Action.REQUEST_RETURN, command.actor)
        shipment = self._shipment
        assert shipment is not None and shipment.delivered_at is not None
        window = (
            self._policy.return_window
            if command.kind is ReturnKind.RETURN
            else self._policy.exchange_window
        )
        if workflow.now() > shipment.delivered_at + window:
            raise PolicyViolation(
                f"the {command.kind.value} window of {window} after delivery has closed (P5.3)",
                status=self._status,
                code="return_window_closed",
                params={"return_kind": command.kind.value, "window": str(window)},
            )
        if self._open_cases(CaseKind.RETURN, CaseKind.EXCHANGE):
            raise ActionNotAllowed(
                "a return or exchange is already open",
                status=self._status,
                code="return_already_open",
            )

    @workflow.update
    async def decide_return(self, command: DecideReturnCommand) -> ActionResult:
        """P5.3: customer service reviews the request; approved goods go to inspection."""
        case = self._cases[command.case_id]
        task = self._tasks.find_open(TaskKind.REVIEW_RETURN, case.case_id)
        assert task is not None
        closed = self._close_task(
            task, command.actor, "approved" if command.approved else "rejected"
        )
        self._record(
            EventKind.CASE_DECIDED,
            actor=command.actor,
            note=command.reason,
            task=task,
            data={"kind": case.kind.value, "approved": command.approved, **closed},
        )
        if command.approved:
            inspect = self._tasks.open(
                TaskKind.INSPECT_RETURN,
                summary=summaries.inspect_return(case.kind.value),
                case_id=case.case_id,
            )
            await self._flush()
            return self._result(task_id=inspect.task_id, case_id=case.case_id)
        case.outcome = "rejected"
        self._settle_case(case)
        await self._flush()
        return self._result(case_id=case.case_id)

    @decide_return.validator
    @refusals
    def _validate_decide_return(self, command: DecideReturnCommand) -> None:
        check_action(Action.DECIDE_RETURN, self._status, command.actor.department)
        case = self._case_for(command.case_id, CaseKind.RETURN, CaseKind.EXCHANGE)
        if self._tasks.find_open(TaskKind.REVIEW_RETURN, case.case_id) is None:
            raise ActionNotAllowed(
                f"{case.case_id} is already decided",
                status=self._status,
                code="case_already_decided",
                params={"case_id": case.case_id},
            )

    @workflow.update
    async def inspect_return(self, command: InspectionCommand) -> ActionResult:
        """P5.3: the warehouse inspects; a confirmed problem is refunded or exchanged."""
        case = self._cases[command.case_id]
        task = self._tasks.find_open(TaskKind.INSPECT_RETURN, case.case_id)
        assert task is not None
        closed = self._close_task(
            task, command.actor, "quality problem" if command.quality_confirmed else "no problem"
        )
        self._record(
            EventKind.RETURN_INSPECTED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={
                "quality_confirmed": command.quality_confirmed,
                "restock": command.restock,
                **closed,
            },
        )
        if not command.quality_confirmed:
            case.outcome = "no quality problem found"
            self._settle_case(case)
            await self._flush()
            return self._result(case_id=case.case_id)
        await self._take_back_goods(case, command)
        # P5.3: "sales and finance are told".
        self._tasks.open(
            TaskKind.SUPPLIER_FOLLOW_UP,
            summary=summaries.supplier_follow_up(case.kind.value),
            case_id=case.case_id,
        )
        self._tasks.open(
            TaskKind.ADJUST_ACCOUNTS,
            summary=summaries.adjust_accounts(case.kind.value),
            case_id=case.case_id,
        )
        handoff: Handoff[Any] = Handoff(command, case_id=case.case_id)
        if case.kind is CaseKind.RETURN:
            case.outcome = "returned and refunded"
            self._interrupt = AcceptReturn(
                handoff, "goods returned: quality problem (P5.3)", case.case_id
            )
        else:
            case.outcome = "exchanged"
            self._interrupt = Refulfil(handoff, "exchange: quality problem (P5.3)", case.case_id)
        self._settle_case(case)
        return await self._await_answer(handoff)

    @inspect_return.validator
    @refusals
    def _validate_inspect_return(self, command: InspectionCommand) -> None:
        check_action(Action.INSPECT_RETURN, self._status, command.actor.department)
        case = self._case_for(command.case_id, CaseKind.RETURN, CaseKind.EXCHANGE)
        if self._tasks.find_open(TaskKind.INSPECT_RETURN, case.case_id) is None:
            raise ActionNotAllowed(
                f"{case.case_id} is not waiting for inspection",
                status=self._status,
                code="not_waiting_for_inspection",
                params={"case_id": case.case_id},
            )
        if command.quality_confirmed:
            self._check_not_busy()

    async def _take_back_goods(self, case: Case, command: InspectionCommand) -> None:
        """Returned units are booked back into stock or written off, as the warehouse says."""
        quantities = self._order.quantities()
        if command.restock:
            for sku, quantity in sorted(quantities.items()):
                await workflow.execute_local_activity_method(
                    InventoryActivities.receive_stock,
                    ReceiveStock(
                        receipt_id=f"{case.case_id}:{sku}",
                        sku=sku,
                        quantity=quantity,
                        note=f"returned goods of {case.case_id}",
                        actor_id=command.actor.staff_id,
                    ),
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                    summary=f"book back {quantity} x {sku}",
                )
        self._record(
            EventKind.STOCK_RETURNED if command.restock else EventKind.STOCK_WRITTEN_OFF,
            actor=command.actor,
            case_id=case.case_id,
            data={"quantities": quantities},
        )

    # --- tasks -----------------------------------------------------------------------------

    @workflow.update
    async def complete_task(self, command: CompleteTaskCommand) -> ActionResult:
        """Close a task whose work happened outside the system (a call, a booking)."""
        task = self._task_for(command.task_id, command.actor)
        closed = self._close_task(task, command.actor, "done")
        self._record(
            EventKind.TASK_COMPLETED,
            actor=command.actor,
            note=command.note,
            task=task,
            data={"kind": task.kind.value, **closed},
        )
        await self._flush()
        return self._result(task_id=task.task_id)

    @complete_task.validator
    @refusals
    def _validate_complete_task(self, command: CompleteTaskCommand) -> None:
        task = self._task_for(command.task_id, command.actor)
        if task.kind not in NOTE_TASKS:
            raise ActionNotAllowed(
                f"a {task.kind} task is closed by its own action, not a note",
                status=self._status,
                code="task_closed_by_its_action",
                params={"task_kind": task.kind.value},
            )

    @workflow.update
    async def claim_task(self, command: ClaimTaskCommand) -> ActionResult:
        """Claim, release or hand over a task within its department."""
        task = self._task_for(command.task_id, command.actor)
        previous = task.assignee
        task.assignee = command.assignee
        self._task_changed(task)
        self._record(
            EventKind.TASK_CLAIMED,
            actor=command.actor,
            task=task,
            data={"assignee": command.assignee, "previous": previous},
        )
        await self._flush()
        return self._result(task_id=task.task_id)

    @claim_task.validator
    @refusals
    def _validate_claim_task(self, command: ClaimTaskCommand) -> None:
        self._task_for(command.task_id, command.actor)

    # --- feeds (Signals) -------------------------------------------------------------------

    @workflow.signal
    async def tracking(self, command: TrackingCommand) -> None:
        """P3.4: a carrier's tracking event; P5.2: lost, damaged, delayed open a case."""
        if command.event_id in self._tracking_seen:
            return
        self._tracking_seen.add(command.event_id)
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
        shipment = self._shipment
        if self._status is not S.IN_TRANSIT or shipment is None:
            await self._flush()
            return
        if command.event is TrackingEventKind.DELIVERED and self._delivered_by is None:
            shipment.delivered_at = workflow.now()
            self._delivered_by = command.actor
            return  # `_deliver` records the delivery and writes both events at once
        if command.event in EXCEPTION_EVENTS:
            # P5.2: logistics recorded the anomaly; customer service and logistics act on it.
            case = self._open_case(
                CaseKind.LOGISTICS_EXCEPTION,
                command.actor,
                reason=command.note or command.event.value,
                data={"event": command.event.value, "tracking_number": shipment.tracking_number},
            )
            self._tasks.open(
                TaskKind.HANDLE_LOGISTICS_EXCEPTION,
                summary=summaries.parcel_inform(command.event.value),
                case_id=case.case_id,
            )
            self._tasks.open(
                TaskKind.INVESTIGATE_LOGISTICS_EXCEPTION,
                summary=summaries.parcel_cause(command.event.value),
                case_id=case.case_id,
            )
        await self._flush()

    @workflow.signal
    def stock_replenished(self, signal: StockReplenished) -> None:
        """P3.2: stock of a sku this order waits for arrived; try the reservation again."""
        if self._backorder is not None and signal.sku in self._backorder.short:
            self._restocks += 1

    # --- queries ---------------------------------------------------------------------------

    @workflow.query
    def view(self) -> OrderView:
        """The order's live state, as the API and the console show it."""
        return self._snapshot().model_copy(update={"unwritten_events": list(self._unwritten)})

    def _snapshot(self) -> OrderView:
        return OrderView(
            order=self._order,
            status=self._status,
            created_at=self._created_at,
            updated_at=self._updated_at,
            closed_at=self._closed_at,
            risk_reasons=self._risk_reasons,
            phone_verified=self._phone_verified,
            intake_problems=self._problems,
            backorder=self._backorder,
            shipment=self._shipment,
            shipments=self._shipments,
            total=self._order.total,
            paid_amount=paid_total(self._ledger),
            refunded_amount=refunded_total(self._ledger),
            balance_due=self._balance_due(),
            cases=list(self._cases.values()),
            refunds=list(self._refunds.values()),
            ledger=self._ledger,
            open_tasks=self._tasks.open_tasks(),
            pending_departments=self._tasks.pending_departments(),
            overdue=self._tasks.any_overdue(),
            intake_fingerprint=self._fingerprint,
            last_seq=self._seq,
        )

    # --- checks ----------------------------------------------------------------------------

    def _check(self, action: Action, actor: Actor) -> None:
        check_action(action, self._status, actor.department)
        if action in self._inbox:
            raise ActionNotAllowed(
                f"a {action} for this order is already being processed",
                status=self._status,
                code="action_in_progress",
                params={"action": action.value},
            )
        if self._interrupt is not None:
            raise ActionNotAllowed(
                f"the order is changing course ({self._interrupt.reason}); try again",
                status=self._status,
                code="order_changing_course",
                params={"reason": self._interrupt.reason},
            )

    def _busy(self) -> bool:
        """Shipping is under way, or another change of course is: no new one may start."""
        return (
            self._dispatching
            or Action.DISPATCH in self._inbox
            or self._interrupt is not None
            or self._closing
        )

    def _check_not_busy(self) -> None:
        if self._closing:
            raise ActionNotAllowed(
                f"the order is closing ({self._status})",
                status=self._status,
                code="order_closing",
                params={"status": self._status.value},
            )
        if self._dispatching or Action.DISPATCH in self._inbox:
            raise ActionNotAllowed(
                "the order is being dispatched", status=self._status, code="order_dispatching"
            )
        if self._interrupt is not None:
            raise ActionNotAllowed(
                f"the order is changing course ({self._interrupt.reason}); try again",
                status=self._status,
                code="order_changing_course",
                params={"reason": self._interrupt.reason},
            )

    def _check_course_change(self, action: Action, actor: Actor) -> None:
        check_action(action, self._status, actor.department)
        self._check_not_busy()

    def _case_for(self, case_id: str, *kinds: CaseKind) -> Case:
        case = self._cases.get(case_id)
        if case is None or case.kind not in kinds:
            raise NotFound(
                f"no {' or '.join(kinds)} case {case_id} on this order",
                status=self._status,
                code="no_such_case",
                params={"case_id": case_id},
            )
        if not case.is_open:
            raise ActionNotAllowed(
                f"case {case_id} is closed",
                status=self._status,
                code="case_closed",
                params={"case_id": case_id},
            )
        return case

    def _task_for(self, task_id: str, actor: Actor) -> Task:
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFound(
                f"no task {task_id} on this order",
                status=self._status,
                code="no_such_task",
                params={"task_id": task_id},
            )
        if not task.is_open:
            raise ActionNotAllowed(
                f"task {task_id} is already {task.state}",
                status=self._status,
                code="task_closed",
                params={"task_id": task_id},
            )
        if task.department is not actor.department:
            raise NotPermitted(
                f"task {task_id} belongs to {task.department}",
                status=self._status,
                code="task_of_another_department",
                params={"task_id": task_id, "department": task.department.value},
            )
        return task

    # --- handoffs and interrupts -----------------------------------------------------------

    async def _submit(self, action: Action, command: Any) -> ActionResult:
        """Hand a validated command to `run` and wait for the step's effects to be recorded."""
        if action in self._inbox:  # two updates validated in the same activation
            raise as_failure(
                ActionNotAllowed(f"a {action} is already being processed", status=self._status)
            )
        handoff: Handoff[Any] = Handoff(command)
        self._inbox[action] = handoff
        return await self._await_answer(handoff)

    async def _await_answer(self, handoff: Handoff[Any]) -> ActionResult:
        await workflow.wait_condition(lambda: handoff.done)
        if handoff.error is not None:
            raise as_failure(handoff.error)
        assert handoff.result is not None
        return handoff.result

    async def _take(self, action: Action) -> Handoff[Any]:
        await self._until(lambda: action in self._inbox)
        return self._inbox.pop(action)

    def _answer(self, handoff: Handoff[Any], message: str = "") -> None:
        """Answer the handoff once the next flush has written the step's effects."""
        self._outbox.answers.append((handoff, message))

    def _fail(self, handoff: Handoff[Any], error: OrderError) -> None:
        handoff.error = error
        handoff.done = True

    def _fail_inbox(self, reason: str) -> None:
        """Main-line actions accepted for a course the order no longer takes are refused."""
        for handoff in self._inbox.values():
            self._fail(handoff, ActionNotAllowed(reason, status=self._status))
        self._inbox.clear()

    def _refuse_interrupt(self, interrupt: Interrupt, reason: str) -> None:
        if interrupt.handoff is not None:
            self._fail(interrupt.handoff, ActionNotAllowed(reason, status=self._status))

    async def _until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: timedelta | None = None,
        summary: str | None = None,
        interruptible: bool = True,
    ) -> bool:
        """Wait for the condition; False when the timeout passed first.

        Before the workflow waits, what it did is written down and the staff whose
        actions it applied get their answer. An interrupt (a change of course) raised
        meanwhile is thrown out of the wait.
        """
        deadline = workflow.now() + timeout if timeout is not None else None
        while True:
            await self._flush()
            remaining = deadline - workflow.now() if deadline is not None else None
            if remaining is not None and remaining <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    (lambda: condition() or self._interrupt is not None)
                    if interruptible
                    else condition,
                    timeout=remaining,
                    timeout_summary=summary,
                )
            except TimeoutError:
                return False
            if not interruptible or self._interrupt is None:
                return True
            interrupt, self._interrupt = self._interrupt, None
            if isinstance(interrupt, Cancel) and self._status not in BEFORE_SHIPMENT:
                # Raced with the dispatch: after shipment the customer returns instead (P4.2).
                self._refuse_interrupt(interrupt, f"the order is already {self._status}")
                continue
            self._fail_inbox(f"the order changed course: {interrupt.reason}")
            raise interrupt

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- cases, tasks, money -----------------------------------------------------------------

    def _open_case(
        self, kind: CaseKind, actor: Actor, *, reason: str = "", data: dict[str, Any] | None = None
    ) -> Case:
        case = Case(
            case_id=f"{self._order.order_id}-C{len(self._cases) + 1}",
            order_id=self._order.order_id,
            kind=kind,
            opened_at=workflow.now(),
            reason=reason[:500],
            data=data or {},
        )
        self._cases[case.case_id] = case
        self._case_changed(case)
        self._record(
            EventKind.CASE_OPENED,
            actor=actor,
            note=reason,
            case_id=case.case_id,
            data={"kind": kind.value, **(data or {})},
        )
        return case

    def _open_cases(self, *kinds: CaseKind) -> list[Case]:
        return [c for c in self._cases.values() if c.is_open and c.kind in kinds]

    def _settle_case(self, case: Case) -> None:
        """Close the case once it is decided, its tasks are done and its refunds settled."""
        if not case.is_open or case.outcome is None:
            return
        if any(t.case_id == case.case_id for t in self._tasks.open_tasks()):
            return
        unsettled = (RefundState.PENDING, RefundState.FAILED)
        if any(r.case_id == case.case_id and r.state in unsettled for r in self._refunds.values()):
            return
        case.state = CaseState.CLOSED
        case.closed_at = workflow.now()
        self._case_changed(case)
        self._record(
            EventKind.CASE_CLOSED,
            case_id=case.case_id,
            data={"kind": case.kind.value, "outcome": case.outcome},
        )

    def _end_pending_requests(self, outcome: str) -> None:
        """Requests still awaiting a decision lose their point when the order ends."""
        for case in self._open_cases(CaseKind.CHANGE, CaseKind.RETURN, CaseKind.EXCHANGE):
            if case.outcome is None:
                case.outcome = outcome
                self._proposals.pop(case.case_id, None)

    def _close_task(
        self, task: Task, actor: Actor, outcome: str, state: TaskState = TaskState.DONE
    ) -> dict[str, str | bool]:
        closed = self._tasks.close(task, actor, outcome, state=state)
        if task.case_id is not None:
            self._settle_case(self._cases[task.case_id])
        return closed

    def _cancel_tasks(self, kinds: frozenset[TaskKind] | set[TaskKind], outcome: str) -> None:
        for task in self._tasks.open_tasks():
            if task.kind in kinds:
                self._close_task(task, SYSTEM_ACTOR, outcome, state=TaskState.CANCELLED)

    def _follow_ups_done(self) -> bool:
        return not self._tasks.open_tasks() and not any(c.is_open for c in self._cases.values())

    def _add_entry(
        self,
        kind: LedgerKind,
        amount: Decimal,
        entry_id: str,
        actor: Actor,
        *,
        case_id: str | None = None,
        reference: str | None = None,
        note: str = "",
    ) -> LedgerEntry:
        entry = LedgerEntry(
            entry_id=entry_id,
            order_id=self._order.order_id,
            kind=kind,
            amount=quantize(amount),
            at=workflow.now(),
            actor_id=actor.staff_id,
            actor_department=actor.department.value,
            case_id=case_id,
            reference=reference,
            note=note[:500],
        )
        self._ledger.append(entry)
        self._outbox.ledger.append(entry)
        return entry

    def _book(
        self,
        kind: LedgerKind,
        amount: Decimal,
        entry_id: str,
        actor: Actor,
        *,
        case_id: str | None = None,
        reference: str | None = None,
        note: str = "",
    ) -> None:
        """A movement the workflow books itself (payments, compensation), with its event."""
        entry = self._add_entry(
            kind, amount, entry_id, actor, case_id=case_id, reference=reference, note=note
        )
        self._record(
            EventKind.LEDGER,
            actor=actor,
            case_id=case_id,
            data={"entry_id": entry_id, "kind": kind.value, "amount": str(entry.amount)},
        )

    def _book_intake_payment(self, actor: Actor) -> None:
        """P2.2: what the payment system says was paid is booked; a correction adjusts it."""
        payment = self._order.payment
        reported = payment.amount if payment.status is PaymentStatus.PAID else ZERO
        difference = reported - self._intake_paid
        if difference != ZERO:
            number = sum(1 for e in self._ledger if ":payment:intake" in e.entry_id) + 1
            self._book(
                LedgerKind.PAYMENT,
                difference,
                f"{self._order.order_id}:payment:intake-{number}",
                actor,
                reference=payment.transaction_id,
            )
            self._intake_paid = reported

    def _refundable(self) -> Decimal:
        return refundable(self._ledger, list(self._refunds.values()))

    def _is_paid(self) -> bool:
        net = paid_total(self._ledger) - refunded_total(self._ledger)
        return net >= self._order.total > ZERO

    def _balance_due(self) -> Decimal:
        """What the customer still owes for a paid order whose total went up (P4.1)."""
        if paid_total(self._ledger) == ZERO:
            return ZERO
        net = paid_total(self._ledger) - sum((r.amount for r in self._refunds.values()), ZERO)
        return max(self._order.total - net, ZERO)

    async def _refund(
        self,
        amount: Decimal,
        reason: str,
        case_id: str | None = None,
        *,
        transaction_id: str | None = None,
    ) -> Refund | None:
        """Pay money back through the gateway; never more than what may still be refunded.

        If the gateway refuses, finance gets a task to refund by hand (and the refund
        keeps counting as given, so nothing can be refunded twice meanwhile).
        """
        async with self._money_lock:
            amount = min(quantize(amount), self._refundable())
            if amount <= ZERO:
                return None
            refund = Refund(
                refund_id=f"{self._order.order_id}:refund:{len(self._refunds) + 1}",
                amount=amount,
                reason=reason[:500],
                case_id=case_id,
                requested_at=workflow.now(),
            )
            self._refunds[refund.refund_id] = refund
            # The payments this refund rests on must be in the ledger before the gateway step.
            await self._flush()
            try:
                outcome: RefundOutcome = await workflow.execute_activity_method(
                    PaymentActivities.issue_refund,
                    RefundRequest(
                        refund_id=refund.refund_id,
                        order_id=self._order.order_id,
                        amount=amount,
                        transaction_id=transaction_id or self._order.payment.transaction_id,
                        case_id=case_id,
                        reason=reason,
                    ),
                    start_to_close_timeout=GATEWAY_TIMEOUT,
                    retry_policy=GATEWAY_RETRY,
                    summary=f"refund {amount}",
                )
            except ActivityError as error:
                outcome = RefundOutcome(
                    refund_id=refund.refund_id,
                    issued=False,
                    failure=f"gateway unavailable: {error.cause or error}",
                )
            refund.settled_at = workflow.now()
            if outcome.issued:
                refund.state = RefundState.ISSUED
                refund.reference = outcome.reference
                # Booked by the activity already; the read model's copy is then a no-op.
                self._add_entry(
                    LedgerKind.REFUND,
                    -amount,
                    refund.refund_id,
                    SYSTEM_ACTOR,
                    case_id=case_id,
                    reference=outcome.reference,
                    note=reason,
                )
                self._record_refund_issued(refund, SYSTEM_ACTOR, None, {})
            else:
                refund.state = RefundState.FAILED
                refund.failure = (outcome.failure or "refused")[:300]
                self._record(
                    EventKind.REFUND_FAILED,
                    case_id=case_id,
                    data={
                        "refund_id": refund.refund_id,
                        "amount": str(amount),
                        "reason": refund.failure,
                    },
                )
                task = self._tasks.open(
                    TaskKind.MANUAL_REFUND,
                    summary=summaries.refund_by_hand(
                        amount, refund.refund_id, refund.failure or ""
                    ),
                    case_id=case_id,
                )
                self._refund_tasks[refund.refund_id] = task.task_id
            if case_id is not None:
                self._settle_case(self._cases[case_id])
            return refund

    def _record_refund_issued(
        self, refund: Refund, actor: Actor, task: Task | None, closed: dict[str, str | bool]
    ) -> None:
        self._record(
            EventKind.REFUND_ISSUED,
            actor=actor,
            task=task,
            case_id=refund.case_id,
            data={
                "refund_id": refund.refund_id,
                "amount": str(refund.amount),
                "paid_total": str(paid_total(self._ledger)),
                "refunded_total": str(refunded_total(self._ledger)),
                "reference": refund.reference,
                **closed,
            },
        )
        self._record(
            EventKind.LEDGER,
            actor=actor,
            case_id=refund.case_id,
            data={
                "entry_id": refund.refund_id,
                "kind": LedgerKind.REFUND.value,
                "amount": str(-refund.amount),
            },
        )

    # --- changes -------------------------------------------------------------------------

    async def _apply_change(self, proposal: ChangeCommand, actor: Actor, case: Case) -> bool:
        """Apply an approved change (P4.1). True when the goods changed and must ship anew."""
        fields: list[str] = []
        before = self._order.total
        if proposal.shipping is not None:
            self._order = self._order.model_copy(update={"shipping": proposal.shipping})
            fields.append("shipping")
            # P4.1: "a change of address makes logistics re-plan the route".
            self._tasks.open(
                TaskKind.REPLAN_DELIVERY,
                summary=summaries.replan_route(),
                case_id=case.case_id,
            )
        if proposal.items is not None:
            self._order = self._order.model_copy(update={"items": proposal.items})
            self._outbox.lines_changed = True
            fields.append("items")
        after = self._order.total
        if self._status in (S.RECEIVED, S.NEEDS_CORRECTION, S.UNDER_REVIEW):
            # Not yet reviewed: the new goods may make the order risky (P3.1).
            self._risk_reasons = risk_reasons(self._order, self._policy.risk_amount_threshold)
        self._record(
            EventKind.CHANGE_APPLIED,
            actor=actor,
            case_id=case.case_id,
            data={"fields": fields, "total_before": str(before), "total_after": str(after)},
        )
        if proposal.items is None:
            return False
        # Money follows the goods: a cheaper order is refunded the difference; a dearer
        # one owes the rest (balance_due).
        overpaid = self._refundable() - after
        if after < before and overpaid > ZERO:
            await self._refund(overpaid, "cheaper goods after a change (P4.1)", case.case_id)
        in_fulfilment = self._status in (S.OUT_OF_STOCK, S.READY_TO_PACK, S.AWAITING_DISPATCH)
        return in_fulfilment

    # --- machinery -------------------------------------------------------------------------

    def _result(
        self,
        message: str = "",
        task_id: str | None = None,
        case_id: str | None = None,
        refund_id: str | None = None,
    ) -> ActionResult:
        return ActionResult(
            order_id=self._order.order_id,
            status=self._status,
            message=message,
            task_id=task_id,
            case_id=case_id,
            refund_id=refund_id,
        )

    @property
    def _shipment(self) -> Shipment | None:
        return self._shipments[-1] if self._shipments else None

    def _set_status(self, new: OrderStatus) -> None:
        if not can_transition(self._status, new):
            # A bug, not a refusal: fail the workflow task so ops see it and a fix can resume.
            raise RuntimeError(f"illegal transition {self._status} -> {new}")
        self._status = new

    def _record(
        self,
        kind: EventKind,
        *,
        actor: Actor | None = None,
        note: str = "",
        task: Task | None = None,
        case_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> OrderEvent:
        self._seq += 1
        self._updated_at = workflow.now()
        event = OrderEvent(
            seq=self._seq,
            at=self._updated_at,
            kind=kind,
            status=self._status,
            actor=actor or SYSTEM_ACTOR,
            note=note[:1000],
            task_id=task.task_id if task else None,
            case_id=case_id or (task.case_id if task else None),
            data=data or {},
        )
        self._outbox.events.append(event)
        self._unwritten.append(event)
        return event

    def _task_changed(self, task: Task) -> None:
        self._revision += 1
        task.revision = self._revision
        self._outbox.tasks[task.task_id] = task.model_copy()

    def _case_changed(self, case: Case) -> None:
        self._revision += 1
        case.revision = self._revision
        self._outbox.cases[case.case_id] = case

    async def _task_deadline(self, task: Task, stage: DeadlineStage) -> None:
        """A task's reminder time or deadline passed while it was open (P8.2 timeliness)."""
        for kind, data in mark_deadline(task, stage):
            self._record(EventKind(kind), task=task, data=data)
        self._task_changed(task)
        await self._flush()

    async def _reserve(self) -> Reservation:
        if self._outbox.stock:
            await self._flush()  # what a previous shipment held goes back first
        self._reservations += 1
        key = f"{self._order.order_id}:R{self._reservations}"
        quantities = self._order.quantities()
        reservation: Reservation = await workflow.execute_local_activity_method(
            InventoryActivities.reserve_stock,
            ReserveStock(order_id=self._order.order_id, reservation_key=key, quantities=quantities),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=f"reserve {sum(quantities.values())} unit(s) of {len(quantities)} sku(s)",
        )
        if reservation.reserved:
            self._reservation_key = key
            self._reserved = quantities
        return reservation

    def _move_stock(self, action: Literal["ship", "release"]) -> None:
        """Ship or release what the order holds, with the step's next write (one transaction)."""
        assert self._reservation_key is not None
        self._outbox.stock.append(StockStep(action=action, reservation_key=self._reservation_key))
        kind = EventKind.STOCK_SHIPPED if action == "ship" else EventKind.STOCK_RELEASED
        self._record(
            kind, data={"reservation": self._reservation_key, "quantities": self._reserved}
        )
        self._reservation_key = None

    async def _flush(self) -> None:
        """Write what changed to the read model, then answer the staff waiting on it."""
        async with self._flush_lock:
            outbox, self._outbox = self._outbox, Outbox()
            if (
                outbox.events
                or outbox.tasks
                or outbox.cases
                or outbox.ledger
                or outbox.lines_changed
            ):
                self._revision += 1
                changes = OrderChanges(
                    view=self._snapshot(),
                    revision=self._revision,
                    events=outbox.events,
                    tasks=list(outbox.tasks.values()),
                    cases=[c.model_copy() for c in outbox.cases.values()],
                    ledger=outbox.ledger,
                    lines_changed=outbox.lines_changed,
                    stock=outbox.stock,
                )
                await workflow.execute_local_activity_method(
                    ReadModelActivities.apply_order_changes,
                    changes,
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                    summary=f"record {', '.join(e.kind.value for e in outbox.events) or 'tasks'}",
                )
                written = {e.seq for e in outbox.events}
                self._unwritten = [e for e in self._unwritten if e.seq not in written]
                self._recorded = True
            self._sync_search_attributes()
            for handoff, message in outbox.answers:
                if not handoff.done:
                    handoff.result = self._result(message, case_id=handoff.case_id)
                    handoff.done = True

    def _sync_search_attributes(self) -> None:
        """Keep the Temporal UI's view of the order current (only changed keys are sent)."""
        pending = self._tasks.pending_departments()
        wanted: dict[str, Any] = {
            sa.ORDER_STATUS.name: self._status.value,
            sa.PENDING_DEPARTMENT.name: pending[0].value if pending else None,
            sa.OVERDUE.name: self._tasks.any_overdue(),
        }
        updates: list[SearchAttributeUpdate[Any]] = []
        for key in (sa.ORDER_STATUS, sa.PENDING_DEPARTMENT, sa.OVERDUE):
            value = wanted[key.name]
            if self._search.get(key.name) != value:
                updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
            self._search = wanted
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        """The Temporal UI's "current details": status, money, and who the order waits for."""
        lines = [
            f"**Status:** {self._status.value}",
            f"**Total:** {self._order.total} · paid {paid_total(self._ledger)} · "
            f"refunded {refunded_total(self._ledger)}",
        ]
        for case in self._open_cases(*CaseKind):
            lines.append(f"- case {case.case_id}: {case.kind.value}")
        for task in self._tasks.open_tasks():
            flag = " **OVERDUE**" if task.overdue else ""
            lines.append(
                f"- {task.department.value}: {task.kind.value} "
                f"due {task.due_at:%Y-%m-%d %H:%M} UTC{flag}"
            )
        return "\n".join(lines)

    def _apply_correction(self, command: CorrectionCommand) -> None:
        updates = {
            name: getattr(command, name)
            for name in ("customer", "items", "shipping", "payment")
            if getattr(command, name) is not None
        }
        self._order = self._order.model_copy(update=updates)
        if "items" in updates:
            self._outbox.lines_changed = True

    @staticmethod
    def _corrected_fields(command: CorrectionCommand) -> list[str]:
        return [
            name
            for name in ("customer", "items", "shipping", "payment")
            if getattr(command, name) is not None
        ]

    def _lines_summary(self) -> summaries.Summary:
        units = sum(line.quantity for line in self._order.items)
        return summaries.lines(len(self._order.items), units, self._order.total)
