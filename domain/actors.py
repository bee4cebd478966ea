"""Who acts on an order: departments (P1.2) and the actor recorded with every action."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Department(StrEnum):
    """A department of staff, or a system that calls the API (api.md, Identity)."""

    SALES = "sales"
    WAREHOUSE = "warehouse"
    LOGISTICS = "logistics"
    CUSTOMER_SERVICE = "customer_service"
    FINANCE = "finance"
    SUPERVISION = "supervision"
    PLATFORM = "platform"
    ADMIN = "admin"


#: The departments whose people work order tasks (the others are systems or overseers).
WORKING_DEPARTMENTS: tuple[Department, ...] = (
    Department.SALES,
    Department.WAREHOUSE,
    Department.LOGISTICS,
    Department.CUSTOMER_SERVICE,
    Department.FINANCE,
)


class StaffRole(StrEnum):
    """A member of staff's role in their department (api.md, Staff roles): a breached task
    is escalated to the department's leads (P8.1)."""

    MEMBER = "member"
    LEAD = "lead"


class Actor(BaseModel):
    """The staff member or system behind an action; recorded in history and read model (rule 5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    staff_id: str = Field(min_length=1, max_length=64)
    department: Department


#: The workflow's own automatic steps (timers, validation) are recorded with this actor.
SYSTEM_ACTOR = Actor(staff_id="system", department=Department.ADMIN)
