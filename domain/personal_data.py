"""Who sees a customer's phone number in full: the departments whose work is to call them.

- sales calls new and risky customers back before approval, and explains a
  rejection or a backorder (P3.1, P3.2);
- customer service follows orders, changes, cancellations, exceptions and
  feedback with the customer (P3.5, P4, P5, P7);
- logistics arranges delivery with the contact (P3.4, P4.1 re-planning).

Everyone else (warehouse, finance, supervision, the systems) sees it masked: the
first three and last four digits, enough to tell two numbers apart.
"""

from __future__ import annotations

from domain.actors import Department

PHONE_VISIBLE_TO: frozenset[Department] = frozenset(
    {Department.SALES, Department.CUSTOMER_SERVICE, Department.LOGISTICS}
)

MASK = "*"


def sees_phone(department: Department) -> bool:
    return department in PHONE_VISIBLE_TO


def mask_phone(phone: str) -> str:
    """ "13800138000" -> "138****8000"; short numbers keep only their last two digits."""
    digits = [i for i, c in enumerate(phone) if c.isdigit()]
    keep = set(digits[:3] + digits[-4:]) if len(digits) >= 9 else set(digits[-2:])
    return "".join(c if (i in keep or not c.isdigit()) else MASK for i, c in enumerate(phone))


def phone_for(department: Department, phone: str | None) -> str | None:
    """The phone number as this department may see it."""
    if phone is None or sees_phone(department):
        return phone
    return mask_phone(phone)
