"""Whose records a member may read (api/visibility.py), as a plain function: the rule the
escalations, rectifications and scorecards routes share (P8.1, P8.2)."""

from __future__ import annotations

import pytest

from api.errors import ApiError
from api.visibility import department_in_view, oversees
from db.staff import StaffMember
from domain.actors import WORKING_DEPARTMENTS, Department, StaffRole

D = Department


def member(department: Department, role: StaffRole = StaffRole.MEMBER) -> StaffMember:
    return StaffMember(
        staff_id=f"{department.value}-1",
        name="Someone",
        department=department,
        expires_at=None,
        revoked_at=None,
        role=role,
    )


@pytest.mark.parametrize("department", [D.SUPERVISION, D.ADMIN])
def test_overseers_see_the_department_they_ask_for_or_all(department: Department):
    staff = member(department)
    assert oversees(staff)
    assert department_in_view(staff, None, records="escalations") is None
    assert department_in_view(staff, D.SALES, records="escalations") is D.SALES
    assert department_in_view(staff, D.FINANCE, records="scorecards", leads_only=True) is (
        D.FINANCE
    )


def test_a_working_department_sees_its_own_whatever_it_asks_for():
    staff = member(D.WAREHOUSE)
    assert not oversees(staff)
    assert department_in_view(staff, None, records="rectifications") is D.WAREHOUSE
    assert department_in_view(staff, D.WAREHOUSE, records="rectifications") is D.WAREHOUSE
    with pytest.raises(ApiError) as refused:
        department_in_view(staff, D.SALES, records="rectifications")
    assert refused.value.status_code == 403
    assert refused.value.detail == "warehouse sees its own rectifications only"


def test_leads_only_records_are_refused_to_members_and_shown_to_the_lead():
    """P8.2: a department's scorecard is put before its lead."""
    with pytest.raises(ApiError) as refused:
        department_in_view(member(D.LOGISTICS), None, records="scorecards", leads_only=True)
    assert refused.value.status_code == 403
    lead = member(D.LOGISTICS, StaffRole.LEAD)
    assert department_in_view(lead, None, records="scorecards", leads_only=True) is D.LOGISTICS


def test_a_system_account_has_none_of_these_records():
    systems = [d for d in Department if d not in {D.SUPERVISION, D.ADMIN, *WORKING_DEPARTMENTS}]
    assert systems, "a department that is neither working nor overseeing"
    for department in systems:
        with pytest.raises(ApiError) as refused:
            department_in_view(member(department), None, records="escalations")
        assert refused.value.status_code == 403
        assert refused.value.detail == f"{department.value} has no escalations"
