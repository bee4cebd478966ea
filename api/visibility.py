"""Whose department's records a member of staff may read: one rule for escalations,
rectification items and scorecards.

Supervision and admin oversee every department (P8.1, P8.2): they may ask for any one, or
for all. A working department sees its own (for scorecards, its leads only: P8.2 puts a
department's figures before its lead); asking for another department's is 403, and so is
any ask from a department with none of these records (the systems' accounts).
"""

from __future__ import annotations

from api.errors import ApiError
from api.roles import SUPERVISORS
from db.staff import StaffMember
from domain.actors import WORKING_DEPARTMENTS, Department


def oversees(staff: StaffMember) -> bool:
    """Supervision and admin: every department's records are theirs to see."""
    return staff.department in SUPERVISORS


def department_in_view(
    staff: StaffMember, asked: Department | None, *, records: str, leads_only: bool = False
) -> Department | None:
    """The department whose `records` `staff` may list, given the one `asked` for.

    None means every department's (an overseer who named none). `records` names them in
    the 403's detail ("escalations", "rectifications", ...).
    """
    if oversees(staff):
        return asked
    if staff.department not in WORKING_DEPARTMENTS:
        raise ApiError(403, f"{staff.department.value} has no {records}")
    if leads_only and not staff.is_lead:
        raise ApiError(403, f"{records} are for supervision and for each department's lead")
    if asked is not None and asked is not staff.department:
        raise ApiError(403, f"{staff.department.value} sees its own {records} only")
    return staff.department


def sees_department(staff: StaffMember, department: Department) -> bool:
    """Whether `staff` may see `department`'s escalations and rectification work: its
    leads' names, its rectify tasks (an overseer any department's, a member their own)."""
    return oversees(staff) or staff.department is department
