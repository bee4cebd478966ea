"""Schemathesis against the API's own OpenAPI schema (issue 6).

For every operation, EXAMPLES_PER_OPERATION generated requests (valid and invalid
bodies, odd parameters) are sent with the token of a department the role matrix
admits. None may produce a server error. Each request is then sent again without a
token, with a revoked token, and with the token of a department the matrix does not
admit: none of those may succeed (401, 401, 403).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from temporalio.testing import WorkflowEnvironment

from api.roles import rule_for
from db import staff as staff_store
from domain.actors import Department
from tests.conftest import TEST_KEYRING, TEST_POLICY
from tests.support.background import BackgroundSystem

EXAMPLES_PER_OPERATION = int(__import__("os").environ.get("OMS_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def background(temporal_env: WorkflowEnvironment, tmp_path_factory) -> Iterator[BackgroundSystem]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "oms.db"
    address = temporal_env.client.service_client.config.target_host
    policy = TEST_POLICY.model_copy(
        update={"return_window": timedelta(seconds=30), "exchange_window": timedelta(seconds=30)}
    )
    with BackgroundSystem(address, f"sqlite:///{path}", policy, TEST_KEYRING) as running:
        yield running


@pytest.fixture(scope="module")
def revoked_token(background: BackgroundSystem) -> str:
    with background.system.db.write() as conn:
        member, token = staff_store.add_staff(conn, "Gone", Department.ADMIN, datetime.now(UTC))
        staff_store.revoke(conn, member.staff_id, datetime.now(UTC))
    return token


def headers_for(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def check_case(case: Any, system: Any, revoked_token: str) -> None:
    base_url = str(system.http.base_url).rstrip("/")
    rule = rule_for(case.method, case.path)
    assert rule is not None, f"{case.method} {case.path} has no rule in api/roles.py"
    admitted = sorted(rule.departments or [Department.ADMIN])
    token = system.tokens[admitted[0]]

    response = case.call(base_url=base_url, headers=headers_for(token), timeout=60)
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    )
    if rule.public:
        return
    for who, other in [("no token", None), ("revoked", revoked_token)]:
        again = case.call(base_url=base_url, headers=headers_for(other), timeout=60)
        assert again.status_code == 401, f"{who}: {case.method} {case.path} -> {again.status_code}"
    outsiders = [d for d in Department if d not in (rule.departments or ())]
    if outsiders:
        again = case.call(
            base_url=base_url, headers=headers_for(system.tokens[outsiders[0]]), timeout=60
        )
        assert again.status_code == 403, (
            f"{outsiders[0]}: {case.method} {case.path} -> {again.status_code}"
        )


def test_no_generated_request_breaks_the_api_or_gets_in_without_proper_auth(
    background: BackgroundSystem, revoked_token: str
) -> None:
    system = background.system
    base_url = str(system.http.base_url).rstrip("/")
    api = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    examples: dict[str, int] = {}
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            label = f"{case.method} {case.path}"
            examples[label] = examples.get(label, 0) + 1
            check_case(case, system, revoked_token)

        fuzz()
    assert len(examples) == len(list(api.get_all_operations())) >= 40
    print(
        "\nexamples per operation:",
        min(examples.values()),
        "to",
        max(examples.values()),
        f"over {len(examples)} operations, {sum(examples.values())} in all",
    )
