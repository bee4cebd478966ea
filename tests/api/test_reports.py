"""P6.3 reports and P8.2 KPIs over HTTP: the hand-worked figures, JSON and CSV alike.

The March 2024 figures of `tests/support/seed.py` are seeded once into the shared
system (SQLite) and into a system of its own on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from tests.conftest import TEST_POLICY
from tests.support.postgres import temporary_database
from tests.support.seed import D1, D2, seed_department_figures
from tests.support.system import System, running_system

WINDOW = {"from": D1, "to": D2}


@pytest_asyncio.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def figures(
    request: pytest.FixtureRequest, client: Client, system: System
) -> AsyncIterator[System]:
    """A system whose read model holds the seeded figures."""
    if request.param == "sqlite":
        seed_department_figures(system.db)
        yield system
        return
    with temporary_database() as url:
        async with running_system(client, url, TEST_POLICY) as pg_system:
            seed_department_figures(pg_system.db)
            yield pg_system


async def report(system: System, path: str, **params: Any) -> dict[str, Any]:
    response = await system.get("supervision", path, **(WINDOW | params))
    assert response.status_code == 200, response.text
    return dict(response.json())


def kpi(body: dict[str, Any], name: str, period: str, department: str = "all") -> tuple:
    [row] = [
        r
        for r in body["rows"]
        if (r["kpi"], r["period"], r["department"]) == (name, period, department)
    ]
    return row["numerator"], row["denominator"], row["value"]


async def test_each_kpi_over_http_matches_the_hand_worked_answer(figures: System):
    body = await report(figures, "/api/v1/kpis", group_by="day")
    on_time = "order_processing_on_time_rate"
    assert kpi(body, on_time, D1, "sales") == (1, 3, 0.3333)
    assert kpi(body, on_time, D2, "logistics") == (0, 1, 0.0)
    assert kpi(body, on_time, D1, "customer_service") == (1, 1, 1.0)
    assert kpi(body, "order_accuracy_rate", D1) == (3, 6, 0.5)
    assert kpi(body, "order_accuracy_rate", D2) == (2, 3, 0.6667)
    assert kpi(body, "customer_satisfaction_mean", D1) == (11, 3, 3.6667)
    assert kpi(body, "customer_satisfaction_share_4_5", D1) == (2, 3, 0.6667)
    assert kpi(body, "logistics_on_time_delivery_rate", D1, "logistics") == (1, 2, 0.5)
    assert kpi(body, "logistics_on_time_delivery_rate", D2, "logistics") == (2, 3, 0.6667)
    assert set(body["definitions"]) == {
        "order_processing_on_time_rate",
        "order_accuracy_rate",
        "customer_satisfaction_mean",
        "customer_satisfaction_share_4_5",
        "logistics_on_time_delivery_rate",
    }

    whole = await report(figures, "/api/v1/kpis", department="sales")
    assert [(r["period"], r["kpi"]) for r in whole["rows"]] == [
        (f"{D1}/{D2}", on_time)
    ]  # the default: the whole window as one period
    assert kpi(whole, on_time, f"{D1}/{D2}", "sales") == (1, 3, 0.3333)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/reports/orders", {}),
        ("/api/v1/reports/revenue", {"group_by": "week"}),
        ("/api/v1/reports/satisfaction", {"by": "channel"}),
        ("/api/v1/kpis", {"group_by": "day"}),
    ],
)
async def test_csv_and_json_reports_agree(figures: System, path: str, params: dict[str, str]):
    as_json = await report(figures, path, **params)
    response = await figures.get("supervision", path, **(WINDOW | params | {"format": "csv"}))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == as_json["columns"]
    expected = [
        ["" if row[c] is None else str(row[c]) for c in as_json["columns"]]
        for row in as_json["rows"]
    ]
    assert rows[1:] == expected
    assert expected


async def test_revenue_over_http_is_net_of_refunds(figures: System):
    body = await report(figures, "/api/v1/reports/revenue", group_by="all")
    [row] = body["rows"]
    assert (row["payments"], row["refunds"], row["net_revenue"]) == ("430.50", "-130.00", "300.50")
    assert (row["compensation"], row["adjustments"], row["net_cash"]) == (
        "-10.00",
        "5.00",
        "295.50",
    )


async def test_reports_are_for_the_supervision_group_and_admin(system: System):
    for path in ("/api/v1/reports/orders", "/api/v1/kpis", "/api/v1/reports/snapshots"):
        assert (await system.get("sales", path)).status_code == 403
        assert (await system.get("admin", path)).status_code == 200
        assert (await system.http.get(path)).status_code == 401


async def test_a_window_that_ends_before_it_begins_is_refused_naming_the_field(system: System):
    response = await system.get("supervision", "/api/v1/kpis", **{"from": D2, "to": D1})
    assert response.status_code == 422 and response.json()["field"] == "from"
    bad = await system.get("supervision", "/api/v1/reports/orders", group_by="year")
    assert bad.status_code == 422 and bad.json()["field"] == "group_by"
