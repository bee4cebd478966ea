"""P2.2 intake and its corrections, P3.1 review, as plain functions of the order aggregate."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from domain.actors import Department
from domain.commands import ReviewCommand
from domain.errors import ActionNotAllowed, NotPermitted, OrderError, PolicyViolation
from domain.events import EventKind
from domain.ledger import LedgerKind
from domain.order.details import NewOrder, OrderItem
from domain.policy import PolicySettings
from domain.states import OrderStatus
from domain.tasks import TaskKind
from tests.domain.order.builders import Story, actor, in_stock, refunds_paid, short_of
from tests.support.orders import order_body

S = OrderStatus
D = Department
DEFAULT_TOTAL = Decimal("258.00")
#: The default order's line at the price the customer paid for it (250.00 for two).
PRICED_DOWN = OrderItem(sku="SKU-1", name="sku-1", quantity=2, unit_price=Decimal("125.00"))


# --- helpers ---------------------------------------------------------------------------------


def order_with(changes: dict[str, Any], **options: Any) -> NewOrder:
    """`order_body`'s order (options as there), then each dotted path of `changes` set."""
    body = order_body("JD1", **options)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        part = body
        for name in parents:
            part = part[name]
        part[leaf] = value
    return NewOrder.model_validate(body)


def story_in(status: OrderStatus, **options: Any) -> Story:
    """An order in `status`, also the two the main line of `Story.at` does not reach."""
    if status is S.NEEDS_CORRECTION:
        return Story(order_with({"shipping.address": None}, **options))
    if status is S.OUT_OF_STOCK:
        story = Story(order_with({}, **options), stock=short_of(SKU_1=2))
        story.approve()
        story.stock = in_stock
        assert story.status is S.OUT_OF_STOCK
        return story
    return Story.at(status, **options)


def refused(story: Story, attempt: Callable[[], Any], error: type[OrderError]) -> OrderError:
    """The attempt is refused with `error` and leaves the order as it was."""
    before = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    with pytest.raises(error) as caught:
        attempt()
    after = (story.status, story.state.seq, len(story.state.tasks.tasks), len(story.requests))
    assert after == before
    return caught.value


def payments(story: Story) -> list[tuple[str, Decimal]]:
    return [(e.entry_id, e.amount) for e in story.state.ledger if e.kind is LedgerKind.PAYMENT]


# --- P2.2 intake: a complete order goes to review --------------------------------------------


@pytest.mark.parametrize(
    ("changes", "options"),
    [
        ({}, {}),
        ({}, {"paid": False}),
        ({}, {"kind": "service"}),
        # One phone to reach the customer is enough: the shipping contact's.
        ({"customer.phone": None}, {}),
    ],
    ids=["paid goods", "unpaid", "service", "contact phone only"],
)
def test_p2_2_a_complete_order_goes_to_review_with_a_task_for_sales(changes, options):
    story = Story(order_with(changes, **options))
    assert story.status is S.UNDER_REVIEW
    assert story.state.problems == []
    [task] = story.opening.opened
    assert (task.kind, task.department) == (TaskKind.REVIEW, D.SALES)
    assert story.opening.kinds[0] is EventKind.RECEIVED
    assert EventKind.INTAKE_PROBLEMS not in story.opening.kinds


@pytest.mark.parametrize(
    ("lines", "summary", "params"),
    [
        (None, "1 line(s), 2 unit(s), total 258.00", {"lines": "1", "units": "2"}),
        (
            [("SKU-1", 2, "10.00"), ("SKU-2", 3, "5.00")],
            "2 line(s), 5 unit(s), total 35.00",
            {"lines": "2", "units": "5", "total": "35.00"},
        ),
    ],
)
def test_p2_2_the_review_task_summarises_lines_units_and_total(lines, summary, params):
    story = Story(order_with({}, lines=lines))
    task = story.open_task(TaskKind.REVIEW)
    assert task.summary == summary
    assert task.summary_code == "lines"
    assert params.items() <= task.summary_params.items()


def test_p3_1_the_review_task_of_a_risky_order_names_why_a_call_is_needed():
    story = Story(order_with({}, new_customer=True, lines=[("SKU-1", 1, "6000.00")]))
    task = story.open_task(TaskKind.REVIEW)
    reasons = ["new customer", "amount 6000.00 over 5000.00"]
    assert story.state.risk_reasons == reasons
    assert task.summary_code == "review_with_call"
    assert task.summary_params["reasons"] == reasons
    assert task.summary.endswith("phone verification: " + ", ".join(reasons))


# --- P2.2 intake problems go to the department that owns the data ----------------------------

PROBLEMS = [
    ({"payment.amount": "250.00"}, ["payment.amount"], D.SALES),
    (
        {
            "items": [
                {"sku": "SKU-1", "quantity": 1, "unit_price": "129.00"},
                {"sku": "SKU-1", "quantity": 1, "unit_price": "129.00"},
            ]
        },
        ["items"],
        D.SALES,
    ),
    ({"payment.transaction_id": None}, ["payment.transaction_id"], D.SALES),
    ({"payment.transaction_id": "  "}, ["payment.transaction_id"], D.SALES),
    ({"customer.name": None}, ["customer.name"], D.CUSTOMER_SERVICE),
    ({"customer.name": "  "}, ["customer.name"], D.CUSTOMER_SERVICE),
    (
        {"customer.phone": None, "shipping.contact_phone": None},
        ["customer.phone", "shipping.contact_phone"],
        D.CUSTOMER_SERVICE,
    ),
    ({"shipping.address": None}, ["shipping.address"], D.CUSTOMER_SERVICE),
    ({"shipping.address": " "}, ["shipping.address"], D.CUSTOMER_SERVICE),
    ({"shipping.contact_name": None}, ["shipping.contact_name"], D.CUSTOMER_SERVICE),
    ({"shipping.contact_phone": None}, ["shipping.contact_phone"], D.CUSTOMER_SERVICE),
    # Price problems come first: the task goes to sales, customer data waits its turn.
    (
        {"payment.amount": "1.00", "shipping.address": None},
        ["payment.amount", "shipping.address"],
        D.SALES,
    ),
]


@pytest.mark.parametrize(
    ("changes", "fields", "owner"),
    PROBLEMS,
    ids=[
        "amount differs from the lines",
        "same sku twice",
        "paid without transaction",
        "blank transaction",
        "no customer name",
        "blank customer name",
        "no phone at all",
        "no address",
        "blank address",
        "no contact name",
        "no contact phone",
        "price and address",
    ],
)
def test_p2_2_faulty_data_needs_correction_by_the_department_that_owns_it(changes, fields, owner):
    story = Story(order_with(changes))
    assert story.status is S.NEEDS_CORRECTION
    assert [p.field for p in story.state.problems] == fields
    [task] = story.opening.opened
    assert (task.kind, task.department) == (TaskKind.CORRECT_ORDER, owner)
    assert task.summary_params == {"fields": fields}
    event = story.opening.events[-1]
    assert event.kind is EventKind.INTAKE_PROBLEMS
    assert event.task_id == task.task_id
    assert [p["field"] for p in event.data["problems"]] == fields
    assert story.open_kinds() == [TaskKind.CORRECT_ORDER]


@pytest.mark.parametrize(
    ("changes", "owner", "other"),
    [
        ({"payment.amount": "250.00"}, "sales", "customer_service"),
        ({"shipping.address": None}, "customer_service", "sales"),
    ],
)
def test_p2_2_only_the_owner_of_the_faulty_data_corrects_it(changes, owner, other):
    story = Story(order_with(changes))
    refusal = refused(story, lambda: story.correct(by=other, note="not mine"), NotPermitted)
    assert refusal.code == "correction_by_owner"
    assert refusal.params == {"department": owner}


@pytest.mark.parametrize(
    "department", ["warehouse", "logistics", "finance", "supervision", "platform", "admin"]
)
def test_p2_2_departments_that_own_no_order_data_never_correct(department):
    story = Story(order_with({"shipping.address": None}))
    refusal = refused(story, lambda: story.correct(by=department), NotPermitted)
    assert refusal.code == "action_not_for_department"


@pytest.mark.parametrize("status", [S.UNDER_REVIEW, S.READY_TO_PACK, S.IN_TRANSIT])
def test_p2_2_an_order_that_needs_no_correction_is_not_corrected(status):
    story = Story.at(status)
    refusal = refused(story, lambda: story.correct(by="customer_service"), ActionNotAllowed)
    assert refusal.code == "action_not_now"


@pytest.mark.parametrize(
    ("changes", "by", "correction"),
    [
        (
            {"shipping.address": None},
            "customer_service",
            {
                "shipping": {
                    "address": "2 Road",
                    "contact_name": "Li",
                    "contact_phone": "13800138000",
                }
            },
        ),
        ({"customer.name": None}, "customer_service", {"customer": {"id": "C1", "name": "Li"}}),
        (
            {"payment.amount": "250.00"},
            "sales",
            {"items": [PRICED_DOWN]},
        ),
    ],
    ids=["address", "customer", "payment"],
)
def test_p2_2_a_correction_that_fixes_everything_sends_the_order_to_review(changes, by, correction):
    story = Story(order_with(changes))
    task = story.open_task(TaskKind.CORRECT_ORDER)
    decision = story.correct(by=by, **correction)
    assert story.status is S.UNDER_REVIEW
    assert story.state.problems == []
    assert decision.kinds[0] is EventKind.CORRECTED
    assert decision.events[0].data["fields"] == list(correction)
    assert decision.closed == [task]
    assert decision.opened_kinds() == [TaskKind.REVIEW]
    assert story.open_kinds() == [TaskKind.REVIEW]


def test_p2_2_a_correction_still_faulty_stays_in_correction_with_a_new_task_for_the_next_owner():
    story = Story(order_with({"payment.amount": "250.00", "shipping.address": None}))
    first = story.open_task(TaskKind.CORRECT_ORDER)
    assert first.department is D.SALES
    decision = story.correct(by="sales", items=[PRICED_DOWN])
    assert story.status is S.NEEDS_CORRECTION
    assert [p.field for p in story.state.problems] == ["shipping.address"]
    assert decision.closed == [first]
    [second] = decision.opened
    assert (second.kind, second.department) == (TaskKind.CORRECT_ORDER, D.CUSTOMER_SERVICE)
    assert second.task_id != first.task_id
    assert decision.kinds[-1] is EventKind.INTAKE_PROBLEMS
    # Now the data is customer service's: sales may no longer correct it.
    refusal = refused(story, lambda: story.correct(by="sales"), NotPermitted)
    assert refusal.code == "correction_by_owner"


def test_p2_2_a_correction_that_fixes_nothing_opens_a_new_task_for_the_same_owner():
    story = Story(order_with({"shipping.address": None}))
    first = story.open_task(TaskKind.CORRECT_ORDER)
    decision = story.correct(by="customer_service", note="called, no answer")
    assert story.status is S.NEEDS_CORRECTION
    [second] = decision.opened
    assert second.department is D.CUSTOMER_SERVICE
    assert second.task_id != first.task_id
    assert story.open_kinds() == [TaskKind.CORRECT_ORDER]


# --- P2.2 what was paid is booked at intake --------------------------------------------------


def test_p2_2_the_amount_paid_is_booked_at_intake():
    story = Story(order_with({}))
    [entry] = story.opening.ledger
    assert (entry.entry_id, entry.kind, entry.amount) == (
        "JD1:payment:intake-1",
        LedgerKind.PAYMENT,
        DEFAULT_TOTAL,
    )
    assert entry.reference == story.state.order.payment.transaction_id
    assert EventKind.LEDGER in story.opening.kinds
    assert story.order.view().paid_amount == DEFAULT_TOTAL


def test_p2_2_an_unpaid_order_books_nothing_at_intake():
    story = Story(order_with({}, paid=False))
    assert story.opening.ledger == []
    assert EventKind.LEDGER not in story.opening.kinds
    assert story.order.view().paid_amount == Decimal("0.00")


def corrected_payment(story: Story, **changes: Any) -> dict[str, Any]:
    """The order's payment as reported, with `changes`: what a correction sends."""
    return {**story.state.order.payment.model_dump(mode="json"), **changes}


def test_p2_2_a_correction_may_lower_an_overstated_payment_and_books_the_difference():
    story = Story(order_with({"payment.amount": "300.00"}))
    assert payments(story) == [("JD1:payment:intake-1", Decimal("300.00"))]
    decision = story.correct(by="sales", payment=corrected_payment(story, amount="258.00"))
    assert [(e.entry_id, e.amount) for e in decision.ledger] == [
        ("JD1:payment:intake-2", Decimal("-42.00"))
    ]
    assert story.order.view().paid_amount == Decimal("258.00")
    assert story.status is S.UNDER_REVIEW


def test_p2_2_a_correction_never_raises_what_was_paid():
    """The security review's exploit: a correction booked 500,000 "paid", and a cancel or
    a rejection then refunded it. Money received is the payment system's to report."""
    story = Story(order_with({"payment.amount": "200.00"}))
    refusal = refused(
        story,
        lambda: story.correct(by="sales", payment=corrected_payment(story, amount="500000.00")),
        PolicyViolation,
    )
    assert refusal.code == "payment_not_raised_by_correction"
    assert refusal.params == {"paid": "200.00", "corrected": "500000.00"}
    assert payments(story) == [("JD1:payment:intake-1", Decimal("200.00"))]


def test_p2_2_a_correction_that_leaves_the_payment_alone_books_nothing():
    story = Story(order_with({"shipping.address": None}))
    shipping = {"address": "2 Road", "contact_name": "Li Lei", "contact_phone": "13800138000"}
    decision = story.correct(shipping=shipping)
    assert decision.ledger == []
    assert payments(story) == [("JD1:payment:intake-1", DEFAULT_TOTAL)]


def test_p2_2_an_unpaid_order_is_not_corrected_to_paid():
    story = Story(order_with({"shipping.address": None}, paid=False))
    payment = corrected_payment(story, status="paid")
    refusal = refused(story, lambda: story.correct(payment=payment), PolicyViolation)
    assert refusal.code == "payment_not_raised_by_correction"
    assert story.opening.ledger == [] and payments(story) == []


@pytest.mark.parametrize(
    "changes",
    [{"transaction_id": "TX-CHOSEN"}, {"transaction_id": None}, {"method": "cash_on_delivery"}],
    ids=["another transaction", "no transaction", "another method"],
)
def test_p2_2_a_correction_never_changes_how_or_under_which_transaction_it_was_paid(changes):
    """Refunds go back to the transaction the payment system named: a correction naming
    another would choose where the money goes."""
    story = Story(order_with({"shipping.address": None}))
    payment = corrected_payment(story, **changes)
    refusal = refused(story, lambda: story.correct(payment=payment), PolicyViolation)
    assert refusal.code == "payment_facts_not_corrected"


def test_p2_2_a_correction_may_send_the_payment_back_as_it_was():
    story = Story(order_with({"shipping.address": None}))
    shipping = {"address": "2 Road", "contact_name": "Li Lei", "contact_phone": "13800138000"}
    decision = story.correct(payment=corrected_payment(story), shipping=shipping)
    assert decision.ledger == []
    assert story.status is S.UNDER_REVIEW


# --- P3.1 review: approve ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "quantities"),
    [
        (None, {"SKU-1": 2}),
        ([("SKU-1", 2, "10.00"), ("SKU-2", 3, "5.00")], {"SKU-1": 2, "SKU-2": 3}),
    ],
)
def test_p3_1_an_approved_order_asks_the_warehouse_to_reserve_its_goods(lines, quantities):
    story = Story(order_with({}, lines=lines), auto=False)
    decision = story.approve()
    [reservation] = decision.reservations
    assert reservation.reservation_key == "JD1:R1"
    assert reservation.quantities == quantities
    assert decision.refunds == []
    assert decision.kinds == [EventKind.REVIEWED]
    assert decision.events[0].data["approved"] is True
    assert decision.closed_kinds() == [TaskKind.REVIEW]
    assert story.state.reserving == "JD1:R1"


def test_p3_1_p1_2_a_service_order_approved_awaits_an_appointment_without_stock():
    story = Story.at(S.UNDER_REVIEW, kind="service")
    decision = story.approve()
    assert story.status is S.AWAITING_APPOINTMENT
    assert decision.reservations == []
    assert decision.stock == []
    [task] = decision.opened
    assert (task.kind, task.department) == (TaskKind.SCHEDULE_SERVICE, D.LOGISTICS)


# --- P3.1 review: reject -----------------------------------------------------------------------


def explained(story: Story) -> Any:
    """P3.1: sales told the customer why the order was rejected."""
    return story.complete_task(TaskKind.EXPLAIN_REJECTION, by="sales")


def test_p3_1_a_rejected_order_is_refunded_what_was_paid_and_closes_once_explained():
    story = Story.at(S.UNDER_REVIEW)
    decision = story.reject("not legal to sell")
    assert story.status is S.REJECTED
    assert decision.kinds[:2] == [EventKind.REVIEWED, EventKind.REJECTED]
    assert decision.events[0].data["approved"] is False
    [refund] = decision.refunds
    assert refund.amount == DEFAULT_TOTAL
    assert refund.transaction_id == story.state.order.payment.transaction_id
    assert decision.reservations == []
    assert story.order.view().refunded_amount == DEFAULT_TOTAL
    assert not story.state.closed
    assert explained(story).kinds[-1] is EventKind.CLOSED
    assert story.state.closed


@pytest.mark.parametrize(
    ("given", "recorded"),
    [(None, "other"), ("goods_not_allowed", "goods_not_allowed")],
    ids=["no reason given", "goods not allowed"],
)
def test_p3_1_a_rejection_gives_sales_a_task_to_tell_the_customer_why(
    given: str | None, recorded: str
):
    story = Story.at(S.UNDER_REVIEW)
    command = ReviewCommand(
        actor=actor("sales"), approved=False, note="licence missing", reason_code=given
    )
    decision = story.act(story.order.review, command)
    rejected = next(e for e in decision.events if e.kind is EventKind.REJECTED)
    assert rejected.data == {"reason_code": recorded}
    task = story.open_task(TaskKind.EXPLAIN_REJECTION)
    assert task.department is Department.SALES
    assert (task.summary_code, task.summary_params) == (
        "explain_rejection",
        {"rejection_reason": recorded},
    )


def test_p3_1_a_rejected_unpaid_order_refunds_nothing_and_closes_once_explained():
    story = Story.at(S.UNDER_REVIEW, paid=False)
    decision = story.reject()
    assert story.status is S.REJECTED
    assert decision.refunds == []
    assert decision.kinds == [EventKind.REVIEWED, EventKind.REJECTED]
    assert explained(story).kinds[-1] is EventKind.CLOSED
    assert story.state.closed


def test_p3_1_a_rejected_order_stays_open_until_its_refund_is_paid_out():
    story = Story(order_with({}), auto=False)
    decision = story.reject()
    [request] = decision.refunds
    assert story.status is S.REJECTED
    explained(story)
    assert not story.state.closed
    paid_out = story.order.refund_answer(refunds_paid(request), story.tick())
    assert paid_out.kinds == [EventKind.REFUND_ISSUED, EventKind.LEDGER]
    # Closed once the customer's messages (rejected, refunded) are out (domain/notices.py).
    assert story.deliver_notices().kinds == [EventKind.CLOSED]
    assert story.state.closed


# --- P3.1 risky orders need a phone call-back before approval ------------------------------------

RISKS = [
    (False, "258.00", []),
    (True, "258.00", ["new customer"]),
    (False, "5000.01", ["amount 5000.01 over 5000.00"]),
    (True, "6000.00", ["new customer", "amount 6000.00 over 5000.00"]),
    # The threshold itself is not over it.
    (False, "5000.00", []),
]


@pytest.mark.parametrize("phone_verified", [None, False, True])
@pytest.mark.parametrize(
    ("new_customer", "amount", "reasons"),
    RISKS,
    ids=["neither", "new customer", "amount over", "both", "at the threshold"],
)
def test_p3_1_a_risky_order_needs_a_phone_call_before_approval(
    new_customer, amount, reasons, phone_verified
):
    story = Story.at(S.UNDER_REVIEW, new_customer=new_customer, lines=[("SKU-1", 1, amount)])
    assert story.state.risk_reasons == reasons
    if reasons and not phone_verified:
        refusal = refused(
            story, lambda: story.approve(phone_verified=phone_verified), PolicyViolation
        )
        assert refusal.code == "phone_verification_required"
        assert refusal.params == {"reasons": reasons}
        assert story.open_kinds() == [TaskKind.REVIEW]
        return
    decision = story.approve(phone_verified=phone_verified)
    assert story.status is S.READY_TO_PACK
    assert story.state.phone_verified is bool(phone_verified)
    assert decision.events[0].data["risk_reasons"] == reasons


def test_p3_1_the_risk_threshold_is_a_setting():
    policy = PolicySettings(risk_amount_threshold=Decimal("100.00"))
    story = Story.at(S.UNDER_REVIEW, policy=policy)
    assert story.state.risk_reasons == ["amount 258.00 over 100.00"]
    refusal = refused(story, story.approve, PolicyViolation)
    assert refusal.code == "phone_verification_required"


@pytest.mark.parametrize("phone_verified", [None, False])
def test_p3_1_a_risky_order_may_be_rejected_without_a_call(phone_verified):
    story = Story.at(S.UNDER_REVIEW, new_customer=True)
    command = ReviewCommand(actor=actor("sales"), approved=False, phone_verified=phone_verified)
    decision = story.act(story.order.review, command)
    assert story.status is S.REJECTED
    assert decision.kinds[:2] == [EventKind.REVIEWED, EventKind.REJECTED]


# --- P3.1 who reviews, and when ------------------------------------------------------------------


@pytest.mark.parametrize(
    "department",
    ["warehouse", "logistics", "customer_service", "finance", "supervision", "platform", "admin"],
)
@pytest.mark.parametrize("approved", [True, False])
def test_p3_1_only_sales_reviews(department, approved):
    story = Story.at(S.UNDER_REVIEW)
    if approved:
        refusal = refused(story, lambda: story.approve(by=department), NotPermitted)
    else:
        command = ReviewCommand(actor=actor(department), approved=False)
        refusal = refused(story, lambda: story.act(story.order.review, command), NotPermitted)
    assert refusal.code == "action_not_for_department"
    assert refusal.params["departments"] == ["sales"]


@pytest.mark.parametrize(
    "status",
    [
        S.NEEDS_CORRECTION,
        S.OUT_OF_STOCK,
        S.READY_TO_PACK,
        S.AWAITING_DISPATCH,
        S.IN_TRANSIT,
        S.DELIVERED,
    ],
)
def test_p3_1_an_order_is_reviewed_only_while_under_review(status):
    story = story_in(status)
    refusal = refused(story, lambda: story.approve(phone_verified=True), ActionNotAllowed)
    assert refusal.code == "action_not_now"
    assert refusal.params["status"] == status.value


def test_p3_1_an_order_is_reviewed_once():
    story = Story.at(S.UNDER_REVIEW)
    story.reject()
    refusal = refused(story, story.reject, ActionNotAllowed)
    assert refusal.code == "action_not_now"
