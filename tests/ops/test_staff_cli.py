"""`oms staff add NAME --department D --role lead|member`, `oms staff role`, `oms staff list`
(api.md, Staff roles), and the refusal to serve while a department that receives tasks has
no lead (P8.1: its escalations would reach no one)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client

from api.app import create_app
from config.settings import Settings
from db import staff as staff_store
from db.engine import Database
from domain.actors import Department
from domain.escalation import DEPARTMENTS_WITH_TASKS
from tests.support.cli import oms, settings_in


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_in(tmp_path)


def listed(settings: Settings, capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    capsys.readouterr()
    assert oms(settings, "staff", "list") == 0
    return {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}


def test_staff_are_added_as_members_or_leads_and_listed_with_their_role(
    settings: Settings, capsys: pytest.CaptureFixture[str]
):
    assert oms(settings, "staff", "add", "Wang Fang", "--department", "sales") == 0
    added = capsys.readouterr()
    token = added.out.strip().splitlines()[-1]  # the token alone on the last line (api.md)
    assert token.startswith("oms_") and "(sales, member)" in added.err
    assert oms(settings, "staff", "add", "Li Na", "--department", "sales", "--role", "lead") == 0
    assert "(sales, lead)" in capsys.readouterr().err

    rows = listed(settings, capsys)
    roles = {row[-2] + " " + row[-1]: (row[1], row[2]) for row in rows.values()}
    assert roles == {"Wang Fang": ("sales", "member"), "Li Na": ("sales", "lead")}

    with pytest.raises(SystemExit):  # argparse: only lead or member
        oms(settings, "staff", "add", "X", "--department", "sales", "--role", "boss")


def test_a_role_is_changed_by_staff_id_or_by_a_name_only_one_member_has(
    settings: Settings, capsys: pytest.CaptureFixture[str]
):
    oms(settings, "staff", "add", "Wang Fang", "--department", "warehouse")
    oms(settings, "staff", "add", "Zhao Lei", "--department", "warehouse")
    oms(settings, "staff", "add", "Zhao Lei", "--department", "finance")
    capsys.readouterr()

    assert oms(settings, "staff", "role", "Wang Fang", "lead") == 0
    assert "lead of warehouse" in capsys.readouterr().out
    assert oms(settings, "staff", "role", "Zhao Lei", "lead") == 1  # two of that name
    assert "2 members are called 'Zhao Lei'" in capsys.readouterr().err
    zhao = next(sid for sid, row in listed(settings, capsys).items() if row[1] == "finance")
    assert oms(settings, "staff", "role", zhao, "lead") == 0
    assert oms(settings, "staff", "role", "nobody", "lead") == 1

    roles = {row[1] + ":" + row[-1]: row[2] for row in listed(settings, capsys).values()}
    assert roles == {"warehouse:Fang": "lead", "warehouse:Lei": "member", "finance:Lei": "lead"}

    # Demoting the department's last lead is allowed, and warned of (P8.1).
    assert oms(settings, "staff", "role", "Wang Fang", "member") == 0
    warned = capsys.readouterr().err
    assert "warehouse has no active lead now" in warned and "--role lead" in warned


def test_p8_1_oms_api_refuses_to_start_naming_the_departments_without_a_lead(
    settings: Settings, capsys: pytest.CaptureFixture[str]
):
    oms(settings, "staff", "add", "Li Na", "--department", "sales", "--role", "lead")
    with pytest.raises(staff_store.NoLead) as refused:
        oms(settings, "api")  # stops before serving, with one clear message
    message = str(refused.value)
    assert message.startswith("no active lead in warehouse, logistics, customer_service, finance")
    assert "oms staff add NAME --department warehouse --role lead" in message


async def test_p8_1_the_api_serves_only_once_every_department_has_a_lead(
    settings: Settings, client: Client
):
    settings = settings.model_copy(
        update={"temporal_address": client.service_client.config.target_host}
    )
    db = Database(settings.resolved_database_url)
    db.create_schema()
    with db.write() as conn:
        staff_store.add_staff(conn, "Li Na", Department.SALES, datetime.now(UTC))
    app = create_app(settings)
    # The app's start-up (what uvicorn runs before it serves a request).
    with pytest.raises(staff_store.NoLead, match="no active lead in sales, warehouse"):
        async with app.router.lifespan_context(app):
            pass

    with db.write() as conn:
        leads = staff_store.add_leads(conn, datetime.now(UTC))
    assert set(leads) == set(DEPARTMENTS_WITH_TASKS)
    async with app.router.lifespan_context(app):  # the same database, a lead in each: serves
        assert app.state.oms.db is not None
    db.dispose()
