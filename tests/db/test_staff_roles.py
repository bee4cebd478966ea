"""Staff roles in the read model (api.md, Staff roles): a member by default, a lead on request;
escalations go to the department's active leads (P8.1), so a department that receives tasks
without one is refused at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from db import staff as staff_store
from db.engine import Database
from db.staff_tables import staff_roles
from domain.actors import Department, StaffRole
from domain.escalation import DEPARTMENTS_WITH_TASKS
from oms.demo import seed_demo

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_a_new_member_of_staff_is_a_member_unless_added_as_lead(database: Database):
    with database.write() as conn:
        member, _ = staff_store.add_staff(conn, "Wang Fang", Department.SALES, NOW)
        lead, token = staff_store.add_staff(
            conn, "Li Na", Department.SALES, NOW, role=StaffRole.LEAD
        )
    with database.read() as conn:
        added = staff_store.find(conn, member.staff_id)
        assert added is not None and added.role is StaffRole.MEMBER and not added.is_lead
        found = staff_store.find_by_token(conn, token)
        assert found is not None and found.is_lead and found.name == "Li Na"
        listed = {m.staff_id: m.role for m in staff_store.list_staff(conn)}
    assert listed == {member.staff_id: StaffRole.MEMBER, lead.staff_id: StaffRole.LEAD}


def test_p8_1_the_leads_of_a_department_are_its_active_leads_by_name(database: Database):
    with database.write() as conn:
        zhao, _ = staff_store.add_staff(conn, "Zhao Lei", Department.SALES, NOW)
        staff_store.add_staff(conn, "Sun Li", Department.WAREHOUSE, NOW, role=StaffRole.LEAD)
        gone, _ = staff_store.add_staff(conn, "Gone", Department.SALES, NOW, role=StaffRole.LEAD)
        staff_store.add_staff(
            conn,
            "Expired",
            Department.SALES,
            NOW,
            role=StaffRole.LEAD,
            expires_at=NOW + timedelta(minutes=1),
        )
        assert staff_store.set_role(conn, zhao.staff_id, StaffRole.LEAD, NOW) is not None
        staff_store.revoke(conn, gone.staff_id, NOW, log=None)
    later = NOW + timedelta(hours=1)
    with database.read() as conn:
        leads = staff_store.leads_of(conn, [Department.SALES, Department.FINANCE], later)
    assert {d: [m.name for m in ms] for d, ms in leads.items()} == {
        Department.SALES: ["Zhao Lei"],  # not the revoked nor the expired lead
        Department.FINANCE: [],
    }


def test_a_lead_made_a_member_again_no_longer_leads(database: Database):
    with database.write() as conn:
        lead, _ = staff_store.add_staff(conn, "Li Na", Department.FINANCE, NOW, role=StaffRole.LEAD)
        changed = staff_store.set_role(conn, lead.staff_id, StaffRole.MEMBER, NOW)
        assert changed is not None and changed.role is StaffRole.MEMBER
        assert staff_store.set_role(conn, "nobody", StaffRole.LEAD, NOW) is None
        assert Department.FINANCE in staff_store.departments_without_lead(conn, NOW)


def test_p8_1_the_start_up_check_names_the_departments_without_a_lead_and_the_command(
    database: Database,
):
    with database.write() as conn:
        staff_store.add_staff(conn, "Li Na", Department.SALES, NOW, role=StaffRole.LEAD)
        staff_store.add_staff(conn, "Member", Department.FINANCE, NOW)
    with database.read() as conn, pytest.raises(staff_store.NoLead) as refused:
        staff_store.require_leads(conn, NOW)
    message = str(refused.value)
    for department in set(DEPARTMENTS_WITH_TASKS) - {Department.SALES}:
        assert department.value in message
    assert "no active lead in warehouse," in message and "sales" not in message.split(":")[0]
    assert "oms staff add NAME --department" in message and "--role lead" in message
    assert "oms staff role STAFF_ID lead" in message

    with database.write() as conn:
        staff_store.add_leads(conn, NOW)
    with database.read() as conn:
        staff_store.require_leads(conn, NOW)  # every department has one now: passes
        assert staff_store.departments_without_lead(conn, NOW) == []


def test_the_demo_makes_each_department_s_demo_member_its_lead_also_on_an_older_database(
    database: Database, tmp_path: Path
):
    # An earlier release's `make run` left demo members without roles.
    with database.write() as conn:
        staff_store.add_staff(conn, "Demo sales", Department.SALES, NOW, staff_id="demo-sales")
        conn.execute(staff_roles.delete())
    tokens = seed_demo(database, tmp_path)
    assert set(tokens) == {d.value for d in Department}
    with database.read() as conn:
        staff_store.require_leads(conn, datetime.now(UTC))
        leads = staff_store.leads_of(conn, DEPARTMENTS_WITH_TASKS, datetime.now(UTC))
    assert {d: [m.staff_id for m in ms] for d, ms in leads.items()} == {
        d: [f"demo-{d.value}"] for d in DEPARTMENTS_WITH_TASKS
    }
