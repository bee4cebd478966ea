"""The OpenAPI document stays truthful as routes are added (issue 17).

No server: the document as the app makes it (api/openapi.py). Every operation that takes a
bearer token declares 401 and 403 with the error body, and 422 with it where it takes
parameters or a body; the public ones say so (`security: []`); FastAPI's own 422 body,
which this API never sends, is gone; every reference resolves. What the running API really
answers is tests/contract/test_openapi_fuzz.py's part.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from api.openapi import ERROR_REF, METHODS
from api.roles import rule_for
from config.settings import get_settings

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def error_model(operation: dict[str, Any], status: str) -> str | None:
    response = operation["responses"].get(status)
    if response is None:
        return None
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref"))


def takes_a_token(operation: dict[str, Any]) -> bool:
    return any("HTTPBearer" in requirement for requirement in operation.get("security", []))


def test_every_operation_with_a_token_declares_401_403_and_422_with_the_error_body(
    document: dict[str, Any],
) -> None:
    missing = []
    for method, path, operation in operations(document):
        expected = ["401", "403"] if takes_a_token(operation) else []
        if operation.get("parameters") or "requestBody" in operation:
            expected.append("422")
        missing += [
            f"{method} {path}: {status}"
            for status in expected
            if error_model(operation, status) != ERROR_REF
        ]
    assert not missing, "declare these with ErrorBody (api/openapi.py does, for every route)"


def test_the_token_is_declared_exactly_where_the_role_matrix_asks_for_one(
    document: dict[str, Any],
) -> None:
    wrong = []
    for method, path, operation in operations(document):
        rule = rule_for(method, path)
        assert rule is not None, f"{method} {path} has no rule in api/roles.py"
        if rule.public and operation.get("security") != []:
            wrong.append(f"{method} {path} is public: `security: []`")
        if rule.public and "public on purpose" not in operation.get("description", ""):
            wrong.append(f"{method} {path} is public: say so in its description")
        if not rule.public and not takes_a_token(operation):
            wrong.append(f"{method} {path} needs a token: declare the bearer scheme")
    assert not wrong


def test_every_error_answer_has_the_error_body_and_fastapis_own_is_gone(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["ErrorBody"]["properties"]) >= {
        "detail",
        "status",
        "field",
        "errors",
        "refusal",
        "refusal_params",
    }
    other = []
    for method, path, operation in operations(document):
        for status in operation["responses"]:
            error = status.startswith(("4", "5")) and (path, status) != ("/healthz", "503")
            if error and error_model(operation, status) != ERROR_REF:  # 503: the health report
                other.append(f"{method} {path}: {status}")
        for status in ("422", "429", "503"):  # 422: an undeclared query parameter, too
            assert status in operation["responses"], f"{method} {path}: {status}"
    assert not other


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    def references(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from references(value)
        elif isinstance(node, list):
            for value in node:
                yield from references(value)

    schemas = document["components"]["schemas"]
    prefix = "#/components/schemas/"
    unresolved = {
        ref
        for ref in references(document)
        if not ref.startswith(prefix) or ref[len(prefix) :] not in schemas
    }
    assert not unresolved


def test_paging_cursors_and_report_days_have_their_form_in_the_document(
    document: dict[str, Any],
) -> None:
    def parameter(path: str, name: str) -> dict[str, Any]:
        (found,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
        return dict(found)

    for path in ("/api/v1/orders", "/api/v1/tasks", "/api/v1/feedback", "/api/v1/escalations"):
        assert "pattern" in str(parameter(path, "cursor")["schema"]), path
    day = parameter("/api/v1/reports/orders", "from")
    assert "pattern" in str(day["schema"]) and "1098 days" in day["description"]


def test_metrics_asks_for_its_own_token_when_one_is_set() -> None:
    settings = get_settings().model_copy(update={"metrics_token": "scrape-me"})
    document = create_app(settings).openapi()
    metrics = document["paths"]["/metrics"]["get"]
    assert metrics["security"] == [{"MetricsToken": []}]
    assert error_model(metrics, "401") == ERROR_REF
    assert document["components"]["securitySchemes"]["MetricsToken"]["scheme"] == "bearer"
    open_metrics = create_app().openapi()["paths"]["/metrics"]["get"]
    assert open_metrics["security"] == [] and "401" not in open_metrics["responses"]
