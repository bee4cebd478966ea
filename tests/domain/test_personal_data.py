"""Who sees a customer's phone number in full (P3.1, P3.4, P3.5): the departments that call."""

from __future__ import annotations

from domain.actors import Department
from domain.personal_data import mask_phone, phone_for, sees_phone

CALLERS = {Department.SALES, Department.CUSTOMER_SERVICE, Department.LOGISTICS}


def test_sales_customer_service_and_logistics_see_the_phone_and_nobody_else():
    assert {d for d in Department if sees_phone(d)} == CALLERS
    for department in Department:
        shown = phone_for(department, "13800138000")
        assert shown == ("13800138000" if department in CALLERS else "138****8000"), department


def test_a_masked_phone_keeps_its_shape_and_hides_the_middle():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("+86 138-0013-8000") == "+86 1**-****-8000"
    assert mask_phone("12345") == "***45"
    assert phone_for(Department.WAREHOUSE, None) is None
