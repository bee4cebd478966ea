"""OrderWorkflow: one order's whole life under the policy, from intake to completion.

`run` reads like the policy: intake (P2.2), review (P3.1), stock (P3.2), pick and
pack (P3.3), dispatch and delivery (P3.4), the after-sales window (P5.3). Staff
act through Updates; each validator checks the actor's department and the
order's state against `domain.actions` before the update is accepted, so a
refused action leaves no trace in the history. Main-line steps are handed to
`run` (see `_submit`/`_take`) so that the answer a member of staff gets is the
order's status *after* the step's effects, e.g. `out_of_stock` right after an
approval. Feeds from carriers and the payment system are signals, deduplicated
by their event id.

Every change is recorded as an event and mirrored to the read model by one
local activity per step (`_flush`), which also keeps the search attributes and
the UI's current details in step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import wraps
from typing import Any, Generic, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import OrderChanges, Reservation, ReserveStock, StockMovement
    from activities.inventory import InventoryActivities
    from activities.read_model import ReadModelActivities
    from domain.actions import Action, check_action
    from domain.actors import SYSTEM_ACTOR, Actor
    from domain.commands import (
        ActionResult,
        BackorderCommand,
        ClaimTaskCommand,
        CompleteTaskCommand,
        CorrectionCommand,
        DispatchCommand,
        PackCommand,
        ReviewCommand,
        StockReplenished,
        TrackingCommand,
        TrackingEventKind,
    )
    from domain.errors import ActionNotAllowed, NotFound, NotPermitted, OrderError, PolicyViolation
    from domain.events import EventKind, OrderEvent
    from domain.intake import validate_intake
    from domain.money import ZERO
    from domain.order import NewOrder, OrderKind, PaymentStatus
    from domain.risk import risk_reasons
    from domain.states import OrderStatus, can_transition
    from domain.tasks import NOTE_TASKS, Task, TaskKind
    from domain.view import Backorder, OrderView, Shipment
    from workflows import search_attributes as sa
    from workflows.contracts import OrderOutcome, OrderWorkflowInput
    from workflows.metrics import count_outcome
    from workflows.task_book import DeadlineStage, TaskBook

S = OrderStatus

#: Infrastructure failures (a database restart) retry until they succeed; business
#: outcomes are results, never exceptions, so nothing here is worth giving up on.
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
DB_TIMEOUT = timedelta(seconds=30)

C = TypeVar("C")
F = TypeVar("F", bound=Callable[..., Any])


def as_failure(error: OrderError) -> ApplicationError:
    """A refusal as it crosses the Temporal boundary; api/errors.py maps the type to HTTP."""
    return ApplicationError(
        error.message, {"status": error.status}, type=type(error).__name__, non_retryable=True
    )


def refusals(fn: F) -> F:
    """Let validators raise domain errors; Temporal sees them as ApplicationErrors."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OrderError as error:
            raise as_failure(error) from None

    return wrapper  # type: ignore[return-value]


@dataclass
class _Handoff(Generic[C]):
    """A staff command handed from its update handler to `run`, and the answer back."""

    command: C
    done: bool = False
    result: ActionResult | None = None
    error: OrderError | None = None


@dataclass
class _Outbox:
    """Changes not yet written to the read model, and the handoffs to answer once they are."""

    events: list[OrderEvent] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    lines_changed: bool = False
    answers: list[tuple[_Handoff[Any], str]] = field(default_factory=list)


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, input: OrderWorkflowInput) -> None:
        self._order: NewOrder = input.order
        self._policy = input.policy
        self._fingerprint = input.fingerprint
        self._status = S.RECEIVED
        self._created_at = workflow.now()
        self._updated_at = self._created_at
        self._closed_at: Any = None
        self._seq = 0
        self._revision = 0
        self._outbox = _Outbox(lines_changed=True)
        self._flush_lock = asyncio.Lock()
        self._tasks = TaskBook(
            self._order.order_id, self._policy, self._task_changed, self._task_deadline
        )
        self._inbox: dict[Action, _Handoff[Any]] = {}
        self._problems: list[Any] = []
        self._risk_reasons: list[str] = []
        self._phone_verified = False
        self._backorder: Backorder | None = None
        self._restocks = 0
        self._reservations = 0
        self._reservation_key: str | None = None
        self._packages = 0
        self._review_task: Task | None = None
        self._deliver_task: Task | None = None
        self._shipment: Shipment | None = None
        self._tracking_seen: set[str] = set()
        self._delivered_by: Actor | None = None
        paid = self._order.payment.status is PaymentStatus.PAID
        self._paid = self._order.payment.amount if paid else ZERO
        self._refunded = ZERO
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
        await self._intake()
        if await self._review():
            await self._fulfil()
            await self._deliver()
            await self._after_sales()
            self._set_status(S.COMPLETED)
        return await self._close()

    async def _intake(self) -> None:
        """P2.2: validate the handed-over data; while it is wrong, its owner corrects it."""
        while problems := validate_intake(self._order):
            self._problems = problems
            self._set_status(S.NEEDS_CORRECTION)
            task = self._tasks.open(
                TaskKind.CORRECT_ORDER,
                department=problems[0].department,
                summary="fix: " + ", ".join(p.field for p in problems),
            )
            self._record(
                EventKind.INTAKE_PROBLEMS,
                task=task,
                data={"problems": [p.model_dump(mode="json") for p in problems]},
            )
            # Waiting for the correction flushes: the previous one (if any) is answered now.
            handoff: _Handoff[CorrectionCommand] = await self._take(Action.CORRECT)
            command = handoff.command
            self._apply_correction(command)
            closed = self._tasks.close(task, command.actor, "corrected")
            self._record(
                EventKind.CORRECTED,
                actor=command.actor,
                note=command.note,
                task=task,
                data={"fields": self._corrected_fields(command), **closed},
            )
            self._answer(handoff)
        self._problems = []
        self._risk_reasons = risk_reasons(self._order, self._policy.risk_amount_threshold)
        self._set_status(S.UNDER_REVIEW)
        verify = (
            f"; phone verification: {', '.join(self._risk_reasons)}" if self._risk_reasons else ""
        )
        self._review_task = self._tasks.open(
            TaskKind.REVIEW, summary=self._lines_summary() + verify
        )

    async def _review(self) -> bool:
        """P3.1: sales approves (risky orders only after a phone call-back) or rejects."""
        handoff: _Handoff[ReviewCommand] = await self._take(Action.REVIEW)
        command = handoff.command
        assert self._review_task is not None
        self._phone_verified = bool(command.phone_verified)
        outcome = "approved" if command.approved else "rejected"
        closed = self._tasks.close(self._review_task, command.actor, outcome)
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
        self._answer(handoff)
        if not command.approved:
            self._set_status(S.REJECTED)
            self._record(EventKind.REJECTED, actor=command.actor, note=command.note)
            return False
        return True

    async def _fulfil(self) -> None:
        """P3.2 stock, P3.3 pick and pack, P3.4 dispatch. A service order has nothing to pick."""
        if self._order.kind is OrderKind.GOODS:
            await self._confirm_stock()
            await self._pack()
        else:
            self._set_status(S.AWAITING_DISPATCH)
        await self._dispatch()

    async def _pack(self) -> None:
        """P3.3: the warehouse picks and packs; the package carries its accessories."""
        pack = self._tasks.open(TaskKind.PACK, summary=self._lines_summary())
        packed: _Handoff[PackCommand] = await self._take(Action.PACK)
        command = packed.command
        self._packages = command.packages
        closed = self._tasks.close(pack, command.actor, f"{command.packages} package(s)")
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
        handoff: _Handoff[DispatchCommand] = await self._take(Action.DISPATCH)
        command = handoff.command
        if self._reservation_key is not None:
            await self._move_stock(InventoryActivities.ship_stock, EventKind.STOCK_SHIPPED)
        now = workflow.now()
        self._shipment = Shipment(
            carrier=command.carrier,
            method=command.method,
            tracking_number=command.tracking_number,
            packages=self._packages,
            dispatched_at=now,
            promised_by=now + self._policy.delivery_deadline,
        )
        closed = self._tasks.close(dispatch, command.actor, f"{command.carrier} {command.method}")
        self._set_status(S.IN_TRANSIT)
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
            summary=f"{command.carrier} {command.tracking_number}",
            deadline=self._policy.delivery_deadline,
        )
        self._answer(handoff)

    async def _confirm_stock(self) -> None:
        """P3.2: reserve at once; when short, wait for restock with the reason on record."""
        while True:
            reservation = await self._reserve()
            if reservation.reserved:
                backorder_task = self._tasks.find_open(TaskKind.RECORD_BACKORDER)
                if backorder_task is not None:
                    self._tasks.cancel_open(
                        SYSTEM_ACTOR, "stock arrived", kinds={TaskKind.RECORD_BACKORDER}
                    )
                self._backorder = None
                self._set_status(S.READY_TO_PACK)
                self._record(
                    EventKind.STOCK_RESERVED,
                    data={
                        "reservation": reservation.reservation_key,
                        "quantities": self._order.quantities(),
                    },
                )
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
                short = ", ".join(f"{sku} x{n}" for sku, n in sorted(reservation.short.items()))
                self._tasks.open(TaskKind.RECORD_BACKORDER, summary=f"short: {short}")
            await self._until(self._restocked_since(self._restocks))
            self._record(EventKind.STOCK_REPLENISHED)

    def _restocked_since(self, seen: int) -> Callable[[], bool]:
        return lambda: self._restocks > seen

    async def _deliver(self) -> None:
        """P3.4: wait for the carrier's delivery; the DELIVER task is due at the promised date."""
        await self._until(lambda: self._delivered_by is not None)
        assert self._shipment and self._delivered_by and self._deliver_task
        closed = self._tasks.close(self._deliver_task, self._delivered_by, "delivered")
        self._set_status(S.DELIVERED)
        self._record(
            EventKind.DELIVERED,
            actor=self._delivered_by,
            task=self._deliver_task,
            data={
                "on_time": self._shipment.delivered_at is not None
                and self._shipment.delivered_at <= self._shipment.promised_by,
                **closed,
            },
        )

    async def _after_sales(self) -> None:
        """P5.3: the order stays open for returns and exchanges until the window closes."""
        window = self._policy.after_sales_window
        await self._until(lambda: False, timeout=window, summary="after-sales window")

    async def _close(self) -> OrderOutcome:
        self._closed_at = workflow.now()
        self._tasks.cancel_open(SYSTEM_ACTOR, f"order {self._status}")
        if self._status is S.COMPLETED:
            self._record(EventKind.COMPLETED)
        await self._flush()
        count_outcome(self._status)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderOutcome(
            order_id=self._order.order_id, status=self._status, closed_at=self._closed_at
        )

    # --- staff actions (Updates) -----------------------------------------------------------

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
                f"the faulty data belongs to {task.department} (P2.2)", status=self._status
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
        closed = self._tasks.close(task, command.actor, "recorded") if task else {}
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
                summary=f"restock expected {command.restock_eta:%Y-%m-%d %H:%M}",
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
                f"the package must carry {', '.join(missing)} (P3.3)", status=self._status
            )

    @workflow.update
    async def dispatch(self, command: DispatchCommand) -> ActionResult:
        """P3.4: handed to the carrier."""
        return await self._submit(Action.DISPATCH, command)

    @dispatch.validator
    @refusals
    def _validate_dispatch(self, command: DispatchCommand) -> None:
        self._check(Action.DISPATCH, command.actor)

    @workflow.update
    async def complete_task(self, command: CompleteTaskCommand) -> ActionResult:
        """Close a task whose work happened outside the system (a call, a booking)."""
        task = self._task_for(command.task_id, command.actor)
        closed = self._tasks.close(task, command.actor, "done")
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
                f"a {task.kind} task is closed by its own action, not a note", status=self._status
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
        """P3.4: a carrier's tracking event; repeated event ids are ignored."""
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
        if (
            command.event is TrackingEventKind.DELIVERED
            and self._status is S.IN_TRANSIT
            and self._shipment is not None
            and self._delivered_by is None
        ):
            self._shipment.delivered_at = workflow.now()
            self._delivered_by = command.actor
            return  # `_deliver` records the delivery and writes both events at once
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
            total=self._order.total,
            paid_amount=self._paid,
            refunded_amount=self._refunded,
            open_tasks=self._tasks.open_tasks(),
            pending_departments=self._tasks.pending_departments(),
            overdue=self._tasks.any_overdue(),
            intake_fingerprint=self._fingerprint,
            last_seq=self._seq,
        )

    # --- machinery -------------------------------------------------------------------------

    def _check(self, action: Action, actor: Actor) -> None:
        check_action(action, self._status, actor.department)
        if action in self._inbox:
            raise ActionNotAllowed(
                f"a {action} for this order is already being processed", status=self._status
            )

    def _task_for(self, task_id: str, actor: Actor) -> Task:
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFound(f"no task {task_id} on this order", status=self._status)
        if not task.is_open:
            raise ActionNotAllowed(f"task {task_id} is already {task.state}", status=self._status)
        if task.department is not actor.department:
            raise NotPermitted(f"task {task_id} belongs to {task.department}", status=self._status)
        return task

    async def _submit(self, action: Action, command: Any) -> ActionResult:
        """Hand a validated command to `run` and wait for the step's effects to be recorded."""
        if action in self._inbox:  # two updates validated in the same activation
            raise as_failure(
                ActionNotAllowed(f"a {action} is already being processed", status=self._status)
            )
        handoff: _Handoff[Any] = _Handoff(command)
        self._inbox[action] = handoff
        await workflow.wait_condition(lambda: handoff.done)
        if handoff.error is not None:
            raise as_failure(handoff.error)
        assert handoff.result is not None
        return handoff.result

    async def _take(self, action: Action) -> _Handoff[Any]:
        await self._until(lambda: action in self._inbox)
        return self._inbox.pop(action)

    def _answer(self, handoff: _Handoff[Any], message: str = "") -> None:
        """Answer the handoff once the next flush has written the step's effects."""
        self._outbox.answers.append((handoff, message))

    def _result(self, message: str = "", task_id: str | None = None) -> ActionResult:
        return ActionResult(
            order_id=self._order.order_id, status=self._status, message=message, task_id=task_id
        )

    async def _until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: timedelta | None = None,
        summary: str | None = None,
    ) -> bool:
        """Wait for the condition; False when the timeout passed first.

        Before the workflow waits, what it did is written down and the staff whose
        actions it applied get their answer.
        """
        await self._flush()
        try:
            await workflow.wait_condition(condition, timeout=timeout, timeout_summary=summary)
        except TimeoutError:
            return False
        return True

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
        return event

    def _task_changed(self, task: Task) -> None:
        self._revision += 1
        task.revision = self._revision
        self._outbox.tasks[task.task_id] = task.model_copy()

    async def _task_deadline(self, task: Task, stage: DeadlineStage) -> None:
        """A task's reminder time or deadline passed while it was open (P8.2 timeliness)."""
        if stage == "remind":
            task.reminded = True
            self._record(
                EventKind.TASK_REMINDED, task=task, data={"due_at": task.due_at.isoformat()}
            )
        else:
            task.overdue = True
            task.escalated = True
            self._record(
                EventKind.TASK_OVERDUE, task=task, data={"due_at": task.due_at.isoformat()}
            )
            self._record(
                EventKind.TASK_ESCALATED,
                task=task,
                data={"to": f"{task.department.value}_lead", "kind": task.kind.value},
            )
        self._task_changed(task)
        await self._flush()

    async def _reserve(self) -> Reservation:
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
        return reservation

    async def _move_stock(self, activity: Callable[..., Any], kind: EventKind) -> None:
        assert self._reservation_key is not None
        moved = await workflow.execute_local_activity_method(
            activity,
            StockMovement(order_id=self._order.order_id, reservation_key=self._reservation_key),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
            summary=f"{kind.value} {self._reservation_key}",
        )
        self._record(
            kind, data={"reservation": self._reservation_key, "quantities": moved.quantities}
        )

    async def _flush(self) -> None:
        """Write what changed to the read model, then answer the staff waiting on it."""
        async with self._flush_lock:
            outbox, self._outbox = self._outbox, _Outbox()
            if outbox.events or outbox.tasks or outbox.lines_changed:
                self._revision += 1
                changes = OrderChanges(
                    view=self.view(),
                    revision=self._revision,
                    events=outbox.events,
                    tasks=list(outbox.tasks.values()),
                    lines_changed=outbox.lines_changed,
                )
                await workflow.execute_local_activity_method(
                    ReadModelActivities.apply_order_changes,
                    changes,
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                    summary=f"record {', '.join(e.kind.value for e in outbox.events) or 'tasks'}",
                )
            self._sync_search_attributes()
            for handoff, message in outbox.answers:
                handoff.result = self._result(message)
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
        """The Temporal UI's "current details": status and who the order waits for."""
        lines = [
            f"**Status:** {self._status.value}",
            f"**Total:** {self._order.total} ({self._order.payment.status.value})",
        ]
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
        if "payment" in updates:
            paid = self._order.payment.status is PaymentStatus.PAID
            self._paid = self._order.payment.amount if paid else Decimal("0.00")

    @staticmethod
    def _corrected_fields(command: CorrectionCommand) -> list[str]:
        return [
            name
            for name in ("customer", "items", "shipping", "payment")
            if getattr(command, name) is not None
        ]

    def _lines_summary(self) -> str:
        units = sum(line.quantity for line in self._order.items)
        return f"{len(self._order.items)} line(s), {units} unit(s), total {self._order.total}"
