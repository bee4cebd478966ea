"""Schemathesis against the API's own OpenAPI schema (issues 6 and 17).

Two tests share one running system (a worker, the API over HTTP, staff of every department):

- For every operation, EXAMPLES_PER_OPERATION generated requests (valid and invalid bodies,
  odd parameters) are sent with the token of a department the role matrix admits. None may
  produce a server error. Each request is then sent again without a token, with a revoked
  token, and with the token of a department the matrix does not admit: none of those may
  succeed (401, 401, 403).
- `schemathesis run` with all its checks (the CLI, every phase: coverage, fuzzing,
  stateful) and a token per department: each operation is called with the token of a
  department it admits, and every department's token is used. Every failure is collected
  per operation and check; none may remain but the checks SWITCHED_OFF names, each with its
  reason (issue 17: the document tells the truth). docs/ops.md, "The API contract", runs
  the same by hand.

OMS_FUZZ_EXAMPLES sets the examples per operation (25; about two minutes for both tests),
OMS_FUZZ_SEED the CLI's seed (random by default; a failure prints the one it used).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, load_all_checks
from temporalio.testing import WorkflowEnvironment

from api.roles import ROLE_MATRIX, rule_for
from db import staff as staff_store
from domain.actors import Department
from tests.conftest import TEST_KEYRING, TEST_POLICY
from tests.support.background import BackgroundSystem

EXAMPLES_PER_OPERATION = int(os.environ.get("OMS_FUZZ_EXAMPLES", "25"))

#: Why a JSON schema cannot say it: the API checks these in code and answers 422 naming the
#: field (api/errors.py; the operation's description says the rule), while a request the
#: schema allows is, to `positive_data_acceptance`, one that must be accepted.
BETWEEN_FIELDS = "a rule between two fields of the body ({}), which a JSON schema cannot state"
BETWEEN_PARAMETERS = (
    "the report window: `from` not after `to` and at most 1,098 days between them, `to` "
    "by default today; a rule between two parameters and the clock, which a schema cannot state"
)
STORED_FACTS = "whether {} is a fact of the read model, not of the request's shape"

#: Checks that cannot pass for a good reason, in one place: a check's name switches it off
#: for every operation, "check: METHOD /path" for that operation only. The values say why.
#: None is off for every operation: only `positive_data_acceptance`, where validity is more
#: than the shape a JSON schema describes.
SWITCHED_OFF: dict[str, str] = {
    "positive_data_acceptance: GET /api/v1/reports/orders": BETWEEN_PARAMETERS,
    "positive_data_acceptance: GET /api/v1/reports/revenue": BETWEEN_PARAMETERS,
    "positive_data_acceptance: GET /api/v1/reports/satisfaction": BETWEEN_PARAMETERS,
    "positive_data_acceptance: GET /api/v1/reports/snapshots": BETWEEN_PARAMETERS,
    "positive_data_acceptance: GET /api/v1/kpis": BETWEEN_PARAMETERS,
    "positive_data_acceptance: POST /api/v1/orders/{order_id}/review": BETWEEN_FIELDS.format(
        "the checklist answers each point once"
    ),
    "positive_data_acceptance: POST /api/v1/orders/{order_id}/changes": BETWEEN_FIELDS.format(
        "new shipping details, new items, or both"
    ),
    "positive_data_acceptance: POST /api/v1/orders/{order_id}/returns": BETWEEN_FIELDS.format(
        "each sku on one line"
    ),
    "positive_data_acceptance: POST /api/v1/orders/{order_id}/supplier-claims/{case_id}": (
        BETWEEN_FIELDS.format("an agreed claim names its amount, a credited one its reference")
    ),
    "positive_data_acceptance: POST /api/v1/orders/{order_id}/appointment": BETWEEN_FIELDS.format(
        "the window ends after it starts"
    ),
    "positive_data_acceptance: PUT /api/v1/products/{sku}": BETWEEN_FIELDS.format(
        "floor_price not above list_price"
    ),
    "positive_data_acceptance: POST /api/v1/tasks/{task_id}/reassign": STORED_FACTS.format(
        "the assignee is a member of staff of the task's department"
    ),
    "positive_data_acceptance: POST /api/v1/feedback": STORED_FACTS.format(
        "the order named is the customer's"
    ),
    "positive_data_acceptance: POST /api/v1/orders": BETWEEN_FIELDS.format(
        "the lines add up to at most 9,999,999,999.99"
    ),
    "positive_data_acceptance: POST /api/v1/orders/{order_id}/corrections": (
        BETWEEN_FIELDS.format("the lines add up to at most 9,999,999,999.99")
    ),
    # P8.2: the monthly scorecards.
    "positive_data_acceptance: POST /api/v1/scorecards/evaluations": (
        "a month to come has no figures yet: a rule between the body and the clock, which a "
        "schema cannot state"
    ),
    "positive_data_acceptance: POST /api/v1/scorecards/{period}/standings": STORED_FACTS.format(
        "staff_id names a member of the department"
    ),
    "positive_data_acceptance: PUT /api/v1/scorecards/targets/{department}/{kpi}": (
        "the target's range depends on the KPI the path names (a rate 0 to 1, the mean rating "
        "1 to 5): a rule between a parameter and the body, which a schema cannot state"
    ),
    # P7.3.2, P7.1 (issue 15): the causes of feedback, and training.
    "positive_data_acceptance: GET /api/v1/reports/feedback-causes": BETWEEN_PARAMETERS,
    "positive_data_acceptance: PUT /api/v1/feedback/{feedback_id}/cause": STORED_FACTS.format(
        "the cause is on supervision's list and in use (and that a department that handles "
        "orders or a step is named, a rule between two fields)"
    ),
    "positive_data_acceptance: POST /api/v1/training/sessions": (
        "held_on is not after today: a rule between the body and the clock, which a schema "
        "cannot state"
    ),
    "positive_data_acceptance: POST /api/v1/training/sessions/{session_id}/attendance": (
        STORED_FACTS.format("each staff id names a member of staff")
    ),
}


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


def test_what_is_switched_off_names_a_check_and_an_operation_that_exist() -> None:
    load_all_checks()
    for name in SWITCHED_OFF:
        check, _, operation = name.partition(": ")
        assert check in CHECKS.get_all_names(), name
        if operation:
            method, _, path = operation.partition(" ")
            assert rule_for(method, path) is not None, f"{name}: no such operation"


def tokens_per_operation(tokens: Mapping[Department, str]) -> dict[str, str]:
    """`METHOD /path` -> the token of a department the role matrix admits there, spread so
    that every department's token is used (the least used of those admitted)."""
    used: Counter[Department] = Counter({d: 0 for d in Department})
    chosen: dict[str, str] = {}
    for (method, path), rule in sorted(ROLE_MATRIX.items()):
        if rule.public:
            continue
        admitted = sorted(rule.departments or ())
        department = min(admitted, key=lambda d: (used[d], admitted.index(d)))
        used[department] += 1
        chosen[f"{method} {path}"] = tokens[department]
    unused = [d.value for d, n in used.items() if n == 0]
    assert not unused, f"no operation admits {unused}: their tokens would go untested"
    return chosen


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def schemathesis_config(tokens: Mapping[Department, str]) -> str:
    """schemathesis.toml: per operation its token and the checks switched off there."""
    lines = []
    for name, reason in SWITCHED_OFF.items():
        if ":" not in name:
            lines += [f"# {reason}", f"[checks.{name}]", "enabled = false", ""]
    for operation, token in tokens_per_operation(tokens).items():
        lines += [
            "[[operations]]",
            f"include-name = {toml_string(operation)}",
            f"headers = {{ Authorization = {toml_string('Bearer ' + token)} }}",
        ]
        for name, reason in SWITCHED_OFF.items():
            check, _, where = name.partition(": ")
            if where == operation:
                lines += [f"# {reason}", f"[operations.checks.{check}]", "enabled = false"]
        lines.append("")
    return "\n".join(lines)


def as_text(body: Any, limit: int = 300) -> str:
    """A body as the NDJSON report holds it (`{"$base64": ...}`), for a failure's message."""
    if isinstance(body, dict) and "$base64" in body:
        body = base64.b64decode(body["$base64"]).decode("utf-8", "replace")
    return "" if body is None else str(body)[:limit]


def failures_in(report: Path) -> tuple[dict[tuple[str, str], list[str]], list[str]]:
    """From the NDJSON report: each failing (operation, check) with what was seen, and the
    errors (schemathesis could not test something)."""
    failures: dict[tuple[str, str], list[str]] = {}
    errors: list[str] = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        kind, payload = next(iter(event.items()))
        if kind in ("NonFatalError", "FatalError"):
            errors.append(json.dumps(payload)[:500])
        if kind != "ScenarioFinished" or not payload.get("recorder"):
            continue
        recorder = payload["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check["status"] != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                operation = failure.get("operation") or recorder.get("label") or "?"
                interaction = recorder.get("interactions", {}).get(case_id) or {}
                request = interaction.get("request") or {}
                response = interaction.get("response") or {}
                seen = (
                    f"[{payload['phase']}] {failure['title']}: {failure['message'][:300]}\n"
                    f"      {request.get('method')} {str(request.get('uri'))[:200]}"
                    f" {as_text(request.get('body'))}\n"
                    f"      -> {response.get('status_code')} {as_text(response.get('content'))}"
                )
                failures.setdefault((operation, check["name"]), []).append(seen)
    return failures, errors


def test_schemathesis_with_all_checks_and_a_token_per_department_finds_nothing_untold(
    background: BackgroundSystem, tmp_path: Path
) -> None:
    system = background.system
    base_url = str(system.http.base_url).rstrip("/")
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(system.tokens))
    report = tmp_path / "report.ndjson"
    seed = os.environ.get("OMS_FUZZ_SEED") or str(int.from_bytes(os.urandom(8), "big"))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        # Every check is on by default; `--checks all` here would also override the
        # configuration's per-operation switches.
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        seed,
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    # In a folder of its own: the run leaves nothing in the checkout.
    finished = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert report.exists(), finished.stdout[-3000:] + finished.stderr[-3000:]
    failures, errors = failures_in(report)
    lines = [
        f"{operation} - {check}: {len(seen)} case(s)\n    " + "\n    ".join(seen[:2])
        for (operation, check), seen in sorted(failures.items())
    ]
    assert not failures and not errors, (
        f"schemathesis (seed {seed}; OMS_FUZZ_SEED={seed} replays it) found what the "
        "document does not say. Fix the document (api/openapi.py, the route's responses= or "
        "its parameters) or, when a check cannot pass for a good reason, name it in "
        "SWITCHED_OFF with the reason:\n" + "\n".join(lines + errors)
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]


if __name__ == "__main__":
    # `python -m tests.contract.test_openapi_fuzz var/demo-tokens.json > var/schemathesis.toml`:
    # the same configuration for `make run`'s demo staff (docs/ops.md, "The API contract").
    demo = json.loads(Path(sys.argv[1]).read_text())
    print(schemathesis_config({Department(name): token for name, token in demo.items()}))
