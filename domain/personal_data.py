"""Who sees a customer's phone number and address in full: the data needed for the
department's work, and nothing more (masking at the source).

Every answer of the API that carries an order's customer or shipping data is masked
here, by the caller's department, before it leaves the API (`GET /api/v1/orders/{id}`;
the web console shows that same answer). Nothing else masks, so the API and the
console cannot disagree.

Phone numbers (and an e-mail address, the other way to reach the customer), in full to
the departments whose work is to call the customer:

- sales calls new and risky customers back before approval, and explains a
  rejection or a backorder (P3.1, P3.2);
- customer service follows orders, changes, cancellations, exceptions and
  feedback with the customer (P3.5, P4, P5, P7);
- logistics arranges delivery with the contact (P3.4, P4.1 re-planning).

Addresses, in full to the departments whose work is to get something there:

- customer service corrects and changes them with the customer (P2.2, P4.1);
- logistics delivers there and re-plans the route after a change (P3.4, P4.1).

Everyone else (warehouse, finance, supervision, and the systems `platform` and
`admin`) sees them masked, because none of their work needs them: the warehouse packs
by order number, finance books money by order and transaction, supervision checks
that steps were taken on time and by the right department, and the systems hand data
over rather than read it back.

- a phone keeps its first three and last four digits (`138****8000`), enough to
  tell two numbers apart on the telephone, not to dial one;
- an address becomes `***` whatever its length: no part of it is needed, and a
  part (a district, a building) would narrow down where someone lives, while its
  length would hint at what was hidden. An empty or missing address stays as it is,
  so "no address yet" is still visible (an intake problem, P2.2).

A masked value stays a string of the same field; the order also names the fields
masked for the caller (`masked_fields`).

Reading the record in full, when an audit needs it, is a separate and deliberate
step: the codec server decrypts workflow histories for `MAY_DECODE` (supervision
and admin) only, in the Temporal UI or a script (`workers/codec_server.py`).
"""

from __future__ import annotations

import hashlib
import hmac

from domain.actors import Department
from domain.notifications import Channel
from domain.order.details import Customer, Shipping

D = Department

PHONE_VISIBLE_TO: frozenset[Department] = frozenset({D.SALES, D.CUSTOMER_SERVICE, D.LOGISTICS})
ADDRESS_VISIBLE_TO: frozenset[Department] = frozenset({D.CUSTOMER_SERVICE, D.LOGISTICS})
#: Who may read workflow histories decrypted, through the codec server (audits, P6.1, P8.1);
#: the Temporal UI's link to a workflow is shown to them alone.
MAY_DECODE: frozenset[Department] = frozenset({D.SUPERVISION, D.ADMIN})

MASK = "*"
#: A masked address, whatever the address was (its length is not kept either).
ADDRESS_MASK = MASK * 3

#: The fields of an order that carry a phone or an address, as `masked_fields` names them.
PHONE_FIELDS = ("customer.phone", "shipping.contact_phone", "customer.email")
ADDRESS_FIELDS = ("shipping.address",)


def sees_phone(department: Department) -> bool:
    return department in PHONE_VISIBLE_TO


def sees_address(department: Department) -> bool:
    return department in ADDRESS_VISIBLE_TO


def may_decode(department: Department) -> bool:
    return department in MAY_DECODE


def mask_phone(phone: str) -> str:
    """ "13800138000" -> "138****8000"; short numbers keep only their last two digits."""
    digits = [i for i, c in enumerate(phone) if c.isdigit()]
    keep = set(digits[:3] + digits[-4:]) if len(digits) >= 9 else set(digits[-2:])
    return "".join(c if (i in keep or not c.isdigit()) else MASK for i, c in enumerate(phone))


def mask_email(email: str) -> str:
    """ "li.lei@example.com" -> "l***@example.com": like a phone, seen by those who call."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}{MASK * 3}@{domain}"


def mask_address(address: str) -> str:
    """ "1 Chaoyang Rd, Beijing" -> "***"; a blank address stays blank (it is missing)."""
    return ADDRESS_MASK if address.strip() else address


def phone_for(department: Department, phone: str | None) -> str | None:
    """The phone number as this department may see it."""
    if phone is None or sees_phone(department):
        return phone
    return mask_phone(phone)


def address_for(department: Department, address: str | None) -> str | None:
    """The address as this department may see it."""
    if address is None or sees_address(department):
        return address
    return mask_address(address)


def recipient_for(department: Department, channel: Channel, recipient: str) -> str:
    """Where a message to the customer went, as this department may see it: a phone or an
    email masked like the order's, an in-app recipient (the customer's id) as it is."""
    if sees_phone(department):
        return recipient
    if channel == Channel.EMAIL:
        return mask_email(recipient)
    if channel == Channel.SMS:
        return phone_for(department, recipient) or ""
    return recipient  # the customer's id, which every department sees


def customer_for(department: Department, customer: Customer) -> Customer:
    """The customer as this department may see them."""
    if sees_phone(department):
        return customer
    email = customer.email
    return customer.model_copy(
        update={
            "phone": phone_for(department, customer.phone),
            "email": mask_email(email) if email else email,
        }
    )


def shipping_for(department: Department, shipping: Shipping) -> Shipping:
    """The shipping details as this department may see them."""
    if sees_phone(department) and sees_address(department):
        return shipping
    return shipping.model_copy(
        update={
            "address": address_for(department, shipping.address),
            "contact_phone": phone_for(department, shipping.contact_phone),
        }
    )


def masked_fields(department: Department) -> list[str]:
    """The order's fields this department gets masked (whether or not they hold a value)."""
    hidden: list[str] = []
    if not sees_phone(department):
        hidden += PHONE_FIELDS
    if not sees_address(department):
        hidden += ADDRESS_FIELDS
    return hidden


def customer_ref(customer_id: str, secret: bytes) -> str:
    """An opaque, stable name for a customer where a clear id would be seen by anyone who
    reads the engine (the `CustomerId` search attribute, in every history and in
    visibility): keyed, so that it cannot be reversed by trying every id. Ops find a
    customer's orders by its ref (`oms customer-ref <id>`)."""
    digest = hmac.new(secret, customer_id.encode(), hashlib.sha256).hexdigest()
    return f"cu-{digest[:24]}"
