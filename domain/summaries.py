"""The one-line summaries tasks carry into the inbox, made in one place.

A summary is kept with its task as English text (the API's `summary`, the Temporal
UI, logs) and as a code with the values it is made of, so that the console can say
it in the reader's language (`summary.<code>` in its catalogue). No personal data:
counts, amounts, skus, carriers, ids.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from domain.errors import Params


class Summary(NamedTuple):
    text: str
    code: str
    params: Params


def lines(count: int, units: int, total: Decimal) -> Summary:
    params: Params = {"lines": str(count), "units": str(units), "total": str(total)}
    return Summary(f"{count} line(s), {units} unit(s), total {total}", "lines", params)


def review(count: int, units: int, total: Decimal, reasons: list[str]) -> Summary:
    """P3.1: what sales reviews, and why a call-back is needed (if it is)."""
    plain = lines(count, units, total)
    if not reasons:
        return plain
    text = f"{plain.text}; phone verification: {', '.join(reasons)}"
    return Summary(text, "review_with_call", plain.params | {"reasons": list(reasons)})


def fix(fields: list[str]) -> Summary:
    return Summary("fix: " + ", ".join(fields), "fix", {"fields": list(fields)})


def short(quantities: dict[str, int]) -> Summary:
    missing = [f"{sku} x{n}" for sku, n in sorted(quantities.items())]
    return Summary(f"short: {', '.join(missing)}", "short", {"short": missing})


def shipment(carrier: str, tracking_number: str) -> Summary:
    params: Params = {"carrier": carrier, "tracking_number": tracking_number}
    return Summary(f"{carrier} {tracking_number}", "shipment", params)


def restock_expected(eta: datetime) -> Summary:
    when = f"{eta:%Y-%m-%d %H:%M}"
    return Summary(f"restock expected {when}", "restock_expected", {"eta": when})


def change_of(fields: list[str]) -> Summary:
    return Summary(f"change of {', '.join(fields)}", "change_of", {"fields": list(fields)})


def payment_contact(duplicate: bool) -> Summary:
    what = "taken twice" if duplicate else "failed"
    code = "payment_duplicate_contact" if duplicate else "payment_failed_contact"
    return Summary(f"payment {what}: contact the customer", code, {})


def explain_rejection(reason_code: str) -> Summary:
    return Summary(
        f"order rejected ({reason_code}): tell the customer why and resolve it",
        "explain_rejection",
        {"rejection_reason": reason_code},
    )


def put_back(packages: int) -> Summary:
    return Summary(
        f"order cancelled after packing: unpack {packages} package(s), shelve the goods",
        "put_back",
        {"packages": str(packages)},
    )


def remittance_late(due: Decimal) -> Summary:
    return Summary(
        f"cash on delivery of {due} not remitted: reconcile with the carrier",
        "remittance_late",
        {"amount": str(due)},
    )


def remittance_differs(remitted: Decimal, due: Decimal) -> Summary:
    return Summary(
        f"cash on delivery remitted {remitted} of {due}: reconcile with the carrier",
        "remittance_differs",
        {"remitted": str(remitted), "amount": str(due)},
    )


def duplicate_payment(amount: Decimal) -> Summary:
    text = f"duplicate payment of {amount}: account for it"
    return Summary(text, "duplicate_payment", {"amount": str(amount)})


def verify_duplicate(transaction_id: str, claimed: Decimal, captured: Decimal | None) -> Summary:
    """P5.1: a duplicate the gateway did not confirm; finance verifies before any refund."""
    found = "no capture" if captured is None else f"captured {captured}"
    params: Params = {
        "transaction_id": transaction_id,
        "claimed": str(claimed),
        "captured": "" if captured is None else str(captured),
    }
    text = f"verify duplicate {transaction_id}: reported {claimed}, gateway: {found}"
    return Summary(text, "verify_duplicate", params)


def return_request(return_kind: str, reason_code: str) -> Summary:
    params: Params = {"return_kind": return_kind, "reason_code": reason_code}
    return Summary(f"{return_kind}: {reason_code}", "return_request", params)


def inspect_return(case_kind: str) -> Summary:
    text = f"receive and inspect ({case_kind})"
    return Summary(text, "inspect_return", {"case_kind": case_kind})


def supplier_follow_up(case_kind: str) -> Summary:
    text = f"{case_kind}: take it up with the supplier"
    return Summary(text, "supplier_follow_up", {"case_kind": case_kind})


def adjust_accounts(case_kind: str) -> Summary:
    text = f"{case_kind}: adjust the accounts"
    return Summary(text, "adjust_accounts", {"case_kind": case_kind})


def parcel_inform(event: str) -> Summary:
    text = f"parcel {event}: inform the customer, decide compensation"
    return Summary(text, "parcel_inform", {"event": event})


def parcel_cause(event: str) -> Summary:
    text = f"parcel {event}: record the cause and the corrective action"
    return Summary(text, "parcel_cause", {"event": event})


def refund_by_hand(amount: Decimal, refund_id: str, failure: str) -> Summary:
    text = f"refund {amount} by hand ({refund_id}): {failure}"
    params: Params = {"amount": str(amount), "refund_id": refund_id, "failure": failure}
    return Summary(text, "refund_by_hand", params)


def compensation_by_hand(amount: Decimal, payout_id: str, failure: str) -> Summary:
    """P5.2: compensation the gateway refused to pay out: finance pays it by hand."""
    text = f"pay compensation {amount} by hand ({payout_id}): {failure}"
    params: Params = {"amount": str(amount), "refund_id": payout_id, "failure": failure}
    return Summary(text, "compensation_by_hand", params)


def payment_request(amount: Decimal, until: datetime) -> Summary:
    """P4.1: a dearer change of goods: the customer is asked to pay the difference."""
    when = f"{until:%Y-%m-%d %H:%M}"
    text = f"ask the customer to pay {amount} for the changed goods by {when}"
    return Summary(text, "payment_request", {"amount": str(amount), "until": when})


def notify_customer(template: str, channel: str) -> Summary:
    """A message the channel could not deliver: customer service tells the customer."""
    params: Params = {"template": template, "channel": channel}
    return Summary(f"tell the customer: {template} ({channel} failed)", "notify_customer", params)


def replan_route() -> Summary:
    return Summary("delivery details changed: re-plan the route", "replan_route", {})


def service_visit(start: datetime, end: datetime) -> Summary:
    """P1.2: the visit agreed with the customer, to be done and recorded by its end."""
    params: Params = {"start": f"{start:%Y-%m-%d %H:%M}", "end": f"{end:%Y-%m-%d %H:%M}"}
    return Summary(f"visit {params['start']} - {params['end']}", "service_visit", params)


def rework_visit() -> Summary:
    """P1.2, P5.3: a complaint about the work: agree a visit to do it again."""
    return Summary("complaint: agree a rework visit with the customer", "rework_visit", {})


def feedback(kind: str, channel: str, order_id: str | None) -> Summary:
    """P7.2: the inbox line of a reply task; the customer's message stays on the feedback."""
    linked = f" on order {order_id}" if order_id else ""
    params: Params = {"feedback_kind": kind, "channel": channel}
    if order_id:
        return Summary(
            f"{kind} via {channel}{linked}", "feedback_on_order", params | {"order_id": order_id}
        )
    return Summary(f"{kind} via {channel}", "feedback", params)


def rectify(rule: str, clause: str, round: int) -> Summary:
    """P8.1.3: the inbox line of a rectification item (its round counts rejected answers)."""
    params: Params = {"rule": rule, "clause": clause, "round": str(round)}
    return Summary(f"rectify {rule} ({clause}), round {round}", "rectify", params)
